"""One error hierarchy for the library; the service maps each family to an HTTP status."""

from __future__ import annotations

from typing import Any


class ReportbookError(Exception):
    """Base of every error Reportbook raises on purpose."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ReportbookError):
    status_code = 404


class Unauthenticated(ReportbookError):
    """No valid credentials; `code` says why (missing_token, invalid_api_key, token_expired...)."""

    status_code = 401

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Forbidden(ReportbookError):
    """Authenticated, but the role does not allow this."""

    status_code = 403


class InvalidInput(ReportbookError):
    """Bad input; `errors` uses FastAPI's 422 shape: [{"loc": [...], "msg": ..., "type": ...}]."""

    status_code = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self.errors = errors


class InvalidTransition(ReportbookError):
    """The resource is not in a state that allows this; carries the current status."""

    status_code = 409

    def __init__(self, action: str, status: str, what: str = "task") -> None:
        super().__init__(f"cannot {action} a {what} that is {status}")
        self.status = status
