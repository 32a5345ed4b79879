from pathlib import Path

import pytest

from scenebridge.errors import UsageError
from scenebridge.settings import StoreSettings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in ("SCENEBRIDGE_STORE_PATH", "SCENEBRIDGE_STORE_URL", "SCENEBRIDGE_STORE_EMBEDDER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SCENEBRIDGE_CONFIG", str(tmp_path / "scenebridge.toml"))
    monkeypatch.setenv("SCENEBRIDGE_HOME", str(tmp_path / "home"))


def test_defaults(tmp_path):
    cfg = StoreSettings()
    assert cfg.path == tmp_path / "home" / "store"
    assert cfg.url is None
    assert cfg.embedder == "use-multilingual"


def test_precedence_explicit_env_file(tmp_path, monkeypatch):
    (tmp_path / "scenebridge.toml").write_text('[store]\nembedder = "hashing"\npath = "/from/file"\n')
    assert StoreSettings().embedder == "hashing"
    assert StoreSettings().path == Path("/from/file")
    monkeypatch.setenv("SCENEBRIDGE_STORE_EMBEDDER", "minilm")
    assert StoreSettings().embedder == "minilm"
    assert StoreSettings(embedder="hashing:32").embedder == "hashing:32"


def test_bad_config_file_is_a_usage_error(tmp_path):
    (tmp_path / "scenebridge.toml").write_text("[store\n")
    with pytest.raises(UsageError, match="cannot read the config file"):
        StoreSettings()


def test_unknown_key_is_rejected(tmp_path):
    from pydantic import ValidationError

    (tmp_path / "scenebridge.toml").write_text('[store]\ncolour = "blue"\n')
    with pytest.raises(ValidationError):
        StoreSettings()
