import datetime as dt
import hashlib

from reporting.access import Grant, ResourceType, Role
from reporting.api_keys import ApiKeyRepository
from reporting.store import open_store
from reporting.tasks import utcnow


def _repo(settings, pepper: str = "pepper-one") -> ApiKeyRepository:
    repo = ApiKeyRepository(open_store(settings).db, pepper)
    repo.ensure_indexes()
    return repo


def test_key_is_shown_once_and_stored_only_as_a_peppered_hash(settings):
    repo = _repo(settings)
    new = repo.create("ci", Role.admin, owner_id=None)
    assert new.key.startswith(f"rb_{new.record['prefix']}_")
    secret = new.key.split("_")[2]
    stored = repo.collection.find_one({"_id": new.record["_id"]})
    assert secret not in str(stored) and new.key not in str(stored)
    assert stored["hash"] != hashlib.sha256(secret.encode()).hexdigest()  # not a bare hash
    assert repo.verify(new.key)["_id"] == new.record["_id"]
    # The same database with another pepper recognises nothing.
    assert _repo(settings, "pepper-two").verify(new.key) is None


def test_wrong_or_malformed_keys_are_refused(settings):
    repo = _repo(settings)
    new = repo.create("ci", Role.user, owner_id="uid-1")
    prefix = new.record["prefix"]
    for bad in ["", "rb_", "nonsense", f"rb_{prefix}_wrong", f"xx_{prefix}_{new.key[-10:]}",
                new.key + "x", f"rb_{prefix}_{new.key.split('_')[2]}_extra"]:  # fmt: skip
        assert repo.verify(bad) is None, bad


def test_revoked_and_expired_keys_stop_working(settings):
    repo = _repo(settings)
    live = repo.create("live", Role.user, "uid-1", expires_at=utcnow() + dt.timedelta(hours=1))
    expired = repo.create("old", Role.user, "uid-1", expires_at=utcnow() - dt.timedelta(seconds=1))
    assert repo.verify(live.key) is not None and repo.verify(expired.key) is None
    assert repo.revoke(live.record["_id"])["revoked_at"] is not None
    assert repo.verify(live.key) is None
    assert repo.revoke(live.record["_id"]) is None  # only once


def test_grants_owner_and_last_use_are_recorded(settings):
    repo = _repo(settings)
    grant = Grant(ResourceType.folder, "f1")
    new = repo.create("k", Role.restricted, "uid-9", grants=[grant])
    record = repo.verify(new.key)
    assert record["grants"] == [grant.doc()] and record["owner_id"] == "uid-9"
    assert repo.get(new.record["_id"])["last_used_at"] is not None
    inherit = repo.create("k2", Role.user, "uid-9")
    assert repo.get(inherit.record["_id"])["grants"] is None  # acts with its owner's grants
    assert [k["name"] for k in repo.list("uid-9")] == ["k2", "k"]
