"""The CLI's console: rich output that keeps its width off a terminal."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["make_console"]


PROCESS_ENTRY = False
"""True when the command runs as its own process (``scenebridge`` on the command line: :func:`scenebridge.cli.main`),
not inside another program (a test's ``CliRunner``)."""


def finish_one_shot() -> None:
    """Ends a one-shot command's process as soon as its answer is out.

    Its work is done and written (the answer flushed; SQLite commits each write); what is left is the interpreter
    tearing down torch, Chroma and the model (~1-3 s measured for torch alone on this 2-core machine), which
    nobody waits for gladly. Inside another program it returns and lets that program go on.
    """
    if not PROCESS_ENTRY:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def make_console(width: int = 140) -> Console:
    """A rich console; off a terminal rich assumes 80 columns, which would squash the tables, so use ``width``."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else width)
