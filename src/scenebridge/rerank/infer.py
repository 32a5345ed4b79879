"""The fusion network's forward pass in numpy, for serving: a turn scores a few hundred candidates of one person.

Training and ``evaluate`` use the torch module (:class:`~scenebridge.rerank.model.FusionNet`); a process that only
answers reads the same safetensors weights into numpy and never imports torch, whose import alone took 2.7 s of CPU
in every fresh ``recommend`` on the 2-core machine (beside the LLM's parse, which then ran on one core). The two
agree to float32 rounding (the products are summed in another order); ``tests/unit/rerank/test_infer.py`` pins it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["NumpyFusion", "id_arrays"]


def id_arrays(histories: Sequence[np.ndarray], targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The id path's inputs as numpy arrays: flattened history columns, their bag offsets, users x C targets
    (:func:`~scenebridge.rerank.model.id_inputs` without torch)."""
    flat = np.concatenate([np.asarray(h, dtype=np.int64) for h in histories]) if histories else np.zeros(0, np.int64)
    offsets = np.zeros(len(histories), dtype=np.int64)
    if len(histories) > 1:
        offsets[1:] = np.cumsum([len(h) for h in histories])[:-1]
    return flat, offsets, np.asarray(targets, dtype=np.int64)


class NumpyFusion:
    """:class:`~scenebridge.rerank.model.FusionNet` in eval mode over its state dict (dropout is off in eval).

    Args:
        state: the state dict's arrays by name, as ``model.safetensors`` holds them.
    """

    def __init__(self, state: Mapping[str, np.ndarray]) -> None:
        def f32(name: str) -> np.ndarray:
            return np.ascontiguousarray(state[name], dtype=np.float32)

        self.feat_mean, self.feat_std = f32("feat_mean"), f32("feat_std")
        # Linear layers keep (out, in) weights; transposed once here so every product is x @ w.
        self.proj_user = (f32("proj_user.weight").T.copy(), f32("proj_user.bias"))
        self.proj_item = (f32("proj_item.weight").T.copy(), f32("proj_item.bias"))
        self.scene = f32("scene.weight")
        self.mlp = [(f32(f"mlp.{i}.weight").T.copy(), f32(f"mlp.{i}.bias")) for i in (0, 3, 5)]
        self.id_dim = 0
        if "user_ids.weight" in state:
            self.user_ids, self.item_ids = f32("user_ids.weight"), f32("item_ids.weight")
            self.item_bias = f32("item_bias.weight")[:, 0]
            self.id_dim = self.user_ids.shape[1]
            self.n_targets = self.item_ids.shape[0] - 1

    def __call__(
        self,
        feats: np.ndarray,
        query: np.ndarray,
        items: np.ndarray,
        index: np.ndarray,
        scene: np.ndarray,
        ids: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        id_weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """Scores, users x candidates; the arguments as for ``FusionNet.forward``, numpy instead of tensors."""
        f = (feats - self.feat_mean) / self.feat_std
        u = (query @ self.proj_user[0] + self.proj_user[1])[:, None, :]
        cross = u * (items @ self.proj_item[0] + self.proj_item[1])[index]
        users, cands = f.shape[0], f.shape[1]
        s = np.broadcast_to(self.scene[scene][:, None, :], (users, cands, self.scene.shape[1]))
        parts = [f, cross, s]
        extra = cross.sum(-1)
        if self.id_dim:
            if ids is None:
                msg = "this model has an id path: pass ids=id_arrays(histories, targets)"
                raise ValueError(msg)
            flat, offsets, targets = ids
            user = self._users(flat, offsets, id_weights)[:, None, :]
            tgt = np.where(targets < 0, self.n_targets, targets)
            id_cross = user * self.item_ids[tgt]
            parts.append(id_cross)
            extra = extra + id_cross.sum(-1) + self.item_bias[tgt]
        h = np.concatenate(parts, axis=-1, dtype=np.float32)
        (w0, b0), (w1, b1), (w2, b2) = self.mlp
        h = np.maximum(h @ w0 + b0, 0.0)
        h = np.maximum(h @ w1 + b1, 0.0)
        out = (h @ w2 + b2)[..., 0]
        return np.asarray(out + extra, dtype=np.float32)

    def _users(self, flat: np.ndarray, offsets: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
        """Each bag's (weighted) mean of its items' id embeddings; an empty bag is all zeros (as EmbeddingBag)."""
        ends = np.append(offsets[1:], len(flat))
        out = np.zeros((len(offsets), self.id_dim), dtype=np.float32)
        for row, (a, b) in enumerate(zip(offsets.tolist(), ends.tolist(), strict=True)):
            if b <= a:
                continue
            rows = self.user_ids[flat[a:b]]
            if weights is None:
                out[row] = rows.mean(axis=0)
            else:
                w = np.asarray(weights[a:b], dtype=np.float32)
                out[row] = (w @ rows) / max(float(w.sum()), 1e-9)
        return out
