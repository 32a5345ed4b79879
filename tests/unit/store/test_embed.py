import numpy as np
import pytest

from scenebridge.store.embed import CachedEmbedder, EmbeddingCache, HashingEmbedder

pytestmark = pytest.mark.unit


def test_hashing_embedder_is_deterministic_and_normalised():
    e = HashingEmbedder(64)
    a = e.embed(["watercolor paint", "水彩颜料", ""])
    assert a.shape == (3, 64)
    assert np.allclose(np.linalg.norm(a[:2], axis=1), 1.0)
    assert not a[2].any()
    assert np.array_equal(a, e.embed(["watercolor paint", "水彩颜料", ""]))


def test_cache_skips_unchanged_texts(tmp_path):
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    emb = CachedEmbedder(HashingEmbedder(32), cache)
    first = emb.embed(["a pen", "a pencil", "a pen"])
    assert emb.embedded == 2
    again = CachedEmbedder(HashingEmbedder(32), EmbeddingCache(tmp_path / "c.sqlite"))
    second = again.embed(["a pencil", "a pen", "new ink"])
    assert again.embedded == 1
    assert np.array_equal(second[0], first[1])
    assert np.array_equal(second[1], first[0])
