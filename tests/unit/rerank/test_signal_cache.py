"""The fusion reranker keeps a person's history-only signals across statements: same outputs as computed afresh."""

from __future__ import annotations

import numpy as np
import pytest

from scenebridge.data.format import load_dataset
from scenebridge.rerank import Candidate, RerankQuery
from scenebridge.rerank import fusion as fusion_mod
from scenebridge.rerank.fusion import load_reranker
from scenebridge.rerank.train import TrainConfig, train

pytestmark = pytest.mark.unit

CFG = TrainConfig(embedder="hashing", epochs=2, patience=2, depth=20, folds=2, neighbours=(20,), hidden=16)


@pytest.fixture(scope="module")
def reranker(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("SCENEBRIDGE_CACHE", str(root / "cache"))
    from tests.conftest import make_dataset

    train(load_dataset(make_dataset(root / "tiny")), "a", "b", root / "model", CFG)
    yield load_reranker(root / "model")
    mp.undo()


def _turn(rr, query):
    cands = rr.candidates(query, 10)
    pool = [Candidate(item_id=i, scene="b") for i in dict.fromkeys([*cands, "b0", "b3", "b8"])]
    return cands, [(s.item_id, repr(s.score), [e.model_dump() for e in s.evidence]) for s in rr.rerank(query, pool)]


def test_a_second_statement_reuses_the_history_pass_and_answers_as_a_fresh_one(reranker, monkeypatch):
    rng = np.random.default_rng(3)
    dim = reranker.ckpt.vectors.shape[1]
    vecs = rng.standard_normal((2, dim)).astype(np.float32)
    first, second = (RerankQuery(scene="b", history=["a0", "a6", "a12"], interests=["x"], interest_vector=v)
                     for v in vecs)  # fmt: skip
    reranker.clear_cache()
    fresh = _turn(reranker, second)
    calls = []
    real = fusion_mod.history_signals
    monkeypatch.setattr(fusion_mod, "history_signals", lambda *a, **k: calls.append(1) or real(*a, **k))
    reranker.clear_cache()
    _turn(reranker, first)
    again = _turn(reranker, second)
    assert calls == [1]  # the second statement of the same history did not recompute it
    assert again == fresh
    assert again[0] != _turn(reranker, first)[0] or again[1] != _turn(reranker, first)[1]  # the statement counts
    other = RerankQuery(scene="b", history=["a0", "a6"], interests=["x"], interest_vector=second.interest_vector)
    _turn(reranker, other)
    assert calls == [1, 1]  # another history is a pass of its own


def test_a_prefetched_history_pass_is_the_one_the_turn_uses_and_answers_the_same(reranker, monkeypatch):
    rng = np.random.default_rng(5)
    vec = rng.standard_normal(reranker.ckpt.vectors.shape[1]).astype(np.float32)
    query = RerankQuery(scene="b", history=["a1", "a7", "a13"], interests=["x"], interest_vector=vec)
    reranker.clear_cache()
    fresh = _turn(reranker, query)
    calls = []
    real = fusion_mod.history_signals
    monkeypatch.setattr(fusion_mod, "history_signals", lambda *a, **k: calls.append(1) or real(*a, **k))
    reranker.clear_cache()
    reranker.prefetch(RerankQuery(scene="b", history=query.history))  # what was said is not needed for it
    reranker.prefetch(RerankQuery(scene="b", history=query.history))  # started once
    assert _turn(reranker, query) == fresh
    assert calls == [1]
    reranker.prefetch(RerankQuery(scene="b", history=[]))  # nothing to do
    reranker.clear_cache()  # waits for a pass still running, then forgets it
    assert not reranker._pending
    assert not reranker._histories


def test_prefetch_for_another_scene_is_refused(reranker):
    from scenebridge.errors import UsageError

    with pytest.raises(UsageError, match="trained for scene"):
        reranker.prefetch(RerankQuery(scene="a", history=["a1"]))
