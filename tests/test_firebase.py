"""FirebaseVerifier against the real Firebase Auth emulator: every rejection has its exact code."""

from __future__ import annotations

import time
import uuid

import pytest
from firebase_admin import auth

from reporting.errors import NotFound
from reporting.firebase import (
    EMULATOR_HOST_ENV,
    FirebaseUnavailable,
    FirebaseVerifier,
    RejectionCode,
    TokenRejected,
)
from tests.firebase_emulator import FirebaseEmulator

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def verifier(firebase_emulator: FirebaseEmulator) -> FirebaseVerifier:
    return FirebaseVerifier(firebase_emulator.project_id, firebase_emulator.host)


@pytest.fixture
def user(firebase_emulator: FirebaseEmulator) -> tuple[str, str, str]:
    """A fresh user: (uid, email, id_token)."""
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    uid, token = firebase_emulator.sign_up(email, PASSWORD)
    return uid, email, token


def rejection(verifier: FirebaseVerifier, token: str) -> TokenRejected:
    with pytest.raises(TokenRejected) as caught:
        verifier.verify(token)
    return caught.value


def test_a_signed_up_users_token_verifies(verifier, user):
    uid, email, token = user
    identity = verifier.verify(token)
    assert (identity.uid, identity.email) == (uid, email)
    assert identity.claims["aud"] == verifier.project_id
    assert identity.role is None


def test_role_claim_appears_after_signing_in_again_and_keeps_other_claims(
    firebase_emulator, verifier, user
):
    uid, email, old_token = user
    auth.set_custom_user_claims(uid, {"team": "growth"}, app=verifier.app)

    assert verifier.set_role_claim(uid, "admin") == {"team": "growth", "role": "admin"}

    assert verifier.verify(old_token).role is None  # tokens carry claims from their sign-in on
    identity = verifier.verify(firebase_emulator.sign_in(email, PASSWORD))
    assert identity.role == "admin"
    assert identity.claims["team"] == "growth"

    verifier.set_role_claim(uid, None)
    claims = verifier.verify(firebase_emulator.sign_in(email, PASSWORD)).claims
    assert "role" not in claims and claims["team"] == "growth"


def test_a_token_issued_before_revocation_is_revoked(firebase_emulator, verifier, user):
    uid, email, token = user
    issued_at = verifier.verify(token).claims["iat"]
    # Revocation has 1-second granularity: a token counts as revoked only if its `iat` is in an
    # earlier second than `tokens_valid_after` (= int(time.time()) when revoking).
    time.sleep(max(0.0, issued_at + 1 - time.time()) + 0.01)
    auth.revoke_refresh_tokens(uid, app=verifier.app)

    assert rejection(verifier, token).code == RejectionCode.token_revoked
    assert verifier.verify(firebase_emulator.sign_in(email, PASSWORD)).uid == uid


def test_a_token_of_another_project_is_wrong_project(firebase_emulator, user):
    other = FirebaseVerifier("demo-some-other-project", firebase_emulator.host)
    assert rejection(other, user[2]).code == RejectionCode.token_wrong_project


def test_an_expired_token_is_expired(firebase_emulator, verifier, user):
    # firebase-admin itself does not check `exp` in emulator mode; the verifier does
    expired = firebase_emulator.expired(user[2])
    assert auth.verify_id_token(expired, app=verifier.app)["uid"] == user[0]
    assert rejection(verifier, expired).code == RejectionCode.token_expired


@pytest.mark.parametrize(
    "token",
    [
        "",
        "   ",
        "garbage",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.bm90IGpzb24.",  # header ok, payload not JSON
        "Bearer eyJhbGciOiJub25lIn0.e30.",  # empty payload: no aud, no sub
        "rb_abc_not-a-jwt-but-an-api-key-shape",
        "ünïcødé.☃.💥",
    ],
)
def test_garbage_is_invalid(verifier, token):
    assert rejection(verifier, token).code == RejectionCode.token_invalid


def test_a_token_without_subject_is_invalid(firebase_emulator, verifier, user):
    assert rejection(verifier, firebase_emulator.forge(user[2], sub="")).code == "token_invalid"


def test_a_disabled_users_token_is_user_disabled(firebase_emulator, verifier, user):
    uid, _, token = user
    firebase_emulator.disable_user(uid)
    assert rejection(verifier, token).code == RejectionCode.user_disabled


def test_a_deleted_users_token_is_invalid(verifier, user):
    auth.delete_user(user[0], app=verifier.app)
    assert rejection(verifier, user[2]).code == RejectionCode.token_invalid


def test_without_project_firebase_is_not_configured(user):
    verifier = FirebaseVerifier(None, None)
    assert not verifier.configured
    assert rejection(verifier, user[2]).code == RejectionCode.firebase_not_configured
    with pytest.raises(FirebaseUnavailable) as caught:
        verifier.set_role_claim(user[0], "admin")
    assert caught.value.code == RejectionCode.firebase_not_configured


def test_an_unreachable_firebase_is_unavailable(firebase_emulator, user, monkeypatch):
    closed = "127.0.0.1:9"  # discard port: nothing listens
    monkeypatch.setenv(EMULATOR_HOST_ENV, closed)
    verifier = FirebaseVerifier("demo-unreachable", closed)
    token = firebase_emulator.forge(
        user[2], aud="demo-unreachable", iss="https://securetoken.google.com/demo-unreachable"
    )
    rejected = rejection(verifier, token)  # the revocation check cannot reach the emulator
    assert rejected.code == RejectionCode.firebase_unavailable
    assert rejected.status_code == 503


def test_set_role_claim_of_an_unknown_user_is_not_found(verifier):
    with pytest.raises(NotFound):
        verifier.set_role_claim("no-such-uid", "admin")


def test_an_emulator_in_the_environment_needs_an_emulator_in_the_config(firebase_emulator):
    # firebase-admin would accept unsigned tokens for a verifier meant for production
    with pytest.raises(ValueError, match=EMULATOR_HOST_ENV):
        FirebaseVerifier("demo-production-like", None)
    with pytest.raises(ValueError, match="already"):
        FirebaseVerifier("demo-other-emulator", "127.0.0.1:1")
