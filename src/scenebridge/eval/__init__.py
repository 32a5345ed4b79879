"""Offline accuracy: metrics, baselines, the benchmark harness, reports and plots (never the agent)."""

from scenebridge.data.visible import Context
from scenebridge.eval.baselines import METHODS, Method, fitted, make_method, valid_ndcg
from scenebridge.eval.harness import RANKING_DEPTH, EvalResult, evaluate, write_outputs
from scenebridge.eval.metrics import KS, coverage, hit_rate, mean_metrics, mrr, ndcg, recall, top_k
from scenebridge.progress import Progress, SilentProgress

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
    "fitted",
    "hit_rate",
    "make_method",
    "mean_metrics",
    "mrr",
    "ndcg",
    "recall",
    "top_k",
    "valid_ndcg",
    "write_outputs",
]
