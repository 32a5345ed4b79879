"""The CLI's shared options, and the one mapping from them to the composed settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scenebridge.settings import MAX_K, Settings

__all__ = [
    "EmbedderOpt",
    "ExplainOpt",
    "KOpt",
    "LlmOpt",
    "ProfilesOpt",
    "RerankerOpt",
    "SceneOpt",
    "StoreOpt",
    "UrlOpt",
    "UserOpt",
    "settings_from",
]

StoreOpt = Annotated[Path | None, typer.Option("--store", help="Embedded Chroma folder [env SCENEBRIDGE_STORE_PATH].")]
UrlOpt = Annotated[str | None, typer.Option("--url", help="A Chroma server instead [env SCENEBRIDGE_STORE_URL].")]
EmbedderOpt = Annotated[
    str | None, typer.Option("--embedder", help="The store's embedder [env SCENEBRIDGE_STORE_EMBEDDER].")
]
RerankerOpt = Annotated[
    list[Path] | None,
    typer.Option("--reranker", help="Trained reranker folder (scenebridge train); repeat it, one per target scene "
                 "[env SCENEBRIDGE_AGENT_RERANKER, comma-separated]; default: the untrained content reranker."),
]  # fmt: skip
LlmOpt = Annotated[
    str | None,
    typer.Option("--llm", help="Model name, .gguf path, http(s) URL, or none [env SCENEBRIDGE_LLM_SPEC]."),
]
ProfilesOpt = Annotated[
    Path | None, typer.Option("--profiles", help="Profile database [env SCENEBRIDGE_AGENT_PROFILES].")
]
ExplainOpt = Annotated[
    str | None, typer.Option("--explain", help="template (default) or llm [env SCENEBRIDGE_AGENT_EXPLAIN].")
]
KOpt = Annotated[int | None, typer.Option("-k", help=f"Items per answer (1-{MAX_K}) [env SCENEBRIDGE_AGENT_K].")]
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
) -> Settings:
    """The composed settings with the given options on top (an option left out falls back on env and config)."""
    return Settings.load(
        store={"path": store, "url": url, "embedder": embedder},
        llm={"spec": llm},
        agent={"reranker": reranker or None, "profiles": profiles, "explain": explain, "k": k},
        privacy={"redact": redact},
    )
