"""The one composition root: a composed :class:`~scenebridge.settings.Settings` in, a fully wired
:class:`~scenebridge.agent.turn.Recommender` out.

Only this module reads settings and builds the agent's parts; every face (CLI, HTTP, MCP, scripts, benchmarks)
calls it. An LLM is always built through the registry and wrapped for redaction here, so ``[privacy]`` applies on
every path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from scenebridge.agent.session import SessionStore
from scenebridge.agent.turn import Recommender
from scenebridge.errors import UsageError
from scenebridge.llm.protocol import LLM
from scenebridge.llm.redact import with_redaction
from scenebridge.llm.registry import llm_from_settings
from scenebridge.rerank import load_reranker
from scenebridge.rerank.api import Reranker
from scenebridge.rerank.background import BackgroundReranker
from scenebridge.rerank.router import SceneRouter
from scenebridge.rerank.topk import load_half_product
from scenebridge.settings import LLMSettings, PrivacySettings, Settings, StoreSettings
from scenebridge.store.chroma import ItemStore
from scenebridge.store.embed import cached_embedder
from scenebridge.store.profiles import ProfileStore

__all__ = ["build_llm", "build_recommender", "build_reranker", "build_sessions", "build_store"]


def build_store(*, settings: StoreSettings, require_items: bool = True) -> ItemStore:
    """The item store of ``[store]``.

    Raises:
        UsageError: when the folder does not exist or (with ``require_items``) the store holds no items.
    """
    if not settings.url and require_items and not Path(settings.path).is_dir():
        msg = f"no item store at {settings.path}; build one with `scenebridge index DATA --store {settings.path}`"
        raise UsageError(msg)
    store = ItemStore(
        cached_embedder(settings.embedder, base_url=settings.embedder_base_url, api_key=settings.embedder_api_key),
        path=settings.path,
        url=settings.url,
        prefix=settings.collection_prefix,
    )
    if require_items and not store.scenes:
        msg = (
            f"the item store at {store.where} has no complete scene (empty, or an index run was stopped before it "
            "finished); run `scenebridge index DATA` (again: it resumes)"
        )
        raise UsageError(msg)
    return store


def build_llm(*, settings: LLMSettings, privacy: PrivacySettings | None = None, **options: Any) -> LLM | None:
    """The LLM of ``[llm]`` through the registry (``none`` = the lexical parser alone), behind redaction when
    ``[privacy] redact`` asks for it. ``options`` go to the backend (e.g. ``n_ctx``)."""
    return llm_from_settings(settings, privacy, **options)


def build_reranker(*, folders: Sequence[Path], background: bool = False) -> Reranker | None:
    """Trained rerankers from ``scenebridge train --out DIR`` folders, routed by scene; None when there are none
    (the recommender then ranks by content).

    With ``background`` each checkpoint's config is checked now and its tensors (and torch) load in a thread,
    waited for at the first rerank (:class:`~scenebridge.rerank.background.BackgroundReranker`).

    Raises:
        UsageError: for a missing folder, two for one scene, or mixed embedders.
    """
    for path in folders:
        if not Path(path).is_dir():
            msg = (
                f"no reranker folder at {path}; train one with `scenebridge train DATA --source S --target T --out DIR`"
            )
            raise UsageError(msg)
    if not folders:
        return None
    models: list[Reranker] = [BackgroundReranker(path) if background else load_reranker(path) for path in folders]
    if not background:
        load_half_product()
    return models[0] if len(models) == 1 else SceneRouter(models)


def build_recommender(
    *,
    settings: Settings | None = None,
    mirror: bool = False,
    store: ItemStore | None = None,
    llm: LLM | Literal["settings"] | None = "settings",
    reranker: Reranker | Literal["settings"] | None = "settings",
    profiles: ProfileStore | Literal["settings"] | None = "settings",
    sessions: SessionStore | Literal["settings"] | None = "settings",
) -> Recommender:
    """A fully wired recommender: store, LLM (redacted as ``[privacy]`` says), rerankers routed by scene with the
    content reranker as default, profiles and the one session store sized by ``[api]``, kept in ``[agent] sessions``
    (so sessions survive a restart) and expired after ``[agent] session_idle_hours``.

    Args:
        settings: every table; read from the environment and the config file when None.
        mirror: keep the store in memory (long-lived processes: chat, serve, mcp).
        store: an item store already open (e.g. one a test built); else the one of ``[store]``.
        llm: an LLM instance to use instead of ``[llm]`` (still put behind redaction), or None for none.
        reranker: a reranker instance instead of ``[agent] reranker`` (None: the content reranker).
        profiles: a profile store instead of ``[agent] profiles`` (None: no profiles).
        sessions: a session store instead of ``[agent] sessions`` (None: in memory only, e.g. for benchmarks).
    """
    cfg = settings or Settings.load()
    # The LLM first: it loads in a background thread (native code, off the GIL) while the store opens. Then the
    # reranker, also in the background (torch's import is Python work that would slow the store's import if it
    # ran beside it): a one-shot call parses meanwhile; a long-lived process waits for it below, so a corrupt
    # checkpoint fails at start-up.
    model = (
        build_llm(settings=cfg.llm, privacy=cfg.privacy)
        if llm == "settings"
        else with_redaction(llm, cfg.privacy.redact)
    )
    items = store if store is not None else build_store(settings=cfg.store)
    ranker = build_reranker(folders=cfg.agent.reranker, background=True) if reranker == "settings" else reranker
    if mirror:
        _wait(ranker)
    return Recommender(
        items,
        reranker=ranker,
        llm=model,
        profiles=ProfileStore(cfg.state.url or cfg.agent.profiles) if profiles == "settings" else profiles,
        explain=cfg.agent.explain,
        k=cfg.agent.k,
        retrieve_k=cfg.agent.retrieve_k,
        mirror=mirror,
        sessions=build_sessions(cfg, persist=True) if sessions == "settings" else sessions or build_sessions(cfg),
    )


def _wait(reranker: Reranker | None) -> None:
    if reranker is not None:
        load_half_product()
    for rr in reranker.by_scene.values() if isinstance(reranker, SceneRouter) else [reranker]:
        if isinstance(rr, BackgroundReranker):
            rr.wait()


def build_sessions(settings: Settings, *, persist: bool = False) -> SessionStore:
    """The session store sized by ``[api]``, expiring after ``[agent] session_idle_hours``; with ``persist`` in
    ``[state] url`` (PostgreSQL) or else on disk at ``[agent] sessions``, without it in memory."""
    return SessionStore(
        max_sessions=settings.api.max_sessions,
        per_user=settings.api.max_sessions_per_user,
        turn_log=settings.api.turn_log,
        path=(settings.state.url or settings.agent.sessions) if persist else None,
        idle_hours=settings.agent.session_idle_hours,
    )
