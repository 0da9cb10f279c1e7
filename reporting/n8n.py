"""Steps that run an n8n workflow: trigger it through its webhook, then poll its execution.

    client = N8nClient(settings.n8n_base_url, settings.n8n_api_key_value())
    execution_id = client.trigger("reportbook-sov-scrape", {"product_id": ..., "run_id": ...})
    execution = client.wait(execution_id, settings.n8n_poll_timeout_seconds)

The workflow starts with a Webhook node (POST, "Respond: using 'Respond to Webhook' node")
followed by a Respond to Webhook node answering `{"execution_id": "{{ $execution.id }}"}`, so
the trigger returns at once and the rest runs in n8n. `wait` polls the public API
(`GET /api/v1/executions/{id}?includeData=true`, `X-N8N-API-KEY`) with exponential backoff
until the execution ends or the deadline passes. Every failure is a `StepFailed` whose
`reason` says which kind (`FailureReason`): a step never hangs and never raises anything else.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import httpx

from reporting.errors import ReportbookError

RUNNING = frozenset({"new", "running", "waiting", "unknown"})  # n8n's not-finished statuses
TRANSIENT_ATTEMPTS = 3  # consecutive connection errors or 5xx answers before `unreachable`
NOT_FOUND_GRACE_SECONDS = 30.0  # an execution may be saved a moment after the webhook answers


class FailureReason(StrEnum):
    not_configured = "not_configured"  # N8N_BASE_URL (or N8N_API_KEY to poll) is not set
    unreachable = "unreachable"  # no connection, or n8n answered 5xx repeatedly
    unauthorized = "unauthorized"  # n8n refused the API key (401/403)
    trigger_failed = "trigger_failed"  # the webhook did not start the workflow
    execution_error = "execution_error"  # the execution ended in error (or vanished)
    timeout = "timeout"  # still running when the deadline passed


class StepFailed(ReportbookError):
    """A workflow step failed; `reason` says how, `node` names the failing node (if known)."""

    status_code = 502

    def __init__(
        self,
        reason: FailureReason,
        message: str,
        *,
        execution_id: str | None = None,
        node: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.execution_id = execution_id
        self.node = node

    def as_dict(self) -> dict[str, Any]:
        """What a run records about the failure."""
        return {"reason": self.reason.value, "message": self.message,
                "execution_id": self.execution_id, "node": self.node}  # fmt: skip


@dataclass(frozen=True)
class Execution:
    """A finished n8n execution, as the public API returns it (`data` is its run data)."""

    id: str
    status: str
    data: dict[str, Any] = field(repr=False)
    started_at: dt.datetime | None
    stopped_at: dt.datetime | None
    workflow_id: str | None = None

    def output(self, node: str) -> list[dict[str, Any]]:
        """The JSON items `node` output on its last run (empty if it did not run)."""
        runs = self.data.get("resultData", {}).get("runData", {}).get(node) or []
        if not runs:
            return []
        branches = (runs[-1].get("data") or {}).get("main") or []
        return [item.get("json", {}) for branch in branches for item in branch or []]


class N8nClient:
    """Triggers n8n workflows and waits for their executions; see the module docstring."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        timeout: float = 10.0,
        *,
        first_delay: float = 0.2,
        max_delay: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`timeout`: one HTTP request's limit; `first_delay` doubles up to `max_delay` between
        polls."""
        self.base_url = (base_url or "").rstrip("/") or None
        self.api_key = api_key or None
        self.timeout = timeout
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._clock = clock
        self._sleep = sleep

    # -- trigger ----------------------------------------------------------------------------

    def trigger(self, webhook_path: str, payload: dict[str, Any]) -> str:
        """POST `payload` to the production webhook `/webhook/{webhook_path}`; returns the
        execution id the workflow's Respond to Webhook node answered with."""
        url = f"{self._base()}/webhook/{quote(webhook_path.strip('/'))}"
        try:
            body = json.dumps(payload, default=_jsonable)
        except (TypeError, ValueError) as exc:
            raise StepFailed(FailureReason.trigger_failed, f"the payload for {webhook_path!r} "
                             f"is not JSON: {exc}") from exc  # fmt: skip
        headers = {"Content-Type": "application/json"}
        try:
            with self._http() as http:
                response = http.post(url, content=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise StepFailed(FailureReason.unreachable, f"n8n at {self.base_url} is "
                             f"unreachable: {_describe(exc)}") from exc  # fmt: skip
        except httpx.HTTPError as exc:
            raise StepFailed(FailureReason.trigger_failed, f"POST {url} failed: "
                             f"{_describe(exc)}") from exc  # fmt: skip
        if response.status_code in (401, 403):
            raise StepFailed(FailureReason.unauthorized, f"n8n refused the webhook call "
                             f"({response.status_code}): {_message(response)}")  # fmt: skip
        if response.status_code >= 400:
            raise StepFailed(FailureReason.trigger_failed, f"POST {url} answered "
                             f"{response.status_code}: {_message(response)}")  # fmt: skip
        try:
            execution_id = response.json()["execution_id"]
        except (ValueError, KeyError, TypeError):
            execution_id = None
        if execution_id in (None, ""):
            raise StepFailed(FailureReason.trigger_failed, f"the workflow behind {url} did not "
                             "answer with an execution_id (it needs a Respond to Webhook node "
                             "answering {\"execution_id\": \"{{ $execution.id }}\"}); it said: "
                             f"{response.text[:300]!r}")  # fmt: skip
        return str(execution_id)

    # -- wait -------------------------------------------------------------------------------

    def wait(self, execution_id: str, timeout_seconds: float) -> Execution:
        """Poll the execution until it ends; returns it when it succeeded. Raises StepFailed:
        `execution_error` (with the failing node and its message), `timeout` once
        `timeout_seconds` have passed, `unreachable`, `unauthorized` or `not_configured`."""
        base = self._base()
        if self.api_key is None:
            raise StepFailed(FailureReason.not_configured, "N8N_API_KEY is not set: it is "
                             "needed to follow n8n executions", execution_id=execution_id)  # fmt: skip
        url = f"{base}/api/v1/executions/{quote(str(execution_id))}"
        started = self._clock()
        deadline = started + timeout_seconds
        delay, transient, last_status = self.first_delay, 0, "unknown"
        with self._http() as http:
            while True:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise StepFailed(FailureReason.timeout, f"n8n execution {execution_id} was "
                                     f"still {last_status} after {timeout_seconds:g} s",
                                     execution_id=execution_id)  # fmt: skip
                response = self._poll(http, url, min(self.timeout, remaining), execution_id)
                if response is None or response.status_code >= 500:
                    transient += 1
                    if transient >= TRANSIENT_ATTEMPTS:
                        why = "no answer" if response is None else f"{response.status_code}"
                        raise StepFailed(FailureReason.unreachable, f"n8n at {self.base_url} "
                                         f"is unreachable ({why}, {transient} times in a row) "
                                         f"while following execution {execution_id}",
                                         execution_id=execution_id)  # fmt: skip
                else:
                    transient = 0
                    execution = self._read(response, execution_id, self._clock() - started)
                    if execution is not None:
                        return execution
                    last_status = _status(response)
                self._sleep(max(0.0, min(delay, deadline - self._clock())))
                delay = min(delay * 2, self.max_delay)

    def _poll(
        self, http: httpx.Client, url: str, timeout: float, execution_id: str
    ) -> httpx.Response | None:
        try:
            return http.get(url, params={"includeData": "true"},
                            headers={"X-N8N-API-KEY": self.api_key or ""}, timeout=timeout)  # fmt: skip
        except httpx.HTTPError:
            return None  # counted by the caller: a blip is retried, a dead n8n is not

    def _read(self, response: httpx.Response, execution_id: str, waited: float) -> Execution | None:
        """The finished execution, None while it runs (or is not saved yet); raises for the
        rest."""
        if response.status_code in (401, 403):
            raise StepFailed(FailureReason.unauthorized, f"n8n refused the API key "
                             f"({response.status_code}): {_message(response)}; check "
                             "N8N_API_KEY", execution_id=execution_id)  # fmt: skip
        if response.status_code == 404:
            if waited < NOT_FOUND_GRACE_SECONDS:
                return None
            raise StepFailed(FailureReason.execution_error, f"n8n has no execution "
                             f"{execution_id} (deleted, or not saved: check the workflow's "
                             "save settings and EXECUTIONS_DATA_SAVE_ON_*)",
                             execution_id=execution_id)  # fmt: skip
        if response.status_code >= 400:
            raise StepFailed(FailureReason.execution_error, f"GET execution {execution_id} "
                             f"answered {response.status_code}: {_message(response)}",
                             execution_id=execution_id)  # fmt: skip
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise StepFailed(FailureReason.unreachable, f"{response.url} answered "
                             f"{response.status_code} with no execution in JSON: is "
                             f"N8N_BASE_URL ({self.base_url}) n8n's address?",
                             execution_id=execution_id)  # fmt: skip
        status = str(body.get("status") or "unknown")
        if status in RUNNING:
            return None
        execution = Execution(
            id=str(body.get("id", execution_id)),
            status=status,
            data=body.get("data") or {},
            started_at=_when(body.get("startedAt")),
            stopped_at=_when(body.get("stoppedAt")),
            workflow_id=body.get("workflowId"),
        )
        if status == "success":
            return execution
        node, message = failure_of(execution)
        raise StepFailed(FailureReason.execution_error,
                         f"n8n execution {execution_id} ended {status}"
                         + (f" in node {node!r}" if node else "") + f": {message}",
                         execution_id=execution_id, node=node)  # fmt: skip

    # -- plumbing ---------------------------------------------------------------------------

    def _base(self) -> str:
        if self.base_url is None:
            raise StepFailed(FailureReason.not_configured, "N8N_BASE_URL is not set: this "
                             "step runs an n8n workflow")  # fmt: skip
        try:
            valid = httpx.URL(self.base_url).scheme in ("http", "https")
        except httpx.InvalidURL:
            valid = False
        if not valid:
            raise StepFailed(FailureReason.not_configured, f"N8N_BASE_URL {self.base_url!r} is "
                             "not an http(s) URL")  # fmt: skip
        return self.base_url

    def _http(self) -> httpx.Client:
        return httpx.Client(timeout=self.timeout)


def failure_of(execution: Execution) -> tuple[str | None, str]:
    """(the failing node's name, what went wrong) from a failed execution's run data."""
    result = execution.data.get("resultData", {})
    error = result.get("error") or {}
    node = (error.get("node") or {}).get("name") or result.get("lastNodeExecuted")
    if not error and node:  # some failures are only recorded on the node's run
        runs = result.get("runData", {}).get(node) or [{}]
        error = runs[-1].get("error") or {}
    message = str(error.get("message") or f"the execution ended {execution.status}")
    description = error.get("description")
    if description and str(description) not in message:
        message = f"{message} ({description})"
    return node, message


def _jsonable(value: Any) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _status(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    status = body.get("status") if isinstance(body, dict) else None
    return str(status) if status else "not saved yet"


def _when(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(body)[:300]


def _describe(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
