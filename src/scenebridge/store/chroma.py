"""The item store: one Chroma collection per scene, filled with our own embeddings (never Chroma's default).

One collection per scene was chosen by measurement (README, "Item store"): a ``where`` filter on a shared collection
costs tens to hundreds of milliseconds at 100k items, while querying the scene's own collection costs a few.
What an index run writes, and how it finds what changed, is in ``store/ingest.py``; searches asked for ahead of
time in ``store/recent.py``.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scenebridge.data.columns import item_texts
from scenebridge.errors import StoreError
from scenebridge.store.chroma_client import Guarded, failure, open_client
from scenebridge.store.embed import CachedEmbedder, Embedder
from scenebridge.store.ingest import (
    PARTIAL,
    IndexReport,
    incomplete,
    index_items,
    is_partial,
    pages,
    read_attributes,
    read_facts,
    read_item,
)
from scenebridge.store.recent import Answer, RecentSearches, beam_of, nearest

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Hit", "IndexReport", "ItemStore", "item_texts"]

_KIND = "scenebridge-items"
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,60}[A-Za-z0-9]$|^[A-Za-z0-9]$")


@dataclass(frozen=True)
class Hit:
    """One retrieved item (``attrs``: its optional catalogue attributes, e.g. year, price, brand)."""

    item_id: str
    scene: str
    score: float
    title: str
    category: str
    attrs: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass
class _Mirror:
    """One scene's items in memory: for long-lived processes that answer many queries (see ``ItemStore.mirror``)."""

    row: dict[str, int]
    hits: list[Hit]
    vectors: np.ndarray


class ItemStore:
    """Items of every scene, in Chroma, with vectors from one embedder.

    Args:
        embedder: the embedder that fills and queries the store (wrap it in a :class:`CachedEmbedder` to reuse
            vectors across runs).
        path: folder of an embedded Chroma (``PersistentClient``).
        url: a Chroma server (``http://host:port``); takes precedence over ``path``.
        prefix: collection names are ``PREFIX-SCENE``.
        batch_size: items per embed + upsert batch (at most Chroma's max batch size).
    """

    def __init__(
        self,
        embedder: Embedder | CachedEmbedder,
        path: str | Path | None = None,
        url: str | None = None,
        prefix: str = "items",
        batch_size: int = 1024,
    ) -> None:
        self.embedder = embedder
        self.prefix = prefix
        client, self.where = open_client(path, url)
        self.client = Guarded(client, self._failed)
        self._remote = bool(url)
        self.batch_size = min(batch_size, self.client.get_max_batch_size())
        self._cols: dict[str, Any] | None = None
        self._counts: dict[str, int] = {}
        self._mirror: dict[str, _Mirror] = {}
        self._beams: dict[str, int | None] = {}
        self._recent = RecentSearches()

    def _failed(self, exc: Exception) -> StoreError | None:
        """A failed Chroma call: cached collections go (a restarted server is listed afresh on the next call)."""
        self._cols, self._counts = None, {}
        return failure(exc, self.where, self._remote)

    # -- collections ---------------------------------------------------------------------------------------------

    def _name(self, scene: str) -> str:
        slug = scene if _SAFE.match(scene) else "s" + hashlib.sha1(scene.encode()).hexdigest()[:12]
        return f"{self.prefix}-{slug}"

    def _collections(self, refresh: bool = False) -> dict[str, Any]:
        """Scene -> collection, for this store's prefix (cached: listing collections costs a round trip)."""
        if self._cols is None or refresh:
            out = {}
            for col in self.client.list_collections():
                meta = col.metadata or {}
                if meta.get("kind") == _KIND and col.name.startswith(self.prefix + "-"):
                    out[str(meta["scene"])] = col
            self._cols = out
            self._counts, self._beams = {}, {scene: beam_of(col) for scene, col in out.items()}
        return self._cols

    def _collection(self, scene: str, create: bool = False) -> Any:
        cols = self._collections()
        if scene not in cols:
            cols = self._collections(refresh=True)
        if scene in cols:
            col = cols[scene]
            built_with = (col.metadata or {}).get("embedder")
            if built_with != self.embedder.model_id:
                msg = (
                    f"the store at {self.where} was built with embedder {built_with!r}, not "
                    f"{self.embedder.model_id!r}; use the same embedder or index into a new store"
                )
                raise StoreError(msg)
            if not create and is_partial(col.metadata):
                raise incomplete(scene, self.where)
            return col
        if not create:
            known = ", ".join(sorted(cols)) or "none (run `scenebridge index` first)"
            msg = f"scene {scene!r} is not in the store at {self.where}; its scenes are: {known}"
            raise StoreError(msg)
        self._cols = None
        return self.client.create_collection(
            self._name(scene),
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine", "ef_search": 200}},
            metadata={"kind": _KIND, "scene": scene, "embedder": self.embedder.model_id, "dim": self.embedder.dim,
                      PARTIAL: True},  # until the index run that fills it finishes
        )  # fmt: skip

    @property
    def scenes(self) -> list[str]:
        """The scenes whose index is complete (see :data:`~scenebridge.store.ingest.PARTIAL`)."""
        return sorted(s for s, c in self._collections().items() if not is_partial(c.metadata))

    def attributes(self, scene: str | None = None) -> frozenset[str]:
        """The optional attributes (year, price, brand, description) the items of a scene (or of any scene) have."""
        cols = self._collections()
        return frozenset().union(*(read_attributes(c.metadata) for s, c in cols.items() if scene in (None, s)))

    def _count(self, scene: str) -> int:
        if scene not in self._counts:
            self._counts[scene] = int(self._collection(scene).count())
        return self._counts[scene]

    def count(self, scene: str | None = None) -> int:
        cols = self._collections(refresh=True)
        if scene is not None:
            return int(cols[scene].count()) if scene in cols else 0
        return sum(int(c.count()) for c in cols.values())

    # -- ingestion -----------------------------------------------------------------------------------------------

    def index(
        self,
        items: pd.DataFrame,
        prune: bool = False,
        progress: Callable[[str, int], Callable[[int], None]] | None = None,
    ) -> IndexReport:
        """Upserts items (item_id, scene, title, category): new or changed text is embedded, the rest skipped.

        Idempotent and resumable: each batch is committed on its own, and a later run only does what is left.

        Args:
            items: the catalogue.
            prune: also delete stored items (and whole scenes) that are not in ``items``.
            progress: ``progress(description, total)`` returns an ``advance(n)`` callback.
        """
        self._mirror = {}
        self._recent.clear()
        self._collections(refresh=True)
        try:
            report = index_items(items, lambda scene: self._collection(scene, create=True), self.embedder,
                                 self.batch_size, prune=prune, drop_other_scenes=self._drop_other_scenes,
                                 progress=progress)  # fmt: skip
        except (OSError, sqlite3.Error) as exc:  # the embedding cache's file (Chroma's calls are guarded)
            cache = getattr(getattr(self.embedder, "cache", None), "path", "the embedding cache")
            raise failure(exc, str(cache), remote=False, what="embedding cache") or exc from None
        self._collections(refresh=True)
        report.total = self.count()
        report.scenes = self.scenes
        return report

    def _drop_other_scenes(self, wanted: set[str]) -> int:
        removed = 0
        for scene, col in self._collections().items():
            if scene not in wanted:
                removed += int(col.count())
                self.client.delete_collection(col.name)
        return removed

    # -- retrieval -----------------------------------------------------------------------------------------------

    def search(
        self,
        vector: np.ndarray,
        scenes: Sequence[str] | None = None,
        k: int = 50,
        exclude: Iterable[str] = (),
        facts: bool = True,
    ) -> list[Hit]:
        """Top-k items by cosine similarity in the given scenes (all scenes by default), minus ``exclude``.

        Each scene's own collection is queried (over-fetching by the number of exclusions) and the results merged.
        With ``facts=False`` titles and categories are left empty, which saves fetching their metadata (the
        reranker needs ids and scores only).
        """
        return self._search(vector, scenes, k, exclude, facts, with_vectors=False)[0]

    def search_with_vectors(
        self,
        vector: np.ndarray,
        scenes: Sequence[str] | None = None,
        k: int = 50,
        exclude: Iterable[str] = (),
        facts: bool = True,
    ) -> tuple[list[Hit], np.ndarray]:
        """Like :meth:`search`, and also the hits' stored vectors (one row per hit, in order)."""
        return self._search(vector, scenes, k, exclude, facts, with_vectors=True)

    def _search(
        self,
        vector: np.ndarray,
        scenes: Sequence[str] | None,
        k: int,
        exclude: Iterable[str],
        facts: bool,
        with_vectors: bool,
    ) -> tuple[list[Hit], np.ndarray]:
        if k < 1:
            msg = f"k must be at least 1, got {k}"
            raise StoreError(msg)
        excluded = set(exclude)
        wanted = list(scenes) if scenes else self.scenes
        vec = np.asarray(vector, dtype=np.float32).reshape(-1)
        if vec.shape[0] != self.embedder.dim:
            msg = f"query vector has {vec.shape[0]} dimensions; the store's embedder gives {self.embedder.dim}"
            raise StoreError(msg)
        found: list[tuple[Hit, np.ndarray | None]] = []
        for scene in wanted:
            col = self._collection(scene)
            n = min(k + len(excluded), self._count(scene))
            if n == 0:
                continue
            mirror = self._mirror.get(scene)
            if mirror is not None or not (facts or with_vectors):  # the facts from memory (2-3x faster), or none
                for iid, dist in zip(*self._nearest(scene, col, vec, n), strict=True):
                    if iid in excluded or (mirror is not None and iid not in mirror.row):
                        continue
                    if mirror is None:
                        found.append((Hit(iid, scene, 1.0 - dist, "", "", {}), None))
                        continue
                    hit = mirror.hits[mirror.row[iid]]
                    found.append((Hit(iid, scene, 1.0 - dist, hit.title, hit.category, hit.attrs),
                                  mirror.vectors[mirror.row[iid]]))  # fmt: skip
                continue
            include = ["metadatas", "distances"] if facts else ["distances"]
            if with_vectors:
                include.append("embeddings")
            res = col.query(query_embeddings=[vec], n_results=n, include=include)
            ids = res["ids"][0]
            metas = res["metadatas"][0] if facts and res.get("metadatas") else [None] * len(ids)
            embs = res["embeddings"][0] if with_vectors else [None] * len(ids)
            for iid, dist, meta, emb in zip(ids, res["distances"][0], metas, embs, strict=True):
                if iid in excluded:
                    continue
                title, category, attrs = read_item(meta)
                found.append((Hit(iid, scene, 1.0 - float(dist), title, category, attrs), emb))
        found.sort(key=lambda p: (-p[0].score, p[0].item_id))
        found = found[:k]
        vecs = (
            np.asarray([e for _, e in found], dtype=np.float32).reshape(len(found), self.embedder.dim)
            if with_vectors
            else np.zeros((0, self.embedder.dim), dtype=np.float32)
        )
        return [h for h, _ in found], vecs

    def _nearest(self, scene: str, col: Any, vec: np.ndarray, n: int) -> Answer:
        """The ``n`` items nearest ``vec`` in ``scene`` (ids, distances), or the answer :meth:`prefetch` asked for."""
        return self._recent.answer(scene, vec, n, self._beams.get(scene)) or nearest(col, vec, n)

    def prefetch(self, vector: np.ndarray, scene: str) -> None:
        """Starts, in a background thread, the search of ``scene`` near ``vector`` that a later search for the same
        vector then takes instead of asking Chroma (see :mod:`scenebridge.store.recent`)."""
        vec = np.asarray(vector, dtype=np.float32).reshape(-1)
        col = self._collection(scene)
        n = min(self._beams.get(scene) or 0, self._count(scene))
        if n >= 1 and vec.shape[0] == self.embedder.dim:
            self._recent.ask(scene, vec, n, lambda size: nearest(col, vec, size))

    def forget_searches(self) -> None:
        """Forgets the searches :meth:`prefetch` asked for (benchmarks time each turn with nothing shared)."""
        self._recent.clear()

    def get_items(self, ids: Iterable[str], scenes: Sequence[str] | None = None) -> tuple[list[Hit], np.ndarray]:
        """Stored items by id (facts and vectors), looked up in ``scenes`` (all by default); unknown ids are skipped.

        Returns hits (score 0) in the order of ``ids``, and their vectors, one row per hit.
        """
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return [], np.zeros((0, self.embedder.dim), dtype=np.float32)
        by_id: dict[str, tuple[Hit, Any]] = {}
        for scene in list(scenes) if scenes else self.scenes:
            todo = [i for i in wanted if i not in by_id]
            if not todo:
                break
            mirror = self._mirror.get(scene)
            if mirror is not None:
                for iid in todo:
                    if iid in mirror.row:
                        by_id[iid] = (mirror.hits[mirror.row[iid]], mirror.vectors[mirror.row[iid]])
                continue
            got = self._collection(scene).get(ids=todo, include=["embeddings", "metadatas"])
            for iid, emb, meta in zip(got["ids"], got["embeddings"], got["metadatas"] or [], strict=False):
                title, category, attrs = read_item(meta)
                by_id[iid] = (Hit(iid, scene, 0.0, title, category, attrs), emb)
        rows = [by_id[i] for i in wanted if i in by_id]
        vecs = np.asarray([e for _, e in rows], dtype=np.float32).reshape(len(rows), self.embedder.dim)
        return [h for h, _ in rows], vecs

    def search_text(self, text: str, scenes: Sequence[str] | None = None, k: int = 50, exclude: Iterable[str] = ()
                    ) -> list[Hit]:  # fmt: skip
        """Embeds ``text`` and searches."""
        return self.search(self.embedder.embed([text])[0], scenes=scenes, k=k, exclude=exclude)

    def mirror(self, scenes: Sequence[str] | None = None, max_items: int = 250_000) -> list[str]:
        """Keeps the facts and vectors of scenes in memory, so searches with facts or vectors and ``get_items``
        read them from there (Chroma still ranks). For processes that answer many queries; a scene larger than
        ``max_items`` is left in Chroma. Returns the scenes mirrored. Indexing clears the mirror.
        """
        done = []
        for scene in list(scenes) if scenes else self.scenes:
            if scene in self._mirror:
                done.append(scene)
                continue
            col = self._collection(scene)
            if self._count(scene) > max_items:
                continue
            hits: list[Hit] = []
            parts: list[np.ndarray] = []
            for got in pages(col, ["embeddings", "metadatas"]):
                for iid, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
                    title, category, attrs = read_item(meta)
                    hits.append(Hit(iid, scene, 0.0, title, category, attrs))
                if len(got["ids"]):
                    parts.append(np.asarray(got["embeddings"], dtype=np.float32))
            vecs = np.vstack(parts) if parts else np.zeros((0, self.embedder.dim), dtype=np.float32)
            self._mirror[scene] = _Mirror({h.item_id: n for n, h in enumerate(hits)}, hits, vecs)
            done.append(scene)
        return done

    def categories(self, scene: str, max_items: int = 50_000) -> Counter[str]:
        """How many items of a scene carry each category: from the mirror when the scene is mirrored, else from
        at most ``max_items`` stored items (a vocabulary, not a census: a 1M-item scene is not read whole)."""
        if scene in self._mirror:
            return Counter(h.category for h in self._mirror[scene].hits if h.category)
        out: Counter[str] = Counter()
        for got in pages(self._collection(scene), ["metadatas"], max_items):
            out.update(c for c in (read_facts(m)[1] for m in got["metadatas"] or []) if c)
        return out

    def titles(self, scene: str) -> list[tuple[str, str]]:
        """Every ``(item_id, title)`` of a scene: from the mirror, else the metadata alone (no vectors), paged."""
        if scene in self._mirror:
            return [(h.item_id, h.title) for h in self._mirror[scene].hits]
        return [(i, read_facts(m)[0]) for got in pages(self._collection(scene), ["metadatas"])
                for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)]  # fmt: skip

    def vectors(self, scene: str) -> tuple[list[str], np.ndarray]:
        """All item ids and vectors of one scene (for brute-force checks and the reranker)."""
        col = self._collection(scene)
        got = col.get(include=["embeddings"])
        return list(got["ids"]), np.asarray(got["embeddings"], dtype=np.float32)
