"""Firebase Auth: verify ID tokens into a FirebaseIdentity, mirror roles into custom claims.

Every failure comes out as one of our errors with a `code` (RejectionCode); no firebase-admin
or google-auth exception leaves this module.

Credentials: the firebase_admin app gets no service-account file. Against the Auth emulator
none are needed. In production firebase-admin uses Google Application Default Credentials:
the revocation check (`check_revoked=True`, always on here) and `set_role_claim` call the
Identity Toolkit API with them, and firebase-admin loads them before it even looks at a token.
So production needs ADC, e.g. `GOOGLE_APPLICATION_CREDENTIALS=/path/to/service-account.json`
(or a GCP runtime identity); without them every `verify` fails with `firebase_not_configured`.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import firebase_admin
import google.auth.exceptions
from firebase_admin import auth
from firebase_admin import exceptions as firebase_exceptions
from google.auth import jwt

from reporting.errors import NotFound, ReportbookError, Unauthenticated

EMULATOR_HOST_ENV = "FIREBASE_AUTH_EMULATOR_HOST"
HTTP_TIMEOUT_SECONDS = 10  # firebase-admin's default is 120 s per call to Identity Toolkit

# What firebase-admin raises: its FirebaseError family, google-auth's errors (credentials,
# transport) and ValueError (malformed arguments, e.g. a token that is not a string).
_FIREBASE_ERRORS = (
    firebase_exceptions.FirebaseError,
    google.auth.exceptions.GoogleAuthError,
    ValueError,
)
_apps_lock = threading.Lock()


class RejectionCode(StrEnum):
    token_expired = "token_expired"
    token_revoked = "token_revoked"
    token_invalid = "token_invalid"
    token_wrong_project = "token_wrong_project"
    user_disabled = "user_disabled"
    firebase_not_configured = "firebase_not_configured"
    firebase_unavailable = "firebase_unavailable"


class TokenRejected(Unauthenticated):
    """An ID token was not accepted; `code` says why, `message` says it to a human.

    401 like every Unauthenticated, except `firebase_unavailable` (503: try again later)."""

    def __init__(self, code: RejectionCode | str, message: str) -> None:
        super().__init__(RejectionCode(code), message)
        if self.code is RejectionCode.firebase_unavailable:
            self.status_code = 503


class FirebaseUnavailable(ReportbookError):
    """Firebase could not be used for an admin operation (not configured, or unreachable)."""

    status_code = 503

    def __init__(self, code: RejectionCode | str, message: str) -> None:
        super().__init__(message)
        self.code = RejectionCode(code)


@dataclass(frozen=True)
class FirebaseIdentity:
    uid: str
    email: str | None
    claims: dict[str, Any]  # every claim of the verified token, custom ones (`role`) included

    @property
    def role(self) -> str | None:
        return self.claims.get("role")


class FirebaseVerifier:
    """Verifies Firebase ID tokens of one project; `project_id=None` means Firebase is off."""

    def __init__(self, project_id: str | None, emulator_host: str | None = None) -> None:
        self.project_id = project_id or None
        self.emulator_host = emulator_host or None
        self._app: firebase_admin.App | None = None
        if self.project_id is None:
            return
        _export_emulator_host(self.emulator_host)
        self._app = _named_app(self.project_id, self.emulator_host)

    @property
    def configured(self) -> bool:
        return self._app is not None

    @property
    def app(self) -> firebase_admin.App | None:
        """The firebase_admin app, for admin calls not wrapped here (tests revoke tokens)."""
        return self._app

    def verify(self, token: str) -> FirebaseIdentity:
        """The identity in a valid, unrevoked ID token of an enabled user, else TokenRejected."""
        if self._app is None:
            raise TokenRejected(
                RejectionCode.firebase_not_configured,
                "Firebase sign-in is not configured on this server (FIREBASE_PROJECT_ID is unset)",
            )
        if not isinstance(token, str) or not token.strip():
            raise TokenRejected(RejectionCode.token_invalid, "the ID token is empty")
        try:
            claims = auth.verify_id_token(token, app=self._app, check_revoked=True)
        except _FIREBASE_ERRORS as error:
            raise self._rejection(token, error) from error
        # In emulator mode firebase-admin checks neither signature nor expiry (it returns the
        # payload as is); in production google-auth has already done this same check.
        expires_at = claims.get("exp")
        if not isinstance(expires_at, int | float):
            raise TokenRejected(RejectionCode.token_invalid, "the ID token has no expiry")
        if expires_at < int(time.time()):
            raise TokenRejected(RejectionCode.token_expired, "the ID token has expired")
        return FirebaseIdentity(uid=claims["uid"], email=claims.get("email"), claims=claims)

    def set_role_claim(self, uid: str, role: str | None) -> dict[str, Any]:
        """Set (or with None remove) the user's `role` custom claim, keeping its other claims;
        returns the new custom claims. Tokens carry it from the user's next sign-in/refresh."""
        if self._app is None:
            raise FirebaseUnavailable(
                RejectionCode.firebase_not_configured, "FIREBASE_PROJECT_ID is unset"
            )
        try:
            claims = dict(auth.get_user(uid, app=self._app).custom_claims or {})
            if role is None:
                claims.pop("role", None)
            else:
                claims["role"] = role
            auth.set_custom_user_claims(uid, claims, app=self._app)
        except (auth.UserNotFoundError, ValueError) as error:  # ValueError: a malformed uid
            raise NotFound(f"no Firebase user {uid!r}") from error
        except _FIREBASE_ERRORS as error:
            rejection = _service_rejection(error)
            raise FirebaseUnavailable(rejection.code, rejection.message) from error
        return claims

    def _rejection(self, token: str, error: Exception) -> TokenRejected:
        """Our TokenRejected for whatever firebase-admin (or google-auth below it) raised.
        Order matters: Expired/Revoked are subclasses of InvalidIdTokenError."""
        match error:
            case auth.ExpiredIdTokenError():
                return TokenRejected(RejectionCode.token_expired, "the ID token has expired")
            case auth.RevokedIdTokenError():
                return TokenRejected(
                    RejectionCode.token_revoked, "the ID token was revoked; sign in again"
                )
            case auth.UserDisabledError():
                return TokenRejected(RejectionCode.user_disabled, "the user account is disabled")
            case auth.UserNotFoundError():
                return TokenRejected(
                    RejectionCode.token_invalid, "the ID token's user no longer exists"
                )
            case auth.InvalidIdTokenError() | ValueError():
                audience = _unverified_claims(token).get("aud")
                if isinstance(audience, str) and audience != self.project_id:
                    return TokenRejected(
                        RejectionCode.token_wrong_project,
                        f"the ID token was issued for another Firebase project ({audience!r})",
                    )
                return TokenRejected(RejectionCode.token_invalid, "not a valid Firebase ID token")
            case _:
                return _service_rejection(error)


def _service_rejection(error: Exception) -> TokenRejected:
    """Firebase itself failed: missing credentials, no permission, or unreachable."""
    match error:
        case google.auth.exceptions.DefaultCredentialsError():
            return TokenRejected(
                RejectionCode.firebase_not_configured,
                "no Google credentials for Firebase (set GOOGLE_APPLICATION_CREDENTIALS)",
            )
        case (
            firebase_exceptions.PermissionDeniedError() | firebase_exceptions.UnauthenticatedError()
        ):
            return TokenRejected(
                RejectionCode.firebase_not_configured,
                f"the server's Google credentials were refused by Firebase: {error}",
            )
        case _:
            return TokenRejected(
                RejectionCode.firebase_unavailable, f"Firebase Auth is unavailable: {error}"
            )


def _export_emulator_host(emulator_host: str | None) -> None:
    """Make firebase-admin see our emulator setting.

    firebase-admin has no option for the Auth emulator: it reads FIREBASE_AUTH_EMULATOR_HOST
    from os.environ, both when an app's auth client is created (endpoint URLs) and on every
    verify_id_token call (emulated => no signature or expiry check). So the environment is the
    only way, and it is process-wide: one process talks to one emulator, and a verifier without
    an emulator must not run in a process where the variable is set (it would accept unsigned
    tokens), hence the errors below.
    """
    current = os.environ.get(EMULATOR_HOST_ENV) or None
    if emulator_host is None:
        if current is not None:
            raise ValueError(
                f"{EMULATOR_HOST_ENV}={current} is set in the environment but Firebase was "
                "configured without an emulator; firebase-admin would accept unsigned tokens"
            )
        return
    if "/" in emulator_host:
        raise ValueError(f"{EMULATOR_HOST_ENV} must be host:port, not {emulator_host!r}")
    if current is not None and current != emulator_host:
        raise ValueError(
            f"{EMULATOR_HOST_ENV} is already {current} in this process, cannot use {emulator_host}"
        )
    os.environ[EMULATOR_HOST_ENV] = emulator_host


def _named_app(project_id: str, emulator_host: str | None) -> firebase_admin.App:
    """The firebase_admin app `reportbook-<project>[@<emulator host>]`, made on first use and
    shared after. The host is part of the name because an app's auth client keeps the endpoint
    URLs it was created with: reusing one across emulators would talk to the wrong one."""
    name = f"reportbook-{project_id}" + (f"@{emulator_host}" if emulator_host else "")
    with _apps_lock:
        try:
            return firebase_admin.get_app(name)
        except ValueError:
            options = {"projectId": project_id, "httpTimeout": HTTP_TIMEOUT_SECONDS}
            return firebase_admin.initialize_app(options=options, name=name)


def _unverified_claims(token: str) -> dict[str, Any]:
    """The token's payload without any check (only to explain a rejection); {} if unreadable."""
    try:
        claims = jwt.decode(token, verify=False)
    except ValueError:  # not a JWT at all: nothing to explain
        return {}
    return claims if isinstance(claims, dict) else {}
