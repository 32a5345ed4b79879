"""Checkpoints: safetensors weights + JSON config (feature spec, embedder id, versions) + behaviour statistics.

A checkpoint folder holds ``config.json``, ``model.safetensors``, ``vectors.safetensors`` (the catalogue's content
vectors, float16), ``behaviour.npz`` and ``catalogue.json`` (item ids, scenes, titles). Loading checks the format, the
feature spec and — when the caller names one — the embedder, and says what to do when they differ.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scenebridge.errors import UsageError
from scenebridge.rerank.behaviour import Behaviour
from scenebridge.rerank.features import FEATURES
from scenebridge.rerank.infer import NumpyFusion
from scenebridge.version import __version__

if TYPE_CHECKING:
    from scenebridge.data.split import CrossSceneSplit
    from scenebridge.rerank.config import TrainConfig, TrainReport
    from scenebridge.rerank.model import FusionNet

__all__ = ["FORMAT", "Checkpoint", "load_checkpoint", "read_config", "save_checkpoint"]

FORMAT = 1


def save_checkpoint(
    out: str | Path,
    model: FusionNet,
    cfg: TrainConfig,
    behaviour: Behaviour,
    vecs: np.ndarray,
    split: CrossSceneSplit,
    report: TrainReport,
) -> Path:
    """Writes a checkpoint folder; ``config.json`` goes last, so its presence means the folder is complete."""
    import safetensors
    import torch
    from safetensors.numpy import save_file as save_numpy
    from safetensors.torch import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").unlink(missing_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "model.safetensors"))
    save_numpy({"vectors": vecs.astype(np.float16)}, str(out / "vectors.safetensors"))
    behaviour.save(out / "behaviour.npz")
    items = split.items
    catalogue = {
        "item_id": [str(v) for v in items["item_id"]],
        "scene": [str(v) for v in items["scene"]],
        "title": [str(v) for v in items["title"]],
    }
    (out / "catalogue.json").write_text(json.dumps(catalogue, ensure_ascii=False), encoding="utf-8")
    config = {
        "format": FORMAT,
        "kind": "scenebridge-fusion",
        "features": list(FEATURES),
        "embedder": cfg.embedder,
        "content_dim": int(vecs.shape[1]),
        "cross_dim": cfg.cross_dim,
        "hidden": cfg.hidden,
        "id_dim": cfg.id_dim,
        "n_items": int(vecs.shape[0]),
        "n_targets": len(behaviour.tgt_cols),
        "depth": cfg.depth,
        "source": split.source,
        "target": split.target,
        "scenes": [split.target],
        "train_config": cfg.model_dump(),
        "report": asdict(report),
        "versions": {
            "scenebridge": __version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "safetensors": safetensors.__version__,
            "python": platform.python_version(),
        },
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out


class Checkpoint:
    """A loaded checkpoint: the network, its config, behaviour statistics, catalogue and content vectors.

    Loading reads the weights into numpy (:attr:`net`, what a turn scores with); the torch module (:attr:`model`,
    for ``evaluate`` and training) is built from them at its first use, so a process that only answers never
    imports torch.
    """

    def __init__(self, path: Path, config: dict[str, Any]) -> None:
        from safetensors.numpy import load_file as load_numpy

        self.path = path
        self.config = config
        self.state = load_numpy(str(path / "model.safetensors"))
        self.net = NumpyFusion(self.state)
        _check_shapes(self.net, config)
        self._model: FusionNet | None = None
        self.vectors = load_numpy(str(path / "vectors.safetensors"))["vectors"].astype(np.float32)
        self.behaviour = Behaviour.load(path / "behaviour.npz")
        cat = json.loads((path / "catalogue.json").read_text(encoding="utf-8"))
        self.item_ids: list[str] = cat["item_id"]
        self.scenes: list[str] = cat["scene"]
        self.titles: list[str] = cat["title"]
        self.item_index = {iid: i for i, iid in enumerate(self.item_ids)}

    @property
    def model(self) -> FusionNet:
        """The torch module with the checkpoint's weights, in eval mode (imports torch at the first call)."""
        if self._model is None:
            import torch

            from scenebridge.rerank.model import FusionNet

            config = self.config
            model = FusionNet(
                len(FEATURES),
                int(config["content_dim"]),
                len(config["scenes"]),
                int(config["cross_dim"]),
                int(config["hidden"]),
                n_items=int(config["n_items"]),
                n_targets=int(config["n_targets"]),
                id_dim=int(config["id_dim"]),
            )
            model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in self.state.items()})
            model.eval()
            self._model = model
        return self._model

    @property
    def embedder(self) -> str:
        return str(self.config["embedder"])

    @property
    def target(self) -> str:
        return str(self.config["target"])


def _check_shapes(net: NumpyFusion, config: dict[str, Any]) -> None:
    """The weights' shapes against the config (torch's ``load_state_dict`` checked them before)."""
    dim, cross, id_dim = int(config["content_dim"]), int(config["cross_dim"]), int(config["id_dim"])
    width = len(FEATURES) + cross + (id_dim if net.id_dim else 0) + net.scene.shape[1]
    found = (net.proj_user[0].shape, net.feat_mean.shape, net.mlp[0][0].shape[0], net.mlp[0][0].shape[1])
    if found != ((dim, cross), (len(FEATURES),), width, int(config["hidden"])):
        msg = f"the weights' shapes {found} do not match the config (content {dim}, cross {cross}, id {id_dim})"
        raise ValueError(msg)


def read_config(path: str | Path, embedder: str | None = None) -> dict[str, Any]:
    """A checkpoint folder's config, checked without loading its tensors (no torch import: milliseconds).

    Raises:
        UsageError: when the folder is missing or incomplete, was written by another format or feature spec, or
            was trained with another embedder than ``embedder``.
    """
    path = Path(path)
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        msg = f"{path} is not a reranker checkpoint (no config.json); create one with `scenebridge train`"
        raise UsageError(msg)
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{cfg_path} is unreadable ({exc}); retrain with `scenebridge train`"
        raise UsageError(msg) from None
    if config.get("kind") != "scenebridge-fusion" or config.get("format") != FORMAT:
        msg = f"{path} holds checkpoint format {config.get('format')!r}; this scenebridge reads {FORMAT}: retrain"
        raise UsageError(msg)
    if config.get("features") != list(FEATURES):
        msg = (
            f"{path} was trained with another feature spec ({len(config.get('features') or [])} features) than this "
            f"scenebridge computes ({len(FEATURES)}); retrain it with `scenebridge train`"
        )
        raise UsageError(msg)
    if embedder is not None and config.get("embedder") != embedder:
        msg = (
            f"{path} was trained with embedder {config.get('embedder')!r} but vectors come from {embedder!r}; "
            f"use the same embedder (--embedder {config.get('embedder')}) or retrain"
        )
        raise UsageError(msg)
    missing = [
        n
        for n in ("model.safetensors", "vectors.safetensors", "behaviour.npz", "catalogue.json")
        if not (path / n).is_file()
    ]
    if missing:
        msg = f"{path} is incomplete (missing {', '.join(missing)}); retrain with `scenebridge train`"
        raise UsageError(msg)
    return dict(config)


def load_checkpoint(path: str | Path, embedder: str | None = None) -> Checkpoint:
    """Loads a checkpoint folder written by ``scenebridge train``.

    Raises:
        UsageError: when the folder is missing or incomplete, was written by another format or feature spec, or
            was trained with another embedder than ``embedder``.
    """
    path = Path(path)
    config = read_config(path, embedder)
    from safetensors import SafetensorError

    try:
        return Checkpoint(path, config)
    except (OSError, ValueError, RuntimeError, KeyError, SafetensorError) as exc:
        msg = f"{path} could not be loaded ({type(exc).__name__}: {exc}); retrain with `scenebridge train`"
        raise UsageError(msg) from None
