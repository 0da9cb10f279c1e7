import pytest

from reporting.artifacts import FileArtifactStore
from reporting.errors import NotFound


def test_put_then_get_round_trips_bytes(tmp_path):
    store = FileArtifactStore(tmp_path)
    store.put("t1", "report.pdf", b"%PDF-1.7 data")
    store.put("t1", "report.pdf", b"%PDF-1.7 newer")
    assert store.get("t1", "report.pdf") == b"%PDF-1.7 newer"
    assert [p.name for p in (tmp_path / "t1").iterdir()] == ["report.pdf"]  # no temp files left


def test_missing_artifact_is_not_found(tmp_path):
    with pytest.raises(NotFound):
        FileArtifactStore(tmp_path).get("t1", "report.pdf")


@pytest.mark.parametrize(
    ("task_id", "name"), [("..", "x"), ("t1", "../x"), ("t1", "/etc/passwd"), ("a/b", "x")]
)
def test_unsafe_paths_are_refused(tmp_path, task_id, name):
    with pytest.raises(ValueError):
        FileArtifactStore(tmp_path).put(task_id, name, b"x")
