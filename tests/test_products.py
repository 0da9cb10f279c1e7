"""Products' slugs (the key their raw data is stored under and notebooks take as `product`)
and what deleting a product takes with it."""

import json
from datetime import date

from reporting.data_versions import DataVersions
from reporting.ingestion import IngestionRepository
from reporting.products import ProductRepository, slugify
from reporting.reddit import RedditRepository
from reporting.research import ResearchRepository
from reporting.snapshots import SnapshotRepository, new_snapshot
from reporting.store import open_store


def test_slugify():
    assert slugify("Home espresso") == "home-espresso"
    assert slugify("  Café & Co. 2026 ") == "caf-co-2026"
    assert slugify("!!!") == "product"


def test_slug_is_made_unique_and_kept_on_rename(client, auth):
    folder = client.post("/v1/folders", headers=auth, json={"name": "F"}).json()["id"]
    first = client.post(
        "/v1/products", headers=auth, json={"name": "Grinders", "folder_id": folder}
    )
    second = client.post(
        "/v1/products", headers=auth, json={"name": "grinders", "folder_id": folder}
    )
    assert (first.json()["slug"], second.json()["slug"]) == ("grinders", "grinders-2")
    renamed = client.patch(
        f"/v1/products/{first.json()['id']}", headers=auth, json={"name": "Mills"}
    )
    assert renamed.json()["slug"] == "grinders"


def test_explicit_slug_is_validated_and_unique(client, auth):
    folder = client.post("/v1/folders", headers=auth, json={"name": "F"}).json()["id"]
    body = {"name": "Kettles", "folder_id": folder, "slug": "Not A Slug"}
    bad = client.post("/v1/products", headers=auth, json=body)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "slug"]
    ok = client.post("/v1/products", headers=auth, json=body | {"slug": "kettles-eu"})
    assert ok.status_code == 201 and ok.json()["slug"] == "kettles-eu"
    taken = client.post("/v1/products", headers=auth, json=body | {"slug": "kettles-eu"})
    assert taken.status_code == 422 and taken.json()["detail"][0]["loc"] == ["body", "slug"]


def test_products_stored_before_slugs_get_one(settings):
    db = open_store(settings).db
    db["products"].insert_many([{"_id": "old", "name": "Old Product", "folder_id": "f"}])
    ProductRepository(db).ensure_indexes()
    assert ProductRepository(db).get("old")["slug"] == "old-product"


def test_delete_takes_the_products_data_with_it(client, auth, settings):
    folder = client.post("/v1/folders", headers=auth, json={"name": "F"}).json()["id"]
    body = {"name": "Grinders", "folder_id": folder}
    product = client.post("/v1/products", headers=auth, json=body).json()
    pid = product["id"]
    rows = "\n".join(
        json.dumps({"id": f"p{i}", "title": f"post {i}", "subreddit": "espresso",
                    "created_utc": 1785000000 + i, "author": "a"})
        for i in range(3)
    )  # fmt: skip
    ndjson = auth | {"Content-Type": "application/x-ndjson"}
    imported = client.post(f"/v1/products/{pid}/raw/reddit", headers=ndjson, content=rows)
    assert imported.status_code == 201, imported.text
    research = {"summary": "Grinders", "brands": ["Mazz"]}
    assert client.put(f"/v1/products/{pid}/research", headers=auth, json=research).is_success
    db = open_store(settings).db
    reddit = RedditRepository(db)
    assert reddit.count_posts("grinders") == 3
    before = DataVersions(db).of(["grinders", pid])

    deleted = client.delete(f"/v1/products/{pid}", headers=auth)
    assert deleted.status_code == 200 and deleted.json()["slug"] == "grinders"
    assert client.get(f"/v1/products/{pid}", headers=auth).status_code == 404
    assert reddit.count_posts("grinders") == 0
    after = DataVersions(db).of(["grinders", pid])
    assert all(after[k] > before[k] for k in before)  # no cached report of the data is served
    assert ResearchRepository(db).versions(pid) == []
    assert IngestionRepository(db).page(pid, 10, 0)[1] == 0
    entry = client.get("/v1/audit?action=product.deleted", headers=auth).json()["items"][0]
    assert entry["details"] == {"research_versions": 1, "reddit_posts": 3, "reddit_comments": 0,
                                "ingestions": 1, "sov_rows": 0}  # fmt: skip

    again = client.post("/v1/products", headers=auth, json=body).json()
    assert again["slug"] == "grinders"  # the slug is free again, and holds nothing
    assert client.get(f"/v1/products/{again['id']}/research", headers=auth).status_code == 404


def test_a_product_with_snapshots_or_tasks_is_kept(client, auth, settings):
    db = open_store(settings).db
    folder = client.post("/v1/folders", headers=auth, json={"name": "F"}).json()["id"]
    product = client.post("/v1/products", headers=auth, json={"name": "Kettles",
                                                               "folder_id": folder}).json()  # fmt: skip
    stored = ProductRepository(db).get(product["id"])
    SnapshotRepository(db).insert(new_snapshot(stored, date(2026, 8, 3), date(2026, 8, 9), "t"))
    refused = client.delete(f"/v1/products/{product['id']}", headers=auth)
    assert refused.status_code == 409
    assert refused.json()["status"] == "in use by snapshots"
    assert client.get(f"/v1/products/{product['id']}", headers=auth).status_code == 200
