"""Errors a user can act on. The CLI prints their message on one line and exits with code 2."""

from __future__ import annotations

__all__ = ["DatasetError", "EmbedderError", "LLMError", "ScenebridgeError", "StoreError", "UsageError"]


class ScenebridgeError(Exception):
    """Base class for every error whose message is meant for the user."""


class UsageError(ScenebridgeError):
    """A bad argument or option (unknown method, unknown scene, bad path)."""


class DatasetError(ScenebridgeError):
    """A dataset folder that cannot be read as the canonical format.

    Attributes:
        problems: every problem found, one line each (``file:line: reason``).
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class StoreError(ScenebridgeError):
    """The item store cannot be opened, reached or used as asked (server down, wrong embedder, read-only)."""


class LLMError(ScenebridgeError):
    """The LLM could not answer (unreachable, timed out, model missing or corrupt)."""


class EmbedderError(ScenebridgeError):
    """An embedder failed at run time (an endpoint down, a bad answer)."""
