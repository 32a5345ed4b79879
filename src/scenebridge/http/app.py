"""The FastAPI app: stateless recommendations, per-user chat sessions, forgetting a user, health, OpenAPI docs.

Who the user is: the calling service (a chat assistant's backend, authenticated by the optional bearer token) names
the end user in the ``X-User-Id`` header. Sessions belong to the user who opened them: another user's session id
answers 404 exactly like a missing one, and ``DELETE /v1/users/{id}`` is refused (403) for anyone but that user.
Errors are always ``{"error": {"type", "message", "details"}}`` JSON, never a traceback.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from scenebridge.agent.session import Session, TurnRecord
from scenebridge.agent.turn import TurnResult
from scenebridge.errors import ScenebridgeError, StoreError, UsageError
from scenebridge.http.page import mount_page
from scenebridge.http.schemas import (
    ErrorBody,
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

log = logging.getLogger("scenebridge.http")
MAX_USER_ID = 200
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 413, 422, 500, 503)
}
_SSE_DOC = (
    "Server-sent events: parsed, ranked, explained (one per item), then done (the turn's result, as the JSON "
    'endpoint answers it) or error ({"error": {type, message, details}}).'
)
_SSE: dict[int | str, dict[str, Any]] = {
    200: {"description": _SSE_DOC, "content": {"text/event-stream": {"schema": {"type": "string"}}}}
}


def _error(
    status: int, kind: str, message: str, details: list[str] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"type": kind, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status, headers=headers)


def _user(x_user_id: Annotated[str | None, Header(description="The end user's id.")] = None) -> str | None:
    if x_user_id is None:
        return None
    user = x_user_id.strip()
    if not user or len(user) > MAX_USER_ID:
        raise HTTPException(400, f"X-User-Id must be 1..{MAX_USER_ID} characters")
    return user


def _required_user(user: Annotated[str | None, Depends(_user)]) -> str:
    if user is None:
        raise HTTPException(400, "this endpoint needs the X-User-Id header (whose session or profile it is)")
    return user


def create_app(recommender: Recommender, settings: ApiSettings | None = None) -> FastAPI:
    """The API over one recommender.

    Sessions live in the recommender's one session store (``recommender.sessions``): what the API lists is what
    the agent continues, and the store is sized and capped by these settings.

    Args:
        recommender: the turn engine (store, reranker, LLM, profiles, sessions).
        settings: token and limits; read from ``[api]`` / ``SCENEBRIDGE_API_*`` when None.
    """
    cfg = settings or ApiSettings()
    rec = recommender
    sessions = rec.sessions
    sessions.configure(max_sessions=cfg.max_sessions, per_user=cfg.max_sessions_per_user, turn_log=cfg.turn_log)
    app = FastAPI(title="scenebridge", version=__version__, description=__doc__, responses=_ERRORS)
    app.state.recommender, app.state.sessions, app.state.settings = rec, sessions, cfg

    def auth(authorization: Annotated[str | None, Header(include_in_schema=False)] = None) -> None:
        if cfg.token is None:
            return
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), cfg.token.encode()):
            raise HTTPException(401, "a valid bearer token is required (Authorization: Bearer TOKEN)")

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(auth)])

    @v1.post("/recommend", response_model=TurnResult, summary="One-off recommendation (no session kept)")
    def recommend(body: RecommendRequest, user: Annotated[str | None, Depends(_user)]) -> TurnResult:
        result = rec.turn(body.statement, user_id=user, scene=body.scene, k=body.k)
        sessions.drop(result.session_id)
        return result

    @v1.post("/sessions", response_model=SessionInfo, status_code=201, summary="Open a chat session")
    def open_session(user: Annotated[str, Depends(_required_user)], body: SessionCreate | None = None) -> SessionInfo:
        scene = body.scene if body else None
        if scene is not None and scene not in rec.scenes:
            msg = f"unknown scene {scene!r}; the store's scenes are: {', '.join(rec.scenes)}"
            raise UsageError(msg)
        return SessionInfo(**sessions.open(user, scene).info())

    def owned(session_id: str, user: str) -> Session:
        sess = sessions.find(session_id, user)
        if sess is None:
            raise HTTPException(404, f"no session {session_id[:80]!r} for this user")
        return sess

    @v1.post("/sessions/{session_id}/turns", response_model=TurnResult, summary="Say something in a session")
    def turn(session_id: str, body: TurnRequest, user: Annotated[str, Depends(_required_user)]) -> TurnResult:
        sess = owned(session_id, user)
        scene = body.scene or (sess.start_scene if not sess.turns else None)
        result = rec.turn(body.statement, user_id=user, scene=scene, session_id=session_id, k=body.k)
        log_turn(result)
        return result

    def log_turn(result: TurnResult) -> None:
        record = TurnRecord(statement=result.statement, scene=result.scene, item_ids=[i.item_id for i in result.items],
                            refinements=list(result.refinements), reply=result.reply)  # fmt: skip
        sessions.log_turn(result.session_id, record)

    @v1.post("/sessions/{session_id}/turns/stream", response_class=StreamingResponse, responses=_SSE,
             summary="Say something in a session; the turn's stages stream as server-sent events")  # fmt: skip
    def turn_stream(session_id: str, body: TurnRequest, user: Annotated[str, Depends(_required_user)]) -> Any:
        sess = owned(session_id, user)  # a missing session is a 404 before the stream starts
        scene = body.scene or (sess.start_scene if not sess.turns else None)

        def run(emit: Any) -> TurnResult:
            return rec.turn(body.statement, user_id=user, scene=scene, session_id=session_id, k=body.k, on_event=emit)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream_turn(run, log_turn), media_type="text/event-stream", headers=headers)

    @v1.patch("/sessions/{session_id}", response_model=SessionInfo,
              summary="Edit what a session has established: its scene, its exclusions")  # fmt: skip
    def edit_session(session_id: str, body: SessionEdit, user: Annotated[str, Depends(_required_user)]) -> SessionInfo:
        sess = owned(session_id, user)
        if body.scene is not None and body.scene not in rec.scenes:
            msg = f"unknown scene {body.scene!r}; the store's scenes are: {', '.join(rec.scenes)}"
            raise UsageError(msg)
        sessions.edit(sess, scene=body.scene, remove_exclusions=body.remove_exclusions)
        return SessionInfo(**sess.info())

    @v1.get("/sessions/{session_id}", response_model=SessionInfo, summary="A session's turns")
    def get_session(session_id: str, user: Annotated[str, Depends(_required_user)]) -> SessionInfo:
        return SessionInfo(**owned(session_id, user).info())

    @v1.delete("/sessions/{session_id}", status_code=204, summary="End a session")
    def delete_session(session_id: str, user: Annotated[str, Depends(_required_user)]) -> None:
        if not sessions.drop(session_id, user):
            raise HTTPException(404, f"no session {session_id[:80]!r} for this user")

    @v1.post("/users/{user_id}/feedback", response_model=FeedbackRecorded, status_code=201,
             summary="Record a like, dislike, purchase or view; later turns in every scene use it")  # fmt: skip
    def feedback(
        user_id: str, body: FeedbackRequest, user: Annotated[str, Depends(_required_user)]
    ) -> FeedbackRecorded:
        if user_id != user:
            raise HTTPException(403, "feedback can only be recorded for the user in X-User-Id")
        return record_feedback(rec, user_id, body.item_id, body.kind)

    @v1.delete("/users/{user_id}", response_model=ForgetResult, summary="Forget a user: profile and sessions")
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

    _handlers(app, cfg)
    return app


def _handlers(app: FastAPI, cfg: ApiSettings) -> None:
    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        size = request.headers.get("content-length")
        if size is not None and (not size.isdigit() or int(size) > cfg.max_body_bytes):
            return _error(413, "too_large", f"request bodies are limited to {cfg.max_body_bytes:,} bytes")
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()]
        return _error(422, "validation", "the request does not match the API's schema", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "not_allowed"}
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
        return _error(exc.status_code, kinds.get(exc.status_code, "http"), str(exc.detail), headers=headers)

    @app.exception_handler(ScenebridgeError)
    async def usage(request: Request, exc: ScenebridgeError) -> JSONResponse:
        status = 503 if isinstance(exc, StoreError) else 400
        lines = str(exc).splitlines() or [type(exc).__name__]
        return _error(status, type(exc).__name__, lines[0], lines[1:])

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        ref = uuid.uuid4().hex[:12]
        log.exception("internal error %s on %s %s", ref, request.method, request.url.path)
        return _error(500, "internal", f"internal error (reference {ref}); the server log has the details")
