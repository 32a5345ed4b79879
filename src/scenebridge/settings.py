"""Settings, one pydantic model per concern, read from (highest first) explicit values, environment variables,
the config file, then defaults.

The config file is TOML, found at ``$SCENEBRIDGE_CONFIG`` or ``./scenebridge.toml``; each concern reads its own
table (``[store]``, ...). Environment variables are ``SCENEBRIDGE_<TABLE>_<FIELD>``, e.g. ``SCENEBRIDGE_STORE_URL``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from scenebridge.errors import UsageError

__all__ = [
    "MAX_K",
    "AgentSettings",
    "ApiSettings",
    "LLMSettings",
    "PrivacySettings",
    "RedactMode",
    "Settings",
    "SettingsTable",
    "StateSettings",
    "StoreSettings",
    "cache_dir",
    "config_path",
    "data_home",
    "table",
    "usage_error",
]

MAX_K = 50
"""The most items one answer, search or rerank may return (every face and tool shares it)."""


def config_path() -> Path:
    """The config file: ``$SCENEBRIDGE_CONFIG`` or ``./scenebridge.toml``."""
    return Path(os.environ.get("SCENEBRIDGE_CONFIG", "scenebridge.toml"))


def cache_dir() -> Path:
    """Downloads and the embedding cache: ``$SCENEBRIDGE_CACHE`` or ``~/.cache/scenebridge``."""
    return Path(os.environ.get("SCENEBRIDGE_CACHE", Path.home() / ".cache" / "scenebridge"))


def data_home() -> Path:
    """Where scenebridge keeps its data by default: ``$SCENEBRIDGE_HOME`` or ``~/.local/share/scenebridge``."""
    return Path(os.environ.get("SCENEBRIDGE_HOME", Path.home() / ".local" / "share" / "scenebridge"))


_T = TypeVar("_T", bound="SettingsTable")


class _TomlTable(PydanticBaseSettingsSource):
    """Reads one table of the config file."""

    def __init__(self, settings_cls: type[BaseSettings], table: str) -> None:
        super().__init__(settings_cls)
        self.table = table

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ returns the whole table

    def __call__(self) -> dict[str, Any]:
        path = config_path()
        if not path.is_file():
            return {}
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            msg = f"cannot read the config file {path} ({exc}); fix it or set SCENEBRIDGE_CONFIG"
            raise UsageError(msg) from None
        table = data.get(self.table, {})
        if not isinstance(table, dict):
            msg = f"{path}: [{self.table}] must be a table"
            raise UsageError(msg)
        return table


class SettingsTable(BaseSettings):
    """One table of settings (``[store]``, ``[llm]``, ...): explicit values, then ``SCENEBRIDGE_<TABLE>_*``
    environment variables, then the config file's table, then the defaults. Plugins may subclass it."""

    table: ClassVar[str] = ""

    def __init__(self, **values: Any) -> None:
        # Every way of building a table (an explicit value, a bad env var, a bad config-file value) answers a
        # UsageError naming the key and how to set it, never a pydantic ValidationError with a traceback.
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise usage_error(type(self), exc) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlTable(settings_cls, cls.table))


class StoreSettings(SettingsTable):
    """The item store: where it lives, which embedder fills it."""

    table: ClassVar[str] = "store"
    model_config = SettingsConfigDict(env_prefix="SCENEBRIDGE_STORE_", extra="forbid")

    path: Path = Field(default_factory=lambda: data_home() / "store", description="Embedded Chroma folder.")
    url: str | None = Field(None, description="A Chroma server (http://host:port); overrides path.")
    embedder: str = Field("use-multilingual", description="Embedder name (see `scenebridge.store.EMBEDDERS`).")
    embedder_base_url: str | None = Field(None, description="Base URL for an openai:MODEL embedder.")
    embedder_api_key: str | None = Field(None, description="API key for an openai:MODEL embedder.")
    collection_prefix: str = Field("items", description="Collections are named PREFIX-SCENE.")
    batch_size: int = Field(1024, ge=1, le=5461, description="Items per embed + upsert batch.")


class LLMSettings(SettingsTable):
    """The language model: a model name, a GGUF path, an OpenAI-compatible URL, ``fake`` or ``none``."""

    table: ClassVar[str] = "llm"
    model_config = SettingsConfigDict(env_prefix="SCENEBRIDGE_LLM_", extra="forbid")

    spec: str = Field("qwen2.5-coder-1.5b", description="Model name, .gguf path, http(s) URL, or none.")
    model: str | None = Field(None, description="Model name to ask an OpenAI-compatible server for.")
    api_key: str | None = Field(None, description="API key for an OpenAI-compatible server.")
    timeout: float = Field(60.0, gt=0, description="Seconds before a hosted LLM call is abandoned.")
    prefix_cache: bool = Field(
        True, description="Keep a local model's evaluated system prompt in the cache folder: a fresh process skips it."
    )


class AgentSettings(SettingsTable):
    """The agent's turn: which reranker, where profiles live, how explanations are worded."""

    table: ClassVar[str] = "agent"
    model_config = SettingsConfigDict(env_prefix="SCENEBRIDGE_AGENT_", extra="forbid")

    reranker: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Trained reranker folders (scenebridge train), one per target scene; comma-separated in the env "
        "var; none = the content reranker.",
    )

    @field_validator("reranker", mode="before")
    @classmethod
    def _folders(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, Path):
            return [value]
        return value

    profiles: Path = Field(default_factory=lambda: data_home() / "profiles.sqlite", description="Profile database.")
    sessions: Path = Field(
        default_factory=lambda: data_home() / "sessions.sqlite",
        description="Session database (sessions survive a restart); :memory: = kept in memory only.",
    )
    session_idle_hours: float = Field(24.0, gt=0, description="A session unused this long is dropped.")
    explain: Literal["template", "llm"] = Field("template", description="Explanation wording: template or llm.")
    k: int = Field(10, ge=1, le=MAX_K, description="Items per answer.")
    retrieve_k: int = Field(100, ge=1, le=1000, description="Candidates retrieved before reranking.")


RedactMode = Literal["off", "hosted", "all"]


class PrivacySettings(SettingsTable):
    """What leaves the machine."""

    table: ClassVar[str] = "privacy"
    model_config = SettingsConfigDict(env_prefix="SCENEBRIDGE_PRIVACY_", extra="forbid")

    redact: RedactMode = Field("hosted", description="Redact before: hosted LLMs only, all LLMs, or off.")


class ApiSettings(SettingsTable):
    """The HTTP API: an optional bearer token and limits."""

    table: ClassVar[str] = "api"
    model_config = SettingsConfigDict(env_prefix="SCENEBRIDGE_API_", extra="forbid")

    token: str | None = Field(None, description="Bearer token every /v1 request must carry; none = open.")
    max_body_bytes: int = Field(2_000_000, ge=1024, description="Larger request bodies get 413.")
    max_sessions: int = Field(10_000, ge=1, description="Sessions kept (least recently used dropped).")
    max_sessions_per_user: int = Field(100, ge=1, description="Open sessions one user may hold.")
    turn_log: int = Field(50, ge=1, description="Turns remembered per session for GET /v1/sessions/{id}.")
    max_turns: int = Field(4, ge=1, le=32, description="Turns the server runs at once (the rest queue).")
    turn_queue: int = Field(32, ge=0, le=256, description="Turns that may wait for a slot; beyond it: 429.")
    queue_wait_s: float = Field(30.0, gt=0, le=600, description="Longest wait for a slot; beyond it: 503.")


class StateSettings(SettingsTable):
    """Where sessions and profiles live when several processes share them (else the ``[agent]`` SQLite files)."""

    table: ClassVar[str] = "state"
    model_config = SettingsConfigDict(env_prefix="SCENEBRIDGE_STATE_", extra="forbid")

    url: str | None = Field(
        None,
        pattern=r"^postgres(ql)?://",
        description="PostgreSQL for sessions and profiles (postgresql://USER@HOST:PORT/DB), shared by several serve "
        "processes; overrides [agent] profiles and sessions.",
    )


class Settings(BaseModel):
    """Every table in one composed model: what :func:`scenebridge.build.build_recommender` takes."""

    model_config = ConfigDict(frozen=True)

    store: StoreSettings = Field(default_factory=StoreSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    state: StateSettings = Field(default_factory=StateSettings)

    def __init__(self, **tables: Any) -> None:
        # A table given as a dict is validated here, not by the table's own __init__: convert its errors too.
        try:
            super().__init__(**tables)
        except ValidationError as exc:
            lines = []
            for err in exc.errors():
                name, *key = err.get("loc", ()) or ("?",)
                field = type(self).model_fields.get(str(name))
                model = field.annotation if field is not None else None
                if isinstance(model, type) and issubclass(model, SettingsTable) and key:
                    lines += _lines(model, [{**err, "loc": tuple(key)}])
                else:
                    lines.append(f"bad settings table {name}: {err.get('msg', 'invalid')}")
            raise UsageError("\n".join(lines)) from None

    @classmethod
    def load(cls, **tables: dict[str, Any] | None) -> Settings:
        """Reads every table, with explicit values (e.g. command-line options) on top; ``None`` values are unset.

        Example: ``Settings.load(store={"path": folder}, llm={"spec": "none"})``.

        Raises:
            UsageError: for an unknown table, or a value a table refuses (the message names the key and the fix).
        """
        models: dict[str, type[SettingsTable]] = {"store": StoreSettings, "llm": LLMSettings, "agent": AgentSettings,
                                                   "privacy": PrivacySettings, "api": ApiSettings,
                                                   "state": StateSettings}  # fmt: skip
        unknown = sorted(set(tables) - set(models))
        if unknown:
            msg = f"unknown settings table(s) {', '.join(unknown)}; the tables are: {', '.join(models)}"
            raise UsageError(msg)
        built: dict[str, Any] = {}
        for name, model in models.items():
            given = {k: v for k, v in (tables.get(name) or {}).items() if v is not None}
            built[name] = table(model, **given)
        return cls(**built)


def table(model: type[_T], **values: Any) -> _T:
    """One settings table (kept for callers that build tables by name; the table itself converts errors).

    Raises:
        UsageError: for a bad value from an argument, the environment or the config file.
    """
    return model(**values)


_SECRET = ("key", "token", "password", "secret")


def usage_error(model: type[SettingsTable], exc: ValidationError) -> UsageError:
    """A settings validation error as one line per bad key: where it is set and what it must be."""
    return UsageError("\n".join(_lines(model, exc.errors())))


def _lines(model: type[SettingsTable], errors: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = []
    prefix = str(model.model_config.get("env_prefix", ""))
    where = config_path()
    for err in errors:
        key = ".".join(str(p) for p in err.get("loc", ())) or "?"
        field = key.split(".")[0]
        env = f"{prefix}{field.upper()}"
        if err.get("type") == "extra_forbidden":
            keys = ", ".join(model.model_fields)
            lines.append(f"unknown setting [{model.table}] {key} (from an argument or [{model.table}] in {where}); "
                         f"the keys of [{model.table}] are: {keys}")  # fmt: skip
            continue
        given = err.get("input")
        # The value helps find a typo; a secret's value is never echoed.
        shown = "" if any(s in field for s in _SECRET) or isinstance(given, dict) else f", got {given!r:.60}"
        lines.append(f"bad setting [{model.table}] {key}: {err.get('msg', 'invalid')}{shown} (set it with the option, "
                     f"{env}, or [{model.table}] {key} in {where})")  # fmt: skip
    return lines
