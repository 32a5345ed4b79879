"""scenebridge: a cross-scene recommender that a chat assistant can plug in.

The public API: :func:`build_recommender` (settings in, a wired :class:`Recommender` out), :class:`Settings`, the
turn's :class:`TurnResult`, and the errors. Heavy parts load on first use, so ``import scenebridge`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from scenebridge.errors import (
    DatasetError,
    EmbedderError,
    LLMError,
    ScenebridgeError,
    StoreError,
    UsageError,
)
from scenebridge.version import __version__

if TYPE_CHECKING:
    from scenebridge.agent.turn import Recommender, TurnResult
    from scenebridge.build import build_recommender
    from scenebridge.settings import Settings


__all__ = [
    "DatasetError",
    "EmbedderError",
    "LLMError",
    "Recommender",
    "ScenebridgeError",
    "Settings",
    "StoreError",
    "TurnResult",
    "UsageError",
    "__version__",
    "build_recommender",
]

_LAZY = {
    "Recommender": "scenebridge.agent.turn",
    "TurnResult": "scenebridge.agent.turn",
    "build_recommender": "scenebridge.build",
    "Settings": "scenebridge.settings",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    msg = f"module 'scenebridge' has no attribute {name!r}"
    raise AttributeError(msg)
