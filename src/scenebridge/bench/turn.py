"""Turn benchmark: per-stage latency of the agent's turn over labelled English and Chinese statements, per backend.

Each statement is one fresh turn (its own session) against a real item store. Reported per backend: p50/p95 of
each stage (parse, link, embed, retrieve, rerank, explain), of the non-LLM stages together (link + embed + retrieve +
rerank + template explain: every stage but parse, which holds the LLM — with ``--llm none`` the lexical parser and
the scene classifier, reported on its own) and of the whole turn; the scene accuracy of the pipeline; items that fall
under a labelled exclusion (leaks: by the label's ``forbid`` regex when given, else by the label's exclusions), the
candidates the exclusion filter removed; and, with LLM wording, how many explanations the grounding checker rejected.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from scenebridge.agent.exclusions import ExclusionFilter
from scenebridge.build import build_recommender
from scenebridge.data.format import load_dataset
from scenebridge.errors import UsageError
from scenebridge.settings import Settings
from scenebridge.store.profiles import ProfileStore

if TYPE_CHECKING:
    from scenebridge.rerank.api import Reranker
    from scenebridge.store.chroma import ItemStore

__all__ = [
    "STAGE_COLUMNS",
    "TurnBench",
    "UserHistory",
    "bench_turn",
    "load_histories",
    "load_statements",
    "load_user_histories",
]

STAGE_COLUMNS = ("parse", "link", "embed", "retrieve", "rerank", "explain", "non_llm", "total")


@dataclass
class TurnBench:
    """One backend's figures."""

    backend: str
    explain: str
    n: int
    n_en: int
    n_zh: int
    p50: dict[str, float]
    p95: dict[str, float]
    scene_accuracy: float
    exclusion_leaks: int
    filtered_per_turn: float
    items_out_of_scene: int
    items_per_turn: float
    llm_explanations: int
    rejected: int
    rejection_rate: float | None
    parse_sources: dict[str, int]
    wall_s: float
    turns: list[dict[str, Any]] = field(default_factory=list)


def load_statements(path: Path, scenes: Sequence[str]) -> list[dict[str, Any]]:
    """Labelled statements (``benchmarks/parse_labels.yaml`` format) whose scene is one of ``scenes``."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rows = [s for s in data.get("statements", []) if s.get("scene") in set(scenes)]
    if not rows:
        msg = f"{path} has no statements for the scenes {', '.join(scenes)}"
        raise UsageError(msg)
    return rows


def _pct(values: Sequence[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3) if values else 0.0


def bench_turn(
    store: ItemStore,
    labels: Path,
    backends: Sequence[str],
    reranker: Reranker | None = None,
    explain: str = "template",
    scenes: Sequence[str] | None = None,
    repeat: int = 1,
    log: Callable[[str], None] = lambda m: None,
    k: int = 10,
    limit: int | None = None,
    histories: Mapping[str, Sequence[Sequence[str] | UserHistory]] | None = None,
) -> list[TurnBench]:
    """Runs every labelled statement through a full turn with each backend.

    Args:
        store: the item store.
        labels: the labelled statements.
        backends: LLM specs (``none`` = the lexical parser).
        reranker: a trained reranker (the content reranker when None).
        explain: ``template`` or ``llm``.
        scenes: statement scenes to keep (the store's scenes by default).
        repeat: passes over the statements.
        log: progress lines.
        k: items per turn.
        limit: use only the first ``limit`` statements.
        histories: per target scene, users' item histories in other scenes (item lists, or
            :class:`UserHistory` with the dataset's user id, see :func:`load_user_histories`); the ``n``-th turn is
            then said by the user with the ``n``-th history (round robin over every pass, so a repeated statement
            is said by another user), so the reranker's behaviour candidates and features take part. The
            reranker's per-user pass is forgotten before each turn: every turn pays it, as a first turn does.
    """

    rows = load_statements(labels, scenes or store.scenes)[:limit]
    results = []
    for spec in backends:
        cfg = Settings.load(llm={"spec": spec}, agent={"explain": explain, "k": k})
        profiles = ProfileStore(":memory:") if histories else None
        rec = build_recommender(settings=cfg, store=store, reranker=reranker, profiles=profiles, sessions=None,
                                mirror=True)  # fmt: skip
        rec.turn(rows[0]["text"], scene=rows[0]["scene"])  # warm-up: model load, first-call costs
        _await_title_warmup()
        times: dict[str, list[float]] = {c: [] for c in STAGE_COLUMNS}
        turns: list[dict[str, Any]] = []
        scene_ok = leaks = out_of_scene = n_items = offered = rejected = filtered = 0
        sources: dict[str, int] = {}
        start = time.perf_counter()
        for rep in range(repeat):
            for n, row in enumerate(rows, start=1):
                rec.query_embedder.clear()  # time the embedding of each text, not the memo
                _forget(reranker)  # and the reranker's per-user pass, not what an earlier turn left
                store.forget_searches()  # and the searches a turn asks for ahead
                said = True
                turn_no = rep * len(rows) + n
                user = (
                    _bench_user(profiles, histories, row["scene"], turn_no, store) if profiles and histories else None
                )
                try:
                    res = rec.turn(row["text"], user_id=user)
                except UsageError as exc:
                    if "which scene" not in str(exc):
                        raise
                    said = False
                    rec.query_embedder.clear()
                    res = rec.turn(row["text"], scene=row["scene"], user_id=user)  # no scene parsed: say it
                ms = dict(res.timings_ms)
                # Linking what the person mentions is no LLM work either (a turn without mentions skips it).
                non_llm = ms.get("link", 0.0) + ms["embed"] + ms["retrieve"] + ms["rerank"]
                non_llm += ms["explain"] if explain != "llm" else 0.0
                ms["non_llm"] = non_llm
                for c in STAGE_COLUMNS:
                    times[c].append(ms.get(c, 0.0))
                if row.get("forbid"):  # an independent regex over the item text, when the labels give one
                    forbid = re.compile(str(row["forbid"]))
                    leaked = [i.item_id for i in res.items if forbid.search(f"{i.title} {i.category}".lower())]
                else:
                    excl = ExclusionFilter.build(row.get("exclusions") or [])
                    leaked = [i.item_id for i in res.items if excl.match(i.title, i.category)]
                filtered += len(res.filtered)
                scene_ok += said and res.scene == row["scene"]
                leaks += len(leaked)
                out_of_scene += sum(i.scene != res.scene for i in res.items)
                n_items += len(res.items)
                sources[res.parse_source] = sources.get(res.parse_source, 0) + 1
                if explain == "llm":
                    offered += len(res.explanations)
                    rejected += sum(bool(e.rejected) for e in res.explanations)
                turns.append({"text": row["text"], "user": user, "scene": res.scene, "label_scene": row["scene"],
                              "parse_source": res.parse_source, "exclusions": res.summary.exclusions,
                              "items": [i.item_id for i in res.items], "leaked": leaked, "timings_ms": ms,
                              "rejected": [{"problems": e.rejected, "wording": e.rejected_text}
                                           for e in res.explanations if e.rejected],
                              "accepted": [e.text for e in res.explanations if e.source == "llm"]})  # fmt: skip
                log(f"{spec} {n}/{len(rows)}: {res.scene} {len(res.items)} items, total {ms['total']:.0f} ms")
        count = len(turns)
        results.append(TurnBench(
            backend=spec, explain=explain, n=len(rows), n_en=sum(not _zh(r["text"]) for r in rows),
            n_zh=sum(_zh(r["text"]) for r in rows), p50={c: _pct(v, 50) for c, v in times.items()},
            p95={c: _pct(v, 95) for c, v in times.items()}, scene_accuracy=scene_ok / count,
            exclusion_leaks=leaks, filtered_per_turn=filtered / count, items_out_of_scene=out_of_scene,
            items_per_turn=n_items / count,
            llm_explanations=offered, rejected=rejected, rejection_rate=rejected / offered if offered else None,
            parse_sources=sources, wall_s=round(time.perf_counter() - start, 1), turns=turns,
        ))  # fmt: skip
    return results


class UserHistory(NamedTuple):
    """A dataset user's items in the other scenes, oldest first."""

    user_id: str
    items: list[str]


def _await_title_warmup() -> None:
    """Waits for the title indexes a mirrored recommender builds in the background at its start: that build is
    Python holding the GIL for seconds, and the turns measured are those of a started process."""
    for thread in threading.enumerate():
        if thread.name == "scenebridge-titles":
            thread.join()


def _forget(reranker: Reranker | None) -> None:
    clear = getattr(reranker, "clear_cache", None)
    if callable(clear):
        clear()


def _bench_user(
    profiles: ProfileStore,
    histories: Mapping[str, Sequence[Sequence[str] | UserHistory]],
    scene: str,
    n: int,
    store: ItemStore,
) -> str | None:
    """The user of the ``n``-th turn in ``scene`` (their history recorded in ``profiles`` on first use); None when
    no history is given for the scene. A plain item list is said by ``bench-SCENE-N``."""
    pool = histories.get(scene) or []
    if not pool:
        return None
    entry = pool[n % len(pool)]
    user, items = (
        (entry.user_id, entry.items) if isinstance(entry, UserHistory) else (f"bench-{scene}-{n % len(pool)}", entry)
    )
    if not profiles.history(user):
        hits, _ = store.get_items(list(items))
        for hit in hits:
            profiles.record(user, hit.item_id, hit.scene, "purchase")
    return user


def load_user_histories(
    data: Path, scenes: Sequence[str], users: int = 200, max_items: int = 50, splits: Sequence[str] = ("valid", "test")
) -> dict[str, list[UserHistory]]:
    """Per scene, the histories in the other scenes of the dataset's ``splits`` users (every user when the dataset
    has no users.csv), by user id, with at least three items there (oldest first, at most ``max_items``): the
    cross-scene users of the turn benchmark — valid/test users by default, whose behaviour the reranker did not
    train on."""
    ds = load_dataset(data)
    inter = ds.interactions
    if ds.users is not None and "split" in ds.users.columns:
        chosen = set(ds.users.loc[ds.users["split"].isin(list(splits)), "user_id"])
        inter = inter[inter["user_id"].isin(chosen)]
    inter = inter.sort_values(["user_id", "order"], kind="stable")
    out: dict[str, list[UserHistory]] = {}
    for scene in scenes:
        other = inter[inter["scene"] != scene]
        groups = other.groupby("user_id", sort=True)["item_id"]
        out[scene] = [UserHistory(str(u), list(g)[:max_items]) for u, g in groups if len(g) >= 3][:users]
    return out


def load_histories(
    data: Path, scenes: Sequence[str], users: int = 200, max_items: int = 50, splits: Sequence[str] = ("valid", "test")
) -> dict[str, list[list[str]]]:
    """The item lists of :func:`load_user_histories` (anonymous bench users)."""
    got = load_user_histories(data, scenes, users, max_items, splits)
    return {scene: [h.items for h in hists] for scene, hists in got.items()}


def _zh(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
