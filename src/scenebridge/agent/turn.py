"""One turn of the agent: statement -> summary -> retrieve -> rerank -> explain -> reply + structured result.

The pipeline runs deterministically; the LLM is used where it is strong (parsing, and optionally wording the
explanations). Results only ever come from the reranker's output over retrieved catalogue items of the target scene,
minus stated exclusions, rejected items and the user's dislikes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from scenebridge.agent.exclusions import ExclusionFilter, SemanticGlossary
from scenebridge.agent.explain import ExplainInput, Explanation, explain_items, zh_scene
from scenebridge.agent.lexical import default_scene_hints, lexical_parse
from scenebridge.agent.parse import ParseResult, SceneClassifier, clean_statement, parse_interests
from scenebridge.agent.query_embed import QueryEmbedder
from scenebridge.agent.session import Session, SessionStore, is_pure_refinement, read_refinement
from scenebridge.agent.summary import InterestSummary
from scenebridge.errors import UsageError
from scenebridge.rerank.api import Candidate, Evidence, Reranker, RerankQuery, Scored
from scenebridge.rerank.content import ContentReranker
from scenebridge.store.embed import UseMultilingualEmbedder

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scenebridge.llm.protocol import LLM
    from scenebridge.store.chroma import Hit, ItemStore
    from scenebridge.store.profiles import ProfileStore

__all__ = ["STAGES", "RecommendedItem", "Recommender", "TurnResult", "render_reply"]

STAGES = ("parse", "embed", "retrieve", "rerank", "explain")
MAX_K = 50


class RecommendedItem(BaseModel):
    """One recommended catalogue item."""

    rank: int
    item_id: str
    title: str
    category: str
    scene: str
    score: float
    evidence: list[Evidence] = Field(default_factory=list)
    explanation: str = ""
    explanation_source: Literal["template", "llm"] = "template"


class TurnResult(BaseModel):
    """Everything one turn produced.

    Attributes:
        session_id: the session (pass it back for follow-ups).
        user_id: the user, if given.
        statement: the cleaned statement.
        scene: the scene recommended in.
        summary: the interest summary in force after this turn (merged with the session's).
        parse_source: llm, llm-repair, fallback (lexical parser) or refinement (a follow-up read without the LLM).
        refinements: what this turn changed in the session, in words.
        items: the recommendations, best first.
        explanations: one grounded explanation per item (with rejected LLM wording, if any).
        filtered: candidates removed by exclusions, as item id -> the exclusion phrase.
        notes: things the user should know (an exclusion no catalogue word matched, a constraint with no data).
        timings_ms: per stage (parse, embed, retrieve, rerank, explain) and total.
        reply: the answer as text.
    """

    session_id: str
    user_id: str | None = None
    statement: str
    scene: str
    summary: InterestSummary
    parse_source: str
    refinements: list[str] = Field(default_factory=list)
    items: list[RecommendedItem] = Field(default_factory=list)
    explanations: list[Explanation] = Field(default_factory=list)
    filtered: dict[str, str] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    reply: str = ""


class _Timer:
    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = self.ms.get(name, 0.0) + (time.perf_counter() - start) * 1000


class Recommender:
    """The agent's turn over one item store, one reranker, one LLM, the profile store and in-memory sessions.

    Args:
        store: the item store (its embedder embeds the interest text).
        reranker: any :class:`Reranker`; the untrained content reranker when None.
        llm: the parsing (and optional wording) backend; None = the lexical parser alone.
        profiles: users' cross-scene histories and feedback; None = no profiles.
        explain: ``template`` (default, fast) or ``llm`` (LLM wording, checked, template fallback).
        k: items per answer.
        retrieve_k: candidates retrieved from the store before reranking.
        behaviour_k: behaviour candidates asked from the reranker.
        scene_hints: other words for scene names (for parsing).
        mirror: keep the store's scenes in memory (faster retrieval for long-lived processes; costs a few
            seconds and ~40 MB per 20k items at start).
        classifier: how the scene is chosen when a statement names none in its "now" clause. ``auto`` (default):
            a :class:`SceneClassifier` on the store's embedder, with the LLM's scene as one vote (86.7 % alone vs
            the 1.5B model's 66.7 % on the labelled set), except for the hashing embedder, whose vectors carry no
            meaning; ``None``: the LLM's scene; or a classifier of your own.
        sessions: the session store (one per recommender; sized by ``[api]`` in :mod:`scenebridge.build`).
    """

    def __init__(
        self,
        store: ItemStore,
        reranker: Reranker | None = None,
        llm: LLM | None = None,
        profiles: ProfileStore | None = None,
        explain: Literal["template", "llm"] = "template",
        k: int = 10,
        retrieve_k: int = 100,
        behaviour_k: int = 50,
        scene_hints: Mapping[str, Sequence[str]] | None = None,
        mirror: bool = False,
        classifier: SceneClassifier | Literal["auto"] | None = "auto",
        sessions: SessionStore | None = None,
    ) -> None:

        self._embedder = QueryEmbedder.for_store(store.embedder)
        self.query_embedder = self._embedder
        self._content: Reranker | None = None
        if reranker is None:
            reranker = self._content_reranker(store)
        if not _same_embedder(reranker.embedder_id, store.embedder.model_id):
            msg = (
                f"the reranker expects {reranker.embedder_id!r} vectors but the store was built with "
                f"{store.embedder.model_id!r}; index the store with the reranker's embedder"
            )
            raise UsageError(msg)
        if explain not in ("template", "llm"):
            msg = f"explain must be template or llm, not {explain!r}"
            raise UsageError(msg)
        self.store = store
        self.reranker = reranker
        self.llm = llm
        self.profiles = profiles
        self.explain_mode = explain
        self.k = k
        self.retrieve_k = retrieve_k
        self.behaviour_k = behaviour_k
        self.scene_hints = scene_hints
        self.sessions = sessions if sessions is not None else SessionStore()
        self.scenes = store.scenes
        semantic = not self._embedder.model_id.startswith("hashing-")
        if classifier == "auto":
            classifier = SceneClassifier(self._embedder) if semantic else None
        self.classifier: SceneClassifier | None = classifier
        # Exclusions the glossary lacks are read as the catalogue's nearest category word (not with hashing vectors).
        self.exclusion_reader = SemanticGlossary(store.embedder, store.categories) if semantic else None
        if mirror:
            store.mirror()
        self._llm_lock = threading.Lock()  # llama.cpp in-process is not thread-safe

    def _content_reranker(self, store: ItemStore) -> Reranker:
        if self._content is None:
            self._content = ContentReranker(store, embedder=self._embedder)
        return self._content

    def reranker_for(self, scene: str) -> tuple[Reranker, str | None]:
        """The reranker for a scene, and a note when it is not the configured one.

        A trained reranker serves the scene it was trained for (its ``scene`` attribute; a
        :class:`~scenebridge.rerank.router.SceneRouter` serves its ``scenes``); other scenes of the store are ranked by
        the untrained content reranker rather than refused.
        """
        served = getattr(self.reranker, "scenes", None)
        if served is None:
            one = getattr(self.reranker, "scene", None)
            served = (one,) if isinstance(one, str) else None
        if served is None or scene in served:
            return self.reranker, None
        names = ", ".join(served)
        note = f"the trained reranker covers {names}; {scene} items are ranked by content similarity alone"
        return self._content_reranker(self.store), note

    # -- stages --------------------------------------------------------------------------------------------------

    def parse(self, text: str) -> ParseResult:
        """Parses one statement with this recommender's LLM, scenes, hints and scene classifier (no session)."""
        return parse_interests(
            text, self.llm, scenes=self.scenes, scene_hints=self.scene_hints, classifier=self.classifier
        )

    def _parse(self, text: str, sess: Session) -> tuple[InterestSummary, str, list[str]]:
        """The summary in force after this statement, how it was read, and what changed."""
        ref = read_refinement(text)
        changes: list[str] = []
        if sess.summary is not None and is_pure_refinement(text, ref):
            new, source = lexical_parse(text, self.scenes, self.scene_hints), "refinement"
        else:
            with self._llm_lock:
                parsed = self.parse(text)
            new, source = parsed.summary, parsed.source
        prev = sess.summary
        if prev is None or (source != "refinement" and new.topics and ref.more_like is None):
            merged = new.model_copy(deep=True)
            if prev is not None:  # a new request in the same session keeps earlier exclusions
                merged.exclusions = _union(prev.exclusions, new.exclusions)
                sess.anchor, sess.anchor_vector = None, None
        else:
            merged = prev.model_copy(deep=True)
            added = [e for e in new.exclusions if e.lower() not in {x.lower() for x in prev.exclusions}]
            merged.exclusions = _union(prev.exclusions, new.exclusions)
            changes += [f"exclusion added: {e}" for e in added]
            if new.scene:
                merged.scene = new.scene
            merged.language = new.language if source != "refinement" else prev.language
        if ref.cheaper and "cheaper" not in merged.constraints.other:
            merged.constraints.other.append("cheaper")
            changes.append("constraint added: cheaper")
        if ref.more_like is not None:
            changes.append(self._anchor(sess, ref.more_like))
        return merged, source, changes

    def _anchor(self, sess: Session, position: int) -> str:
        if not sess.shown:
            msg = "there are no earlier results in this session to compare with; ask for something first"
            raise UsageError(msg)
        index = len(sess.shown) - 1 if position == -1 else position - 1
        if not 0 <= index < len(sess.shown):
            msg = f"the last answer had {len(sess.shown)} items; pick one of 1..{len(sess.shown)}"
            raise UsageError(msg)
        hits, vecs = self.store.get_items([sess.shown[index]])
        if not hits:
            msg = f"item {sess.shown[index]} is no longer in the store"
            raise UsageError(msg)
        sess.anchor, sess.anchor_vector = (hits[0].item_id, hits[0].title), vecs[0]
        return f"more like item {index + 1}: {hits[0].title} ({hits[0].item_id})"

    def _scene(self, explicit: str | None, summary: InterestSummary, sess: Session) -> str:
        for scene in (explicit, summary.scene, sess.scene):
            if scene:
                if scene not in self.scenes:
                    msg = f"unknown scene {scene!r}; the store's scenes are: {', '.join(self.scenes)}"
                    raise UsageError(msg)
                return scene
        rest = [s for s in self.scenes if s not in summary.source_scenes]
        if len(self.scenes) == 1 or len(rest) == 1:
            return self.scenes[0] if len(self.scenes) == 1 else rest[0]
        msg = f"say which scene to recommend in (--scene): one of {', '.join(self.scenes)}"
        raise UsageError(msg)

    def _interest(
        self, summary: InterestSummary, sess: Session, scene: str
    ) -> tuple[np.ndarray, list[str], np.ndarray]:
        """The interest vector (summary text, pulled towards an anchor item), the interest names and their vectors."""
        interests = [t.name for t in sorted(summary.topics, key=lambda t: -t.weight)]
        text = summary.text() or " ".join([scene, *self._hints(scene)[:2]])
        # The topics go in the same batch: the rerankers name the one each item matches.
        rows = self._embedder.embed([text, *interests])
        vec, topic_vecs = rows[0], rows[1:]
        if sess.anchor is not None and sess.anchor_vector is not None:
            anchor = np.asarray(sess.anchor_vector, dtype=np.float32)
            vec = 0.7 * anchor + 0.3 * vec
            vec /= np.linalg.norm(vec) or 1.0
            interests = [sess.anchor[1], *interests]
            topic_vecs = np.vstack([anchor[None, :] / (np.linalg.norm(anchor) or 1.0), topic_vecs])
        return vec, interests, topic_vecs

    def _hints(self, scene: str) -> list[str]:

        return [*(self.scene_hints or {}).get(scene, ()), *default_scene_hints().get(scene, ())]

    def _retrieve(
        self, vec: np.ndarray, query: RerankQuery, excl: ExclusionFilter, reranker: Reranker
    ) -> tuple[list[Candidate], dict[str, Hit], dict[str, str]]:
        hits, vecs = self.store.search_with_vectors(vec, scenes=[query.scene], k=self.retrieve_k, exclude=query.exclude)
        extra: list[str] = []
        # Behaviour candidates come from what the user did elsewhere; without a history they are only the scene's
        # popular items, which would crowd out what was asked for ("a stapler" answered with colored pencils).
        if query.history:
            seen = {h.item_id for h in hits}
            extra = [i for i in reranker.candidates(query, self.behaviour_k) if i not in seen]
        if extra:
            more, more_vecs = self.store.get_items([i for i in extra if i not in query.exclude], scenes=[query.scene])
            hits, vecs = [*hits, *more], np.vstack([vecs, more_vecs]) if len(more) else vecs
        facts: dict[str, Hit] = {}
        filtered: dict[str, str] = {}
        cands: list[Candidate] = []
        for hit, v in zip(hits, vecs, strict=True):
            reason = excl.match(hit.title, hit.category)
            if reason is not None:
                filtered[hit.item_id] = reason
                continue
            facts[hit.item_id] = hit
            score = hit.score if hit.score else None
            cands.append(Candidate(hit.item_id, hit.scene, v, hit.title, score))
        return cands, facts, filtered

    # -- the turn ------------------------------------------------------------------------------------------------

    def turn(
        self,
        statement: str,
        user_id: str | None = None,
        scene: str | None = None,
        session_id: str | None = None,
        k: int | None = None,
    ) -> TurnResult:
        """Answers one statement.

        Args:
            statement: what the person said (English, Chinese or mixed).
            user_id: whose cross-scene profile to use (history in other scenes, dislikes).
            scene: the scene to recommend in; otherwise the one the statement names, then the session's.
            session_id: continue this session (a new one is made when None or unknown).
            k: items to return (default: the recommender's ``k``).

        Raises:
            UsageError: for a bad statement, an unknown scene, a bad k, or a session of another user.
        """
        count = self.k if k is None else k
        if not 1 <= count <= MAX_K:
            msg = f"k must be between 1 and {MAX_K}, got {count}"
            raise UsageError(msg)
        text = clean_statement(statement)
        sess = self.sessions.get(session_id, user_id)
        with sess.lock:
            return self._turn(text, sess, scene, count)

    def _turn(self, text: str, sess: Session, scene: str | None, k: int) -> TurnResult:
        timer = _Timer()
        start = time.perf_counter()
        with timer.stage("parse"):
            summary, source, changes = self._parse(text, sess)
        target = self._scene(scene, summary, sess)
        if sess.scene is not None and target != sess.scene:
            changes.append(f"scene changed: {sess.scene} -> {target}")
            if sess.anchor is not None and not any(c.startswith("more like") for c in changes):
                sess.anchor, sess.anchor_vector = None, None  # "more like" an item of the old scene ends here
        summary.scene = target
        notes: list[str] = []
        with timer.stage("embed"):
            vec, interests, topic_vecs = self._interest(summary, sess, target)
        history: list[str] = []
        exclude: set[str] = set()
        if sess.user_id and self.profiles is not None:
            history = self.profiles.history(sess.user_id, exclude_scene=target)
            exclude = self.profiles.disliked(sess.user_id)
        if sess.anchor is not None:
            exclude = exclude | {sess.anchor[0]}  # "more like the second one" wants others like it, not it again
        query = RerankQuery(scene=target, history=history, interest_vector=vec, interests=interests, exclude=exclude,
                            interest_vectors=topic_vecs)  # fmt: skip
        reader = self.exclusion_reader.resolver(target) if self.exclusion_reader is not None else None
        excl = ExclusionFilter.build(summary.exclusions, reader)
        reranker, note = self.reranker_for(target)
        if note:
            notes.append(note)
        with timer.stage("retrieve"):
            cands, facts, filtered = self._retrieve(vec, query, excl, reranker)
        with timer.stage("rerank"):
            scored = [s for s in reranker.rerank(query, cands, k=k + 5) if s.item_id in facts][:k]
            if sess.anchor is not None:
                scored = [_anchor_evidence(s, sess.anchor, target) for s in scored]
        with timer.stage("explain"):
            explanations = self._explain(scored, facts, interests, summary.language, cands)
        notes += _notes(excl, summary, filtered)
        items = [
            RecommendedItem(rank=n, item_id=s.item_id, title=facts[s.item_id].title,
                            category=facts[s.item_id].category, scene=facts[s.item_id].scene, score=round(s.score, 6),
                            evidence=s.evidence, explanation=e.text, explanation_source=e.source)
            for n, (s, e) in enumerate(zip(scored, explanations, strict=True), start=1)
        ]  # fmt: skip
        sess.summary, sess.scene, sess.shown = summary, target, [i.item_id for i in items]
        sess.turns += 1
        timer.ms["total"] = (time.perf_counter() - start) * 1000
        result = TurnResult(
            session_id=sess.session_id, user_id=sess.user_id, statement=text, scene=target, summary=summary,
            parse_source=source, refinements=changes, items=items, explanations=explanations, filtered=filtered,
            notes=notes, timings_ms={name: round(ms, 3) for name, ms in timer.ms.items()},
        )  # fmt: skip
        result.reply = render_reply(result)
        return result

    def _explain(
        self,
        scored: Sequence[Any],
        facts: Mapping[str, Hit],
        interests: list[str],
        language: str,
        cands: Sequence[Candidate],
    ) -> list[Explanation]:
        refs = {ev.item_id for s in scored for ev in s.evidence if ev.item_id}
        titles = {h.item_id: h.title for h in self.store.get_items(sorted(refs))[0]} if refs else {}
        inputs = [
            ExplainInput(s.item_id, facts[s.item_id].title, facts[s.item_id].category, facts[s.item_id].scene,
                         list(s.evidence), interests, {i: titles[i] for i in titles if i in
                                                       {ev.item_id for ev in s.evidence}})
            for s in scored
        ]  # fmt: skip
        others = [(c.item_id, c.title, facts[c.item_id].category) for c in cands if c.item_id not in
                  {s.item_id for s in scored}]  # fmt: skip
        if self.explain_mode == "llm" and self.llm is not None:
            with self._llm_lock:
                return explain_items(inputs, "llm", self.llm, language, others)
        return explain_items(inputs, "template", None, language, others)

    # -- building blocks for tools -------------------------------------------------------------------------------

    def score_items(
        self,
        scene: str,
        item_ids: Sequence[str],
        interests: Sequence[str] = (),
        user_id: str | None = None,
        k: int | None = None,
    ) -> tuple[list[Any], dict[str, Hit], RerankQuery]:
        """Reranks given catalogue items of one scene for stated interests and a user's profile.

        Returns the scored items (best first, with evidence), the items' facts, and the query used.

        Raises:
            UsageError: for an unknown scene or when none of the ids is an item of that scene.
        """  # fmt: skip
        if scene not in self.scenes:
            msg = f"unknown scene {scene!r}; the store's scenes are: {', '.join(self.scenes)}"
            raise UsageError(msg)
        names = [t.strip() for t in interests if t and t.strip()]
        vec = self._embedder.embed([", ".join(names), *names])[0] if names else None
        history: list[str] = []
        exclude: set[str] = set()
        if user_id and self.profiles is not None:
            history = self.profiles.history(user_id, exclude_scene=scene)
            exclude = self.profiles.disliked(user_id)
        hits, vecs = self.store.get_items(item_ids, scenes=[scene])
        if not hits:
            msg = f"none of the item ids is an item of scene {scene!r}"
            raise UsageError(msg)
        query = RerankQuery(scene=scene, history=history, interest_vector=vec, interests=names, exclude=exclude)
        cands = [Candidate(h.item_id, h.scene, v, h.title, None) for h, v in zip(hits, vecs, strict=True)]
        facts = {h.item_id: h for h in hits}
        scored = [s for s in self.reranker_for(scene)[0].rerank(query, cands, k=k) if s.item_id in facts]
        return scored, facts, query

    def explain_scored(
        self, scored: Sequence[Any], facts: Mapping[str, Hit], interests: list[str], language: str = "en"
    ) -> list[Explanation]:
        """Grounded explanations for scored items (template, or checked LLM wording in ``llm`` mode)."""
        cands = [Candidate(i, h.scene, None, h.title) for i, h in facts.items()]
        return self._explain(scored, facts, interests, language, cands)

    # -- feedback ------------------------------------------------------------------------------------------------

    def feedback(self, user_id: str, item_id: str, kind: str = "like") -> str:
        """Records a user's feedback on a catalogue item in their cross-scene profile; returns the item's scene.

        Raises:
            UsageError: when there is no profile store or the item is not in the catalogue.
        """
        if self.profiles is None:
            msg = "no profile store is configured; feedback cannot be kept"
            raise UsageError(msg)
        hits, _ = self.store.get_items([item_id])
        if not hits:
            msg = f"item {item_id!r} is not in the catalogue"
            raise UsageError(msg)
        self.profiles.record(user_id, item_id, hits[0].scene, kind)
        return hits[0].scene

    def forget(self, user_id: str) -> int:
        """Deletes a user's profile and ends their sessions; returns the number of profile events deleted."""
        self.sessions.drop_user(user_id)
        return self.profiles.forget(user_id) if self.profiles is not None else 0


def _same_embedder(wanted: str, model_id: str) -> bool:
    """Whether a reranker's embedder (a model id, or an embedder spec such as ``use-multilingual``) is the store's."""
    if wanted == model_id:
        return True

    name, _, arg = wanted.partition(":")
    known = {"use-multilingual": UseMultilingualEmbedder.model_id, "hashing": f"hashing-{arg or 256}"}
    return known.get(name) == model_id


def _union(a: Sequence[str], b: Sequence[str]) -> list[str]:
    seen: dict[str, str] = {}
    for x in [*a, *b]:
        seen.setdefault(x.lower(), x)
    return list(seen.values())[:12]


def _anchor_evidence(scored: Scored, anchor: tuple[str, str], scene: str) -> Scored:
    """Rewords "matches your interest '<the anchor's whole title>'" as what it is: likeness to the item the user
    asked for more of (rerankers only see the anchor as one more interest)."""
    item_id, title = anchor
    evidence = [
        Evidence(kind="history-content", weight=ev.weight, item_id=item_id, scene=scene,
                 text=f"similar to '{title}', which you asked for more like")
        if ev.kind == "interest" and ev.interest == title else ev
        for ev in scored.evidence
    ]  # fmt: skip
    return scored.model_copy(update={"evidence": evidence})


def _notes(excl: ExclusionFilter, summary: InterestSummary, filtered: Mapping[str, str]) -> list[str]:
    notes = []
    if filtered:
        notes.append(f"{len(filtered)} candidate(s) left out by your exclusions")
    for phrase, word in excl.resolved.items():
        notes.append(f"the exclusion {phrase!r} was read as {word!r}, the nearest word in the catalogue's categories")
    for phrase in excl.unmatched:
        notes.append(f"no catalogue words are known for the exclusion {phrase!r}; it could not be applied")
    c = summary.constraints
    if "cheaper" in c.other or c.price_max is not None or c.price_min is not None:
        notes.append("the catalogue has no prices, so the price wish is recorded but cannot be applied")
    return notes


def render_reply(result: TurnResult) -> str:
    """The answer as plain text, in the statement's language."""
    zh = result.summary.language == "zh"
    topics = ", ".join(t.name for t in result.summary.topics[:4])
    if not result.items:
        return "没有找到符合条件的商品。" if zh else "Nothing in the catalogue fits that; try fewer exclusions."
    if zh:
        head = f"在{zh_scene(result.scene)}里为你找到 {len(result.items)} 件" + (
            f"（兴趣：{topics}）" if topics else ""
        )
        if result.summary.exclusions:
            head += f"，已排除：{'、'.join(result.summary.exclusions)}"
        head += "："
    else:
        head = f"{len(result.items)} {result.scene} picks" + (f" for {topics}" if topics else "")
        if result.summary.exclusions:
            head += f" (excluding {', '.join(result.summary.exclusions)})"
        head += ":"
    lines = [head, *(f"{i.rank}. {i.explanation}" for i in result.items)]
    return "\n".join(lines)
