"""The FastAPI app: stateless recommendations, per-user chat sessions, forgetting a user, health, OpenAPI docs.

Who the user is: the calling service (a chat assistant's backend, authenticated by the optional bearer token) names
the end user in the ``X-User-Id`` header. Sessions belong to the user who opened them: another user's session id
answers 404 exactly like a missing one, and ``DELETE /v1/users/{id}`` is refused (403) for anyone but that user.
Errors are always ``{"error": {"type", "message", "details"}}`` JSON, never a traceback.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from scenebridge.agent.session import Session, TurnRecord
from scenebridge.agent.turn import TurnResult
from scenebridge.errors import UsageError
from scenebridge.http.gate import TurnGate
from scenebridge.http.handlers import install_handlers
from scenebridge.http.metrics import CONTENT_TYPE, Metrics
from scenebridge.http.openapi import ERRORS, SESSION_LINKS, SSE, TURN_ERRORS, publish_scenes
from scenebridge.http.page import mount_page
from scenebridge.http.schemas import (
    MAX_USER_ID,
    USER_PATTERN,
    FeedbackRequest,
    ForgetResult,
    Health,
    RecommendRequest,
    SessionCreate,
    SessionEdit,
    SessionInfo,
    TurnRequest,
)
from scenebridge.http.stream import stream_turn
from scenebridge.settings import ApiSettings
from scenebridge.tools.definitions import FeedbackRecorded, record_feedback
from scenebridge.version import __version__

if TYPE_CHECKING:
    from scenebridge.agent.turn import Recommender

__all__ = ["create_app"]

_USER_DOC = f"The end user's id: 1..{MAX_USER_ID} characters, not blank."


def _user(
    x_user_id: Annotated[
        str | None, Header(min_length=1, max_length=MAX_USER_ID, pattern=USER_PATTERN, description=_USER_DOC)
    ] = None,
) -> str | None:
    return None if x_user_id is None else x_user_id.strip()


def _required_user(
    x_user_id: Annotated[
        str, Header(min_length=1, max_length=MAX_USER_ID, pattern=USER_PATTERN,
                    description=_USER_DOC + " Required: whose session or profile it is.")
    ],
) -> str:  # fmt: skip
    return x_user_id.strip()


def create_app(recommender: Recommender, settings: ApiSettings | None = None) -> FastAPI:
    """The API over one recommender.

    Sessions live in the recommender's one session store (``recommender.sessions``): what the API lists is what
    the agent continues, and the store is sized and capped by these settings. Turns pass a bounded gate
    (``[api] max_turns``, ``turn_queue``, ``queue_wait_s``); ``/metrics`` exports it in the Prometheus format.

    Args:
        recommender: the turn engine (store, reranker, LLM, profiles, sessions).
        settings: token and limits; read from ``[api]`` / ``SCENEBRIDGE_API_*`` when None.
    """
    cfg = settings or ApiSettings()
    rec = recommender
    sessions = rec.sessions
    sessions.configure(max_sessions=cfg.max_sessions, per_user=cfg.max_sessions_per_user, turn_log=cfg.turn_log)
    app = FastAPI(title="scenebridge", version=__version__, description=__doc__, responses=ERRORS)
    gate = TurnGate(cfg.max_turns, cfg.turn_queue, cfg.queue_wait_s)
    metrics = Metrics(gate)  # it reads the gate's depth; the gate reports each refusal to it
    gate.on_shed = metrics.count_shed
    app.state.recommender, app.state.sessions, app.state.settings = rec, sessions, cfg
    app.state.gate, app.state.metrics = gate, metrics

    def auth(authorization: Annotated[str | None, Header(include_in_schema=False)] = None) -> None:
        if cfg.token is None:
            return
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), cfg.token.encode()):
            raise HTTPException(401, "a valid bearer token is required (Authorization: Bearer TOKEN)")

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(auth)])

    def check_scene(scene: str | None) -> None:
        if scene is not None and scene not in rec.scenes:
            msg = f"unknown scene {scene!r}; the store's scenes are: {', '.join(rec.scenes)}"
            raise UsageError(msg)

    async def gated(work: Any) -> TurnResult:
        """Runs a turn in a worker thread once the gate admits it (or raises OverloadError: 429/503)."""
        async with gate.slot() as slot:
            metrics.wait.observe(slot.waited_s)
            result: TurnResult = await anyio.to_thread.run_sync(work)
        metrics.observe_turn(result)
        return result

    @v1.post("/recommend", response_model=TurnResult, responses=TURN_ERRORS,
             summary="One-off recommendation (no session kept)")  # fmt: skip
    async def recommend(body: RecommendRequest, user: Annotated[str | None, Depends(_user)]) -> TurnResult:
        def work() -> TurnResult:
            result = rec.turn(body.statement, user_id=user, scene=body.scene, k=body.k)
            sessions.drop(result.session_id)
            return result

        return await gated(work)

    @v1.post("/sessions", response_model=SessionInfo, status_code=201, responses=SESSION_LINKS,
             summary="Open a chat session", operation_id="openSession")  # fmt: skip
    def open_session(user: Annotated[str, Depends(_required_user)], body: SessionCreate | None = None) -> SessionInfo:
        scene = body.scene if body else None
        check_scene(scene)
        try:
            sess = sessions.open(user, scene)
        except UsageError as exc:  # the user's open sessions are at [api] max_sessions_per_user
            raise HTTPException(409, str(exc)) from None
        return SessionInfo(**sess.info())

    def owned(session_id: str, user: str) -> Session:
        sess = sessions.find(session_id, user)
        if sess is None:
            raise HTTPException(404, f"no session {session_id[:80]!r} for this user")
        return sess

    def log_turn(result: TurnResult) -> None:
        record = TurnRecord(statement=result.statement, scene=result.scene, item_ids=[i.item_id for i in result.items],
                            refinements=list(result.refinements), reply=result.reply)  # fmt: skip
        sessions.log_turn(result.session_id, record)

    @v1.post("/sessions/{session_id}/turns", response_model=TurnResult, responses=TURN_ERRORS,
             summary="Say something in a session", operation_id="sessionTurn")  # fmt: skip
    async def turn(session_id: str, body: TurnRequest, user: Annotated[str, Depends(_required_user)]) -> TurnResult:
        sess = await anyio.to_thread.run_sync(owned, session_id, user)  # a missing session: 404 before any wait

        def work() -> TurnResult:
            scene = body.scene or (sess.start_scene if not sess.turns else None)
            result = rec.turn(body.statement, user_id=user, scene=scene, session_id=session_id, k=body.k)
            log_turn(result)
            return result

        return await gated(work)

    @v1.post("/sessions/{session_id}/turns/stream", response_class=StreamingResponse, responses={**SSE, **TURN_ERRORS},
             summary="Say something in a session; the turn's stages stream as server-sent events",
             operation_id="sessionTurnStream")  # fmt: skip
    async def turn_stream(session_id: str, body: TurnRequest, user: Annotated[str, Depends(_required_user)]) -> Any:
        # A missing session (404) and a full gate (429/503) are answered as JSON before the stream starts.
        sess = await anyio.to_thread.run_sync(owned, session_id, user)
        slot = await gate.enter()
        metrics.wait.observe(slot.waited_s)
        scene = body.scene or (sess.start_scene if not sess.turns else None)

        def run(emit: Any) -> TurnResult:
            return rec.turn(body.statement, user_id=user, scene=scene, session_id=session_id, k=body.k, on_event=emit)

        def after(result: TurnResult) -> None:
            log_turn(result)
            metrics.observe_turn(result)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        events = stream_turn(run, after, finally_=slot.release)
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)

    @v1.patch("/sessions/{session_id}", response_model=SessionInfo, operation_id="editSession",
              summary="Edit what a session has established: its scene, its exclusions")  # fmt: skip
    def edit_session(session_id: str, body: SessionEdit, user: Annotated[str, Depends(_required_user)]) -> SessionInfo:
        sess = owned(session_id, user)
        check_scene(body.scene)
        sessions.edit(sess, scene=body.scene, remove_exclusions=body.remove_exclusions)
        return SessionInfo(**sess.info())

    @v1.get("/sessions/{session_id}", response_model=SessionInfo, summary="A session's turns",
            operation_id="getSession")  # fmt: skip
    def get_session(session_id: str, user: Annotated[str, Depends(_required_user)]) -> SessionInfo:
        return SessionInfo(**owned(session_id, user).info())

    @v1.delete("/sessions/{session_id}", status_code=204, summary="End a session", operation_id="endSession")
    def delete_session(session_id: str, user: Annotated[str, Depends(_required_user)]) -> None:
        if not sessions.drop(session_id, user):
            raise HTTPException(404, f"no session {session_id[:80]!r} for this user")

    @v1.post("/users/{user_id}/feedback", response_model=FeedbackRecorded, status_code=201,
             summary="Record a like, dislike, purchase or view; later turns in every scene use it",
             operation_id="recordFeedback")  # fmt: skip
    def feedback(
        user_id: str, body: FeedbackRequest, user: Annotated[str, Depends(_required_user)]
    ) -> FeedbackRecorded:
        if user_id != user:
            raise HTTPException(403, "feedback can only be recorded for the user in X-User-Id")
        if not rec.store.get_items([body.item_id])[0]:  # a well-formed id of no item: the resource is missing
            raise HTTPException(404, f"item {body.item_id[:80]!r} is not in the catalogue")
        return record_feedback(rec, user_id, body.item_id, body.kind)

    @v1.delete("/users/{user_id}", response_model=ForgetResult, summary="Forget a user: profile and sessions",
               operation_id="forgetUser")  # fmt: skip
    def forget(user_id: str, user: Annotated[str, Depends(_required_user)]) -> ForgetResult:
        if user_id != user:
            raise HTTPException(403, "a user can only be forgotten at their own request (X-User-Id)")
        ended = sessions.drop_user(user_id)
        events = rec.forget(user_id)  # ends any session made meanwhile too
        return ForgetResult(user_id=user_id, profile_events_deleted=events, sessions_deleted=ended)

    app.include_router(v1)
    mount_page(app)

    @app.get("/healthz", response_model=Health, summary="Liveness")
    def healthz() -> Health:
        return Health(status="ok", scenes=list(rec.scenes), llm=rec.llm.name if rec.llm else "none",
                      sessions=len(sessions))  # fmt: skip

    @app.get("/metrics", response_class=PlainTextResponse, dependencies=[Depends(auth)],
             summary="Prometheus metrics: requests, the turn queue, shed turns, per-stage latency",
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})  # fmt: skip
    def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    install_handlers(app, cfg, metrics)
    publish_scenes(app, rec.scenes)
    return app
