"""Canonical dataset format, loaders, validation, preprocessing and the cold-start cross-scene split.

The names load on first use: the agent's turn needs only the text normalisation of :mod:`preprocess`, and the
loaders bring pandas (0.6-2.8 s of a fresh process's start on a 2-core machine).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scenebridge.data.format import Dataset, load_dataset
    from scenebridge.data.preprocess import CleanReport, clean_dataset, minmax, normalize_text, zscore
    from scenebridge.data.split import CrossSceneSplit, cold_start_split
    from scenebridge.data.validate import Problem, validate_dataset

_MODULE = {
    "CleanReport": "preprocess",
    "CrossSceneSplit": "split",
    "Dataset": "format",
    "Problem": "validate",
    "clean_dataset": "preprocess",
    "cold_start_split": "split",
    "load_dataset": "format",
    "minmax": "preprocess",
    "normalize_text": "preprocess",
    "validate_dataset": "validate",
    "zscore": "preprocess",
}

__all__ = [
    "CleanReport",
    "CrossSceneSplit",
    "Dataset",
    "Problem",
    "clean_dataset",
    "cold_start_split",
    "load_dataset",
    "minmax",
    "normalize_text",
    "validate_dataset",
    "zscore",
]


def __getattr__(name: str) -> Any:
    if name in _MODULE:
        return getattr(importlib.import_module(f"scenebridge.data.{_MODULE[name]}"), name)
    msg = f"module 'scenebridge.data' has no attribute {name!r}"
    raise AttributeError(msg)
