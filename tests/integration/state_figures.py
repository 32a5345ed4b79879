"""The thread and PostgreSQL tests' figures, written as JSON when ``SCENEBRIDGE_RELIABILITY_OUT=DIR`` asks.

``DIR/state.json`` has the shape the reliability report renders (``{"title", "command", "figures", "notes"}``).
A test records its figures only after it has checked everything it promises, so a failing test adds none. The
first write of a pytest process starts the file afresh; later ones add to it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

OUT_ENV = "SCENEBRIDGE_RELIABILITY_OUT"
COMMAND = (
    "SCENEBRIDGE_RELIABILITY_OUT=benchmarks/results/reliability .venv/bin/python -m pytest -q -p no:cacheprovider "
    "tests/integration/test_threads.py tests/integration/test_postgres_state.py"
)
_figures: dict[str, float | int | str] = {}
_notes: list[str] = []
_started = False


def record(note: str, **figures: float | int | str) -> None:
    """Adds one test's figures and one line on what it checked (nothing without ``SCENEBRIDGE_RELIABILITY_OUT``)."""
    global _started
    out = os.environ.get(OUT_ENV)
    if not out:
        return
    _figures.update(figures)
    _notes.append(note)
    path = Path(out) / "state.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not _started and path.exists():
        path.unlink()  # a new run: the figures of an earlier one must not mix in
    _started = True
    payload = {"title": "Threads and shared state", "command": COMMAND, "figures": _figures, "notes": _notes}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
