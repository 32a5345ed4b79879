"""Item-store benchmark: ingestion against the embedder alone, and query latency against brute force, in one run.

Everything compared is measured in the same process, side by side, so machine noise hits both sides alike.
"""

from __future__ import annotations

import json
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scenebridge.progress import Progress, SilentProgress
from scenebridge.store import CachedEmbedder, EmbeddingCache, ItemStore, get_embedder, item_texts

__all__ = ["StoreBenchResult", "bench_store", "bench_texts"]


@dataclass
class StoreBenchResult:
    """Numbers of one benchmark run (times in seconds, latencies in milliseconds)."""

    items: int
    scenes: dict[str, int]
    vectors: str
    embedder: str
    dim: int
    embed_s: float | None = None
    embed_per_s: float | None = None
    ingest_s: float = 0.0
    ingest_per_s: float = 0.0
    ingest_vs_embed: float | None = None
    query: dict[str, dict[str, float]] = field(default_factory=dict)
    recall_at_k: float = 0.0
    k: int = 100
    n_queries: int = 0
    disk_mb: float = 0.0
    peak_rss_mb: float = 0.0
    notes: list[str] = field(default_factory=list)


def bench_texts(n: int, data_dirs: Sequence[Path], seed: int = 0) -> pd.DataFrame:
    """``n`` items with real titles/categories from the datasets (generated ones when none is given); beyond what
    they hold, numbered variants ("... edition 2")."""
    frames = []
    for d in data_dirs:
        df = pd.read_csv(d / "items.csv", dtype=str, keep_default_na=False)
        df = df[["item_id", "scene", "title", "category"]]
        frames.append(df.assign(item_id=d.name + ":" + df["item_id"]))
    if frames:
        base = pd.concat(frames, ignore_index=True)
    else:
        # No dataset: generated product-like texts over a small vocabulary, in four scenes.
        rng = np.random.default_rng(seed)
        vocab = "paint brush canvas pen pencil ink paper desk lamp chair cable mouse keyboard tea coffee pan knife"
        words = np.array([*vocab.split(), "cup", "bowl", "plate", "sketch", "marker", "eraser", "folder"])
        scenes_ = np.array(["art", "office", "kitchen", "food"])
        m = min(n, 50_000)
        base = pd.DataFrame(
            {
                "item_id": [f"g{i}" for i in range(m)],
                "scene": scenes_[rng.integers(0, 4, m)],
                "title": [" ".join(rng.choice(words, 5)) for _ in range(m)],
                "category": [" ".join(rng.choice(words, 2)) for _ in range(m)],
            }
        )
    base = base.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    reps = -(-n // len(base))
    out = pd.concat([base.assign(item_id=base.item_id + (f"~{r}" if r else ""),
                                 title=base.title + (f" edition {r + 1}" if r else "")) for r in range(reps)],
                    ignore_index=True)  # fmt: skip
    return out.iloc[:n].reset_index(drop=True)


def _percentiles(samples: list[float]) -> dict[str, float]:
    arr = np.asarray(samples) * 1000.0
    return {"p50_ms": float(np.percentile(arr, 50)), "p95_ms": float(np.percentile(arr, 95))}


def _synthetic_vectors(items: pd.DataFrame, dim: int, seed: int) -> np.ndarray:
    """Clustered unit vectors (64 topics per scene), a closer stand-in for text embeddings than uniform noise."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(items), dim), dtype=np.float32)
    for idx in items.groupby("scene").indices.values():
        centres = rng.standard_normal((64, dim)).astype(np.float32)
        out[idx] = centres[rng.integers(0, 64, len(idx))] + 0.6 * rng.standard_normal((len(idx), dim)).astype(
            np.float32
        )
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


class _Precomputed:
    """An 'embedder' that returns vectors computed earlier, to time Chroma alone."""

    def __init__(self, texts: Sequence[str], vecs: np.ndarray, model_id: str) -> None:
        self.index = {t: i for i, t in enumerate(texts)}
        self.vecs = vecs
        self.dim = vecs.shape[1]
        self.model_id = model_id

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.vecs[[self.index[t] for t in texts]]


def _embed_timed(embedder: Any, texts: Sequence[str], advance: Callable[[int], None]) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    parts = []
    for i in range(0, len(texts), 1024):
        parts.append(embedder.embed(texts[i : i + 1024]))
        advance(len(parts[-1]))
    return time.perf_counter() - t0, np.vstack(parts)


def bench_store(
    n_items: int,
    data_dirs: Sequence[Path],
    embedder: str = "use-multilingual",
    vectors: str = "real",
    n_queries: int = 200,
    k: int = 100,
    compare_where: bool = True,
    workdir: Path | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> StoreBenchResult:
    """Runs the store benchmark.

    Args:
        n_items: catalogue size.
        data_dirs: canonical datasets whose item texts are used.
        embedder: embedder spec for ``vectors="real"``.
        vectors: ``real`` (embed the texts: ingestion includes embedding) or ``synthetic`` (clustered random
            vectors: ingestion is Chroma alone; for sizes where embedding would take hours).
        n_queries: queries per latency measurement.
        k: results per query.
        compare_where: also time the alternative design, one shared collection with a ``where`` scene filter.
        workdir: where the temporary stores go (removed afterwards).
        seed: random seed.
        progress: progress reporting.
    """

    progress = progress or SilentProgress()
    items = bench_texts(n_items, data_dirs, seed)
    texts = item_texts(items)
    tmp = Path(tempfile.mkdtemp(prefix="sb-bench-", dir=workdir))
    scenes = items["scene"].value_counts().sort_index()
    scene_sizes = {str(s): int(n) for s, n in scenes.items()}
    try:
        if vectors == "real":
            raw = get_embedder(embedder)
            res = StoreBenchResult(n_items, scene_sizes, vectors, raw.model_id, raw.dim)
            raw.embed(["warm-up: loads the weights"])
            half = len(texts) // 2
            # The embedder alone runs on the first half before ingestion and on the second half after it, so
            # that drift in machine load over the run weighs on both sides alike.
            advance = progress.task("embedder alone (1st half)", half)
            t_first, first = _embed_timed(raw, texts[:half], advance)
            # Ingestion embeds again through an empty cache: nothing is reused from the embedder-alone runs.
            store = ItemStore(CachedEmbedder(raw, EmbeddingCache(tmp / "cache.sqlite")), path=tmp / "store")
            t0 = time.perf_counter()
            store.index(items, progress=progress.task)
            res.ingest_s = time.perf_counter() - t0
            advance = progress.task("embedder alone (2nd half)", len(texts) - half)
            t_second, second = _embed_timed(raw, texts[half:], advance)
            vecs = np.vstack([first, second])
            res.embed_s = t_first + t_second
            res.embed_per_s = len(texts) / res.embed_s
        elif vectors == "synthetic":
            vecs = _synthetic_vectors(items, 512, seed)
            res = StoreBenchResult(n_items, scene_sizes, vectors, "synthetic-512", 512)
            store = ItemStore(_Precomputed(texts, vecs, "synthetic-512"), path=tmp / "store")
            t0 = time.perf_counter()
            store.index(items, progress=progress.task)
            res.ingest_s = time.perf_counter() - t0
        else:
            msg = f"vectors must be 'real' or 'synthetic', not {vectors!r}"
            raise ValueError(msg)
        res.ingest_per_s = n_items / res.ingest_s
        if res.embed_per_s:
            res.ingest_vs_embed = res.ingest_per_s / res.embed_per_s
        res.disk_mb = sum(f.stat().st_size for f in (tmp / "store").rglob("*") if f.is_file()) / 2**20

        rng = np.random.default_rng(seed + 1)
        scene = str(scenes.idxmax())
        in_scene = np.flatnonzero(items["scene"].to_numpy() == scene)
        picks = rng.choice(len(vecs), size=n_queries, replace=False)
        noise = 0.05 * rng.standard_normal((n_queries, vecs.shape[1])).astype(np.float32)
        queries = vecs[picks] + noise
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        scene_vecs = np.ascontiguousarray(vecs[in_scene])
        scene_ids = items["item_id"].to_numpy()[in_scene]

        def timed(fn: Callable[[np.ndarray], object]) -> tuple[list[float], list[object]]:
            fn(queries[0])  # warm-up
            times, outs = [], []
            for q in queries:
                t = time.perf_counter()
                outs.append(fn(q))
                times.append(time.perf_counter() - t)
            return times, outs

        def brute(q: np.ndarray) -> set[str]:
            scores = scene_vecs @ q
            top = np.argpartition(-scores, k - 1)[:k]
            return set(scene_ids[top[np.argsort(-scores[top])]])

        t_store, got = timed(lambda q: {h.item_id for h in store.search(q, scenes=[scene], k=k, facts=False)})
        t_brute, exact = timed(brute)
        t_facts, _ = timed(lambda q: store.search(q, scenes=[scene], k=k))
        res.query[f"ItemStore.search, collection per scene ({scene}), ids + scores"] = _percentiles(t_store)
        res.query["  the same, with titles and categories"] = _percentiles(t_facts)
        res.query[f"numpy brute force ({scene}, {len(in_scene):,} items)"] = _percentiles(t_brute)
        res.recall_at_k = float(np.mean([len(a & b) / k for a, b in zip(got, exact, strict=True)]))  # type: ignore[operator]
        res.n_queries, res.k = n_queries, k

        if compare_where:
            import chromadb
            from chromadb.api.types import Metadata
            from chromadb.config import Settings

            client = chromadb.PersistentClient(str(tmp / "shared"), settings=Settings(anonymized_telemetry=False))
            col = client.create_collection("all", embedding_function=None,
                                           configuration={"hnsw": {"space": "cosine", "ef_search": 200}})  # fmt: skip
            advance = progress.task("one shared collection (for the where-filter design)", n_items)
            ids = items["item_id"].tolist()
            metas: list[Metadata] = [{"scene": s} for s in items["scene"]]
            for i in range(0, n_items, 5000):
                col.add(ids=ids[i : i + 5000], embeddings=vecs[i : i + 5000], metadatas=metas[i : i + 5000])
                advance(min(5000, n_items - i))
            t_where, _ = timed(lambda q: col.query(query_embeddings=[q], n_results=k, where={"scene": scene}))
            res.query["chroma, one collection + where filter"] = _percentiles(t_where)
            over = max(k, int(k * n_items / max(len(in_scene), 1) * 2))
            t_post, _ = timed(lambda q: col.query(query_embeddings=[q], n_results=min(over, n_items),
                                                  include=["metadatas"]))  # fmt: skip
            res.query[f"chroma, one collection, over-fetch {over} + post-filter"] = _percentiles(t_post)
        res.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_result(res: StoreBenchResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(res), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
