"""Every SQLite store a server uses is safe under its thread pool: opened in one thread, used from many."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from scenebridge.store.embed import CachedEmbedder, EmbeddingCache, HashingEmbedder
from scenebridge.store.profiles import ProfileStore


def test_the_embedding_cache_is_used_from_other_threads(tmp_path):
    emb = CachedEmbedder(HashingEmbedder(64), EmbeddingCache(tmp_path / "cache.sqlite"))  # opened in this thread

    def work(n: int) -> np.ndarray:
        return emb.embed([f"shared text {n % 5}", f"own text {n}"])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(64)))
    assert all(r.shape == (2, 64) for r in results)
    np.testing.assert_array_equal(results[0][0], results[5][0])
    reopened = EmbeddingCache(tmp_path / "cache.sqlite")
    assert len(reopened.get(emb.model_id, [EmbeddingCache.key(f"own text {n}") for n in range(64)])) == 64
    emb.cache.close()


def test_the_profile_store_is_used_from_other_threads(tmp_path):
    profiles = ProfileStore(tmp_path / "profiles.sqlite")

    def work(n: int) -> list[str]:
        user = f"u{n % 4}"
        profiles.record(user, f"i{n}", "art", "like")
        return profiles.history(user)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(80)))
    assert sorted(profiles.users()) == ["u0", "u1", "u2", "u3"]
    assert sum(len(profiles.history(u)) for u in profiles.users()) == 80
    assert profiles.forget("u0") == 20
    profiles.close()
