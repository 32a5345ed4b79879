"""Resuming an interrupted ``scenebridge train``: the training state after each finished epoch.

The state (model, optimiser, random generators, the best model so far, the report's history) is written to
``OUT/resume.pt`` after every epoch — to a temporary file renamed over the old one, so a kill at any moment leaves
the last complete state. A new run with the same data, scenes and settings continues after the last finished epoch
and ends exactly where an uninterrupted run would; the file is removed once the checkpoint is written. Features are
recomputed on resume (deterministic, and too large to keep: hundreds of MB for Amazon Art→Office).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scenebridge.data.format import Dataset
    from scenebridge.rerank.config import TrainConfig

__all__ = ["RESUME_FILE", "fingerprint", "load_state", "save_state"]

RESUME_FILE = "resume.pt"
_FORMAT = 1


def fingerprint(ds: Dataset, source: str, target: str, cfg: TrainConfig, linked: bool = False) -> str:
    """What a saved state must match to be resumed: the data's content, the scenes, every setting and whether the
    statements were linked (``linked``)."""
    import pandas as pd

    h = hashlib.sha256(f"{_FORMAT}|{source}|{target}|{cfg.model_dump_json()}{'|linked' if linked else ''}".encode())
    for frame in (ds.items, ds.interactions):
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def save_state(out: Path, state: dict[str, Any]) -> None:
    """Writes the state atomically (temporary file, then rename)."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (RESUME_FILE + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, out / RESUME_FILE)


def load_state(out: Path, expected: str) -> tuple[dict[str, Any] | None, str | None]:
    """The saved state if it matches ``expected``, and a note for the user when one was found but not used."""
    import torch

    path = out / RESUME_FILE
    if not path.is_file():
        return None, None
    try:
        state = torch.load(path, weights_only=False)
    except Exception as exc:  # a truncated or foreign file must not stop training: start over instead
        return None, f"ignored {path}: unreadable ({type(exc).__name__}); starting over"
    if not isinstance(state, dict) or state.get("fingerprint") != expected:
        return None, f"ignored {path}: saved for other data or settings; starting over"
    return state, None
