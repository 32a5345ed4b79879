"""Builds a :class:`Recommender` from settings and explicit options (shared by the CLI, MCP and HTTP faces)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from scenebridge.errors import UsageError

if TYPE_CHECKING:
    from scenebridge.agent.llm.base import LLM
    from scenebridge.agent.turn import Recommender
    from scenebridge.rerank.api import Reranker
    from scenebridge.store.chroma import ItemStore

__all__ = ["load_trained_reranker", "open_llm", "open_recommender", "open_store"]


def open_store(path: Path | None = None, url: str | None = None, embedder: str | None = None) -> ItemStore:
    """The item store from options, falling back on ``[store]`` settings; refuses a store with no items."""
    from scenebridge.settings import StoreSettings
    from scenebridge.store import ItemStore, cached_embedder

    overrides: dict[str, Any] = {"path": path, "url": url, "embedder": embedder}
    cfg = StoreSettings(**{k: v for k, v in overrides.items() if v is not None})
    if not cfg.url and not Path(cfg.path).is_dir():
        msg = f"no item store at {cfg.path}; build one with `scenebridge index DATA --store {cfg.path}`"
        raise UsageError(msg)
    store = ItemStore(
        cached_embedder(cfg.embedder, base_url=cfg.embedder_base_url, api_key=cfg.embedder_api_key),
        path=cfg.path,
        url=cfg.url,
        prefix=cfg.collection_prefix,
    )
    if not store.scenes:
        msg = f"the item store at {store.where} is empty; run `scenebridge index DATA` first"
        raise UsageError(msg)
    return store


def open_llm(spec: str | None = None) -> LLM | None:
    """The LLM from a spec (``none`` = the lexical parser alone), falling back on ``[llm]`` settings."""
    from scenebridge.agent.llm.base import get_llm
    from scenebridge.settings import LLMSettings

    cfg = LLMSettings(spec=spec) if spec else LLMSettings()
    if cfg.spec == "none":
        return None
    options = {"model": cfg.model, "api_key": cfg.api_key, "timeout": cfg.timeout} if "://" in cfg.spec else {}
    from scenebridge.privacy import with_redaction  # [privacy] redact: hosted LLMs get no emails, phones, ids

    return with_redaction(get_llm(cfg.spec, **options))


def load_trained_reranker(folder: Path | Sequence[Path]) -> Reranker:
    """A trained reranker from ``scenebridge train --out DIR`` (torch loads only here); several folders (one per
    target scene) give a :class:`~scenebridge.rerank.router.SceneRouter`."""
    folders = [folder] if isinstance(folder, Path) else list(folder)
    for path in folders:
        if not path.is_dir():
            msg = (
                f"no reranker folder at {path}; train one with `scenebridge train DATA --source S --target T --out DIR`"
            )
            raise UsageError(msg)
    from scenebridge.rerank import load_reranker

    models = [load_reranker(path) for path in folders]
    if len(models) == 1:
        return models[0]
    from scenebridge.rerank.router import SceneRouter

    return SceneRouter(models)


def open_recommender(
    store: Path | None = None,
    url: str | None = None,
    embedder: str | None = None,
    reranker: Path | Sequence[Path] | None = None,
    llm: str | None = None,
    profiles: Path | None = None,
    explain: str | None = None,
    k: int | None = None,
    mirror: bool = False,
) -> Recommender:
    """A recommender from options, each falling back on the settings (``[store]``, ``[llm]``, ``[agent]``).

    Args:
        store: embedded Chroma folder.
        url: a Chroma server instead.
        embedder: the store's embedder spec.
        reranker: trained reranker folder(s), one per target scene; the content reranker when neither this nor the
            settings name one.
        llm: model name, GGUF path, URL, ``fake`` or ``none``.
        profiles: the profile database (SQLite file).
        explain: ``template`` or ``llm``.
        k: items per answer.
        mirror: keep the store in memory (long-lived processes).
    """
    from scenebridge.agent.turn import Recommender
    from scenebridge.settings import AgentSettings
    from scenebridge.store.profiles import ProfileStore

    folders = [reranker] if isinstance(reranker, Path) else list(reranker or [])
    overrides: dict[str, Any] = {"reranker": folders or None, "profiles": profiles, "explain": explain, "k": k}
    try:
        cfg = AgentSettings(**{key: v for key, v in overrides.items() if v is not None})
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        msg = f"bad agent setting: {detail}"
        raise UsageError(msg) from None
    item_store = open_store(store, url, embedder)
    model = load_trained_reranker(cfg.reranker) if cfg.reranker else None
    return Recommender(
        item_store,
        reranker=model,
        llm=open_llm(llm),
        profiles=ProfileStore(cfg.profiles),
        explain=cfg.explain,
        k=cfg.k,
        retrieve_k=cfg.retrieve_k,
        mirror=mirror,
    )
