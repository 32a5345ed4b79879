"""The fusion reranker as a method of the evaluation harness: ``fusion`` (history) and ``fusion-statement`` rows.

Statement mode embeds a statement derived from the user's visible source items; given a :class:`StatementLinker`
(``fusion-statement-linked``) the things it names are also linked to catalogue items, as the agent links what a
person says, and those items are the user's history weighted by the links' confidence, as the agent gives them to the
reranker on a first turn (no train/serve skew between the offline row and the agent).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from scenebridge.data.visible import Context
from scenebridge.errors import UsageError
from scenebridge.rerank.behaviour import Behaviour
from scenebridge.rerank.checkpoint import load_checkpoint
from scenebridge.rerank.features import UserQuery, build_batch
from scenebridge.rerank.statement import StatementLinker, derive_parts, linked_query, statement_vectors

if TYPE_CHECKING:
    pass

__all__ = ["FusionMethod"]

_OUTSIDE = np.float32(-1e6)


class FusionMethod:
    """Scores every target item: the model orders its candidates; the rest follow by popularity."""

    def __init__(
        self, path: str | Path, mode: Literal["history", "statement"] = "history", link: StatementLinker | None = None
    ) -> None:
        if link is not None and mode != "statement":
            msg = "a statement linker is used in statement mode only"
            raise UsageError(msg)
        self.path = Path(path)
        self.mode = mode
        self.link = link
        self.name = "fusion" if mode == "history" else "fusion-statement" if link is None else "fusion-statement-linked"

    def fit(self, ctx: Context) -> None:

        self.ctx = ctx
        self.ckpt = load_checkpoint(self.path)
        cfg = self.ckpt.config
        split = ctx.split
        if (cfg["source"], cfg["target"]) != (split.source, split.target):
            msg = (
                f"{self.path} was trained for {cfg['source']} -> {cfg['target']}, not {split.source} -> "
                f"{split.target}; train one with `scenebridge train DATA --source {split.source} "
                f"--target {split.target}`"
            )
            raise UsageError(msg)
        if self.ckpt.item_ids != ctx.item_ids:
            msg = f"{self.path} was trained on another catalogue than this dataset's items.csv; retrain it on this data"
            raise UsageError(msg)
        # Refit on exactly the visible interactions of this run (same settings the training chose).
        b = self.ckpt.behaviour
        self.behaviour = Behaviour.fit(ctx.X, ctx.tgt_cols, shrink=b.shrink, n_neighbours=b.n_neighbours)
        self.tie = (self.behaviour.pop / max(float(self.behaviour.pop.max()), 1.0)).astype(np.float32)
        self.titles = dict(zip(split.items["item_id"], split.items["title"].astype(str), strict=True))
        self.model = self.ckpt.model
        import torch

        self.tgt_vecs = torch.from_numpy(self.ckpt.vectors[ctx.tgt_cols])
        self._targets = set(ctx.tgt_cols.tolist())

    def _queries(self, users: Sequence[str]) -> list[UserQuery]:
        if self.mode == "history":
            return [UserQuery(history=self.ctx.history_cols(u)) for u in users]
        histories = [self.ctx.split.history(u) for u in users]
        vectors = statement_vectors(histories, self.titles, self.ckpt.embedder)
        if self.link is None:
            return [UserQuery(interest=v) for v in vectors]
        return [self._linked(h, v) for h, v in zip(histories, vectors, strict=True)]

    def _linked(self, history: Sequence[str], vector: np.ndarray) -> UserQuery:
        """The derived statement's parts linked to items: a history weighted by confidence, as the agent's (and as
        training with a linker saw it)."""
        assert self.link is not None
        links = self.link(derive_parts(history, self.titles))
        return linked_query(links, self.ckpt.item_index, self._targets, vector)

    def score(self, users: Sequence[str]) -> np.ndarray:
        from scenebridge.rerank.model import score_lists

        out = np.tile(_OUTSIDE + self.tie, (len(users), 1))
        for start in range(0, len(users), 256):
            chunk = list(users[start : start + 256])
            batch = build_batch(self._queries(chunk), self.behaviour, self.ckpt.vectors, int(self.ckpt.config["depth"]))
            s = score_lists(self.model, batch, self.tgt_vecs)
            rows = np.repeat(np.arange(len(chunk)), batch.cands.shape[1])
            keep = batch.mask.ravel()
            out[start + rows[keep], batch.cands.ravel()[keep]] = s.ravel()[keep]
        return out
