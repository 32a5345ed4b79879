"""Constraints on item attributes (year, price, sequels, brand): read from a statement, applied to candidates.

Placeholder of the shared interface; filled in by the constraints work (issue 11, item 3).
"""

from __future__ import annotations

from scenebridge.agent.summary import Constraints

__all__ = ["read_constraints"]


def read_constraints(statement: str, base: Constraints) -> Constraints:
    """The constraints a statement states, on top of ``base`` (what the lexical parser read already)."""
    del statement
    return base
