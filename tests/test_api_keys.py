from reporting.api_keys import ApiKeyRepository, Role
from reporting.store import open_store


def test_key_is_shown_once_and_stored_only_as_hash(settings):
    repo = ApiKeyRepository(open_store(settings).db)
    repo.ensure_indexes()
    new = repo.create("ci", Role.admin)
    assert new.key.startswith(f"rb_{new.record['prefix']}_")
    secret = new.key.split("_")[2]
    stored = repo.collection.find_one({"_id": new.record["_id"]})
    assert secret not in str(stored) and new.key not in str(stored)
    assert repo.verify(new.key)["_id"] == new.record["_id"]


def test_wrong_or_malformed_keys_are_refused(settings):
    repo = ApiKeyRepository(open_store(settings).db)
    new = repo.create("ci", Role.user)
    prefix = new.record["prefix"]
    for bad in [
        "",
        "rb_",
        "nonsense",
        f"rb_{prefix}_wrong",
        f"xx_{prefix}_{new.key[-10:]}",
        new.key + "x",
        f"rb_{prefix}_{new.key.split('_')[2]}_extra",
    ]:
        assert repo.verify(bad) is None, bad
