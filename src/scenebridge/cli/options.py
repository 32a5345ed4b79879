"""The CLI's shared options, generated from the settings fields, and the one mapping from them to the settings.

An option backed by a setting takes its help (the field's description, its range, its environment variable) from
the field, as llama-cpp-python's ``add_args_from_model`` does, so help and limits are written once, in
:mod:`scenebridge.settings`. Limits are left to the settings, whose error names the key and the fix.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Annotated, Any

import annotated_types
import typer
from pydantic.fields import FieldInfo

from scenebridge.settings import (
    MAX_K,
    AgentSettings,
    ApiSettings,
    LLMSettings,
    PrivacySettings,
    Settings,
    SettingsTable,
    StoreSettings,
)

__all__ = [
    "MAX_K",
    "BatchSizeOpt",
    "EmbedderOpt",
    "ExplainOpt",
    "KOpt",
    "LlmOpt",
    "ProfilesOpt",
    "RedactOpt",
    "RerankerOpt",
    "SceneOpt",
    "StoreOpt",
    "TokenOpt",
    "UrlOpt",
    "UserOpt",
    "env_var",
    "field_limits",
    "field_type",
    "setting_help",
    "setting_option",
    "settings_from",
]


def _field(model: type[SettingsTable], name: str) -> FieldInfo:
    return model.model_fields[name]


def env_var(model: type[SettingsTable], name: str) -> str:
    """The environment variable of a setting: ``SCENEBRIDGE_<TABLE>_<FIELD>``."""
    return f"{model.model_config.get('env_prefix', '')}{name.upper()}"


def field_limits(model: type[SettingsTable], name: str) -> tuple[float | None, float | None]:
    """A numeric setting's inclusive (lowest, highest) values from its ``ge``/``le`` constraints (None: unbounded)."""
    low = high = None
    for meta in _field(model, name).metadata:
        if isinstance(meta, annotated_types.Ge):
            low = meta.ge
        elif isinstance(meta, annotated_types.Le):
            high = meta.le
    return low, high  # type: ignore[return-value]


def field_type(model: type[SettingsTable], name: str) -> Any:
    """A setting's value type with ``Annotated`` markers stripped (``list[Path]`` for ``Annotated[list[Path], …]``)."""
    tp = _field(model, name).annotation
    while typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def setting_help(model: type[SettingsTable], name: str, extra: str = "") -> str:
    """A setting's option help: its description, its range, ``extra``, and its environment variable."""
    field = _field(model, name)
    text = (field.description or name).rstrip(".")
    low, high = field_limits(model, name)
    if low is not None and high is not None:
        text += f" ({low:g}-{high:g})"
    elif low is not None:
        text += f" (at least {low:g})"
    if extra:
        text += f"; {extra}"
    # The backslash keeps rich's help markup from taking "[env ...]" for a style tag and dropping it.
    return f"{text} \\[env {env_var(model, name)}]."


def setting_option(model: type[SettingsTable], name: str, *flags: str, extra: str = "", **kwargs: Any) -> Any:
    """A ``typer.Option`` for one setting, its help from the field; give the parameter the default None, so that an
    option left out falls back on the environment, the config file and the field's default."""
    return typer.Option(*(flags or (f"--{name.replace('_', '-')}",)), help=setting_help(model, name, extra), **kwargs)


# The option types match the settings fields (test_cli_options checks it); None means "not given".
StoreOpt = Annotated[Path | None, setting_option(StoreSettings, "path", "--store")]
UrlOpt = Annotated[str | None, setting_option(StoreSettings, "url", "--url")]
EmbedderOpt = Annotated[str | None, setting_option(StoreSettings, "embedder", "--embedder")]
BatchSizeOpt = Annotated[int | None, setting_option(StoreSettings, "batch_size", "--batch-size")]
RerankerOpt = Annotated[
    list[Path] | None, setting_option(AgentSettings, "reranker", "--reranker", extra="repeat the option for several")
]
LlmOpt = Annotated[str | None, setting_option(LLMSettings, "spec", "--llm")]
ProfilesOpt = Annotated[Path | None, setting_option(AgentSettings, "profiles", "--profiles")]
ExplainOpt = Annotated[str | None, setting_option(AgentSettings, "explain", "--explain")]
KOpt = Annotated[int | None, setting_option(AgentSettings, "k", "-k")]
RedactOpt = Annotated[str | None, setting_option(PrivacySettings, "redact", "--redact")]
TokenOpt = Annotated[str | None, setting_option(ApiSettings, "token", "--token", show_default=False)]
UserOpt = Annotated[str | None, typer.Option("--user", help="User id: their cross-scene profile is used.")]
SceneOpt = Annotated[str | None, typer.Option("--scene", help="Scene to recommend in (default: from the statement).")]


def settings_from(
    store: Path | None = None,
    url: str | None = None,
    embedder: str | None = None,
    reranker: list[Path] | None = None,
    llm: str | None = None,
    profiles: Path | None = None,
    explain: str | None = None,
    k: int | None = None,
    redact: str | None = None,
    *,
    batch_size: int | None = None,
    token: str | None = None,
) -> Settings:
    """The composed settings with the given options on top (an option left out falls back on env and config).

    Raises:
        UsageError: for a value a setting refuses (naming the key and the fix).
    """
    return Settings.load(
        store={"path": store, "url": url, "embedder": embedder, "batch_size": batch_size},
        llm={"spec": llm},
        agent={"reranker": reranker or None, "profiles": profiles, "explain": explain, "k": k},
        privacy={"redact": redact},
        api={"token": token},
    )
