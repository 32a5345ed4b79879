"""Weighted histories (``RerankQuery.history_weights``): checked, identical to before without them, and felt."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scenebridge.data.format import load_dataset
from scenebridge.errors import UsageError
from scenebridge.rerank import Candidate, RerankQuery
from scenebridge.rerank.behaviour import history_matrix
from scenebridge.rerank.fusion import load_reranker
from scenebridge.rerank.model import FusionNet, id_inputs
from scenebridge.rerank.train import TrainConfig, train

pytestmark = pytest.mark.unit

CFG = TrainConfig(embedder="hashing", epochs=3, patience=3, depth=20, folds=2, neighbours=(20,), hidden=16)


@pytest.fixture(scope="module")
def reranker(tmp_path_factory):
    root = tmp_path_factory.mktemp("weights")
    mp = pytest.MonkeyPatch()
    mp.setenv("SCENEBRIDGE_CACHE", str(root / "cache"))
    from tests.conftest import make_dataset

    train(load_dataset(make_dataset(root / "tiny")), "a", "b", root / "model", CFG)
    yield load_reranker(root / "model")
    mp.undo()


def _dump(rr, query, pool):
    return [(s.item_id, s.score, [e.model_dump() for e in s.evidence]) for s in rr.rerank(query, pool)]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0], "2 history items"),
        ([1.0, 1.5], "from 0 to 1"),
        ([1.0, float("nan")], "from 0 to 1"),
        ([1.0, "x"], "from 0 to 1"),
    ],
)
def test_bad_history_weights_are_one_clear_error(weights, message):
    with pytest.raises(UsageError, match=message):
        RerankQuery(scene="b", history=["a0", "a6"], history_weights=weights)


def test_all_ones_or_none_give_the_same_outputs_and_zero_drops_an_item(reranker):
    pool = [Candidate(item_id=f"b{i}", scene="b") for i in range(0, 30, 2)]
    plain = RerankQuery(scene="b", history=["a0", "a6", "a12"])
    ones = RerankQuery(scene="b", history=["a0", "a6", "a12"], history_weights=[1.0, 1.0, 1.0])
    assert reranker.candidates(plain, 10) == reranker.candidates(ones, 10)
    assert _dump(reranker, plain, pool) == _dump(reranker, ones, pool)
    # A weight of 0 is as if the item were not there; an item given twice counts with its larger weight.
    dropped = RerankQuery(scene="b", history=["a0", "a1", "a6", "a0"], history_weights=[0.5, 0.0, 1.0, 1.0])
    assert _dump(reranker, dropped, pool) == _dump(reranker, RerankQuery(scene="b", history=["a0", "a6"]), pool)


def test_a_heavier_history_item_pulls_its_cluster_up(reranker):
    # Clusters: item i belongs to cluster i % 6 in both scenes (tests/conftest.py).
    pool = [Candidate(item_id=f"b{i}", scene="b") for i in (0, 6, 12, 18, 1, 7, 13, 19)]

    def rank_of_cluster0(weights):
        order = [s.item_id for s in reranker.rerank(RerankQuery(scene="b", history=["a0", "a1"],
                                                                  history_weights=weights), pool)]  # fmt: skip
        return np.mean([order.index(f"b{i}") for i in (0, 6, 12, 18)])

    assert rank_of_cluster0([1.0, 0.05]) < rank_of_cluster0([0.05, 1.0])
    heavy = reranker.rerank(RerankQuery(scene="b", history=["a0", "a1"], history_weights=[1.0, 0.05]), pool)
    co = [e for s in heavy for e in s.evidence if e.kind in ("co-occurrence", "history-content")]
    assert co
    assert all(e.item_id in {"a0", "a1"} for e in co)


def test_history_matrix_weights_and_the_binary_case():
    plain = history_matrix([np.array([3, 1, 3]), np.array([0])], 5)
    assert plain.toarray().tolist() == [[0, 1, 0, 1, 0], [1, 0, 0, 0, 0]]
    weighted = history_matrix([np.array([3, 1, 3, 2]), np.array([0])], 5,
                              [np.array([0.25, 0.5, 0.9, 0.0]), None])  # fmt: skip
    got = weighted.toarray()
    assert got[0].tolist() == pytest.approx([0, 0.5, 0, 1.0, 0])  # 0.25 + 0.9 capped at 1; weight 0 dropped
    assert got[1].tolist() == [1, 0, 0, 0, 0]
    assert weighted.nnz == 3


def test_the_id_path_takes_a_weighted_mean_and_ones_change_nothing():
    torch.manual_seed(0)
    net = FusionNet(n_features=3, content_dim=4, n_items=6, n_targets=3, id_dim=2).eval()
    feats, query = torch.zeros(2, 3, 3), torch.randn(2, 4)
    items, index = torch.randn(3, 4), torch.tensor([[0, 1, 2], [0, 1, 2]])
    ids = id_inputs([np.array([0, 4]), np.array([5])], np.array([[0, 1, 2], [0, 1, 2]]))
    with torch.no_grad():
        base = net(feats, query, items, index, torch.zeros(2, dtype=torch.long), ids)
        ones = net(feats, query, items, index, torch.zeros(2, dtype=torch.long), ids,
                   id_weights=np.ones(3, np.float32))  # fmt: skip
        only0 = net(feats, query, items, index, torch.zeros(2, dtype=torch.long), ids,
                    id_weights=np.array([1.0, 0.0, 1.0], np.float32))  # fmt: skip
        alone = net(feats, query, items, index, torch.zeros(2, dtype=torch.long),
                    id_inputs([np.array([0]), np.array([5])], np.array([[0, 1, 2], [0, 1, 2]])))  # fmt: skip
    assert torch.allclose(base, ones, atol=1e-6)
    assert torch.allclose(only0, alone, atol=1e-6)
    assert not torch.allclose(base[0], only0[0], atol=1e-6)


def test_weighted_candidates_come_in_the_order_their_scores_give(reranker):
    # The candidates are ordered by the model; a weighted history must weigh in that ordering as in the scoring.
    query = RerankQuery(scene="b", history=["a0", "a1", "a7"], history_weights=[1.0, 0.05, 0.3])
    got = reranker.candidates(query, 12)
    scored = reranker.rerank(query, [Candidate(item_id=i, scene="b") for i in got], evidence=False)
    by_score = [s.item_id for s in sorted(scored, key=lambda s: -s.score)]
    assert got == by_score
