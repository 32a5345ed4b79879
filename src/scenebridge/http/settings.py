"""HTTP API settings (``[api]`` table, ``SCENEBRIDGE_API_*`` environment variables)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from scenebridge.settings import _Settings

__all__ = ["ApiSettings"]


class ApiSettings(_Settings):
    """The HTTP API: an optional bearer token and limits."""

    table: ClassVar[str] = "api"
    model_config = SettingsConfigDict(env_prefix="SCENEBRIDGE_API_", extra="forbid")

    token: str | None = Field(None, description="Bearer token every /v1 request must carry; none = open.")
    max_body_bytes: int = Field(2_000_000, ge=1024, description="Larger request bodies get 413.")
    max_sessions: int = Field(10_000, ge=1, description="Sessions kept (least recently used dropped).")
    max_sessions_per_user: int = Field(100, ge=1, description="Open sessions one user may hold.")
    turn_log: int = Field(50, ge=1, description="Turns remembered per session for GET /v1/sessions/{id}.")
