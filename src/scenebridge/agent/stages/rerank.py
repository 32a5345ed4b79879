"""Stage 3: the scene's reranker orders the candidates and gives its evidence (data); "more like" evidence is marked."""

from __future__ import annotations

from collections.abc import Sequence

from scenebridge.agent.result import ItemRecord, Trace
from scenebridge.agent.titles import title_key
from scenebridge.agent.wording import note
from scenebridge.rerank.api import Evidence, Reranker, RerankQuery
from scenebridge.rerank.router import SceneRouter
from scenebridge.store.embed import UseMultilingualEmbedder
from scenebridge.store.profiles import ProfileStore

__all__ = ["prefetch", "rerank", "route", "same_embedder"]


def route(router: SceneRouter, scene: str, trace: Trace) -> Reranker:
    """The scene's reranker; a scene no trained reranker covers is ranked by the default, with a note."""
    if router.falls_back(scene):
        trace.notes.append(note("not_covered", scenes=list(router.scenes), scene=scene))
    return router.route(scene)


def prefetch(
    router: SceneRouter,
    scene: str | None,
    user_id: str | None,
    profiles: ProfileStore | None,
    scenes: Sequence[str] = (),
) -> None:
    """Starts, beside the parse, the part of the reranking that depends only on the person's history in the other
    scenes (a trained reranker's co-occurrence and similar-users pass), for the scene the turn will likely land in
    (the one given, or the session's; every one of ``scenes`` before the first turn): the parse (an LLM's seconds) then
    hides it. For a scene no trained reranker covers, the default reranker's search near the history's mean
    vector starts instead. A reranker without ``prefetch`` is skipped."""
    if not user_id or profiles is None:
        return
    for name in [scene] if scene else (scenes or router.scenes):
        if scenes and name not in scenes:
            continue  # the turn itself says the scene is unknown
        start = getattr(router.route(name), "prefetch", None)
        history = profiles.history(user_id, exclude_scene=name) if callable(start) else []
        if history and start is not None:
            start(RerankQuery(scene=name, history=history))


def rerank(
    reranker: Reranker,
    query: RerankQuery,
    items: Sequence[ItemRecord],
    k: int | None,
    ask: int | None = None,
    anchor: tuple[str, str] | None = None,
    distinct: bool = False,
) -> list[ItemRecord]:
    """The best ``k`` of ``items`` (all when None), scored, with evidence; ids the reranker invents are dropped.

    Args:
        reranker: the scene's reranker.
        query: who asks, for what.
        items: the candidates.
        k: how many to keep.
        ask: how many to ask the reranker for (``k`` by default; the turn asks a few more, in case some are
            dropped).
        anchor: the item the person asked for "more like" (id, title): the reranker saw it as one more interest,
            and a reason naming it is likeness to that item.
        distinct: one item per title (:func:`~scenebridge.agent.titles.title_key`): a catalogue's two entries of
            one film or product are one answer, the better scored one.
    """
    by_id = {r.item_id: r for r in items}
    found = reranker.rerank(query, [r.candidate() for r in items], k=ask if ask is not None else k)
    scored = [s for s in found if s.item_id in by_id]
    out: list[ItemRecord] = []
    titles: set[str] = set()
    for s in scored:
        if k is not None and len(out) == k:
            break
        item = by_id[s.item_id]
        if distinct and (title := title_key(item.title)):
            if title in titles:
                continue
            titles.add(title)
        item.score = s.score
        item.evidence = [_likeness(ev, anchor, query.scene) for ev in s.evidence] if anchor else list(s.evidence)
        out.append(item)
    return out


def _likeness(ev: Evidence, anchor: tuple[str, str], scene: str) -> Evidence:
    item_id, title = anchor
    if ev.kind == "interest" and ev.interest == title:
        return Evidence(kind="history-content", weight=ev.weight, item_id=item_id, scene=scene, anchor=True)
    return ev


def same_embedder(wanted: str, model_id: str) -> bool:
    """Whether a reranker's embedder (a model id, or an embedder spec such as ``use-multilingual``) is the store's."""
    if wanted == model_id:
        return True
    name, _, arg = wanted.partition(":")
    known = {"use-multilingual": UseMultilingualEmbedder.model_id, "hashing": f"hashing-{arg or 256}"}
    return known.get(name) == model_id
