"""Stage 1: the statement read in its session — the summary in force, the target scene, the interest vector."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scenebridge.agent.delta import (
    StateDelta,
    apply_delta,
    lexical_delta,
    merge_constraints,
    merge_deltas,
    union_phrases,
)
from scenebridge.agent.followup import is_pure_refinement, read_refinement
from scenebridge.agent.lexical import default_scene_hints
from scenebridge.agent.parse import ParseResult
from scenebridge.agent.query_embed import QueryEmbedder
from scenebridge.agent.result import Trace
from scenebridge.agent.session import Session
from scenebridge.agent.summary import InterestSummary
from scenebridge.agent.wording import change, note
from scenebridge.errors import UsageError
from scenebridge.store.chroma import ItemStore

__all__ = ["Interest", "Reading", "choose_scene", "interest", "move_scene", "read_statement"]


LEAD_WEIGHT = 0.6
"""In a follow-up, the topics from this weight on (the latest message's: earlier ones are demoted to
:data:`scenebridge.agent.delta.EARLIER_WEIGHT` of theirs) make the interest text; the others pull it by
:data:`EARLIER_SHARE`."""
EARLIER_SHARE = 0.3
"""How much the mean vector of the earlier topics adds to the lead's (both unit-length before the sum)."""


@dataclass
class Reading:
    """How a statement was read: the summary in force after it, the parse source, and whether it anchored the
    session on a shown item ("more like the second one")."""

    summary: InterestSummary
    source: str
    anchored: bool = False


@dataclass
class Interest:
    """What the turn looks for: the interest vector, the interest names (strongest first) and their vectors."""

    vector: np.ndarray
    names: list[str]
    vectors: np.ndarray


def read_statement(
    text: str,
    sess: Session,
    parse: Callable[[str], ParseResult],
    scenes: Sequence[str],
    scene_hints: Mapping[str, Sequence[str]] | None,
    store: ItemStore,
    trace: Trace,
    delta: Callable[[str, InterestSummary], StateDelta | None] | None = None,
) -> Reading:
    """The summary in force after this statement; what changed goes to the trace.

    The first statement of a session is parsed. A follow-up updates the state: its cues are read first (seen,
    again, cheaper, more like), then its delta — the lexical one, combined with the LLM's (``delta``) unless the
    message is a pure refinement. A follow-up that names another scene is a new request: it is parsed, and keeps
    the earlier exclusions, mentions and context. The scene sticks unless the message names another one.
    """
    ref = read_refinement(text)
    prev = sess.summary
    source: str
    if prev is None:
        parsed = parse(text)
        merged, source = parsed.summary, parsed.source
        _fallback_note(parsed, trace)
    else:
        lex = lexical_delta(text, prev, scenes, scene_hints)
        if lex.scene is not None and not is_pure_refinement(text, ref):
            parsed = parse(text)
            merged, source = parsed.summary.model_copy(deep=True), parsed.source
            _fallback_note(parsed, trace)
            merged.scene = lex.scene
            merged.exclusions = union_phrases(prev.exclusions, merged.exclusions)[:12]
            merged.mentioned = [*prev.mentioned, *merged.mentioned][:12]
            stated, merged.constraints = merged.constraints, prev.constraints.model_copy(deep=True)
            merge_constraints(merged.constraints, stated, [])  # "no sequels" still holds in the new scene
            sess.anchor, sess.anchor_vector = None, None
        elif is_pure_refinement(text, ref) or delta is None:
            merged = apply_delta(prev, lex, trace.changes)
            source = "refinement" if is_pure_refinement(text, ref) else "lexical-delta"
        else:
            said = merge_deltas(lex, delta(text, prev))
            merged = apply_delta(prev, said, trace.changes)
            source = "llm-delta" if said.source == "llm" else "lexical-delta"
    if ref.cheaper and "cheaper" not in merged.constraints.other:
        merged.constraints.other.append("cheaper")
        trace.changes.append(change("cheaper"))
    if ref.seen and sess.shown:
        sess.seen = list(dict.fromkeys([*sess.seen, *sess.shown]))
        trace.changes.append(change("seen", n=len(sess.shown)))
    if ref.again and sess.seen:
        sess.seen = []
        trace.changes.append(change("again"))
    if ref.more_like is not None:
        trace.changes.append(_anchor(sess, ref.more_like, store))
    return Reading(merged, source, anchored=ref.more_like is not None)


def _fallback_note(parsed: ParseResult, trace: Trace) -> None:
    """Says when the LLM failed (a timeout, an unusable answer) and the lexical parser read the statement."""
    if parsed.source == "fallback" and parsed.errors:
        trace.notes.append(note("llm_fallback", error=parsed.errors[-1][:200]))


def _anchor(sess: Session, position: int, store: ItemStore) -> str:
    if not sess.shown:
        msg = "there are no earlier results in this session to compare with; ask for something first"
        raise UsageError(msg)
    index = len(sess.shown) - 1 if position == -1 else position - 1
    if not 0 <= index < len(sess.shown):
        msg = f"the last answer had {len(sess.shown)} items; pick one of 1..{len(sess.shown)}"
        raise UsageError(msg)
    hits, vecs = store.get_items([sess.shown[index]])
    if not hits:
        msg = f"item {sess.shown[index]} is no longer in the store"
        raise UsageError(msg)
    sess.anchor, sess.anchor_vector = (hits[0].item_id, hits[0].title), vecs[0]
    return change("more_like", position=index + 1, title=hits[0].title, item_id=hits[0].item_id)


def choose_scene(explicit: str | None, summary: InterestSummary, sess: Session, scenes: Sequence[str]) -> str:
    """The scene asked for, else the summary's (a follow-up's summary keeps the session's unless it named another),
    else the session's, else the only one left.

    Raises:
        UsageError: for an unknown scene, or when no scene can be told.
    """
    for scene in (explicit, summary.scene, sess.scene):
        if scene:
            if scene not in scenes:
                msg = f"unknown scene {scene!r}; the store's scenes are: {', '.join(scenes)}"
                raise UsageError(msg)
            return scene
    rest = [s for s in scenes if s not in summary.source_scenes]
    if len(scenes) == 1 or len(rest) == 1:
        return scenes[0] if len(scenes) == 1 else rest[0]
    msg = (
        f"say which scene to recommend in: one of {', '.join(scenes)} (in the statement, or as the scene: `--scene` "
        'on the command line, "scene" in a tool or API call)'
    )
    raise UsageError(msg)


def move_scene(sess: Session, target: str, reading: Reading, trace: Trace) -> None:
    """Notes a scene change; "more like" an item of the old scene ends with it."""
    if sess.scene is not None and target != sess.scene:
        trace.changes.append(change("scene", old=sess.scene, new=target))
        if sess.anchor is not None and not reading.anchored:
            sess.anchor, sess.anchor_vector = None, None
    reading.summary.scene = target


def interest(
    summary: InterestSummary,
    sess: Session,
    scene: str,
    embedder: QueryEmbedder,
    scene_hints: Mapping[str, Sequence[str]] | None,
) -> Interest:
    """The interest vector (summary text, pulled towards an anchor item), the interest names and their vectors."""
    ranked = sorted(summary.topics, key=lambda t: -t.weight)
    names = [t.name for t in ranked]
    hints = [*(scene_hints or {}).get(scene, ()), *default_scene_hints().get(scene, ())]
    lead = [t.name for t in ranked if t.weight >= LEAD_WEIGHT]
    rest = [t.name for t in ranked if t.weight < LEAD_WEIGHT] if lead and sess.turns else []
    text = (", ".join(lead) if rest else summary.text()) or " ".join([scene, *hints[:2]])
    # The topics go in the same batch: the rerankers name the one each item matches. (A first turn's batch is
    # InterestSummary.interest_texts: the scene classifier embedded it with the statement, so the memo has it.)
    rows = embedder.embed([text, *names])
    vec, topic_vecs = rows[0], rows[1:]
    if rest:  # a follow-up's own wish leads; the earlier ones pull a little
        vec = vec + EARLIER_SHARE * topic_vecs[len(lead) :].mean(axis=0)
        vec /= np.linalg.norm(vec) or 1.0
    if sess.anchor is not None and sess.anchor_vector is not None:
        anchor = np.asarray(sess.anchor_vector, dtype=np.float32)
        vec = 0.7 * anchor + 0.3 * vec
        vec /= np.linalg.norm(vec) or 1.0
        names = [sess.anchor[1], *names]
        topic_vecs = np.vstack([anchor[None, :] / (np.linalg.norm(anchor) or 1.0), topic_vecs])
    return Interest(vec, names, topic_vecs)
