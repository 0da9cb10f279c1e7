"""A real HTTP server on 127.0.0.1 (a free port, one thread per request) that records what it
receives, for the Sentry, Slack and n8n-client tests. It answers `status` (200 by default);
or what `answer(request)` returns, (status, content type, body); or with `hang = True` holds
every request without answering until it is closed."""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sentry_sdk

from reporting import telemetry
from reporting.settings import Settings


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes  # decompressed

    def json(self) -> Any:
        return json.loads(self.body)


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli  # only when the SDK found it installed

        return brotli.decompress(body)
    return body


class HttpRecorder:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.status = 200
        self.answer: Callable[[Recorded], tuple[int, str, bytes]] | None = None
        self.hang = False
        self.released = threading.Event()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def _handle(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                body = _decompress(body, headers.get("content-encoding", ""))
                request = Recorded(method, self.path, headers, body)
                recorder.requests.append(request)
                if recorder.hang:
                    recorder.released.wait(60)
                    return
                status, content_type, payload = (
                    recorder.answer(request) if recorder.answer
                    else (recorder.status, "text/plain", b"ok")
                )  # fmt: skip
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> HttpRecorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int = 1, timeout: float = 10) -> list[Recorded]:
        """The requests received, once there are at least `count` (or `timeout` passed)."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.requests)


def envelope_items(body: bytes) -> list[tuple[dict[str, Any], bytes]]:
    """The items of a Sentry envelope: a header line, then per item a header line and its
    payload (`length` bytes when the header says so, else up to the next newline)."""
    _, _, rest = body.partition(b"\n")
    items = []
    while rest.strip():
        line, _, rest = rest.partition(b"\n")
        header = json.loads(line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] :]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((header, payload))
    return items


def sentry_events(recorder: HttpRecorder) -> list[dict[str, Any]]:
    """Every error event the SDK POSTed to the recorder."""
    return [
        json.loads(payload)
        for request in recorder.requests
        if request.path.endswith("/envelope/")
        for header, payload in envelope_items(request.body)
        if header.get("type") == "event"
    ]


@contextmanager
def sentry_for(settings: Settings, component: str) -> Iterator[bool]:
    """Sentry on for this process as `component` (the SDK is process-wide), off again after:
    pending events flushed, the client closed, the once-only warnings forgotten."""
    telemetry.problems.reset()
    try:
        yield telemetry.init_sentry(settings, component)
    finally:
        sentry_sdk.flush(timeout=5)
        sentry_sdk.get_client().close(timeout=1)
        sentry_sdk.get_global_scope().set_client(None)
        telemetry.problems.reset()
