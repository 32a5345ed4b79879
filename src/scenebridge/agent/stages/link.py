"""Stage 1b: what the person says they did, linked to catalogue items — their cross-scene history for the turn."""

from __future__ import annotations

from collections.abc import Set

from scenebridge.agent.linking import Linker, link_notes
from scenebridge.agent.result import Trace
from scenebridge.agent.session import Session
from scenebridge.agent.summary import InterestSummary

__all__ = ["MAX_LINKED", "link_mentions"]

MAX_LINKED = 50


def link_mentions(
    linker: Linker, summary: InterestSummary, before: Set[str], sess: Session, target: str, trace: Trace
) -> None:
    """Links the mentions this turn added (not those of earlier turns: they were linked then) and keeps the links
    in the session; one note per mention says what it was linked to, or that nothing was confident enough."""
    new = [m for m in summary.mentioned if m.text.lower() not in before]
    if not new:
        return
    links = linker.link(new, target=target, source_scenes=summary.source_scenes)
    have = {x.item_id for x in sess.linked}
    for link in links:
        if link.item is not None and link.item.item_id not in have:
            sess.linked.append(link.item)
            have.add(link.item.item_id)
    del sess.linked[:-MAX_LINKED]
    trace.notes.extend(link_notes(links, summary.language))
