"""Products' slugs: the key their raw data is stored under and notebooks take as `product`."""

from reporting.products import ProductRepository, slugify
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
