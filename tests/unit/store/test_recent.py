"""Searches asked for ahead of time: the answer a later search takes is the one it would have got from Chroma."""

import threading
import zlib

import numpy as np
import pandas as pd
import pytest

from scenebridge.rerank.api import RerankQuery
from scenebridge.rerank.content import ContentReranker
from scenebridge.store import ItemStore
from scenebridge.store.recent import RecentSearches

pytestmark = pytest.mark.unit

VEC = np.array([1.0, 0.0], dtype=np.float32)


def answer_of(size):
    return [f"i{n}" for n in range(size)], [n / 10 for n in range(size)]


def test_a_kept_answer_serves_fewer_results_within_the_beam_only():
    recent = RecentSearches()
    recent.ask("office", VEC, 8, answer_of)
    assert recent.answer("office", VEC, 3, beam=10) == (["i0", "i1", "i2"], [0.0, 0.1, 0.2])
    assert recent.answer("office", VEC, 8, beam=None) == answer_of(8)  # exactly what was asked: always
    assert recent.answer("office", VEC, 3, beam=None) is None  # the beam unknown: a shorter search may differ
    assert recent.answer("office", VEC, 3, beam=5) is None  # asked for more than the beam: another search
    assert recent.answer("office", VEC, 9, beam=10) is None  # more than was asked for
    assert recent.answer("art", VEC, 3, beam=10) is None
    assert recent.answer("office", np.array([0.0, 1.0], dtype=np.float32), 3, beam=10) is None


def test_an_answer_on_its_way_is_waited_for_and_a_failed_one_is_none():
    recent = RecentSearches()
    release = threading.Event()

    def slow(size):
        release.wait(5)
        return answer_of(size)

    recent.ask("office", VEC, 4, slow)
    threading.Timer(0.05, release.set).start()
    assert recent.answer("office", VEC, 4, beam=None) == answer_of(4)

    def broken(size):
        raise RuntimeError("chroma went away")

    other = np.array([0.0, 1.0], dtype=np.float32)
    recent.ask("office", other, 4, broken)
    assert recent.answer("office", other, 4, beam=None) is None
    recent.clear()
    assert recent.answer("office", VEC, 4, beam=None) is None


def test_asking_again_for_no_more_starts_nothing_and_the_newest_are_kept():
    calls = []

    def counted(size):
        calls.append(size)
        return answer_of(size)

    recent = RecentSearches(size=2)
    recent.ask("office", VEC, 6, counted)
    recent.ask("office", VEC, 4, counted)
    for n in range(3):
        recent.ask("art", np.array([1.0, float(n)], dtype=np.float32), 2, counted)
    recent.clear()
    assert calls == [6, 2, 2, 2]


ITEMS = pd.DataFrame(
    [(f"o{n}", "office", f"office thing {n} {'pen' * (n % 3)}", "office") for n in range(30)]
    + [(f"a{n}", "art", f"art thing {n} {'brush' * (n % 4)}", "art") for n in range(10)],
    columns=["item_id", "scene", "title", "category"],
)


class RandomEmbedder:
    """Deterministic fake vectors, one random direction per text: no two items tie for a query."""

    model_id = "random-64"
    dim = 64

    def embed(self, texts):
        rows = [np.random.default_rng(zlib.crc32(t.encode())).normal(size=self.dim) for t in texts]
        out = np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def store(tmp_path):
    out = ItemStore(RandomEmbedder(), path=tmp_path / "store")
    out.index(ITEMS)
    return out


def count_queries(store, monkeypatch):
    col = store._collection("office")
    calls = []
    real = col.query

    def query(*args, **kwargs):
        calls.append(kwargs.get("n_results"))
        return real(*args, **kwargs)

    monkeypatch.setattr(col, "query", query)
    return calls


def test_a_prefetched_search_is_taken_and_finds_what_chroma_finds(store, monkeypatch):
    vec = np.random.default_rng(0).normal(size=64).astype(np.float32)  # no two items tie for it
    fresh = store.search(vec, scenes=["office"], k=5, exclude={"o3"}, facts=False)
    calls = count_queries(store, monkeypatch)
    store.prefetch(vec, "office")
    kept = store.search(vec, scenes=["office"], k=5, exclude={"o3"}, facts=False)
    assert [(h.item_id, h.score) for h in kept] == [(h.item_id, h.score) for h in fresh]
    assert calls == [30]  # one search, for the beam (200) or the whole scene: the later search asked nothing
    store.mirror()
    assert [h.item_id for h in store.search(vec, scenes=["office"], k=5, exclude={"o3"})] == [h.item_id for h in fresh]
    assert calls == [30]
    store.forget_searches()
    store.search(vec, scenes=["office"], k=5)
    assert calls == [30, 5]


def test_a_tie_across_the_cut_is_searched_again(monkeypatch):
    recent = RecentSearches()
    recent.ask("office", VEC, 4, lambda size: (["a", "b", "c", "d"], [0.1, 0.2, 0.2, 0.3]))
    assert recent.answer("office", VEC, 2, beam=10) is None
    assert recent.answer("office", VEC, 3, beam=10) == (["a", "b", "c"], [0.1, 0.2, 0.2])


def test_the_content_reranker_prefetches_its_history_search(store, monkeypatch):
    reranker = ContentReranker(store)
    query = RerankQuery(scene="office", history=["a3", "a6"], exclude={"o1"})
    before = reranker.candidates(query, 6)
    calls = count_queries(store, monkeypatch)
    reranker.prefetch(RerankQuery(scene="office", history=["a3", "a6"]))
    assert reranker.candidates(query, 6) == before
    assert calls == [30]
    reranker.prefetch(RerankQuery(scene="office", history=[]))  # no history: nothing to search
    assert calls == [30]
