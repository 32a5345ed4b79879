"""The thread and PostgreSQL tests' figures, as the reliability report's ``state`` part
(``$SCENEBRIDGE_RELIABILITY_OUT/state.json``, written by :func:`scenebridge.bench.reliability.write_part`).

A test records its figures only after it has checked everything it promises, so a failing test adds none. Each
write holds every figure recorded so far in this pytest process (a new run replaces the file of an earlier one).
"""

from __future__ import annotations

from scenebridge.bench.reliability import write_part

COMMAND = (
    "SCENEBRIDGE_RELIABILITY_OUT=benchmarks/results/reliability .venv/bin/python -m pytest -q -p no:cacheprovider "
    "tests/integration/test_threads.py tests/integration/test_postgres_state.py"
)
_figures: dict[str, float | int | str] = {}
_notes: list[str] = []


def record(note: str, **figures: float | int | str) -> None:
    """Adds one test's figures and one line on what it checked (written only with ``SCENEBRIDGE_RELIABILITY_OUT``)."""
    _figures.update(figures)
    _notes.append(note)
    write_part("state", title="Threads and shared state", command=COMMAND, figures=_figures, notes=_notes)
