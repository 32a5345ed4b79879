"""The fusion network: behaviour features ⊕ a learned interest × item content cross ⊕ the target scene."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FusionNet"]


class FusionNet(nn.Module):
    """Scores each candidate of each user.

    The content path projects the user's query vector (history mean and/or interest summary) and each candidate's
    content vector into a small shared space; their elementwise product joins the standardised behaviour features
    and a scene embedding in an MLP, and their dot product is added to its output — so an item with only text
    still gets a learned content score.
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
    ) -> None:
        super().__init__()
        self.proj_user = nn.Linear(content_dim, cross_dim)
        self.proj_item = nn.Linear(content_dim, cross_dim)
        self.scene = nn.Embedding(max(n_scenes, 1), 4)
        self.mlp = nn.Sequential(
            nn.Linear(n_features + cross_dim + 4, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )
        self.register_buffer("feat_mean", torch.zeros(n_features))
        self.register_buffer("feat_std", torch.ones(n_features))

    def forward(
        self, feats: torch.Tensor, query: torch.Tensor, items: torch.Tensor, index: torch.Tensor, scene: torch.Tensor
    ) -> torch.Tensor:
        """Scores, shape (users, candidates).

        Args:
            feats: users x C x F raw behaviour features.
            query: users x D user content vectors.
            items: N x D content vectors of the distinct candidates (projected once, however many lists hold them).
            index: users x C rows of ``items``.
            scene: users, the target scene's index.
        """
        f = (feats - self.feat_mean) / self.feat_std
        u = self.proj_user(query).unsqueeze(1)
        i = self.proj_item(items)[index]
        cross = u * i
        s = self.scene(scene).unsqueeze(1).expand(-1, f.shape[1], -1)
        out = self.mlp(torch.cat([f, cross, s], dim=-1)).squeeze(-1)
        return out + cross.sum(-1)
