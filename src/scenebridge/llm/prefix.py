"""The evaluated system prompt of a chat, kept in RAM and on disk, so that a fresh process starts where a warm one does.

Every parse sends the same system prompt (the instructions and the catalogue's scenes) before the statement. A
long-lived process evaluates it once; a one-shot CLI call paid it again every time. :class:`PrefixCache` evaluates the
prefix of a prompt (the system message and the user turn's header) once, saves the model state after it (the KV cache
of those tokens, a few MB) under the user cache folder, and restores it in later processes.

It also fixes *where* the evaluation is split: before each completion the model is cut back to the prefix, so the
statement is always evaluated in one batch after the same prefix state, whatever the previous call left in the cache.
A greedy answer then depends on the prompt alone (llama.cpp's own reuse of the previous call's tokens split the
evaluation differently when a statement followed itself, which flipped near-ties: docs/contention.md).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from scenebridge.llm.models import MODELS, model_path
from scenebridge.settings import cache_dir

__all__ = [
    "FORMAT",
    "KVModel",
    "PrefixCache",
    "PrefixState",
    "PrefixStore",
    "common_prefix",
    "model_identity",
    "prefix_folder",
    "prefix_key",
]

FORMAT = 1
"""Bump when the file layout changes: old files then no longer match a key."""


@dataclass(frozen=True)
class PrefixState:
    """The tokens of a prefix and the model state (llama.cpp's serialised context) after evaluating them."""

    tokens: tuple[int, ...]
    state: bytes


class KVModel(Protocol):
    """What the cache needs of a loaded model (a thin adapter over ``llama_cpp.Llama``; a fake in the tests)."""

    def cached_tokens(self) -> Sequence[int]:
        """The tokens whose keys and values the context holds now, in order."""
        ...

    def truncate(self, n: int) -> None:
        """Keeps the first ``n`` cached tokens (the next completion evaluates everything after them)."""
        ...

    def evaluate(self, tokens: Sequence[int]) -> None:
        """Clears the context and evaluates ``tokens`` from position 0."""
        ...

    def get_state(self) -> bytes:
        """The serialised context (KV cache of the cached tokens)."""
        ...

    def set_state(self, tokens: Sequence[int], state: bytes) -> None:
        """Restores a context saved by :meth:`get_state` after evaluating ``tokens``.

        Raises:
            ValueError: when the state does not fit this context.
        """
        ...


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """The number of leading tokens ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def model_identity(path: Path) -> str:
    """What identifies a model file: the known sha256 of an installed model (verified when it was installed, so
    nothing is hashed at start-up), else the resolved path, size and modification time of any other GGUF."""
    path = Path(path)
    stat = path.stat()
    for name, spec in MODELS.items():
        installed = model_path(name)
        if stat.st_size == spec.size and installed.is_file() and installed.resolve() == path.resolve():
            return f"sha256:{spec.sha256}"
    return f"file:{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def prefix_key(identity: str, tokens: Sequence[int]) -> str:
    """The file name of a prefix state: the model's identity (its sha256, the llama.cpp runtime version and the
    context size: what the saved state depends on) and the prefix tokens themselves (the rendered system prompt: its
    wording, prompt version and scene list) hashed together."""
    digest = hashlib.sha256(f"v{FORMAT}|{identity}|".encode())
    digest.update(np.asarray(tokens, dtype=np.int32).tobytes())
    return digest.hexdigest()[:32]


def prefix_folder() -> Path:
    """Where prefix states live: ``$SCENEBRIDGE_CACHE/llama-prefix`` (default ``~/.cache/scenebridge``)."""
    return cache_dir() / "llama-prefix"


class PrefixStore:
    """Prefix states as ``.npz`` files (no pickles: a cache file is data, never code), at most ``keep`` of them."""

    def __init__(self, folder: Path | None = None, keep: int = 16) -> None:
        self.folder = Path(folder) if folder is not None else prefix_folder()
        self.keep = keep

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def load(self, key: str) -> PrefixState | None:
        """The state saved under ``key``, or ``None`` when there is none or the file cannot be read (it is then
        evaluated again and overwritten)."""
        path = self.path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                state = PrefixState(tuple(int(t) for t in data["tokens"]), data["state"].tobytes())
            os.utime(path)  # recently used: kept by the pruning below
        except (OSError, ValueError, KeyError, EOFError):
            return None
        return state

    def save(self, key: str, state: PrefixState) -> None:
        """Writes atomically (two processes may save the same prefix); a cache that cannot be written is skipped."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key}-", suffix=".npz", dir=self.folder)
            with os.fdopen(fd, "wb") as out:
                np.savez(out, tokens=np.asarray(state.tokens, dtype=np.int32),
                         state=np.frombuffer(state.state, dtype=np.uint8))  # fmt: skip
            os.replace(tmp, self.path(key))
            self._prune()
        except OSError:
            return

    def _prune(self) -> None:
        files = sorted(self.folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[self.keep :]:
            old.unlink(missing_ok=True)


class PrefixCache:
    """Puts a model's context at a prompt prefix before each completion: from the context itself, from RAM, from disk,
    or by evaluating it (then saved to disk)."""

    def __init__(self, model: KVModel, identity: str, store: PrefixStore | None = None, in_memory: int = 4) -> None:
        """``identity``: what the state depends on besides the tokens (see :func:`prefix_key`); ``store``: None = RAM
        only."""
        self.model = model
        self.identity = identity
        self.store = store
        self.in_memory = in_memory
        self._states: OrderedDict[tuple[int, ...], PrefixState] = OrderedDict()
        self.last = ""
        """Where the latest prefix came from: ``context``, ``memory``, ``disk`` or ``evaluated``."""

    def prepare(self, prefix: Sequence[int]) -> str:
        """Leaves the context holding exactly ``prefix``; returns where it came from (see :attr:`last`)."""
        prefix = tuple(prefix)
        if not prefix:
            self.model.truncate(0)
            self.last = "evaluated"
            return self.last
        cached = self.model.cached_tokens()
        if len(cached) >= len(prefix) and common_prefix(cached, prefix) == len(prefix):
            # Cut back to the prefix even when more matches: the statement is then evaluated in one batch, as after
            # a restore, so the answer does not depend on the previous call.
            self.model.truncate(len(prefix))
            self.last = "context"
            return self.last
        state = self._states.get(prefix)
        self.last = "memory"
        if state is None and self.store is not None:
            state = self.store.load(self._key(prefix))
            self.last = "disk"
        if state is not None and state.tokens == prefix:
            try:
                self.model.set_state(prefix, state.state)
            except ValueError:
                state = None  # from another build of the runtime, or damaged: evaluate it again
            else:
                self._remember(prefix, state)
                return self.last
        self.model.evaluate(prefix)
        state = PrefixState(prefix, self.model.get_state())
        self._remember(prefix, state)
        if self.store is not None:
            self.store.save(self._key(prefix), state)
        self.last = "evaluated"
        return self.last

    def forget(self) -> None:
        """Drops the states kept in RAM (the next :meth:`prepare` reads the file, as a fresh process does)."""
        self._states.clear()

    def states(self) -> list[PrefixState]:
        """The states kept in RAM, oldest first."""
        return list(self._states.values())

    def _key(self, prefix: Sequence[int]) -> str:
        return prefix_key(self.identity, prefix)

    def _remember(self, prefix: tuple[int, ...], state: PrefixState) -> None:
        self._states[prefix] = state
        self._states.move_to_end(prefix)
        while len(self._states) > self.in_memory:
            self._states.popitem(last=False)
