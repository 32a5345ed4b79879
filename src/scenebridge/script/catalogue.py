"""A script's catalogue: an items CSV indexed into a temporary embedded Chroma store (vectors from the shared cache)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scenebridge.errors import UsageError
from scenebridge.store import ItemStore, cached_embedder

if TYPE_CHECKING:
    import pandas as pd

    from scenebridge.store.chroma import ItemStore

__all__ = ["Catalogue", "open_catalogue", "read_items"]

COLUMNS = ("item_id", "scene", "title", "category")


@dataclass
class Catalogue:
    """The indexed store and the items it holds (item id -> (scene, title))."""

    store: ItemStore
    items: dict[str, tuple[str, str]]
    folder: tempfile.TemporaryDirectory[str]


def read_items(path: Path) -> pd.DataFrame:
    """The items of a canonical dataset folder (``items.csv``) or of an items CSV.

    Raises:
        UsageError: when the file is missing or lacks item_id, scene, title, category.
    """
    import pandas as pd

    csv = path / "items.csv" if path.is_dir() else path
    if not csv.is_file():
        msg = f"no catalogue at {path}: give a dataset folder with items.csv, or an items CSV"
        raise UsageError(msg)
    try:
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        msg = f"cannot read the catalogue {csv} ({type(exc).__name__}: {exc})"
        raise UsageError(msg) from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing or frame.empty:
        msg = f"{csv}: needs the columns {', '.join(COLUMNS)} and at least one row (missing: {', '.join(missing)})"
        raise UsageError(msg)
    return frame[list(COLUMNS)]


def open_catalogue(path: Path, embedder: str) -> Catalogue:
    """Indexes a catalogue into a fresh temporary store (re-embedding nothing the shared cache already has)."""

    frame = read_items(path)
    folder = tempfile.TemporaryDirectory(prefix="scenebridge-script-")
    store = ItemStore(cached_embedder(embedder), path=Path(folder.name) / "store")
    store.index(frame)
    items = {i: (s, t) for i, s, t in zip(frame["item_id"], frame["scene"], frame["title"], strict=True)}
    return Catalogue(store, items, folder)
