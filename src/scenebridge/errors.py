"""Errors a user can act on. The CLI prints their message on one line and exits with code 2."""

from __future__ import annotations

__all__ = [
    "DatasetError",
    "EmbedderError",
    "LLMError",
    "OverloadError",
    "ScenebridgeError",
    "StoreError",
    "UsageError",
]


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


class OverloadError(ScenebridgeError):
    """More turns at once than the server admits (HTTP 429 when its queue is full, 503 when the wait ran out).

    Attributes:
        retry_after: seconds after which a retry is likely to be admitted (the ``Retry-After`` header).
        waited: True when the request queued and its wait ran out; False when the queue was full on arrival.
    """

    def __init__(self, message: str, *, retry_after: int = 1, waited: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.waited = waited
