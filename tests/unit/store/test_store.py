"""The Chroma item store with deterministic hashing embeddings (real embedded Chroma, fake vectors)."""

import numpy as np
import pandas as pd
import pytest

from scenebridge.errors import StoreError
from scenebridge.store import CachedEmbedder, EmbeddingCache, HashingEmbedder, ItemStore

pytestmark = pytest.mark.unit

ITEMS = pd.DataFrame(
    [
        ("a1", "art", "watercolor paint set", "painting"),
        ("a2", "art", "sable paint brushes", "painting"),
        ("a3", "art", "sketch pencils", "drawing"),
        ("o1", "office", "printer ink cartridge", "ink"),
        ("o2", "office", "desk organizer", "desk"),
        ("o3", "office", "gel pens", "writing"),
        ("c1", "办公", "笔记本 文具", "文具"),
    ],
    columns=["item_id", "scene", "title", "category"],
)


def make_store(tmp_path, embedder=None, batch_size=2):
    emb = embedder or CachedEmbedder(HashingEmbedder(64), EmbeddingCache(tmp_path / "cache.sqlite"))
    return ItemStore(emb, path=tmp_path / "store", batch_size=batch_size)


def test_index_is_idempotent_and_counts_embeddings(tmp_path):
    store = make_store(tmp_path)
    first = store.index(ITEMS)
    assert (first.added, first.embedded, first.total) == (7, 7, 7)
    assert store.scenes == ["art", "office", "办公"]
    again = make_store(tmp_path).index(ITEMS)
    assert (again.added, again.updated, again.unchanged, again.embedded, again.total) == (0, 0, 7, 0, 7)


def test_changed_text_is_reembedded_and_prune_removes(tmp_path):
    store = make_store(tmp_path)
    store.index(ITEMS)
    changed = ITEMS.copy()
    changed.loc[changed.item_id == "a1", "title"] = "oil paint set"
    changed = changed[changed.item_id != "o3"]
    report = store.index(changed)
    assert (report.updated, report.embedded, report.removed, report.total) == (1, 1, 0, 7)
    report = store.index(changed[changed.scene != "办公"], prune=True)
    assert report.removed == 2  # o3, and the whole 办公 scene
    assert report.total == 5
    assert store.scenes == ["art", "office"]
    hit = store.search_text("oil paint set", scenes=["art"], k=1)[0]
    assert (hit.item_id, hit.title) == ("a1", "oil paint set")


class _Crash(Exception):
    pass


class CrashingEmbedder(HashingEmbedder):
    """Dies on its n-th call, as a killed process would."""

    def __init__(self, calls_before_crash: int) -> None:
        super().__init__(64)
        self.model_id = "hashing-64"
        self.left = calls_before_crash

    def embed(self, texts):
        if self.left == 0:
            raise _Crash
        self.left -= 1
        return super().embed(texts)


def test_interrupted_index_resumes_exactly(tmp_path):
    with pytest.raises(_Crash):
        make_store(tmp_path, embedder=CrashingEmbedder(2), batch_size=2).index(ITEMS)
    partial = make_store(tmp_path, embedder=HashingEmbedder(64)).count()
    assert 0 < partial < len(ITEMS)
    report = make_store(tmp_path, embedder=HashingEmbedder(64)).index(ITEMS)
    assert report.added == len(ITEMS) - partial
    assert report.total == len(ITEMS)


def test_search_scenes_exclusions_and_order(tmp_path):
    store = make_store(tmp_path)
    store.index(ITEMS)
    hits = store.search_text("paint brushes", scenes=["art"], k=3)
    assert [h.scene for h in hits] == ["art"] * 3
    assert hits[0].item_id == "a2"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    excluded = store.search_text("paint brushes", scenes=["art"], k=3, exclude=["a2"])
    assert [h.item_id for h in excluded][:1] != ["a2"]
    assert "a2" not in {h.item_id for h in excluded}
    assert len(excluded) == 2
    both = store.search_text("ink", k=10)
    assert {h.scene for h in both} == {"art", "office", "办公"}
    ids, vecs = store.vectors("office")
    assert sorted(ids) == ["o1", "o2", "o3"]
    assert vecs.shape == (3, 64)


def test_store_errors_are_clear(tmp_path):
    store = make_store(tmp_path)
    store.index(ITEMS)
    with pytest.raises(StoreError, match=r"scene 'shoes' is not in the store .* its scenes are: art, office, 办公"):
        store.search_text("x", scenes=["shoes"])
    with pytest.raises(StoreError, match="query vector has 3 dimensions"):
        store.search(np.ones(3), k=2)
    with pytest.raises(StoreError, match="k must be at least 1"):
        store.search_text("x", k=0)
    other = ItemStore(HashingEmbedder(32), path=tmp_path / "store")
    with pytest.raises(StoreError, match="built with embedder 'hashing-64', not 'hashing-32'"):
        other.search_text("x", scenes=["art"])
