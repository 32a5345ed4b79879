import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from scenebridge.errors import UsageError
from scenebridge.settings import MAX_K, AgentSettings, ApiSettings, LLMSettings, Settings, StoreSettings, table

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in [name for name in os.environ if name.startswith("SCENEBRIDGE_")]:
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


def test_unknown_key_is_a_usage_error_listing_the_keys(tmp_path):
    (tmp_path / "scenebridge.toml").write_text('[store]\ncolour = "blue"\n')
    with pytest.raises(UsageError, match=r"unknown setting \[store\] colour") as info:
        StoreSettings()
    assert "embedder" in str(info.value)  # the keys it could have meant
    assert not isinstance(info.value.__cause__, ValidationError)


def _names_the_fix(err: UsageError, table: str, key: str, env: str) -> None:
    text = str(err)
    assert f"[{table}] {key}" in text
    assert env in text
    assert "scenebridge.toml" in text  # the config file where the table lives
    assert len(text.splitlines()) == 1  # one bad key, one line (the CLI prints it as one `error:` line)


@pytest.mark.parametrize(
    ("build", "table", "key", "env", "value"),
    [
        (lambda: ApiSettings(), "api", "max_sessions", "SCENEBRIDGE_API_MAX_SESSIONS", "lots"),
        (lambda: LLMSettings(), "llm", "timeout", "SCENEBRIDGE_LLM_TIMEOUT", "-1"),
        (lambda: StoreSettings(), "store", "batch_size", "SCENEBRIDGE_STORE_BATCH_SIZE", "0"),
        (lambda: Settings.load(), "api", "max_sessions", "SCENEBRIDGE_API_MAX_SESSIONS", "lots"),
    ],
)
def test_bad_env_var_is_a_usage_error(monkeypatch, build, table, key, env, value):
    monkeypatch.setenv(env, value)
    with pytest.raises(UsageError) as info:
        build()
    _names_the_fix(info.value, table, key, env)
    assert repr(value) in str(info.value)  # the value that was refused


def test_bad_config_file_value_is_a_usage_error(tmp_path):
    (tmp_path / "scenebridge.toml").write_text("[api]\nmax_sessions_per_user = 0\n")
    with pytest.raises(UsageError) as info:
        ApiSettings()
    _names_the_fix(info.value, "api", "max_sessions_per_user", "SCENEBRIDGE_API_MAX_SESSIONS_PER_USER")
    with pytest.raises(UsageError, match=r"\[api\] max_sessions_per_user"):
        Settings.load(store={"path": tmp_path})


@pytest.mark.parametrize(
    ("build", "table", "key", "env"),
    [
        (lambda: AgentSettings(k=MAX_K + 1), "agent", "k", "SCENEBRIDGE_AGENT_K"),
        (lambda: table(AgentSettings, explain="poetry"), "agent", "explain", "SCENEBRIDGE_AGENT_EXPLAIN"),
        (lambda: Settings.load(api={"turn_log": 0}), "api", "turn_log", "SCENEBRIDGE_API_TURN_LOG"),
        (lambda: Settings(store={"batch_size": 0}), "store", "batch_size", "SCENEBRIDGE_STORE_BATCH_SIZE"),
    ],
)
def test_bad_explicit_value_is_a_usage_error(build, table, key, env):
    with pytest.raises(UsageError) as info:
        build()
    _names_the_fix(info.value, table, key, env)


def test_a_secret_is_never_echoed(monkeypatch):
    monkeypatch.setenv("SCENEBRIDGE_API_TOKEN", "x")
    with pytest.raises(UsageError) as info:
        ApiSettings(token=["s3cret-value"])
    assert "[api] token" in str(info.value)
    assert "s3cret" not in str(info.value)


def test_several_bad_keys_one_line_each():
    with pytest.raises(UsageError) as info:
        AgentSettings(k=0, retrieve_k=0)
    lines = str(info.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["bad setting [agent] k", "bad setting [agent] retrieve_k"]
