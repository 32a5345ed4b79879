"""A prerequisite gate around any reranker: an item whose prerequisites the person has not done is never returned.

The links come from a ``relations.csv`` (``head,relation,tail`` with ``relation`` = ``prerequisite_of``: ``head`` must
be done before ``tail``), as in the Junyi exercise catalogue. What counts as done is everything the query knows the
person has: ``query.history`` (their profile and the items their words were linked to in other scenes) and
``query.exclude`` (items linked in this scene, marked seen — "I've done those" — or rejected in this conversation).
An item with no prerequisites is always allowed; one whose prerequisite is not in the catalogue can only be allowed
once that prerequisite is done, as the links say.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenebridge.errors import DatasetError, UsageError
from scenebridge.rerank.api import Candidate, Reranker, RerankQuery, Scored
from scenebridge.rerank.content import ContentReranker

if TYPE_CHECKING:
    from scenebridge.store.chroma import ItemStore

__all__ = ["RELATION", "PrerequisiteGate", "load_prerequisites", "prerequisite_reranker"]

RELATION = "prerequisite_of"
"""The one relation the gate reads; other relations in the file are refused (they would be silently ignored)."""

_COLUMNS = ("head", "relation", "tail")


def load_prerequisites(path: str | Path) -> dict[str, frozenset[str]]:
    """Each item's prerequisites from a relations CSV (a folder means its ``relations.csv``).

    Raises:
        DatasetError: for a missing file, missing columns, an empty id, or a relation other than ``prerequisite_of``.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "relations.csv"
    if not p.is_file():
        msg = f"no prerequisite links at {p}: give a relations.csv with columns head,relation,tail"
        raise DatasetError([msg])
    pre: defaultdict[str, set[str]] = defaultdict(set)
    with p.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            msg = f"{p}: missing column(s) {', '.join(missing)}; a relations.csv has head,relation,tail"
            raise DatasetError([msg])
        for line, row in enumerate(reader, start=2):
            head, relation, tail = ((row.get(c) or "").strip() for c in _COLUMNS)
            if relation != RELATION:
                msg = f"{p} line {line}: relation {relation!r} is not {RELATION!r}"
                raise DatasetError([msg])
            if not head or not tail:
                msg = f"{p} line {line}: an empty head or tail item id"
                raise DatasetError([msg])
            pre[tail].add(head)
    return {item: frozenset(heads) for item, heads in pre.items()}


class PrerequisiteGate:
    """Wraps a reranker; its candidates and its ranked items are only those whose prerequisites are all done.

    Args:
        inner: the reranker that ranks what is allowed.
        prerequisites: item id -> the ids that must be done first (from :func:`load_prerequisites`).
    """

    def __init__(self, inner: Reranker, prerequisites: Mapping[str, frozenset[str]]) -> None:
        self.inner = inner
        self.prerequisites = dict(prerequisites)
        # The router asks which scenes a reranker serves: the gate serves what its inner reranker serves.
        for name in ("scene", "scenes"):
            if hasattr(inner, name):
                setattr(self, name, getattr(inner, name))

    @property
    def embedder_id(self) -> str:
        """The inner reranker's embedder."""
        return self.inner.embedder_id

    @staticmethod
    def done(query: RerankQuery) -> set[str]:
        """What the person has done, as far as the query knows: their history and what must not come back."""
        return set(query.history) | (set(query.exclude) - set(query.not_again))  # shown is not done

    def missing(self, item_id: str, done: set[str]) -> frozenset[str]:
        """The prerequisites of ``item_id`` not in ``done`` (empty: the item is allowed)."""
        return self.prerequisites.get(item_id, frozenset()) - done

    def candidates(self, query: RerankQuery, k: int) -> list[str]:
        """The inner reranker's behaviour candidates that are allowed."""
        done = self.done(query)
        return [i for i in self.inner.candidates(query, k) if not self.missing(i, done)]

    def rerank(self, query: RerankQuery, candidates: Sequence[Candidate], k: int | None = None) -> list[Scored]:
        """The inner reranker's order over the allowed candidates only."""
        done = self.done(query)
        return self.inner.rerank(query, [c for c in candidates if not self.missing(c.item_id, done)], k)


def prerequisite_reranker(arg: str | None = None, *, store: ItemStore | None = None, **options: Any) -> Reranker:
    """``prerequisites:RELATIONS``: the content reranker behind a prerequisite gate read from RELATIONS (a
    relations.csv or its folder).

    Raises:
        UsageError: without RELATIONS or without the store.
        DatasetError: for a bad relations file.
    """
    if not arg:
        msg = "prerequisites needs its links: prerequisites:PATH (a relations.csv, or the folder holding one)"
        raise UsageError(msg)
    if store is None:
        msg = "the prerequisites reranker needs the item store (store=)"
        raise UsageError(msg)
    return PrerequisiteGate(ContentReranker(store, **options), load_prerequisites(arg))
