"""Turn benchmark: per-stage latency of the agent's turn over labelled English and Chinese statements, per backend.

Each statement is one fresh turn (its own session) against a real item store. Reported per backend: p50/p95 of
each stage (parse, embed, retrieve, rerank, explain), of the non-LLM stages together (embed + retrieve + rerank +
template explain) and of the whole turn; the scene accuracy of the pipeline; items that fall under a labelled
exclusion (leaks: by the label's ``forbid`` regex when given, else by the label's exclusions), the candidates the
exclusion filter removed; and, with LLM wording, how many explanations the grounding checker rejected.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

__all__ = ["STAGE_COLUMNS", "TurnBench", "bench_turn", "load_histories", "load_statements"]

STAGE_COLUMNS = ("parse", "embed", "retrieve", "rerank", "explain", "non_llm", "total")


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
    histories: Mapping[str, Sequence[Sequence[str]]] | None = None,
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
        histories: per target scene, users' item histories in other scenes; statement ``n`` is then said by a user
            with the ``n``-th history (round robin), so the reranker's behaviour candidates and features take part.
    """

    rows = load_statements(labels, scenes or store.scenes)[:limit]
    results = []
    for spec in backends:
        cfg = Settings.load(llm={"spec": spec}, agent={"explain": explain, "k": k})
        profiles = ProfileStore(":memory:") if histories else None
        rec = build_recommender(settings=cfg, store=store, reranker=reranker, profiles=profiles, sessions=None,
                                mirror=True)  # fmt: skip
        rec.turn(rows[0]["text"], scene=rows[0]["scene"])  # warm-up: model load, first-call costs
        times: dict[str, list[float]] = {c: [] for c in STAGE_COLUMNS}
        turns: list[dict[str, Any]] = []
        scene_ok = leaks = out_of_scene = n_items = offered = rejected = filtered = 0
        sources: dict[str, int] = {}
        start = time.perf_counter()
        for _ in range(repeat):
            for n, row in enumerate(rows, start=1):
                rec.query_embedder.clear()  # time the embedding of each text, not the memo
                said = True
                user = _bench_user(profiles, histories, row["scene"], n, store) if profiles and histories else None
                try:
                    res = rec.turn(row["text"], user_id=user)
                except UsageError as exc:
                    if "which scene" not in str(exc):
                        raise
                    said = False
                    rec.query_embedder.clear()
                    res = rec.turn(row["text"], scene=row["scene"], user_id=user)  # no scene parsed: say it
                ms = dict(res.timings_ms)
                non_llm = ms["embed"] + ms["retrieve"] + ms["rerank"] + (ms["explain"] if explain != "llm" else 0)
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


def _bench_user(
    profiles: ProfileStore, histories: Mapping[str, Sequence[Sequence[str]]], scene: str, n: int, store: ItemStore
) -> str | None:
    """A user whose history (in other scenes) is the ``n``-th one given for ``scene``; None when there is none."""
    pool = histories.get(scene) or []
    if not pool:
        return None
    user = f"bench-{scene}-{n % len(pool)}"
    if not profiles.history(user):
        hits, _ = store.get_items(list(pool[n % len(pool)]))
        for hit in hits:
            profiles.record(user, hit.item_id, hit.scene, "purchase")
    return user


def load_histories(
    data: Path, scenes: Sequence[str], users: int = 200, max_items: int = 50
) -> dict[str, list[list[str]]]:
    """Per scene, the histories in the other scenes of the dataset's first ``users`` users (by id) with at least
    three items there (oldest first, at most ``max_items``) — cross-scene users for the turn benchmark."""

    ds = load_dataset(data)
    inter = ds.interactions
    if "scene" not in inter.columns:
        inter = inter.merge(ds.items[["item_id", "scene"]], on="item_id")
    if "position" in inter.columns:
        inter = inter.sort_values(["user_id", "position"], kind="stable")
    out: dict[str, list[list[str]]] = {}
    for scene in scenes:
        other = inter[inter["scene"] != scene]
        groups = other.groupby("user_id", sort=True)["item_id"]
        out[scene] = [list(g)[:max_items] for _, g in groups if len(g) >= 3][:users]
    return out


def _zh(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
