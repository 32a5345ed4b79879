"""The canonical dataset format and its loader.

A dataset is a folder with ``items.csv`` (item_id, scene, title, category, and optionally description, year, price,
brand or any other column), ``interactions.csv`` (user_id, item_id, scene, and ``position`` or ``timestamp``) and an
optional ``users.csv`` (user_id, split in train/valid/test).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from scenebridge.data.columns import DESCRIPTION_CHARS, item_attrs, item_texts
from scenebridge.data.validate import ATTRIBUTE_COLUMNS, ITEM_COLUMNS, parse_dataset
from scenebridge.errors import DatasetError

__all__ = ["ATTRIBUTE_COLUMNS", "DESCRIPTION_CHARS", "Dataset", "item_attrs", "item_texts", "load_dataset",
           "write_dataset"]  # fmt: skip


@dataclass
class Dataset:
    """A loaded canonical dataset.

    Attributes:
        name: the folder name.
        items: item_id, scene, title, category (strings), then the optional columns the file has (description,
            year, price, brand and any other), as strings ("" where a row has no value).
        interactions: user_id, item_id, scene, order (float; position or timestamp), in file order.
        users: user_id, split; ``None`` when the folder has no users.csv.
    """

    name: str
    items: pd.DataFrame
    interactions: pd.DataFrame
    users: pd.DataFrame | None = None

    @property
    def scenes(self) -> list[str]:
        return sorted(self.items["scene"].unique())


def load_dataset(folder: str | Path) -> Dataset:
    """Loads a canonical dataset folder.

    Raises:
        DatasetError: with one ``file:line: reason`` line per error found; warnings do not raise.
    """
    parsed = parse_dataset(folder)
    if parsed.errors:
        raise DatasetError([str(p) for p in parsed.errors])
    items = pd.DataFrame(parsed.items, dtype=str)
    inter = pd.DataFrame(
        {
            "user_id": pd.Series(parsed.interactions["user_id"], dtype=str),
            "item_id": pd.Series(parsed.interactions["item_id"], dtype=str),
            "scene": pd.Series(parsed.interactions["scene"], dtype=str),
            "order": pd.Series(parsed.interactions["order"], dtype="float64"),
        }
    )
    users = pd.DataFrame(parsed.users, dtype=str) if parsed.users is not None else None
    return Dataset(name=Path(folder).resolve().name, items=items, interactions=inter, users=users)


def write_dataset(ds: Dataset, folder: str | Path) -> None:
    """Writes a dataset in the canonical format (``position`` = the order rank within each user); the items keep
    their optional columns after the required ones."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    columns = [*ITEM_COLUMNS, *(c for c in ds.items.columns if c not in ITEM_COLUMNS and not c.startswith("_"))]
    ds.items[columns].to_csv(out / "items.csv", index=False)
    inter = ds.interactions.copy()
    inter["position"] = inter.groupby("user_id", sort=False)["order"].rank(method="dense").astype("int64") - 1
    inter[["user_id", "item_id", "scene", "position"]].to_csv(out / "interactions.csv", index=False)
    if ds.users is not None:
        ds.users[["user_id", "split"]].to_csv(out / "users.csv", index=False)
