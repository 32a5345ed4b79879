"""The numpy forward pass a turn scores with agrees with the torch module it was trained as, and needs no torch."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from scenebridge.data.format import load_dataset
from scenebridge.rerank import Candidate, RerankQuery
from scenebridge.rerank.features import FEATURES
from scenebridge.rerank.fusion import load_reranker
from scenebridge.rerank.infer import NumpyFusion, id_arrays
from scenebridge.rerank.model import FusionNet, id_inputs
from scenebridge.rerank.train import TrainConfig, train

pytestmark = pytest.mark.unit


def _net(id_dim: int) -> FusionNet:
    torch.manual_seed(3)
    net = FusionNet(len(FEATURES), 24, 1, 8, 16, n_items=40, n_targets=15, id_dim=id_dim)
    with torch.no_grad():  # weights away from their initial zeros, so every part of the sum counts
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.3)
        net.feat_mean.copy_(torch.randn(len(FEATURES)))
        net.feat_std.copy_(torch.rand(len(FEATURES)) + 0.5)
    return net.eval()


def _inputs(rng: np.random.Generator, users: int = 3, cands: int = 7):
    feats = rng.normal(size=(users, cands, len(FEATURES))).astype(np.float32)
    query = rng.normal(size=(users, 24)).astype(np.float32)
    items = rng.normal(size=(10, 24)).astype(np.float32)
    index = rng.integers(0, 10, size=(users, cands))
    histories = [rng.integers(0, 40, size=n) for n in (4, 0, 2)][:users]
    targets = rng.integers(-1, 15, size=(users, cands))
    return feats, query, items, index, histories, targets


@pytest.mark.parametrize("id_dim", [0, 6])
@pytest.mark.parametrize("weighted", [False, True])
def test_numpy_forward_matches_torch(id_dim, weighted):
    net = _net(id_dim)
    rng = np.random.default_rng(7)
    feats, query, items, index, histories, targets = _inputs(rng)
    weights = rng.uniform(0.2, 1.0, size=sum(len(h) for h in histories)).astype(np.float32) if weighted else None
    scene = np.zeros(len(histories), dtype=np.int64)
    with torch.no_grad():
        want = net(torch.from_numpy(feats), torch.from_numpy(query), torch.from_numpy(items),
                   torch.from_numpy(index), torch.from_numpy(scene), id_inputs(histories, targets),
                   id_weights=weights).numpy()  # fmt: skip
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    got = NumpyFusion(state)(feats, query, items, index, scene, id_arrays(histories, targets), id_weights=weights)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_trained_checkpoint_ranks_as_the_torch_module(tmp_path, monkeypatch):
    """Whole turns through a trained checkpoint: the numpy net gives the torch module's scores and order."""
    monkeypatch.setenv("SCENEBRIDGE_CACHE", str(tmp_path / "cache"))
    from tests.conftest import make_dataset

    cfg = TrainConfig(embedder="hashing", epochs=2, patience=2, depth=20, folds=2, neighbours=(20,), hidden=16)
    train(load_dataset(make_dataset(tmp_path / "tiny")), "a", "b", tmp_path / "model", cfg)
    rr = load_reranker(tmp_path / "model")
    query = RerankQuery(scene="b", history=list(rr.ckpt.item_ids[:3]))
    pool = [Candidate(item_id=i, scene="b") for i, s in zip(rr.ckpt.item_ids, rr.ckpt.scenes, strict=True) if s == "b"]
    numpy_side = rr.rerank(query, pool)

    class TorchNet:  # the torch module behind the numpy net's call signature
        def __call__(self, feats, query, items, index, scene, ids, id_weights=None):
            tensors = [torch.from_numpy(a) for a in (feats, query, items, index, scene)]
            with torch.no_grad():
                out = rr.ckpt.model(*tensors, tuple(torch.from_numpy(a) for a in ids), id_weights=id_weights)
            return out.numpy()

    rr.ckpt.net = TorchNet()
    rr.clear_cache()
    torch_side = rr.rerank(query, pool)
    assert [s.item_id for s in numpy_side] == [s.item_id for s in torch_side]
    np.testing.assert_allclose([s.score for s in numpy_side], [s.score for s in torch_side], rtol=1e-5, atol=1e-5)


def test_answering_does_not_import_torch(tmp_path):
    """A process that loads a checkpoint and reranks never imports torch (its import was 2.7 s of a fresh call)."""
    from tests.conftest import make_dataset

    cfg = TrainConfig(embedder="hashing", epochs=1, patience=1, depth=20, folds=2, neighbours=(20,), hidden=16)
    train(load_dataset(make_dataset(tmp_path / "tiny")), "a", "b", tmp_path / "model", cfg)
    code = (
        "import sys\n"
        "from scenebridge.rerank import Candidate, RerankQuery\n"
        "from scenebridge.rerank.fusion import load_reranker\n"
        f"rr = load_reranker({str(tmp_path / 'model')!r})\n"
        "ids = [i for i, s in zip(rr.ckpt.item_ids, rr.ckpt.scenes) if s == 'b']\n"
        "q = RerankQuery(scene='b', history=list(rr.ckpt.item_ids[:3]))\n"
        "assert rr.rerank(q, [Candidate(item_id=i, scene='b') for i in ids])\n"
        "assert rr.candidates(q, 5)\n"
        "print('torch' in sys.modules)\n"
    )
    env = {**os.environ, "SCENEBRIDGE_CACHE": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "False"
