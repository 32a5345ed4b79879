"""Runs methods side by side on one cold-start cross-scene split and writes metrics, rankings and a report."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scenebridge.data.format import Dataset
from scenebridge.data.split import CrossSceneSplit, cold_start_split
from scenebridge.data.visible import Context
from scenebridge.eval.baselines import METHODS, fitted, make_method
from scenebridge.eval.metrics import KS, coverage, mean_metrics, top_k
from scenebridge.eval.report import write_plots, write_report
from scenebridge.progress import Progress, SilentProgress
from scenebridge.rerank.evaluate import FusionMethod

__all__ = ["RANKING_DEPTH", "EvalResult", "evaluate", "write_outputs"]

RANKING_DEPTH = 50
_CHUNK = 512


@dataclass
class EvalResult:
    """Metrics per method, the top-50 ranking of each test user per method, and run facts."""

    split: CrossSceneSplit
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    rankings: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)


def evaluate(
    ds: Dataset,
    source: str,
    target: str,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    reranker: str | Path | None = None,
) -> EvalResult:
    """Fits and scores every method on the cold-start split of ``ds`` (S -> T).

    Args:
        ds: a loaded canonical dataset.
        source: the scene whose history is visible.
        target: the scene whose items are ranked.
        methods: method names (default: all baselines).
        seed: random seed for every method.
        progress: where progress goes.
        reranker: a checkpoint folder from ``scenebridge train``: adds the ``fusion`` (history) and
            ``fusion-statement`` rows beside the baselines.

    Raises:
        UsageError: for an unknown method or scene, or a checkpoint that does not fit this dataset and split.
    """
    progress = progress or SilentProgress()
    names = list(methods or METHODS)
    for name in names:
        make_method(name)  # fail on a bad name before any work
    split = cold_start_split(ds, source, target, seed=seed)
    ctx = Context.build(split, seed=seed, progress=progress)
    if reranker is not None:
        for mode in ("history", "statement"):
            fusion = FusionMethod(reranker, mode)
            fusion.fit(ctx)  # fails early (wrong scenes, other catalogue) before the baselines run
            ctx.register(fusion)
            names.append(fusion.name)
    result = EvalResult(split=split)
    timings: dict[str, dict[str, float]] = {}
    users = split.test_users
    for name in names:
        t0 = time.perf_counter()
        method = fitted(ctx, name)
        t1 = time.perf_counter()
        advance = progress.task(f"{name}: ranking {len(users):,} users", len(users))
        ranked: dict[str, list[str]] = {}
        for i in range(0, len(users), _CHUNK):
            chunk = users[i : i + _CHUNK]
            top = top_k(method.score(chunk), RANKING_DEPTH)
            for u, row in zip(chunk, top, strict=True):
                ranked[u] = [split.target_items[j] for j in row]
            advance(len(chunk))
        t2 = time.perf_counter()
        metrics = mean_metrics(ranked, split.test_truth, KS)
        for k in KS:
            metrics[f"coverage@{k}"] = coverage(ranked.values(), len(split.target_items), k)
        result.metrics[name] = metrics
        result.rankings[name] = ranked
        timings[name] = {"fit_s": round(t1 - t0, 3), "rank_s": round(t2 - t1, 3)}
    result.meta = {
        "dataset": ds.name,
        "source": source,
        "target": target,
        "seed": seed,
        "methods": names,
        "n_test_users": len(users),
        "n_valid_users": len(split.valid_users),
        "n_target_items": len(split.target_items),
        "n_train_interactions": len(split.train),
        "n_hidden_test_interactions": sum(len(v) for v in split.test_truth.values()),
        "ranking_depth": RANKING_DEPTH,
        "timings": timings,
    }
    return result


def write_outputs(result: EvalResult, out: str | Path) -> Path:
    """Writes rankings.jsonl, report.md, plots, and finally metrics.json (so its presence means complete)."""

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "rankings.jsonl").open("w", encoding="utf-8") as fh:
        for method, ranked in result.rankings.items():
            for user in result.split.test_users:
                fh.write(json.dumps({"method": method, "user_id": user, "items": ranked[user]}) + "\n")
    plots = write_plots(result.metrics, out)
    write_report(result.metrics, result.meta, plots, out / "report.md")
    payload: dict[str, object] = dict(result.metrics)
    payload["_meta"] = result.meta
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / "metrics.json")
    return out
