"""One turn of the agent: statement -> summary -> retrieve -> rerank -> explain -> reply + structured result.

This module wires the stages (:mod:`scenebridge.agent.stages`) and holds the :class:`Recommender`'s public API for
the tools and faces. The pipeline is deterministic; the LLM parses (and may word the explanations). Results only come
from the reranker's output over retrieved items of the target scene, minus exclusions, rejections and dislikes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from scenebridge.agent.delta import StateDelta, llm_delta
from scenebridge.agent.exclusions import SemanticGlossary
from scenebridge.agent.explain import Explanation
from scenebridge.agent.followup import read_refinement
from scenebridge.agent.link_prior import prior_for
from scenebridge.agent.linking import Linker
from scenebridge.agent.parse import ParseResult, SceneClassifier, clean_statement, parse_interests
from scenebridge.agent.query_embed import QueryEmbedder
from scenebridge.agent.result import STAGES, ItemRecord, RecommendedItem, Trace, TurnResult
from scenebridge.agent.session import Session, SessionStore
from scenebridge.agent.stages import explain, link, read, rerank, retrieve
from scenebridge.agent.summary import InterestSummary
from scenebridge.blas import one_thread
from scenebridge.errors import UsageError
from scenebridge.llm.protocol import LLM, is_loading
from scenebridge.rerank.api import Reranker, RerankQuery
from scenebridge.rerank.content import ContentReranker
from scenebridge.rerank.router import SceneRouter
from scenebridge.settings import MAX_K
from scenebridge.store.chroma import Hit, ItemStore
from scenebridge.store.profiles import FEEDBACK_KINDS, ProfileStore

__all__ = ["STAGES", "OnEvent", "RecommendedItem", "Recommender", "TurnResult", "render_reply"]

render_reply = explain.render_reply

OnEvent = Callable[[str, dict[str, Any]], None]
"""Called as a turn goes: ``("parsed", {...})`` when the statement is read (summary, scene, linked mentions),
``("ranked", {"items": [...]})`` when the items are ordered, ``("explained", {"rank", "item_id", ...})`` for each
explanation; the faces stream these (server-sent events)."""


class Recommender:
    """The agent's turn over one item store, its rerankers, one LLM, the profile store and the sessions.

    Args:
        store: the item store (its embedder embeds the interest text).
        reranker: any :class:`Reranker`; one that serves some scenes (``scene``/``scenes``, e.g. a trained model or
            a :class:`~scenebridge.rerank.router.SceneRouter`) is routed to for those, the untrained content
            reranker ranks the rest (and everything when None).
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
        if reranker is not None and not rerank.same_embedder(reranker.embedder_id, store.embedder.model_id):
            msg = (
                f"the reranker expects {reranker.embedder_id!r} vectors but the store was built with "
                f"{store.embedder.model_id!r}; index the store with the reranker's embedder"
            )
            raise UsageError(msg)
        if explain not in ("template", "llm"):
            msg = f"explain must be template or llm, not {explain!r}"
            raise UsageError(msg)
        self._embedder = QueryEmbedder.for_store(store.embedder)
        self._router = SceneRouter.around(reranker, ContentReranker(store, embedder=self._embedder))
        self._store, self._llm, self._profiles = store, llm, profiles
        self._explain, self._k, self._retrieve_k, self._behaviour_k = explain, k, retrieve_k, behaviour_k
        self._hints = scene_hints
        self._sessions = sessions if sessions is not None else SessionStore()
        self._scenes = store.scenes
        semantic = not self._embedder.model_id.startswith("hashing-")
        if classifier == "auto":
            classifier = SceneClassifier(self._embedder) if semantic else None
        self._classifier: SceneClassifier | None = classifier
        # Exclusions the glossary lacks are read as the catalogue's nearest category word (not with hashing vectors).
        self._reader = SemanticGlossary(store.embedder, store.categories) if semantic else None
        # A one-off process links big scenes by embedding neighbours alone (a title index: ~2-5 s per 20k items).
        self._linker = Linker(store, max_titles=200_000 if mirror else 5_000, prior=prior_for(self._router))
        if mirror:
            store.mirror()
            # The title indexes (~1-3 s per 20k items) are built beside the start, not in the first mentioning turn.
            threading.Thread(target=_warm, args=(self._linker,), name="scenebridge-titles", daemon=True).start()
        self._llm_lock = threading.Lock()  # llama.cpp in-process is not thread-safe

    # -- read-only parts -----------------------------------------------------------------------------------------

    @property
    def scenes(self) -> list[str]:
        """The store's scenes."""
        return self._scenes

    @property
    def llm(self) -> LLM | None:
        """The parsing (and wording) backend; None = the lexical parser alone."""
        return self._llm

    @property
    def store(self) -> ItemStore:
        """The item store."""
        return self._store

    @property
    def profiles(self) -> ProfileStore | None:
        """The users' cross-scene profiles, if kept."""
        return self._profiles

    @property
    def sessions(self) -> SessionStore:
        """The conversations."""
        return self._sessions

    @property
    def router(self) -> SceneRouter:
        """Which reranker ranks which scene (the content reranker by default)."""
        return self._router

    @property
    def query_embedder(self) -> QueryEmbedder:
        """The memoised embedder of interest texts (benchmarks clear it)."""
        return self._embedder

    @property
    def classifier(self) -> SceneClassifier | None:
        """The scene classifier, if any."""
        return self._classifier

    # -- the turn ------------------------------------------------------------------------------------------------

    def turn(
        self,
        statement: str,
        user_id: str | None = None,
        scene: str | None = None,
        session_id: str | None = None,
        k: int | None = None,
        on_event: OnEvent | None = None,
    ) -> TurnResult:
        """Answers one statement.

        Args:
            statement: what the person said (English, Chinese or mixed).
            user_id: whose cross-scene profile to use (history in other scenes, dislikes).
            scene: the scene to recommend in; otherwise the one the statement names, then the session's.
            session_id: continue this session (a new one is made when None or unknown).
            k: items to return (default: the recommender's ``k``).
            on_event: told of each stage's output as soon as it is there (see :data:`OnEvent`).

        Raises:
            UsageError: for a bad statement, an unknown scene, a bad k, or a session of another user.
        """
        count = self._k if k is None else k
        if not 1 <= count <= MAX_K:
            msg = f"k must be between 1 and {MAX_K}, got {count}"
            raise UsageError(msg)
        text = clean_statement(statement)
        sess = self._sessions.get(session_id, user_id)
        with sess.lock, one_thread():  # small products: a second BLAS thread would spin after each (see blas)
            if sess.anchor is not None and sess.anchor_vector is None:  # a session read back from disk
                hits, vecs = self._store.get_items([sess.anchor[0]])
                sess.anchor, sess.anchor_vector = (sess.anchor, vecs[0]) if hits else (None, None)
            result = self._turn(text, sess, scene, count, on_event or _quiet)
            self._sessions.save(sess)  # the state after each turn survives a restart (a no-op in memory)
            return result

    def _turn(self, text: str, sess: Session, scene: str | None, k: int, emit: OnEvent) -> TurnResult:
        trace = Trace()
        before = {m.text.lower() for m in sess.summary.mentioned} if sess.summary is not None else set()
        rerank.prefetch(self._router, scene or sess.scene, sess.user_id, self._profiles, self._scenes)
        with trace.stage("parse"):
            reading = read.read_statement(text, sess, lambda t: self.parse(t, interest_ahead=True), self._scenes,
                                          self._hints, self._store, trace,
                                          self._delta if self._llm is not None else None)  # fmt: skip
        target, summary = read.choose_scene(scene, reading.summary, sess, self._scenes), reading.summary
        read.move_scene(sess, target, reading, trace)
        with trace.stage("link"):  # beside the embedding; "link" times the wait for it after
            linked = link.start_linking(self._linker, summary, before, sess, target, trace)
        with trace.stage("embed"):
            interest = read.interest(summary, sess, target, self._embedder, self._hints)
        with trace.stage("link"):
            linked()
        emit("parsed", {"session_id": sess.session_id, "scene": target, "summary": summary.model_dump(mode="json"),
                        "parse_source": reading.source, "refinements": list(trace.changes),
                        "linked": [x.model_dump(mode="json") for x in sess.linked],
                        "timings_ms": dict(trace.timings_ms)})  # fmt: skip
        query = retrieve.query_for(target, interest, sess, self._profiles, again=read_refinement(text).again,
                                   twins=link.twins(self._linker, target))  # fmt: skip
        excl = retrieve.exclusion_filter(summary, self._reader, target)
        reranker = rerank.route(self._router, target, trace)
        pool = not sess.turns and retrieve.pool_first_turn(summary, text)
        with trace.stage("retrieve"):
            found = retrieve.retrieve(self._store, interest.vector, query, excl, reranker, self._retrieve_k,
                                      self._behaviour_k, trace,
                                      retrieve.constraint_filter(summary, self._store, sess, target,
                                                                 link.scene_titles(self._linker, summary, target)),
                                      first_turn=pool)  # fmt: skip
        with trace.stage("rerank"):
            shown = rerank.rerank(reranker, query, found, k, ask=k + 5, anchor=sess.anchor, distinct=True)
        with trace.stage("explain"):
            titles = explain.titles_for(shown, found, self._store)
            explain.word_evidence(shown, titles, summary.language)
        emit("ranked", {"items": [r.card(n) for n, r in enumerate(shown, 1)], "timings_ms": dict(trace.timings_ms)})
        with trace.stage("explain"):
            explanations = explain.explain(shown, found, titles, interest.names, summary.language, self._explain,
                                           self._llm, self._llm_lock)  # fmt: skip
        retrieve.exclusion_notes(excl, summary, trace)
        items = explain.recommended(shown, explanations)
        for item in items:
            emit("explained", {"rank": item.rank, "item_id": item.item_id, "explanation": item.explanation,
                               "explanation_source": item.explanation_source})  # fmt: skip
        sess.summary, sess.scene = summary, target
        # An empty answer (a follow-up that left nothing) keeps what was shown: "the second one" still means it.
        sess.shown = [i.item_id for i in items] or sess.shown
        sess.turns += 1
        result = TurnResult(state=sess.state(), linked=list(sess.linked),
            session_id=sess.session_id, user_id=sess.user_id, statement=text, scene=target, summary=summary,
            parse_source=reading.source, refinements=trace.changes, items=items, explanations=explanations,
            filtered=trace.filtered, notes=trace.notes, timings_ms=trace.finish(),
        )  # fmt: skip
        result.reply = explain.render_reply(result)
        return result

    # -- the stages on their own, for tools ----------------------------------------------------------------------

    def _delta(self, text: str, prev: InterestSummary) -> StateDelta | None:
        """The LLM's state delta for a follow-up (None without an LLM or when it fails)."""
        if self._llm is None:
            return None
        with self._llm_lock:
            return llm_delta(self._llm, prev, text)

    def parse(self, text: str, interest_ahead: bool = False) -> ParseResult:
        """Parses one statement with this recommender's LLM, scenes, hints and scene classifier (no session;
        ``interest_ahead``: a turn's parse, see :func:`parse_interests`)."""
        with self._llm_lock:
            if is_loading(self._llm):  # a fresh process: the embedder's weights load meanwhile, not after the parse
                self._embedder.warm()
            return parse_interests(
                text, self._llm, self._scenes, self._hints, classifier=self._classifier, interest_ahead=interest_ahead
            )

    def search(self, query: str, scene: str | None = None, k: int = 10, exclude: Sequence[str] = ()) -> list[Hit]:
        """Catalogue items nearest to a text, in one scene or all.

        Raises:
            UsageError: for an unknown scene.
        """
        if scene is not None:
            self._check_scene(scene)
        vec = self._embedder.embed([query])[0]
        return self._store.search(vec, scenes=[scene] if scene else None, k=k, exclude=exclude)

    def score(
        self,
        scene: str,
        item_ids: Sequence[str],
        interests: Sequence[str] = (),
        user_id: str | None = None,
        k: int | None = None,
    ) -> tuple[list[ItemRecord], list[str]]:
        """Reranks given catalogue items of one scene for stated interests and a user's profile.

        Returns the scored items (best first, with worded evidence) and the ids that are not items of the scene.

        Raises:
            UsageError: for an unknown scene or when none of the ids is an item of that scene.
        """
        scored, found, _ = self._score(scene, item_ids, interests, user_id, k)
        known = {r.item_id for r in found}
        return scored, [i for i in dict.fromkeys(item_ids) if i not in known]

    def explain(
        self,
        scene: str,
        item_ids: Sequence[str],
        interests: Sequence[str] = (),
        user_id: str | None = None,
        language: str = "en",
    ) -> list[Explanation]:
        """Grounded explanations for given items of one scene, in the order given (template, or checked LLM
        wording in ``llm`` mode).

        Raises:
            UsageError: for an unknown scene or when none of the ids is an item of that scene.
        """
        scored, found, query = self._score(scene, item_ids, interests, user_id, None)
        order = {i: n for n, i in enumerate(item_ids)}
        scored = sorted(scored, key=lambda r: order[r.item_id])
        titles = explain.titles_for(scored, found, self._store)
        return explain.explain(scored, found, titles, query.interests, language, self._explain, self._llm,
                               self._llm_lock)  # fmt: skip

    def _score(
        self, scene: str, item_ids: Sequence[str], interests: Sequence[str], user_id: str | None, k: int | None
    ) -> tuple[list[ItemRecord], list[ItemRecord], RerankQuery]:
        self._check_scene(scene)
        names = [t.strip() for t in interests if t and t.strip()]
        vec = self._embedder.embed([", ".join(names), *names])[0] if names else None
        history, exclude = retrieve.user_profile(user_id, self._profiles, scene)
        found = retrieve.records(*self._store.get_items(item_ids, scenes=[scene]))
        if not found:
            msg = f"none of the item ids is an item of scene {scene!r}"
            raise UsageError(msg)
        query = RerankQuery(scene=scene, history=history, interest_vector=vec, interests=names, exclude=exclude)
        scored = rerank.rerank(self._router.route(scene), query, found, k)
        explain.word_evidence(scored, explain.titles_for(scored, found, self._store))
        return scored, found, query

    def _check_scene(self, scene: str) -> None:
        if scene not in self._scenes:
            msg = f"unknown scene {scene!r}; the store's scenes are: {', '.join(self._scenes)}"
            raise UsageError(msg)

    # -- feedback ------------------------------------------------------------------------------------------------

    def feedback(self, user_id: str | None, item_id: str, kind: str = "like", session_id: str | None = None) -> str:
        """Records feedback on a catalogue item: in the user's cross-scene profile, and with ``session_id`` in that
        conversation's state too (a disliked item never comes back in it); returns the item's scene.

        Raises:
            UsageError: when the item is not in the catalogue, when there is neither a profile store (or no user)
                nor a session to keep it in, or for a session of another user.
        """
        if kind not in FEEDBACK_KINDS:
            msg = f"unknown feedback kind {kind!r}; use one of: {', '.join(FEEDBACK_KINDS)}"
            raise UsageError(msg)
        profiles = self._profiles if user_id is not None else None
        if profiles is None and session_id is None:
            msg = ("no profile store is configured; give a session id to keep the feedback in the conversation"
                   if self._profiles is None else "feedback needs a user id or a session id")  # fmt: skip
            raise UsageError(msg)
        hits, _ = self._store.get_items([item_id])
        if not hits:
            msg = f"item {item_id!r} is not in the catalogue"
            raise UsageError(msg)
        if session_id is not None:
            sess = self._sessions.find(session_id, user_id)
            if sess is None:
                msg = f"no session {session_id!r} for this user; start one first"
                raise UsageError(msg)
            with sess.lock:
                if kind in ("like", "purchase", "view"):
                    sess.liked = list(dict.fromkeys([*sess.liked, item_id]))
                if kind == "dislike":
                    sess.disliked = list(dict.fromkeys([*sess.disliked, item_id]))
                self._sessions.save(sess)
        if profiles is not None and user_id is not None:
            profiles.record(user_id, item_id, hits[0].scene, kind)
        return hits[0].scene

    def forget(self, user_id: str) -> int:
        """Deletes a user's profile and ends their sessions; returns the number of profile events deleted."""
        self._sessions.drop_user(user_id)
        return self._profiles.forget(user_id) if self._profiles is not None else 0


def _warm(linker: Linker) -> None:
    """Builds the title indexes; a failure here (a store closed meanwhile) only means the first mention builds them."""
    try:
        linker.warm()
    except Exception:  # a background warm-up must never take the process down
        logging.getLogger("scenebridge.agent").debug("title index warm-up failed", exc_info=True)


def _quiet(event: str, data: dict[str, Any]) -> None:
    """No one listens."""
