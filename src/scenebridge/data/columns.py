"""What an item store and the text methods read from a dataset's items: the item text and the typed optional
attributes. No pandas import here (the frames come from the caller): serving processes open a store without it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scenebridge.data.validate import ATTRIBUTE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DESCRIPTION_CHARS", "item_attrs", "item_texts"]

# The description an item store keeps (for notes and explanations), not the whole text: Chroma metadata is read on
# every search.
DESCRIPTION_CHARS = 300


def item_texts(items: pd.DataFrame) -> list[str]:
    """Title and category joined: the item text every text method and the item store read."""
    return (items["title"].astype(str) + " " + items["category"].astype(str)).str.strip().tolist()


def item_attrs(items: pd.DataFrame) -> list[dict[str, Any]]:
    """The optional attributes of each item, typed (year int, price float, brand and description str); empty
    values are left out, descriptions cut to :data:`DESCRIPTION_CHARS`. Values are as validated by ``load_dataset``.
    """
    present = [c for c in ATTRIBUTE_COLUMNS if c in items.columns]
    out: list[dict[str, Any]] = [{} for _ in range(len(items))]
    for col in present:
        for row, raw in zip(out, items[col].tolist(), strict=True):
            value = "" if raw is None or (isinstance(raw, float) and raw != raw) else str(raw).strip()
            if not value:
                continue
            if col == "year":
                row[col] = int(float(value))
            elif col == "price":
                row[col] = float(value)
            else:
                row[col] = value[:DESCRIPTION_CHARS] if col == "description" else value
    return out
