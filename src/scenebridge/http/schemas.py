"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from scenebridge.agent.parse import MAX_STATEMENT_CHARS
from scenebridge.settings import MAX_K

__all__ = [
    "MAX_STATEMENT",
    "MAX_USER_ID",
    "STATEMENT_PATTERN",
    "USER_PATTERN",
    "ErrorBody",
    "ErrorDetail",
    "FeedbackRequest",
    "ForgetResult",
    "Health",
    "RecommendRequest",
    "SessionCreate",
    "SessionEdit",
    "SessionInfo",
    "TurnLog",
    "TurnRequest",
]

MAX_STATEMENT = MAX_STATEMENT_CHARS
# What the turn itself accepts, published in the schema so that a schema-valid statement is never refused: at least
# one character that is neither whitespace nor a control character (the turn strips both, and an empty statement is
# an error). A JSON Schema pattern matches anywhere in the string, as pydantic's does.
STATEMENT_PATTERN = r"[^\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
# A header value that is not blank (HTTP strips the blanks around it).
USER_PATTERN = r"[^\x00-\x20\x7f]"
MAX_USER_ID = 200


def _statement(description: str) -> Any:
    return Field(min_length=1, max_length=MAX_STATEMENT, pattern=STATEMENT_PATTERN, description=description)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecommendRequest(_Body):
    """A one-off recommendation (no session is kept); the user, if any, comes from the ``X-User-Id`` header."""

    statement: str = _statement("What the person did and wants now (EN/ZH), 1 to 4,000 characters, not blank.")
    scene: str | None = Field(None, max_length=200, description="Scene to recommend in; default: the statement's.")
    k: int | None = Field(None, ge=1, le=MAX_K, description="Items to return.")


class FeedbackRequest(_Body):
    """What the user in ``X-User-Id`` did with a catalogue item."""

    item_id: str = Field(min_length=1, max_length=200, description="The catalogue item.")
    kind: Literal["like", "dislike", "purchase", "view"] = Field("like", description="What the user did.")


class SessionCreate(_Body):
    """A new chat session for the user in ``X-User-Id``."""

    scene: str | None = Field(None, max_length=200, description="The starting scene.")


class SessionEdit(_Body):
    """Edits to what a session has established (what the page's chips change); the next turn uses them."""

    scene: str | None = Field(None, max_length=200, description="Move the session to this scene.")
    remove_exclusions: list[str] = Field(default_factory=list, max_length=12,
                                         description="Exclusions to drop (case-insensitive).")  # fmt: skip


class TurnRequest(_Body):
    """One turn of a session: a statement or a follow-up ("not office paper", "cheaper", ...)."""

    statement: str = _statement("What the person says now: a statement or a follow-up, 1 to 4,000 characters.")
    scene: str | None = Field(None, max_length=200)
    k: int | None = Field(None, ge=1, le=MAX_K)


class TurnLog(BaseModel):
    """What one turn of a session said and answered."""

    statement: str
    scene: str
    item_ids: list[str]
    refinements: list[str]
    reply: str


class SessionInfo(BaseModel):
    """A session as its owner sees it."""

    session_id: str
    user_id: str
    created: float
    scene: str | None
    exclusions: list[str] = Field(default_factory=list)
    turns: list[TurnLog] = Field(default_factory=list)


class ForgetResult(BaseModel):
    """What forgetting a user deleted."""

    user_id: str
    profile_events_deleted: int
    sessions_deleted: int


class Health(BaseModel):
    """Liveness and what the server serves."""

    status: str
    scenes: list[str]
    llm: str
    sessions: int


class ErrorDetail(BaseModel):
    """Why a request failed."""

    type: str
    message: str
    details: list[str] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """Every error response: ``{"error": {"type", "message", "details"}}``."""

    error: ErrorDetail
