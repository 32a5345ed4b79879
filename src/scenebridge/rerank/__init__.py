"""The fusion reranker: features, the PyTorch model, training, checkpoints, and the reranking contract."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scenebridge.extras import require
from scenebridge.rerank.api import Candidate, Evidence, Reranker, RerankQuery, Scored
from scenebridge.rerank.fusion import load_reranker as _load

if TYPE_CHECKING:
    from scenebridge.rerank.fusion import FusionReranker

__all__ = ["Candidate", "Evidence", "RerankQuery", "Reranker", "Scored", "load_reranker"]


def load_reranker(path: str | Path, embedder: str | None = None) -> FusionReranker:
    """Loads a checkpoint folder from ``scenebridge train`` (torch and the model load only when this is called).

    Raises:
        UsageError: for a missing or incomplete folder, another feature spec, or a different ``embedder``.
    """
    require("train", "torch", "a trained reranker (--reranker DIR, torch)")
    return _load(path, embedder)
