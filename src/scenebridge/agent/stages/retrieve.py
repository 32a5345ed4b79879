"""Stage 2: candidates from the item store (and behaviour candidates for a user with a history), minus stated
exclusions and minus what breaks the constraints on item attributes (year, price, sequels, brand), each as one
:class:`~scenebridge.agent.result.ItemRecord`."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence

import numpy as np

from scenebridge.agent.constraint_filter import ConstraintFilter
from scenebridge.agent.constraints import is_sequel_phrase
from scenebridge.agent.exclusions import ExclusionFilter, SemanticGlossary
from scenebridge.agent.lexical import want_clause
from scenebridge.agent.result import ItemRecord, Trace
from scenebridge.agent.session import Session
from scenebridge.agent.stages.beside import beside
from scenebridge.agent.stages.read import Interest
from scenebridge.agent.summary import InterestSummary
from scenebridge.agent.wording import note
from scenebridge.data.preprocess import normalize_text
from scenebridge.rerank.api import Reranker, RerankQuery
from scenebridge.store.chroma import Hit, ItemStore
from scenebridge.store.profiles import ProfileStore

__all__ = ["constraint_filter", "exclusion_filter", "exclusion_notes", "pool_first_turn", "query_for", "records",
           "retrieve", "user_profile"]  # fmt: skip

HISTORY_CONFIDENCE = float("inf")
"""After the first turn a linked mention stays in the reranker's history only from this confidence on (below it, it
is still kept out of the answer); infinite: links are history on the first turn only. Chosen on 200 valid people of
`bench conversation` (art -> office, lexical): with the earlier linker (title + embedding, threshold 0.55), loose
links as history in every turn pulled the fusion reranker towards co-bought popular items and away from the person's
critiques (0.73x the stateless replay within 5 turns), links >= 0.8 only after the first turn gave 1.41x. With the
linker that weighs ambiguity and popularity (threshold 0.95, so every link is >= 0.95) a 0.8 bar kept every link in
every turn again: 28.5 % hit within 5 turns against the replay's 35.5 % (0.80x); first turn only: 56.0 % (1.58x, with
:data:`FIRST_TURN_POOL` and :data:`FRESH_FOLLOWUPS`)."""


FIRST_TURN_HISTORY = True
"""On a session's first turn every linked mention is in the reranker's history, whatever its confidence (after it,
only those from :data:`HISTORY_CONFIDENCE` on)."""

FRESH_FOLLOWUPS = True
"""A follow-up does not show the last answer's items again (the person critiqued them); not after "show them again", nor
in a session anchored on a shown item ("more like the second one"). On 200 valid people of `bench conversation`: 56.0 %
hit within 5 turns with it, 51.0 % without (the replay 35.5 %)."""

FIRST_TURN_POOL = True
"""On a session's first turn that speaks of things the person did elsewhere ("I bought X and Y, now office supplies")
the reranker's own candidates (for the fusion reranker: the popular items it was trained to weigh against the
statement) join the retrieved ones even when no mention was linked, so the trained model decides. Not for a statement
that only asks for something ("a stapler", "closer to inkjet printer ink"): on 200 valid people of `bench
conversation` the pool on every fresh message crowded the critiques out (the stateless replay fell from 35.5 % to
9.5 % hit within 5 turns)."""


def pool_first_turn(summary: InterestSummary, statement: str) -> bool:
    """Whether a first turn gets the reranker's own candidates (:data:`FIRST_TURN_POOL`): it speaks of things done
    elsewhere (mentions, a source scene) and asks for nothing but the scene ("I bought X and Y, now office supplies").

    A topic asks for something when the want clause (:func:`~scenebridge.agent.lexical.want_clause`: from the first
    "now / need / 现在 / 想" on, exclusions cut out) names it and it is not part of a mention ("... now I need desk
    lamps"): the retrieved items answer it, and the pool of popular items crowded it out (on-topic share of the top 10
    from 100 % to 0 % for that statement). A topic said only before the want clause is about what they did ("for my
    art projects", "over the past year", an item of a list the mention reader missed), not something asked for; one
    no part of the statement names (an LLM's paraphrase) is not asked for either.

    Args:
        summary: the first turn's reading.
        statement: the person's words.
    """
    if not FIRST_TURN_POOL or not (summary.mentioned or summary.source_scenes):
        return False
    said = [m.text.lower() for m in summary.mentioned]
    wanted = set(normalize_text(want_clause(statement)))

    def asked(name: str) -> bool:
        if any(name in m or m in name for m in said):
            return False
        return bool(wanted.intersection(normalize_text(name)))

    return not any(asked(t.name.lower()) for t in summary.topics)


def user_profile(user_id: str | None, profiles: ProfileStore | None, scene: str) -> tuple[list[str], set[str]]:
    """A user's history in the other scenes (oldest first) and the items they disliked."""
    if user_id and profiles is not None:
        return profiles.history(user_id, exclude_scene=scene), profiles.disliked(user_id)
    return [], set()


def query_for(
    scene: str,
    interest: Interest,
    sess: Session,
    profiles: ProfileStore | None,
    again: bool = False,
    twins: Callable[[Iterable[str]], set[str]] | None = None,
) -> RerankQuery:
    """The reranker's query: who asks (history, dislikes), for what, and what must not come back (``again``: the
    message asks for the shown items again, so a follow-up may show them; see :data:`FRESH_FOLLOWUPS`; ``twins``:
    the catalogue's other entries of the same titles, kept out with them)."""
    history, exclude = user_profile(sess.user_id, profiles, scene)
    # What they said they have (linked), have seen or disliked in this conversation does not come back.
    exclude = exclude | {x.item_id for x in sess.linked} | set(sess.seen) | set(sess.disliked)
    # Left out only because it was just shown (not done: a prerequisite gate must not count it).
    not_again: set[str] = set()
    if sess.anchor is not None:
        not_again.add(sess.anchor[0])  # "more like the second one" wants others like it, not it again
    if FRESH_FOLLOWUPS and sess.turns and not again and sess.anchor is None:
        # A follow-up critiques the last answer: it wants other items ("more like the second one" wants its likes).
        not_again |= set(sess.shown)
    if twins is not None:  # "Body Snatchers (1993)" seen under one id must not come back under its other one
        exclude = exclude | twins(exclude)
        not_again = not_again | twins(not_again)
    not_again -= exclude
    exclude = exclude | not_again
    # What they said they did elsewhere is their history for a person with no id, weighted by how sure the link is.
    said = [x for x in sess.linked if x.scene != scene and x.action != "disliked" and x.item_id not in history
            and (x.confidence >= HISTORY_CONFIDENCE or (not sess.turns and FIRST_TURN_HISTORY))]  # fmt: skip
    weights = [1.0] * len(history) + [x.confidence for x in said] if said else None
    return RerankQuery(scene=scene, history=[*history, *(x.item_id for x in said)], interest_vector=interest.vector,
                       interests=interest.names, exclude=exclude, interest_vectors=interest.vectors,
                       history_weights=weights, not_again=not_again)  # fmt: skip


def exclusion_filter(summary: InterestSummary, reader: SemanticGlossary | None, scene: str) -> ExclusionFilter:
    """The stated exclusions as a filter (phrases the glossary lacks read by the catalogue's nearest word)."""
    return ExclusionFilter.build(summary.exclusions, reader.resolver(scene) if reader is not None else None)


def constraint_filter(
    summary: InterestSummary, store: ItemStore, sess: Session, scene: str, titles: Collection[str] = ()
) -> ConstraintFilter:
    """The summary's attribute constraints as a filter over ``scene``'s items; "newer" and "cheaper" compare with the
    items shown before in the session, marked seen, or linked from what the person mentioned."""
    c = summary.constraints
    reference: list[dict] = []
    if c.newer or "cheaper" in c.other:
        ids = list(dict.fromkeys([*sess.shown, *sess.seen, *(x.item_id for x in sess.linked)]))
        reference = [h.attrs for h in store.get_items(ids)[0]] if ids else []
    return ConstraintFilter.build(c, store.attributes(scene), reference, summary.language, titles=titles)


def records(hits: Sequence[Hit], vecs: np.ndarray) -> list[ItemRecord]:
    """Store hits as item records (a zero score means the store did not rank the hit: items looked up by id)."""
    return [ItemRecord(h.item_id, h.scene, h.title, h.category, v, h.score or None, attrs=dict(h.attrs))
            for h, v in zip(hits, vecs, strict=True)]  # fmt: skip


def retrieve(
    store: ItemStore,
    vector: np.ndarray,
    query: RerankQuery,
    excl: ExclusionFilter,
    reranker: Reranker,
    retrieve_k: int,
    behaviour_k: int,
    trace: Trace,
    constraints: ConstraintFilter | None = None,
    first_turn: bool = False,
) -> list[ItemRecord]:
    """The candidates nearest ``vector`` (the interest), then the reranker's behaviour candidates, minus exclusions and
    what breaks the ``constraints`` (the filtered ones go to the trace with the exclusion or constraint that removed
    them; the constraints' notes go to the trace's notes).

    Args:
        first_turn: the session's first turn, and :func:`pool_first_turn` says so: the reranker's own candidates
            join even without a history.
    """

    def search() -> tuple[list[Hit], np.ndarray]:
        return store.search_with_vectors(vector, scenes=[query.scene], k=retrieve_k, exclude=query.exclude)

    extra: list[str] = []
    # Behaviour candidates come from what the user did elsewhere; without a history they are only the scene's
    # popular items, which would crowd out what a follow-up asked for ("a stapler" answered with colored pencils).
    wanted = bool(query.history or first_turn)
    if wanted:
        # The store's search and the reranker's own candidates need nothing of each other: the search runs beside.
        searched = beside(search)
        try:
            behaviour = reranker.candidates(query, behaviour_k)
        finally:
            hits, vecs = searched()
    else:
        hits, vecs = search()
        behaviour = []
    if behaviour:
        seen = {h.item_id for h in hits}
        extra = [i for i in behaviour if i not in seen]
    if extra:
        more, more_vecs = store.get_items([i for i in extra if i not in query.exclude], scenes=[query.scene])
        hits, vecs = [*hits, *more], np.vstack([vecs, more_vecs]) if len(more) else vecs
    kept: list[ItemRecord] = []
    for rec in records(hits, vecs):
        reason = excl.match(rec.title, rec.category)
        if reason is not None:
            trace.filtered[rec.item_id] = reason
        else:
            kept.append(rec)
    if constraints is not None:
        kept, removed = constraints.apply(kept)
        trace.filtered.update(removed)
        trace.notes.extend(constraints.notes)
    return kept


def exclusion_notes(excl: ExclusionFilter, summary: InterestSummary, trace: Trace) -> None:
    """What the person should know about their exclusions (the constraints' notes, "no prices" among them, are added
    by :func:`retrieve` as its constraint filter runs)."""
    excluded = sum(1 for reason in trace.filtered.values() if reason in excl.rules)
    if excluded:
        trace.notes.append(note("filtered", n=excluded))
    for phrase, word in excl.resolved.items():
        trace.notes.append(note("exclusion_read_as", phrase=phrase, word=word))
    for phrase in excl.unmatched:
        # "不要续集" is read as an exclusion too; the constraint filter applies it by title, so it is not unknown.
        if not (summary.constraints.no_sequels and is_sequel_phrase(phrase)):
            trace.notes.append(note("exclusion_unknown", phrase=phrase))
