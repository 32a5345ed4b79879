"""Indexing into the item store: which items are new, changed or gone (by a hash of their text), and the batched
embed + upsert that writes them. Also the one metadata format of a stored item, read back by the store.

An item's optional attributes (year, price, brand, a cut description) live in its one metadata key beside the
title; when only they change, the metadata is rewritten and nothing is re-embedded. Each scene's collection keeps
the names of the attributes its items have (``attributes`` in the collection metadata), so that a turn can say
"this catalogue has no prices" without reading the items.

Nothing half-written is ever served: a scene's collection is marked :data:`PARTIAL` before an index run first writes
to it and unmarked when the run has written everything, so a run stopped by a full disk, a read-only folder or a kill
leaves the scene clearly incomplete (the store refuses to search it and says to run ``index`` again), never a scene
that silently lacks items. Each batch is still committed on its own, so the next run only does what is left.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from scenebridge.data.columns import item_attrs, item_texts
from scenebridge.errors import StoreError

if TYPE_CHECKING:
    import pandas as pd

    from scenebridge.store.embed import CachedEmbedder, Embedder

__all__ = ["PARTIAL", "IndexReport", "incomplete", "index_items", "is_partial", "pages", "read_attributes",
           "read_facts", "read_item"]  # fmt: skip

PARTIAL = "partial"  # the collection metadata key that marks a scene an index run has not finished writing


@dataclass
class IndexReport:
    """What one ``index`` run did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    embedded: int = 0
    refreshed: int = 0
    total: int = 0
    scenes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.added:,} added, {self.updated:,} re-embedded (text changed), {self.unchanged:,} unchanged, "
            f"{self.removed:,} removed; {self.embedded:,} new embeddings; {self.total:,} items in the store"
            + (f"; {self.refreshed:,} with changed attributes (not re-embedded)" if self.refreshed else "")
        )


def read_facts(meta: Any) -> tuple[str, str]:
    """The title and category of a stored item's metadata (as :func:`_write` stores them)."""
    title, category, _ = read_item(meta)
    return title, category


def read_item(meta: Any) -> tuple[str, str, dict[str, Any]]:
    """The title, category and attributes of a stored item's metadata (one JSON parse for all three)."""
    if not meta or "facts" not in meta:
        return "", "", {}
    facts = json.loads(meta["facts"])
    return str(facts.get("title", "")), str(facts.get("category", "")), dict(facts.get("attrs") or {})


def read_attributes(collection_meta: Any) -> frozenset[str]:
    """The attribute names a scene's items have, from its collection's metadata (none for older stores)."""
    names = str((collection_meta or {}).get("attributes", ""))
    return frozenset(n for n in names.split(",") if n)


def is_partial(collection_meta: Any) -> bool:
    """Whether an index run began writing a scene and did not finish (older stores have no mark: complete)."""
    return bool((collection_meta or {}).get(PARTIAL, False))


def incomplete(scene: str, where: str) -> StoreError:
    """The error for a read of a scene that :func:`is_partial` says is not fully written."""
    msg = (
        f"scene {scene!r} in the store at {where} is incomplete: an index run stopped before it finished "
        "(a full disk, a read-only folder, a kill); run `scenebridge index` again to finish it"
    )
    return StoreError(msg)


def _attrs_key(attrs: Any) -> str:
    return json.dumps(attrs or {}, sort_keys=True, ensure_ascii=False)


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def pages(col: Any, include: list[str], max_items: int | None = None, page: int = 5000) -> Iterator[dict[str, Any]]:
    """A collection's stored items, ``page`` at a time (``col.get`` answers), at most ``max_items`` of them."""
    offset = 0
    while max_items is None or offset < max_items:
        got = col.get(include=include, limit=page if max_items is None else min(page, max_items - offset),
                      offset=offset)  # fmt: skip
        yield got
        if len(got["ids"]) < page:
            return
        offset += page


def _stored_hashes(col: Any) -> dict[str, tuple[str, str]]:
    """Item id -> (text hash, attributes as canonical JSON) of what a collection holds."""
    out: dict[str, tuple[str, str]] = {}
    for got in pages(col, ["metadatas"]):
        for iid, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
            facts = json.loads((meta or {}).get("facts", "{}"))
            out[iid] = (str(facts.get("text_hash", "")), _attrs_key(facts.get("attrs")))
    return out


def index_items(
    items: pd.DataFrame,
    collection: Callable[[str], Any],
    embedder: Embedder | CachedEmbedder,
    batch_size: int,
    prune: bool = False,
    drop_other_scenes: Callable[[set[str]], int] | None = None,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> IndexReport:
    """Upserts items (item_id, scene, title, category, optional attributes): new or changed text is embedded,
    changed attributes alone rewrite the metadata, the rest is skipped.

    Each batch is committed on its own, so a later run only does what is left. The totals and scenes of the report
    are left for the store to fill.

    Args:
        items: the catalogue.
        collection: a scene's collection, created when missing.
        embedder: fills the vectors.
        batch_size: items per embed + upsert batch.
        prune: also delete stored items that are not in ``items``.
        drop_other_scenes: with ``prune``, deletes the stored scenes not among the given names and returns how many
            items they held.
        progress: ``progress(description, total)`` returns an ``advance(n)`` callback.
    """
    report = IndexReport()
    before = getattr(embedder, "embedded", 0)
    items = items.drop_duplicates("item_id")
    texts = item_texts(items)
    attrs = item_attrs(items)
    attr_column = np.empty(len(attrs), dtype=object)  # an object column: one dict per row
    attr_column[:] = attrs
    frame = items.assign(_text=texts, _hash=[_text_hash(t) for t in texts], _akey=[_attrs_key(a) for a in attrs],
                         _attrs=attr_column)  # fmt: skip
    todo_by_scene: list[tuple[Any, pd.DataFrame]] = []
    for scene, group in frame.groupby("scene", sort=True):
        col = collection(str(scene))
        stored = _stored_hashes(col)
        old = [stored.get(i, ("", "")) for i in group["item_id"]]
        changed = group[[o[0] != h for o, h in zip(old, group["_hash"], strict=True)]]
        relabel = group[[o[0] == h and o[1] != a for o, h, a in zip(old, group["_hash"], group["_akey"], strict=True)]]
        n_new = int((~changed["item_id"].isin(list(stored))).sum())
        report.added += n_new
        report.updated += len(changed) - n_new
        report.unchanged += len(group) - len(changed)
        report.refreshed += len(relabel)
        stale = sorted(set(stored) - set(group["item_id"])) if prune else []
        writes = len(changed) + len(relabel) + len(stale)
        _keep_attribute_names(col, {k for a in group["_attrs"] for k in a}, replace=prune, partial=writes > 0)
        for i in range(0, len(relabel), batch_size):
            batch = relabel.iloc[i : i + batch_size]
            col.update(ids=batch["item_id"].tolist(), metadatas=_metas(batch))
        todo_by_scene.append((col, changed))
        for i in range(0, len(stale), batch_size):
            col.delete(ids=stale[i : i + batch_size])
        report.removed += len(stale)
    if prune and drop_other_scenes is not None:
        report.removed += drop_other_scenes({str(s) for s in frame["scene"]})
    total = sum(len(t) for _, t in todo_by_scene)
    advance = progress("indexing items", total) if progress and total else (lambda n: None)
    _upsert_all(todo_by_scene, embedder, batch_size, advance)
    for col, _ in todo_by_scene:  # every write of the run is in: the scenes are complete again
        if is_partial(col.metadata):
            col.modify(metadata={**dict(col.metadata or {}), PARTIAL: False})
    # A CachedEmbedder counts what it really embedded; a bare embedder embeds everything it is given.
    report.embedded = getattr(embedder, "embedded", before + total) - before
    return report


def _upsert_all(
    todo: Iterable[tuple[Any, pd.DataFrame]],
    embedder: Embedder | CachedEmbedder,
    batch_size: int,
    advance: Callable[[int], None],
) -> None:
    # Sequential on purpose: overlapping Chroma writes with embedding in a thread was measured 11% slower on
    # 2 cores (both sides want the CPU; OpenBLAS threads spin while they wait).
    for col, rows in todo:
        for i in range(0, len(rows), batch_size):
            batch = rows.iloc[i : i + batch_size]
            _write(col, batch, embedder.embed(batch["_text"].tolist()))
            advance(len(batch))


def _write(col: Any, batch: pd.DataFrame, vecs: np.ndarray) -> None:
    col.upsert(ids=batch["item_id"].tolist(), embeddings=vecs, metadatas=_metas(batch))


def _metas(batch: pd.DataFrame) -> list[dict[str, str]]:
    # One metadata key and no document: every extra key, and the full-text index Chroma builds over
    # documents, adds a measurable share to Chroma's per-item write cost (README, "Item store").
    out = []
    for t, c, h, a in zip(batch["title"], batch["category"], batch["_hash"], batch["_attrs"], strict=True):
        facts = {"title": t, "category": c, "text_hash": h, **({"attrs": a} if a else {})}
        out.append({"facts": json.dumps(facts, ensure_ascii=False)})
    return out


def _keep_attribute_names(col: Any, names: set[str], replace: bool, partial: bool) -> None:
    """Records which attributes the scene's items have (without ``replace``, i.e. no prune, earlier names stay, as
    the items that carried them do) and, with ``partial``, marks the scene as being written (one metadata write)."""
    meta = dict(col.metadata or {})
    kept = set(names) if replace else set(names) | read_attributes(meta)
    wanted = dict(meta)
    if ",".join(sorted(kept)) != meta.get("attributes", ""):
        wanted["attributes"] = ",".join(sorted(kept))
    if partial:
        wanted[PARTIAL] = True
    if wanted != meta:
        col.modify(metadata=wanted)
