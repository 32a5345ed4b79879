"""The CLI's console: rich output that keeps its width off a terminal."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["make_console"]


def make_console(width: int = 140) -> Console:
    """A rich console; off a terminal rich assumes 80 columns, which would squash the tables, so use ``width``."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else width)
