"""Evaluation: metrics, baselines, the benchmark harness, reports and plots."""

from scenebridge.eval.baselines import METHODS, Method, make_method
from scenebridge.eval.context import Context, Progress, SilentProgress, top_k
from scenebridge.eval.harness import RANKING_DEPTH, EvalResult, evaluate, write_outputs
from scenebridge.eval.metrics import KS, coverage, hit_rate, mean_metrics, mrr, ndcg, recall

__all__ = [
    "KS",
    "METHODS",
    "RANKING_DEPTH",
    "Context",
    "EvalResult",
    "Method",
    "Progress",
    "SilentProgress",
    "coverage",
    "evaluate",
    "hit_rate",
    "make_method",
    "mean_metrics",
    "mrr",
    "ndcg",
    "recall",
    "top_k",
    "write_outputs",
]
