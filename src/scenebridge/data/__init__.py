"""Canonical dataset format, loaders, validation, preprocessing and the cold-start cross-scene split."""

from scenebridge.data.format import Dataset, load_dataset
from scenebridge.data.preprocess import CleanReport, clean_dataset, minmax, normalize_text, zscore
from scenebridge.data.split import CrossSceneSplit, cold_start_split
from scenebridge.data.validate import Problem, validate_dataset

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
