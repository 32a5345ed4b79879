"""The reranker registry: ``content`` (fixed weights, no training) and ``fusion:DIR`` (a trained folder) built in,
plugins' rerankers beside them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenebridge.errors import UsageError
from scenebridge.plugins import Register, Registry, hookimpl
from scenebridge.rerank import load_reranker
from scenebridge.rerank.api import Reranker
from scenebridge.rerank.content import ContentReranker
from scenebridge.rerank.prerequisites import prerequisite_reranker

if TYPE_CHECKING:
    from scenebridge.store.chroma import ItemStore

__all__ = ["RERANKERS", "get_reranker", "register_rerankers"]

RERANKERS: Registry[Reranker] = Registry("reranker", "register_rerankers")
"""The named rerankers: ``content``, ``fusion``, ``prerequisites``, then every plugin's."""


def get_reranker(spec: str | Path, *, store: ItemStore | None = None, **options: Any) -> Reranker:
    """Builds a reranker from a spec ``NAME`` or ``NAME:ARG``; a folder path alone means ``fusion:PATH``.

    Args:
        spec: ``content``, ``fusion:DIR`` (a folder from ``scenebridge train --out DIR``), a plugin's name, or DIR.
        store: the item store (the content reranker reads history vectors from it; plugins receive it too).
        options: passed to the factory (``embedder`` for ``content``: an Embedder; for ``fusion``: the spec the
            folder must have been trained with).

    Raises:
        UsageError: for an unknown name (listing the valid ones), a missing store or folder.
    """
    spec = str(spec)
    if spec.partition(":")[0] not in RERANKERS and Path(spec).is_dir():
        spec = f"fusion:{spec}"
    return RERANKERS.create(spec, store=store, **options)


def _content(*, store: ItemStore | None = None, **options: Any) -> Reranker:
    if store is None:
        msg = "the content reranker needs the item store (store=)"
        raise UsageError(msg)
    return ContentReranker(store, **options)


def _fusion(arg: str | None = None, *, embedder: str | None = None, **_: Any) -> Reranker:
    if not arg:
        msg = "fusion needs a trained folder: fusion:DIR (from `scenebridge train ... --out DIR`)"
        raise UsageError(msg)
    return load_reranker(arg, embedder)


@hookimpl
def register_rerankers(register: Register) -> None:
    """The built-in rerankers, registered like any plugin's."""
    register("content", _content, help="interest + history content + retrieval with fixed weights (the default)")
    register("fusion", _fusion, help="fusion:DIR: a trained fusion reranker (scenebridge[train])")
    register(
        "prerequisites",
        prerequisite_reranker,
        help="prerequisites:RELATIONS: the content reranker, never returning an item whose prerequisites "
        "(a relations.csv) are not done",
    )
