"""Edge cases that used to answer a bare 500 or leave a wrong state: an unhandled error, Redis
going down after the store was updated, re-seeding after a rename, a cancelled occurrence."""

from __future__ import annotations

import datetime as dt
import signal

from fastapi.testclient import TestClient
from redis import Redis

from reporting.launcher import seed
from reporting.processes import start_redis, stop
from reporting.products import ProductRepository
from reporting.queue import TaskQueue, job_id
from reporting.sample_data import SAMPLE_PRODUCT, seed_sample_product
from reporting.settings import load_settings
from reporting.store import open_store
from reporting.tasks import TaskRepository, utcnow
from scheduler.tick import recover
from service.main import create_app
from tests.conftest import MASTER_KEY, make_product


def _admin(client: TestClient) -> dict[str, str]:
    key = client.post("/v1/admin/api-keys", headers={"X-Master-Key": MASTER_KEY},
                      json={"name": "t", "role": "admin"}).json()["key"]  # fmt: skip
    return {"Authorization": f"Bearer {key}"}


def test_an_unhandled_error_is_a_json_500_with_the_request_id_also_in_the_log(settings, capsys):
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": "req-500-test"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json()["request_id"] == "req-500-test"
    assert response.headers["X-Request-ID"] == "req-500-test"
    log = capsys.readouterr().err
    line = next(x for x in log.splitlines() if "unhandled error on GET /boom" in x)
    assert "request=req-500-test" in line
    assert "RuntimeError: a bug" in log
    assert "GET /boom -> 500" in log  # the access line too


def test_redis_down_after_the_store_changed_is_503_and_recovery_completes_it(
    settings, tmp_path, monkeypatch
):
    process, url = start_redis(tmp_path / "redis")
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    monkeypatch.setenv("REDIS_URL", url)
    settings = load_settings()
    pid = make_product(settings)["_id"]
    try:
        with TestClient(create_app(settings)) as client:
            auth = _admin(client)
            ids = [
                client.post(
                    "/v1/tasks",
                    headers=auth,
                    json={
                        "notebook": "broken",
                        "product_id": pid,
                        "parameters": {"divisor": n},
                    },
                ).json()["id"]  # fmt: skip
                for n in (1, 2)
            ]
            assert [client.get(f"/v1/tasks/{i}", headers=auth).json()["status"] for i in ids] == [
                "queued", "queued"]  # fmt: skip
            process.send_signal(signal.SIGKILL)  # Redis dies, nothing saved
            process.wait()

            cancelled = client.post(f"/v1/tasks/{ids[0]}/cancel", headers=auth)
            assert cancelled.status_code == 200, cancelled.text  # its stale job is skipped
            assert cancelled.json()["status"] == "cancelled"
            moved = client.patch(f"/v1/tasks/{ids[1]}", headers=auth, json={"priority": "high"})
            assert moved.status_code == 503, moved.text
            assert "Redis" in moved.json()["detail"]
            assert client.get("/v1/tasks", headers=auth).status_code == 200  # reads still work

        process, _ = start_redis(tmp_path / "redis", port)  # back, empty
        tasks = TaskRepository(open_store(settings).db)
        task = tasks.get(ids[1])
        assert task["status"] == "queued" and task["priority"] == "high"
        queue = TaskQueue(settings)
        assert recover(tasks, queue, grace=0) == 1  # the scheduler's lost-job round
        assert queue.queues["high"].job_ids == [job_id(task)]
        assert tasks.get(ids[0])["status"] == "cancelled"
    finally:
        stop(process)
        Redis.from_url(settings.redis_url).close()


def test_seeding_finds_the_sample_product_after_a_rename(settings):
    assert seed(settings) == 2500
    db = open_store(settings).db
    products = ProductRepository(db)
    (product,) = products.list()
    products.update(product["_id"], {"name": "Espresso at home"})
    assert seed(settings) == 0  # no "slug 'home-espresso' is taken"
    assert [p["_id"] for p in products.list()] == [product["_id"]]
    assert seed_sample_product(db)["name"] == "Espresso at home"


def test_seeding_does_not_take_a_users_slug_nor_remake_a_deleted_sample(settings):
    db = open_store(settings).db
    products = ProductRepository(db)
    mine = make_product(settings, name="Home espresso")  # a user's product, first
    assert mine["slug"] == SAMPLE_PRODUCT
    sample = seed_sample_product(db)
    assert sample["_id"] != mine["_id"] and sample["slug"] != SAMPLE_PRODUCT
    assert seed_sample_product(db)["_id"] == sample["_id"]
    products.delete(sample["_id"])
    assert seed_sample_product(db) is None  # deleted by a user: not made again
    assert [p["_id"] for p in products.list()] == [mine["_id"]]


def test_a_cancelled_occurrence_of_a_series_shows_no_next_run(client, auth, pid):
    run_at = utcnow() + dt.timedelta(days=2)
    task = client.post("/v1/tasks", headers=auth, json={
        "notebook": "broken", "product_id": pid, "run_at": run_at.isoformat(),
        "recurrence": {"cron": "0 6 * * MON", "timezone": "UTC"},
    }).json()  # fmt: skip
    assert task["status"] == "pending" and task["next_run_at"] is not None
    cancelled = client.post(f"/v1/tasks/{task['id']}/cancel", headers=auth)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["next_run_at"] is None
    assert client.get(f"/v1/tasks/{task['id']}", headers=auth).json()["next_run_at"] is None
