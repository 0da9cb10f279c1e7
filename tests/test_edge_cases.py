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

    @app.post("/boom")  # not GET: the web console's SPA fallback answers any GET path
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/boom", headers={"X-Request-ID": "req-500-test"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json()["request_id"] == "req-500-test"
    assert response.headers["X-Request-ID"] == "req-500-test"
    log = capsys.readouterr().err
    line = next(x for x in log.splitlines() if "unhandled error on POST /boom" in x)
    assert "request=req-500-test" in line
    assert "RuntimeError: a bug" in log
    assert "POST /boom -> 500" in log  # the access line too


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


def _with_research(settings) -> dict:
    from reporting.research import ResearchRepository
    from reporting.sample_data import sample_research

    product = make_product(settings)
    ResearchRepository(open_store(settings).db).save(product["_id"], sample_research(), "t")
    return product


def test_one_weekly_snapshot_series_per_product_unless_asked(client, auth, settings):
    from reporting.snapshots import SnapshotRepository, SnapshotStatus
    from scheduler.snapshot_jobs import SnapshotRun

    product = _with_research(settings)
    later = (utcnow() + dt.timedelta(days=1)).isoformat()
    body = {"product_id": product["_id"], "run_at": later}
    made = [client.post("/v1/snapshots", headers=auth, json=body) for _ in range(3)]
    made.append(client.post("/v1/snapshots?weekly=true", headers=auth, json=body))
    assert [r.status_code for r in made] == [201] * 4, [r.text for r in made]
    snapshots = SnapshotRepository(open_store(settings).db)
    weekly = [snapshots.get(r.json()["id"])["weekly"] for r in made]
    assert weekly == [True, False, False, True]  # three requests: still one series

    run = SnapshotRun(settings)
    try:  # ending them: only the weekly ones schedule the next week's
        for r in made[:2]:
            snapshots.move(r.json()["id"], SnapshotStatus.scheduled, SnapshotStatus.running,
                           started_at=utcnow())  # fmt: skip
            run._fail(r.json()["id"], "prompts", {"reason": "error", "message": "test"})
        series, one_off = (snapshots.get(r.json()["id"]) for r in made[:2])
        assert series["next_snapshot_id"] is not None and one_off["next_snapshot_id"] is None
    finally:
        run.close()


def test_a_snapshot_at_the_end_of_the_calendar_ends_failed_not_running_forever(settings):
    from reporting.snapshots import SnapshotRepository, SnapshotStatus, new_snapshot
    from scheduler.snapshot_jobs import SnapshotRun, advance_snapshots

    product = _with_research(settings)
    snapshots = SnapshotRepository(open_store(settings).db)
    # Stored before dates were bounded: its next week would be past year 9999.
    old = snapshots.insert(new_snapshot(product, dt.date(9999, 12, 25), dt.date(9999, 12, 31),
                                        "t", utcnow()))  # fmt: skip
    snapshots.move(old["_id"], SnapshotStatus.scheduled, SnapshotStatus.running,
                   started_at=utcnow() - dt.timedelta(hours=1))  # fmt: skip
    run = SnapshotRun(settings)
    try:
        assert advance_snapshots(run) == 1  # its start job is gone: the round fails it
    finally:
        run.close()
    ended = snapshots.get(old["_id"])
    assert ended["status"] == "failed" and ended["error"]["reason"] == "lost"
    assert ended["next_snapshot_id"] is None


def test_expected_warnings_are_silenced_and_others_kept(settings, capsys):
    import logging

    import nbformat

    from reporting.export import export_report
    from reporting.logs import configure_logging

    configure_logging(settings)
    cells = [nbformat.v4.new_markdown_cell("# Same heading\n\ntext") for _ in range(2)]
    export_report(nbformat.v4.new_notebook(cells=cells))  # a real PDF: WeasyPrint warns
    logging.getLogger("weasyprint").warning("a warning that matters")
    log = capsys.readouterr().err
    assert "a warning that matters" in log
    for noise in ("Anchor defined twice", "HarfBuzz-Subset", "Could not destroy zmq context"):
        assert noise not in log


def test_pooled_kernels_talk_over_private_ipc_sockets_not_tcp(tmp_path):
    import json

    from scheduler.kernel_pool import KernelTemplate

    template = KernelTemplate(tmp_path)
    try:
        kernel = template.fork()
        connection = json.loads(kernel.connection_file.read_text())
        assert connection["transport"] == "ipc"
        assert connection["ip"].startswith(str(kernel.connection_file.parent))
        kernel.discard()
        assert not kernel.connection_file.parent.exists()  # the sockets' folder too
    finally:
        template.stop()


def test_cancelling_the_next_occurrence_clears_the_next_run_the_last_one_showed(
    client, auth, pid, settings
):
    from reporting.lifecycle import Outcome, end_attempt
    from reporting.tasks import TaskStatus, new_task

    db = open_store(settings).db
    tasks = TaskRepository(db)
    product = ProductRepository(db).get(pid)
    first = tasks.insert(new_task("broken", {}, "t", utcnow(), product_id=pid,
                                  folder_id=product["folder_id"],
                                  recurrence={"every": "7d"}))  # fmt: skip
    tasks.queue(first["_id"])
    ended = end_attempt(tasks, tasks.start(first["_id"], "w"), Outcome(TaskStatus.success))
    assert ended["next_run_at"] is not None  # the week after, shown on the run that ended
    cancelled = client.post(f"/v1/tasks/{ended['next_task_id']}/cancel", headers=auth)
    assert cancelled.status_code == 200 and cancelled.json()["next_run_at"] is None
    assert client.get(f"/v1/tasks/{first['_id']}", headers=auth).json()["next_run_at"] is None
