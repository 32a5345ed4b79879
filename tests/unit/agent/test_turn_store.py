"""Store additions the turn relies on: vectors with hits, items by id, the in-memory mirror, the content reranker."""

import numpy as np
import pytest

from scenebridge.rerank.api import Candidate, Reranker, RerankQuery
from scenebridge.rerank.content import ContentReranker
from scenebridge.store import ItemStore
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("store"))


def test_search_with_vectors_matches_search_and_mirror(store, tmp_path_factory):
    q = store.embedder.embed(["watercolor paint brush"])[0]
    plain = store.search(q, scenes=["office"], k=5, exclude=["o3"])
    hits, vecs = store.search_with_vectors(q, scenes=["office"], k=5, exclude=["o3"])
    assert hits == plain
    assert vecs.shape == (5, store.embedder.dim)
    np.testing.assert_allclose(vecs @ q, [h.score for h in hits], atol=1e-5)
    mirrored = ItemStore(store.embedder, path=store.where)
    assert mirrored.mirror() == ["art", "office"]
    hits2, vecs2 = mirrored.search_with_vectors(q, scenes=["office"], k=5, exclude=["o3"])
    assert hits2 == hits
    np.testing.assert_allclose(vecs2, vecs)
    assert mirrored.get_items(["o1", "zz", "a1"])[0] == store.get_items(["o1", "zz", "a1"])[0]


def test_get_items_in_order_and_unknown_skipped(store):
    hits, vecs = store.get_items(["o4", "nope", "a1", "o4"])
    assert [h.item_id for h in hits] == ["o4", "a1"]
    assert [h.scene for h in hits] == ["office", "art"]
    assert hits[0].title.startswith("pilot g2")
    assert vecs.shape == (2, store.embedder.dim)
    assert store.get_items([])[0] == []


def test_content_reranker_follows_the_protocol(store):
    rr = ContentReranker(store)
    assert isinstance(rr, Reranker)
    q = store.embedder.embed(["watercolor"])[0]
    hits, vecs = store.search_with_vectors(q, scenes=["office"], k=8)
    cands = [Candidate(h.item_id, h.scene, v, h.title, h.score) for h, v in zip(hits, vecs, strict=True)]
    query = RerankQuery("office", history=["a2"], interest_vector=q, interests=["watercolor"], exclude={"o3"})
    scored = rr.rerank(query, cands, k=5)
    assert len(scored) == 5
    assert "o3" not in {s.item_id for s in scored}
    assert [s.score for s in scored] == sorted((s.score for s in scored), reverse=True)
    for s in scored:
        assert {e.kind for e in s.evidence} == {"interest", "history-content"}
        assert sum(e.weight for e in s.evidence) == pytest.approx(1.0, abs=0.01)
        hist = next(e for e in s.evidence if e.kind == "history-content")
        assert (hist.item_id, hist.scene) == ("a2", "art")
        # Evidence as data: the agent words it (agent/wording.py), the reranker writes no sentence.
        assert all((e.text, e.measure) == ("", "similarity") for e in s.evidence)
        assert next(e for e in s.evidence if e.kind == "interest").interest == "watercolor"
    assert rr.candidates(query, 3)
    assert all(i.startswith("o") for i in rr.candidates(query, 3))
    assert rr.candidates(RerankQuery("office"), 3) == []
    assert rr.rerank(RerankQuery("office"), [Candidate("o1", "office")]) == []


def test_categories_from_chroma_and_from_the_mirror(store):
    from collections import Counter

    from tests.unit.turn_fixtures import ITEMS

    want = Counter(i[3] for i in ITEMS if i[1] == "office")
    assert store.categories("office") == want
    mirrored = ItemStore(store.embedder, path=store.where)
    mirrored.mirror()
    assert mirrored.categories("office") == want


def test_categories_read_at_most_max_items(store):
    assert sum(store.categories("office", max_items=4).values()) == 4


def test_retrieve_beside_the_candidates_or_alone_gives_the_same_records(store):
    from scenebridge.agent.exclusions import ExclusionFilter
    from scenebridge.agent.result import Trace
    from scenebridge.agent.stages import beside as worker
    from scenebridge.agent.stages import retrieve

    rr = ContentReranker(store)
    q = store.embedder.embed(["gel pens"])[0]
    query = RerankQuery("office", history=["a2", "a1"], interest_vector=q, interests=["gel pens"], exclude={"o3"})

    def run():
        out = retrieve.retrieve(store, q, query, ExclusionFilter.build([]), rr, 4, 3, Trace())
        return [(r.item_id, r.retrieval_score) for r in out]

    beside = run()  # the search in the worker thread
    assert worker._WORKER_FREE.acquire(blocking=False)  # the worker is free again after a turn
    try:
        alone = run()  # taken (another turn's search): this turn searches itself
    finally:
        worker._WORKER_FREE.release()
    assert beside == alone
    assert "o3" not in {i for i, _ in beside}
    # The retrieved items and the reranker's candidates, each once (which ones HNSW finds in this 10-item store
    # varies with the random levels of each build; that both joined does not).
    searched = {h.item_id for h in store.search(q, scenes=["office"], k=4, exclude={"o3"})}
    assert sorted(i for i, _ in beside) == sorted(searched | set(rr.candidates(query, 3)))
