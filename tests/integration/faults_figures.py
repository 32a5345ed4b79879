"""The fault tests' figures, written as JSON when ``SCENEBRIDGE_RELIABILITY_OUT=DIR`` asks for them.

``DIR/faults.json`` has the shape the reliability report renders (``{"title", "command", "figures", "notes"}``).
Each fault is counted as injected when a test injects it and as survived only when the test has checked everything
it promises, so a failing test leaves an injected fault that was not survived. The first write of a pytest process
starts the file afresh; later ones add to it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

OUT_ENV = "SCENEBRIDGE_RELIABILITY_OUT"
COMMAND = (
    "SCENEBRIDGE_RELIABILITY_OUT=benchmarks/results/reliability .venv/bin/python -m pytest -q -p no:cacheprovider "
    "tests/integration/test_faults_*.py"
)
_TMP = re.compile(r"/tmp/\S*?(?=[ )\]]|$)")  # a test's temporary path says nothing in a report
_state: dict[str, Any] = {"faults": {}, "figures": {}, "notes": []}
_started = False


def injected(fault: str) -> None:
    """Counts ``fault`` as injected (not yet survived)."""
    _state["faults"].setdefault(fault, False)
    _write()


def survived(fault: str, note: str, **figures: float | int | str) -> None:
    """Counts ``fault`` as survived, with its figures and one line on what was checked."""
    _state["faults"][fault] = True
    _state["figures"].update(figures)
    _state["notes"].append(f"{fault}: {_TMP.sub('<tmp>', note)}")
    _write()


def _write() -> None:
    global _started
    out = os.environ.get(OUT_ENV)
    if not out:
        return
    path = Path(out) / "faults.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not _started and path.exists():
        path.unlink()  # a new run: the figures of an earlier one must not mix in
    _started = True
    faults = _state["faults"]
    figures = {
        "faults injected": len(faults),
        "faults survived": sum(faults.values()),
        **_state["figures"],
    }
    notes = [*_state["notes"], *(f"{f}: injected, NOT survived" for f, ok in faults.items() if not ok)]
    payload = {"title": "Faults with real processes", "command": COMMAND, "figures": figures, "notes": notes}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
