"""Product research through the API: every save is a new version, old ones stay readable."""

from __future__ import annotations

import pytest

from reporting.journey import DEFAULT_STAGE_RULES
from reporting.research import Research, ResearchRepository
from reporting.sample_data import SAMPLE_BRANDS, SAMPLE_PRODUCT_NAME, seed_sample_product
from reporting.store import open_store
from tests.conftest import make_product

RESEARCH = {"summary": "# Espresso\nFive brands.", "brands": ["Brevio", "Caffora"]}


def url(pid: str, tail: str = "") -> str:
    return f"/v1/products/{pid}/research{tail}"


def service_key(client, auth, role: str, product_id: str | None = None) -> dict[str, str]:
    """Headers of a service key with `role`, granted `product_id` (or nothing)."""
    grants = [{"type": "product", "resource_id": product_id}] if product_id else []
    body = {"name": role, "role": role, "service": True, "grants": grants}
    response = client.post("/v1/api-keys", headers=auth, json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


def test_versions_increment_and_old_ones_stay_readable(client, auth, pid):
    assert client.get(url(pid), headers=auth).status_code == 404  # none yet
    assert client.get(url(pid, "/versions"), headers=auth).json() == []
    first = client.put(url(pid), headers=auth, json=RESEARCH)
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1 and first.json()["product_id"] == pid
    changed = RESEARCH | {"summary": "Now six brands.", "brands": [*RESEARCH["brands"], "Steamly"],
                          "aliases": {"Steamly": ["Steamly Co"]}}  # fmt: skip
    second = client.put(url(pid), headers=auth, json=changed)
    assert second.status_code == 201 and second.json()["version"] == 2

    latest = client.get(url(pid), headers=auth).json()
    assert latest["version"] == 2 and latest["summary"] == "Now six brands."
    assert latest["aliases"] == {"Steamly": ["Steamly Co"]}
    old = client.get(url(pid, "/versions/1"), headers=auth).json()
    assert old["summary"] == RESEARCH["summary"] and old["brands"] == RESEARCH["brands"]
    versions = client.get(url(pid, "/versions"), headers=auth).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["brands"] == ["Brevio", "Caffora", "Steamly"]
    assert {v["created_by"] for v in versions} == {latest["created_by"]}
    assert client.get(url(pid, "/versions/3"), headers=auth).status_code == 404
    assert client.get(url(pid, "/versions/0"), headers=auth).status_code == 422


def test_defaults_and_audit(client, auth, pid):
    saved = client.put(url(pid), headers=auth, json=RESEARCH).json()
    assert saved["journey_stages"] == DEFAULT_STAGE_RULES
    assert (saved["subreddits"], saved["queries"], saved["competitors_note"]) == ([], [], "")
    entries = client.get("/v1/audit", headers=auth, params={"action": "research.saved"}).json()
    assert entries["total"] == 1
    assert entries["items"][0]["target"] == {"type": "product", "id": pid}
    assert entries["items"][0]["details"] == {"version": 1}


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"brands": []}, ["body", "brands"]),
        ({"brands": ["Brevio", " "]}, ["body", "brands"]),
        ({"brands": ["Brevio", "brevio"]}, ["body", "brands"]),
        (
            {"journey_stages": {"wishlist": ["want"]}},
            ["body", "journey_stages", "wishlist", "[key]"],
        ),
        ({"aliases": {"Nobody": ["x"]}}, ["body", "aliases"]),
        ({"subreddits": ["not a sub!"]}, ["body", "subreddits"]),
        ({"colour": "blue"}, ["body", "colour"]),
    ],
)
def test_bad_research_is_422_naming_the_field(client, auth, pid, change, loc):
    response = client.put(url(pid), headers=auth, json=RESEARCH | change)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [loc]
    assert client.get(url(pid, "/versions"), headers=auth).json() == []


def test_summary_is_required(client, auth, pid):
    missing = client.put(url(pid), headers=auth, json={"brands": ["Brevio"]})
    assert missing.status_code == 422
    assert [e["loc"] for e in missing.json()["detail"]] == [["body", "summary"]]


def test_subreddits_lose_their_prefix():
    research = Research(summary="", brands=["A"], subreddits=["r/espresso", " Coffee "])
    assert research.subreddits == ["espresso", "Coffee"]
    assert research.stage_rules() == DEFAULT_STAGE_RULES


def test_products_you_cannot_see_are_404_and_readers_cannot_write(client, auth, settings, pid):
    client.put(url(pid), headers=auth, json=RESEARCH)
    other = make_product(settings, "Grinders", "Other clients")["_id"]
    client.put(url(other), headers=auth, json=RESEARCH)
    user = service_key(client, auth, "user", pid)
    for tail in ("", "/versions", "/versions/1"):
        assert client.get(url(other, tail), headers=user).status_code == 404
        assert client.get(url(pid, tail), headers=user).status_code == 200
    assert client.put(url(other), headers=user, json=RESEARCH).status_code == 404
    assert client.put(url("no-such-product"), headers=auth, json=RESEARCH).status_code == 404
    assert client.put(url(pid), headers=user, json=RESEARCH).json()["version"] == 2
    reader = service_key(client, auth, "restricted", pid)
    assert client.get(url(pid), headers=reader).status_code == 200
    assert client.put(url(pid), headers=reader, json=RESEARCH).status_code == 403


def test_repository_never_overwrites(settings):
    db = open_store(settings).db
    repo = ResearchRepository(db)
    repo.ensure_indexes()
    saved = [repo.save("p", Research(summary=f"v{i}", brands=["A"]), "me") for i in (1, 2, 3)]
    assert [s["version"] for s in saved] == [1, 2, 3]
    assert repo.get("p", 1)["summary"] == "v1" and repo.latest("p")["summary"] == "v3"
    assert repo.latest("q") is None and repo.versions("q") == []
    assert ResearchRepository.research_of(repo.get("p", 2)) == Research(summary="v2", brands=["A"])


def test_sample_product_is_seeded_with_research_once(settings):
    db = open_store(settings).db
    product = seed_sample_product(db)
    assert seed_sample_product(db)["_id"] == product["_id"]
    repo = ResearchRepository(db)
    assert [v["version"] for v in repo.versions(product["_id"])] == [1]
    research = ResearchRepository.research_of(repo.latest(product["_id"]))
    assert research.brands == SAMPLE_BRANDS and "Moka Nova" in research.aliases
    assert product["name"] == SAMPLE_PRODUCT_NAME and "espresso" in research.subreddits
