"""The fusion network: behaviour features ⊕ a learned interest × item content cross ⊕ the target scene."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from scenebridge.rerank.infer import id_arrays

if TYPE_CHECKING:
    from scenebridge.rerank.features import Batch

__all__ = ["FusionNet", "id_inputs", "score_lists"]


def id_inputs(histories: Sequence[np.ndarray], targets: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The id path's inputs: flattened history columns, their bag offsets, and users x C target indices.

    A target index of -1 (padding, or an item the model never saw) maps to the last, all-zero embedding row.
    """
    flat, offsets, tgt = id_arrays(histories, targets)
    return torch.from_numpy(flat), torch.from_numpy(offsets), torch.from_numpy(tgt)


class FusionNet(nn.Module):
    """Scores each candidate of each user.

    The id path learns an embedding per catalogue item: the user is the mean embedding of their history items
    (any scene), scored against a target item's own embedding and bias — a cross-scene factorisation trained for
    exactly this cold-start task. The content path projects the user's query vector (history mean and/or interest
    summary) and each candidate's content vector into a small shared space; their elementwise product joins the
    standardised behaviour features and a scene embedding in an MLP, and their dot product is added to its output —
    so an item with only text still gets a learned content score.
    """

    feat_mean: torch.Tensor
    feat_std: torch.Tensor

    def __init__(
        self,
        n_features: int,
        content_dim: int,
        n_scenes: int = 1,
        cross_dim: int = 32,
        hidden: int = 64,
        dropout: float = 0.1,
        n_items: int = 0,
        n_targets: int = 0,
        id_dim: int = 0,
    ) -> None:
        super().__init__()
        self.id_dim = id_dim if n_items and n_targets else 0
        self.n_targets = n_targets
        if self.id_dim:
            self.user_ids = nn.EmbeddingBag(n_items, self.id_dim, mode="mean")
            self.item_ids = nn.Embedding(n_targets + 1, self.id_dim, padding_idx=n_targets)
            self.item_bias = nn.Embedding(n_targets + 1, 1, padding_idx=n_targets)
            nn.init.normal_(self.user_ids.weight, std=0.01)
            nn.init.normal_(self.item_ids.weight, std=0.01)
            nn.init.zeros_(self.item_bias.weight)
        self.proj_user = nn.Linear(content_dim, cross_dim)
        self.proj_item = nn.Linear(content_dim, cross_dim)
        self.scene = nn.Embedding(max(n_scenes, 1), 4)
        self.mlp = nn.Sequential(
            nn.Linear(n_features + cross_dim + self.id_dim + 4, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )
        self.register_buffer("feat_mean", torch.zeros(n_features))
        self.register_buffer("feat_std", torch.ones(n_features))

    def forward(
        self,
        feats: torch.Tensor,
        query: torch.Tensor,
        items: torch.Tensor,
        index: torch.Tensor,
        scene: torch.Tensor,
        ids: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
        id_weights: np.ndarray | None = None,
    ) -> torch.Tensor:
        """Scores, shape (users, candidates).

        Args:
            feats: users x C x F raw behaviour features.
            query: users x D user content vectors.
            items: N x D content vectors of the distinct candidates (projected once, however many lists hold them).
            index: users x C rows of ``items``.
            scene: users, the target scene's index.
            ids: the id path's inputs from :func:`id_inputs` (ignored when the model has no id path).
            id_weights: one weight per flattened history item of ``ids`` (None: the plain mean the model was
                trained with); the user is then the weighted mean of their history items' embeddings.
        """
        f = (feats - self.feat_mean) / self.feat_std
        u = self.proj_user(query).unsqueeze(1)
        i = self.proj_item(items)[index]
        cross = u * i
        s = self.scene(scene).unsqueeze(1).expand(-1, f.shape[1], -1)
        parts = [f, cross, s]
        extra = cross.sum(-1)
        if self.id_dim:
            if ids is None:
                msg = "this model has an id path: pass ids=id_inputs(histories, targets)"
                raise ValueError(msg)
            flat, offsets, targets = ids
            if id_weights is None:
                user = self.user_ids(flat, offsets).unsqueeze(1)
            else:
                w = torch.from_numpy(np.asarray(id_weights, dtype=np.float32))
                summed = nn.functional.embedding_bag(flat, self.user_ids.weight, offsets, mode="sum",
                                                     per_sample_weights=w)  # fmt: skip
                ends = torch.cat([offsets[1:], torch.tensor([len(flat)])])
                totals = torch.stack([w[a:b].sum() for a, b in zip(offsets.tolist(), ends.tolist(), strict=True)])
                user = (summed / totals.clamp_min(1e-9)[:, None]).unsqueeze(1)
            tgt = torch.where(targets < 0, torch.full_like(targets, self.n_targets), targets)
            id_cross = user * self.item_ids(tgt)
            parts.append(id_cross)
            extra = extra + id_cross.sum(-1) + self.item_bias(tgt).squeeze(-1)
        out = self.mlp(torch.cat(parts, dim=-1)).squeeze(-1)
        return out + extra


def score_lists(model: FusionNet, batch: Batch, targets: torch.Tensor) -> np.ndarray:
    """Scores of every user's candidate list (users x C; padding scored too, mask it), in eval mode.

    Args:
        model: the network.
        batch: candidates and features from :func:`~scenebridge.rerank.features.build_batch`.
        targets: content vectors of the target scene's items, indexed by ``batch.cands``.
    """
    weights = None
    if batch.history_weights:  # a weighted history (linked mentions) on the id path too, as a turn scores it
        weights = np.concatenate([np.ones(len(h), np.float32) if w is None else np.asarray(w, np.float32)
                                  for h, w in zip(batch.histories, batch.history_weights, strict=True)])  # fmt: skip
    model.eval()
    with torch.no_grad():
        uniq, inv = torch.unique(torch.from_numpy(np.maximum(batch.cands, 0)), return_inverse=True)
        out = model(
            torch.from_numpy(batch.feats),
            torch.from_numpy(batch.query),
            targets[uniq],
            inv,
            torch.zeros(len(inv), dtype=torch.long),
            id_inputs(batch.histories, np.where(batch.mask, batch.cands, -1)),
            id_weights=weights,
        )
    return np.asarray(out.numpy())
