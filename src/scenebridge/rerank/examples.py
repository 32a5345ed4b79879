"""The training lists of the fusion reranker: per user and mode, the candidates, their features, the query vector,
the labels and the history the id path reads (weighted for a linked statement)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scenebridge.rerank.features import Batch

__all__ = ["Examples"]


@dataclass
class Examples:
    """Flattened per-user training lists: candidates, features, query vector, labels."""

    cands: list[np.ndarray] = field(default_factory=list)
    feats: list[np.ndarray] = field(default_factory=list)
    query: list[np.ndarray] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    histories: list[np.ndarray] = field(default_factory=list)
    weights: list[np.ndarray | None] = field(default_factory=list)

    def add(self, batch: Batch, positives: list[np.ndarray]) -> None:
        """Each user's list of ``batch`` with their positives (a list without a positive teaches nothing: left out)."""
        weights = batch.history_weights or [None] * len(positives)
        for i, pos in enumerate(positives):
            m = batch.mask[i]
            c = batch.cands[i][m]
            y = np.isin(c, pos).astype(np.float32)
            if y.sum() == 0:
                continue  # nothing to learn from a list without a positive
            self.cands.append(c)
            self.feats.append(batch.feats[i][m])
            self.query.append(batch.query[i])
            self.labels.append(y)
            self.histories.append(batch.histories[i])
            self.weights.append(weights[i])

    def id_weights(self, idx: np.ndarray) -> np.ndarray | None:
        """The flattened history weights of lists ``idx`` for the id path (None when none is weighted: the plain
        mean), as :func:`~scenebridge.rerank.model.score_lists` weighs a linked history."""
        if not any(self.weights[j] is not None for j in idx):
            return None
        return np.concatenate([np.ones(len(self.histories[j]), np.float32) if self.weights[j] is None
                               else np.asarray(self.weights[j], np.float32) for j in idx])  # fmt: skip
