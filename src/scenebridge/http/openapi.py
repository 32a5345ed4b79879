"""What the published OpenAPI says beyond the models: error responses, the turn gate's 429/503, the links a client
follows from a new session, and the store's scenes as an enum — so a request the schema allows is one the server
takes (the schema-driven fuzzing in ``tests/integration/test_http_fuzz.py`` holds it to that)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI

from scenebridge.http.schemas import ErrorBody

__all__ = ["ERRORS", "SESSION_LINKS", "SSE", "TURN_ERRORS", "publish_scenes"]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 500, 503)
}
_RETRY_AFTER = {"description": "Seconds after which a retry is likely to be admitted.",
                "schema": {"type": "integer", "minimum": 1}}  # fmt: skip
TURN_ERRORS: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "The turn queue is full ([api] turn_queue); nothing was done.",
          "headers": {"Retry-After": {**_RETRY_AFTER, "required": True}}},
    503: {"model": ErrorBody, "description": "No turn slot within [api] queue_wait_s (with Retry-After), or the "
          "item store is unreachable.", "headers": {"Retry-After": _RETRY_AFTER}},
}  # fmt: skip
_SSE_DOC = (
    "Server-sent events: parsed, ranked, explained (one per item), then done (the turn's result, as the JSON "
    'endpoint answers it) or error ({"error": {type, message, details}}).'
)
# Before OpenAPI 3.2 (FastAPI publishes 3.1) an event stream's ``schema`` describes each event, as clients parse it.
_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["parsed", "ranked", "explained", "done", "error"]},
        "data": {"type": "string", "contentMediaType": "application/json",
                 "description": "One JSON object; every event's has server_ms."},
    },
}  # fmt: skip
SSE: dict[int | str, dict[str, Any]] = {
    200: {"description": _SSE_DOC, "content": {"text/event-stream": {"schema": _EVENT}}}
}
_SESSION = {"session_id": "$response.body#/session_id", "header.x-user-id": "$response.body#/user_id"}
_USER = {"user_id": "$response.body#/user_id", "header.x-user-id": "$response.body#/user_id"}
SESSION_LINKS: dict[int | str, dict[str, Any]] = {
    201: {"links": {
        name: {"operationId": op, "parameters": dict(params), "description": what}
        for name, op, params, what in (
            ("turn", "sessionTurn", _SESSION, "Say something in the new session."),
            ("streamTurn", "sessionTurnStream", _SESSION, "The same turn as server-sent events."),
            ("edit", "editSession", _SESSION, "Edit its scene or exclusions."),
            ("get", "getSession", _SESSION, "Its turns."),
            ("end", "endSession", _SESSION, "End it."),
            # Not forgetting the user: it ends the session too, which a client following links cannot tell from a
            # lost session (schemathesis counts a DELETE only for the resource's own path).
            ("feedback", "recordFeedback", _USER, "Record the session's user's feedback on an item."),
        )
    }}
}  # fmt: skip
_WITH_SCENE = ("RecommendRequest", "TurnRequest", "SessionCreate", "SessionEdit")


def publish_scenes(app: FastAPI, scenes: Sequence[str]) -> None:
    """Publishes ``scene`` in the request bodies as an enum of the store's scenes (another scene answers 400)."""
    if not scenes:
        return
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            for name in _WITH_SCENE:
                prop = spec["components"]["schemas"][name]["properties"]["scene"]
                prop["anyOf"] = [{"type": "string", "enum": list(scenes)}, {"type": "null"}]
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
