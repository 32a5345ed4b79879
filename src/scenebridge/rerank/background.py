"""A fusion reranker that loads in a background thread: a fresh CLI call parses with the LLM while the checkpoint
loads (its numpy weights, behaviour statistics and catalogue; torch is not imported to answer), and waits only when
it first reranks."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from scenebridge.extras import available, missing
from scenebridge.llm.threads import background_work
from scenebridge.rerank.checkpoint import read_config
from scenebridge.rerank.fusion import FusionReranker, load_reranker

__all__ = ["BackgroundReranker"]


class BackgroundReranker(FusionReranker):
    """A :class:`FusionReranker` whose checkpoint loads in a thread from construction on.

    The config is checked at once (a wrong folder is an error of the command, not of a later turn), so the scene
    and the embedder are known without waiting; the first use of anything else waits for the load and then this
    object *is* the loaded reranker (its state is taken over), so ``isinstance`` checks and every method behave as
    for one loaded in the foreground. A load error is raised at that first use.
    """

    def __init__(self, path: str | Path, embedder: str | None = None) -> None:
        # No super().__init__: the parent's state arrives from the loaded instance in _join.
        if not available("torch"):  # found without importing it (the import is what runs in the background)
            raise missing("train", "a trained reranker (--reranker DIR, torch)")
        self.__dict__["_config"] = read_config(path, embedder)
        self.__dict__["_path"], self.__dict__["_embedder"] = Path(path), embedder
        self.__dict__["_lock"] = threading.Lock()
        self.__dict__["_error"] = None
        self.__dict__["_loaded"] = False
        thread = threading.Thread(target=self._load, name="reranker-load", daemon=True)
        self.__dict__["_thread"] = thread
        thread.start()

    def _load(self) -> None:
        try:
            with background_work():  # the LLM parsing meanwhile leaves this load a core
                self.__dict__["_ready"] = load_reranker(self._path, self._embedder)
        except Exception as exc:  # re-raised in the thread that uses it
            self.__dict__["_error"] = exc

    def _join(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._thread.join()
            if self._error is not None:
                raise self._error
            self.__dict__.update(self.__dict__.pop("_ready").__dict__)
            self.__dict__["_loaded"] = True

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not set yet: the loaded reranker's state.
        if name.startswith("__") or self.__dict__.get("_loaded", True):
            raise AttributeError(name)
        self._join()
        return getattr(self, name)

    def wait(self) -> BackgroundReranker:
        """Waits for the load (long-lived processes do at start-up, so a corrupt file fails there)."""
        self._join()
        return self

    @property
    def embedder_id(self) -> str:
        return str(self._config["embedder"])

    @property
    def scene(self) -> str:
        return str(self._config["target"])

    @property
    def scenes(self) -> tuple[str, ...]:
        """The one scene it serves (routers ask for ``scenes`` first: answered without waiting for the load)."""
        return (self.scene,)
