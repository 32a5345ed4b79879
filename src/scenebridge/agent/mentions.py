"""What a person says they did ("I bought watercolor paints on my PC"), read without a model: mentions and context.

Placeholder of the shared interface; filled in by the linking work (issue 11, item 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scenebridge.agent.summary import Mention, SceneContext

__all__ = ["read_mentions"]


def read_mentions(
    statement: str, scenes: Sequence[str] = (), scene_hints: Mapping[str, Sequence[str]] | None = None
) -> tuple[list[Mention], SceneContext]:
    """The mentions (what they did, with what) and the context (device/platform before and now) of a statement."""
    del statement, scenes, scene_hints
    return [], SceneContext()
