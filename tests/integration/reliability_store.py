"""The small real store the fuzzing and overload tests serve: the first items of each scene of the shared Amazon
art/office catalogue, indexed with the multilingual USE embedder (the default), as a quick start builds it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from scenebridge.store.chroma import ItemStore
from scenebridge.store.embed import cached_embedder

ROOT = Path(__file__).resolve().parents[2]
AMAZON = ROOT.parent / "shared" / "datasets" / "amazon-art-office"


def build_home(root: Path, per_scene: int) -> Path:
    """Indexes ``per_scene`` items of each scene into ``root/store`` (the shared embedding cache); returns ``root``.

    Skips the test when the shared dataset is not there.
    """
    if not (AMAZON / "items.csv").is_file():
        pytest.skip(f"the shared dataset is not at {AMAZON}")
    items = pd.read_csv(AMAZON / "items.csv", dtype=str, keep_default_na=False)
    part = items.groupby("scene", group_keys=False).head(per_scene)
    embedder = cached_embedder("use-multilingual")
    ItemStore(embedder, path=root / "store").index(part[["item_id", "scene", "title", "category"]])
    embedder.cache.close()
    return root


def serve_args(home: Path, llm: str = "none") -> list[str]:
    """``scenebridge serve`` arguments over the home's store."""
    return ["--store", str(home / "store"), "--embedder", "use-multilingual", "--llm", llm]
