"""Preprocessing: deduplication, anomaly removal, numeric normalisation, English and Chinese text normalisation."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from scenebridge.data.format import Dataset

__all__ = ["CleanReport", "clean_dataset", "minmax", "normalize_text", "zscore"]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TOKEN = re.compile(r"[\w]+", re.UNICODE)


@dataclass
class CleanReport:
    """What :func:`clean_dataset` removed, by reason."""

    removed: dict[str, int] = field(default_factory=dict)
    kept_items: int = 0
    kept_interactions: int = 0
    kept_users: int = 0

    def lines(self) -> list[str]:
        out = [f"removed {n:,} {reason}" for reason, n in self.removed.items()]
        out.append(
            f"kept {self.kept_items:,} items, {self.kept_interactions:,} interactions, {self.kept_users:,} users"
        )
        return out


def clean_dataset(ds: Dataset, *, max_activity_z: float = 6.0) -> tuple[Dataset, CleanReport]:
    """Deduplicates and removes anomalies; never changes the rows it keeps.

    Args:
        ds: the dataset to clean.
        max_activity_z: users whose log interaction count lies more than this many robust standard deviations
            (median absolute deviation x 1.4826) above the median are removed as anomalies (bots, shared accounts).

    Returns:
        The cleaned dataset and a report with a count for every reason a row was removed.
    """
    report = CleanReport()
    items = ds.items
    n = len(items)
    items = items.drop_duplicates("item_id", keep="first")
    report.removed["duplicate items"] = n - len(items)

    inter = ds.interactions
    n = len(inter)
    known = inter["item_id"].isin(items["item_id"])
    scene_of = items.set_index("item_id")["scene"]
    inter = inter[known & (inter["item_id"].map(scene_of) == inter["scene"])]
    inter = inter[np.isfinite(inter["order"].to_numpy(dtype="float64"))]
    report.removed["interactions with unknown items, scene mismatch or no order"] = n - len(inter)

    n = len(inter)
    # Keep the earliest of repeated (user, item) pairs: a repeat adds no new preference for set-based methods.
    inter = inter.sort_values(["user_id", "order"], kind="stable").drop_duplicates(["user_id", "item_id"])
    inter = inter.sort_index()
    report.removed["repeated (user, item) interactions"] = n - len(inter)

    counts = inter.groupby("user_id").size()
    log_counts = np.log1p(counts.to_numpy(dtype="float64"))
    med = np.median(log_counts) if len(log_counts) else 0.0
    dev = np.abs(log_counts - med)
    # MAD is 0 when most users have the same count; the mean absolute deviation is the usual fallback.
    scale = (np.median(dev) * 1.4826 or dev.mean() * 1.2533) if len(log_counts) else 0.0
    if scale > 0:
        robust_z = (log_counts - med) / scale
        outliers = set(counts.index[robust_z > max_activity_z])
    else:
        outliers = set()
    n = len(inter)
    inter = inter[~inter["user_id"].isin(outliers)]
    report.removed[f"interactions of {len(outliers):,} anomalous high-activity users"] = n - len(inter)

    users = ds.users
    if users is not None:
        users = users[users["user_id"].isin(inter["user_id"])]
    report.kept_items = len(items)
    report.kept_interactions = len(inter)
    report.kept_users = inter["user_id"].nunique()
    cleaned = replace(
        ds,
        items=items.reset_index(drop=True),
        interactions=inter.reset_index(drop=True),
        users=None if users is None else users.reset_index(drop=True),
    )
    return cleaned, report


def zscore(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    """Standardises to mean 0, standard deviation 1; constant slices become 0."""
    x = np.asarray(x, dtype="float64")
    mean = x.mean(axis=axis, keepdims=True)
    std = x.std(axis=axis, keepdims=True)
    return np.divide(x - mean, std, out=np.zeros_like(x), where=std > 0)


def minmax(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    """Rescales to [0, 1]; constant slices become 0."""
    x = np.asarray(x, dtype="float64")
    lo = x.min(axis=axis, keepdims=True)
    span = x.max(axis=axis, keepdims=True) - lo
    return np.divide(x - lo, span, out=np.zeros_like(x), where=span > 0)


@cache
def _stopwords() -> frozenset[str]:
    words: set[str] = set()
    for lang in ("en", "zh"):
        text = resources.files("scenebridge.data").joinpath(f"stopwords/{lang}.txt").read_text("utf-8")
        words.update(w.strip() for w in text.splitlines() if w.strip())
    return frozenset(words)


@cache
def _jieba() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def normalize_text(text: str) -> list[str]:
    """Tokens for matching: NFKC, lower case, jieba segmentation for Chinese, stopwords and punctuation dropped.

    Args:
        text: English, Chinese or mixed text.

    Returns:
        The content tokens in order.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    stop = _stopwords()
    # jieba loads its dictionary (~1 s) on first use, so only Chinese text pays for it.
    pieces = _jieba().lcut(text) if _CJK.search(text) else _TOKEN.findall(text)
    tokens = []
    for piece in pieces:
        for tok in _TOKEN.findall(piece):
            if tok in stop or tok.strip("_") == "":
                continue
            if len(tok) == 1 and not _CJK.match(tok) and not tok.isdigit():
                continue
            tokens.append(tok)
    return tokens
