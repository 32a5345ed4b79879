import math

import pytest

from scenebridge.eval.metrics import coverage, hit_rate, mean_metrics, mrr, ndcg, recall, top_k

pytestmark = pytest.mark.unit

RANKED = ["x", "r1", "y", "r2", "z"]
REL = {"r1", "r2", "r3"}


def test_recall_hand_computed():
    assert recall(RANKED, REL, 2) == pytest.approx(1 / 3)
    assert recall(RANKED, REL, 5) == pytest.approx(2 / 3)
    assert recall(RANKED, set(), 5) == 0.0


def test_ndcg_hand_computed():
    # hits at ranks 2 and 4 -> 1/log2(3) + 1/log2(5); ideal with 3 relevant in top 5 -> 1 + 1/log2(3) + 1/2
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 0.5)
    assert ndcg(RANKED, REL, 5) == pytest.approx(expected)
    # k smaller than |relevant|: ideal is over k items only
    assert ndcg(["r1", "r2"], REL, 2) == pytest.approx(1.0)
    assert ndcg(["x", "y"], REL, 2) == 0.0


def test_hit_rate_and_mrr_hand_computed():
    assert hit_rate(RANKED, REL, 1) == 0.0
    assert hit_rate(RANKED, REL, 2) == 1.0
    assert mrr(RANKED, REL, 5) == pytest.approx(0.5)
    assert mrr(RANKED, REL, 1) == 0.0


def test_mean_metrics_averages_users_and_scores_missing_users_zero():
    truth = {"u1": {"a"}, "u2": {"b"}}
    out = mean_metrics({"u1": ["a", "c"]}, truth, ks=[1])
    assert out == {"recall@1": 0.5, "ndcg@1": 0.5, "hr@1": 0.5, "mrr@1": 0.5}


def test_coverage():
    assert coverage([["a", "b"], ["b", "c"]], 10, 1) == pytest.approx(0.2)
    assert coverage([["a", "b"], ["b", "c"]], 10, 2) == pytest.approx(0.3)


def test_top_k_orders_best_first_and_breaks_ties_by_index():
    import numpy as np

    scores = np.array([[0.1, 0.9, 0.5, 0.9], [3.0, 1.0, 2.0, 0.0]])
    assert top_k(scores, 3).tolist() == [[1, 3, 2], [0, 2, 1]]
    assert top_k(scores, 10).shape == (2, 4)
