"""Rerank latency benchmark: one user's candidates through the trained fusion model, p50/p95 per stage."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scenebridge.data.format import Dataset
from scenebridge.data.split import cold_start_split
from scenebridge.errors import UsageError
from scenebridge.progress import Progress, SilentProgress
from scenebridge.rerank import Candidate, RerankQuery
from scenebridge.rerank.fusion import load_reranker

__all__ = ["RerankBenchResult", "bench_rerank"]


@dataclass
class RerankBenchResult:
    """Milliseconds per user for each stage, over the same users and candidates."""

    users: int
    candidates: int
    ms: dict[str, dict[str, float]] = field(default_factory=dict)
    threads: int = 0


def _pcts(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values) * 1000.0
    return {"p50": round(float(np.percentile(arr, 50)), 3), "p95": round(float(np.percentile(arr, 95)), 3)}


def bench_rerank(
    ds: Dataset, reranker: str | Path, n_candidates: int = 200, users: int = 200, progress: Progress | None = None
) -> RerankBenchResult:
    """Times candidate generation and reranking of ``n_candidates`` items for test users of the checkpoint's split.

    Raises:
        UsageError: for a checkpoint that does not fit the dataset.
    """
    import torch

    progress = progress or SilentProgress()
    rr = load_reranker(reranker)
    cfg = rr.ckpt.config
    split = cold_start_split(ds, cfg["source"], cfg["target"])
    if rr.ckpt.item_ids != list(ds.items["item_id"]):
        msg = f"{reranker} was trained on another catalogue than {ds.name}; pass the dataset it was trained on"
        raise UsageError(msg)
    people = [u for u in split.test_users if split.history(u)][:users]
    # "rerank" follows "candidates" for the same user, as in a turn (they share the per-user pass); "rerank alone"
    # is a call with nothing shared, e.g. the rerank tool on items chosen elsewhere.
    timings: dict[str, list[float]] = {"candidates": [], "rerank": [], "rerank+evidence": [], "rerank alone": []}
    advance = progress.task(f"reranking {n_candidates} candidates", len(people))
    for user in people:
        query = RerankQuery(scene=split.target, history=split.history(user))
        t0 = time.perf_counter()
        ids = rr.candidates(query, n_candidates)
        t1 = time.perf_counter()
        pool = [Candidate(item_id=i, scene=split.target) for i in ids]
        if len(pool) < n_candidates:  # top up with popular items so every user reranks exactly n_candidates
            extra = [split.target_items[j] for j in np.argsort(-rr.ckpt.behaviour.pop, kind="stable")]
            have = set(ids)
            pool += [Candidate(item_id=i, scene=split.target) for i in extra if i not in have][
                : n_candidates - len(pool)
            ]
        t2 = time.perf_counter()
        rr.rerank(query, pool, evidence=False)
        t3 = time.perf_counter()
        rr.rerank(query, pool, k=10, evidence=True)
        t4 = time.perf_counter()
        rr.clear_cache()
        t5 = time.perf_counter()
        rr.rerank(query, pool, evidence=False)
        t6 = time.perf_counter()
        timings["candidates"].append(t1 - t0)
        timings["rerank"].append(t3 - t2)
        timings["rerank+evidence"].append(t4 - t3)
        timings["rerank alone"].append(t6 - t5)
        advance(1)
    return RerankBenchResult(
        users=len(people),
        candidates=n_candidates,
        ms={k: _pcts(v) for k, v in timings.items()},
        threads=torch.get_num_threads(),
    )
