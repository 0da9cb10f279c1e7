import stat

from reporting.launcher import ensure_master_key, seed
from reporting.settings import load_settings


def test_master_key_is_generated_once_with_mode_0600(tmp_path, monkeypatch):
    monkeypatch.delenv("MASTER_KEY", raising=False)
    settings = load_settings(data_dir=tmp_path)
    path = ensure_master_key(settings)
    assert path == tmp_path / "master.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    assert len(key) >= 40
    # The next start reuses it, and the settings read it.
    reloaded = load_settings(data_dir=tmp_path)
    assert ensure_master_key(reloaded) == path and path.read_text().strip() == key
    assert reloaded.master_key.get_secret_value() == key


def test_configured_master_key_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MASTER_KEY", "from-the-environment")
    assert ensure_master_key(load_settings(data_dir=tmp_path)) is None
    assert not (tmp_path / "master.key").exists()


def test_sample_data_is_seeded_once(settings):
    assert seed(settings) == 2500
    assert seed(settings) == 0
