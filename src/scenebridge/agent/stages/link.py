"""Stage 1b: what the person says they did, linked to catalogue items — their cross-scene history for the turn —
and what the linker's title index tells the later stages (an item's twins, the scene's titles for "no sequels")."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Set

from scenebridge.agent.linking import Linker, link_notes
from scenebridge.agent.result import Trace
from scenebridge.agent.session import Session
from scenebridge.agent.stages.beside import beside
from scenebridge.agent.summary import InterestSummary

__all__ = ["MAX_LINKED", "scene_titles", "start_linking", "twins"]

MAX_LINKED = 50


def start_linking(
    linker: Linker, summary: InterestSummary, before: Set[str], sess: Session, target: str, trace: Trace
) -> Callable[[], None]:
    """Starts linking the mentions this turn added (not those of earlier turns: they were linked then) beside the
    turn's thread: the interest's embedding needs nothing of the links. The returned function waits for them and
    keeps them in the session, with one note per mention saying what it was linked to, or that nothing was confident
    enough."""
    new = [m for m in summary.mentioned if m.text.lower() not in before]
    if not new:
        return lambda: None
    linked = beside(lambda: linker.link(new, target=target, source_scenes=summary.source_scenes))

    def keep() -> None:
        links = linked()
        have = {x.item_id for x in sess.linked}
        for link in links:
            if link.item is not None and link.item.item_id not in have:
                sess.linked.append(link.item)
                have.add(link.item.item_id)
        del sess.linked[:-MAX_LINKED]
        trace.notes.extend(link_notes(links, summary.language))

    return keep


def scene_titles(linker: Linker, summary: InterestSummary, scene: str) -> list[str]:
    """The scene's normalised titles when "no sequels" needs them (from the linker's title index)."""
    if not summary.constraints.no_sequels:
        return []
    index = linker.index(scene)
    return index.titles if index is not None else []


def twins(linker: Linker, scene: str) -> Callable[[Iterable[str]], set[str]]:
    """``twins(ids)``: the scene's other entries of the very titles of ``ids`` (none without a title index). What
    the person has seen, had or disliked must not come back under its twin's id."""

    def of(item_ids: Iterable[str]) -> set[str]:
        ids = set(item_ids)
        index = linker.index(scene) if ids else None  # no index built for a turn with nothing to keep out
        return index.twins(ids) if index is not None else set()

    return of
