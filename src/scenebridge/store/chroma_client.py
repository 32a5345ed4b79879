"""Opening Chroma, and its failures as one clear :class:`StoreError`.

Every call on the client, and on the collections it hands out, goes through :class:`Guarded`: a failure from
outside this program (a server that is down or restarting, a disk that is full, a folder that is read-only) becomes
a StoreError that says what to do, which the CLI prints on one line and the HTTP API answers as a 503. Nothing is
kept from a failed call, so the store works again once the cause is gone: the HTTP client opens a new connection on
its next call, and the item store re-lists its collections (see ``ItemStore._failed``).
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from scenebridge.errors import StoreError

__all__ = ["CONNECT_TIMEOUT", "READ_TIMEOUT", "Guarded", "failure", "open_client"]

# Chroma's HTTP client waits without end (httpx timeout=None): a server that stops answering would hold a request
# for ever. A refused connection fails at once; a connect that hangs gives up after CONNECT_TIMEOUT, a read after
# READ_TIMEOUT (an upsert of 1,024 items takes well under a second on a local server).
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 30.0

_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
_FULL_WORDS = ("disk is full", "no space left", "file too large", "disk i/o error", "quota exceeded")
_READ_ONLY_WORDS = ("readonly database", "read-only", "read only", "permission denied")


def open_client(path: str | Path | None, url: str | None) -> tuple[Any, str]:
    """A heartbeat-checked Chroma client: a server at ``url``, else an embedded store in ``path``; and where it is.

    Raises:
        StoreError: when the server does not answer or the folder cannot be opened.
    """
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    try:
        if url:
            parsed = urlparse(url if "://" in url else f"http://{url}")
            client = chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or 8000,
                ssl=parsed.scheme == "https",
                settings=settings,
            )
            _bound_waits(client)
            client.heartbeat()
            return client, url
        root = Path(path or "store")
        root.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(root), settings=settings)
        client.heartbeat()
        return client, str(root)
    except StoreError:
        raise
    except Exception as exc:
        target = f"the Chroma server at {url}" if url else f"the store folder {path}"
        hint = "start it with `chroma run --path DIR --port N`" if url else "check that it is writable"
        msg = f"cannot open {target} ({_cause(exc)}); {hint}"
        raise StoreError(msg) from None


def _bound_waits(client: Any) -> None:
    """Gives the HTTP client's session finite timeouts (Chroma offers no setting for them)."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)


def _cause(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def _errno(exc: BaseException) -> int | None:
    """The OS error number behind an exception, following its causes (Chroma and SQLite wrap them)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen.errno
        seen = seen.__cause__ or seen.__context__
    return None


def failure(exc: Exception, where: str, remote: bool, what: str = "item store") -> StoreError | None:
    """The StoreError for a failed Chroma call, or None for one that is a bug of the caller (re-raised as is).

    Args:
        exc: what the Chroma client raised.
        where: the server URL or the store folder.
        remote: whether ``where`` is a server.
        what: what is at ``where`` (the item store, the embedding cache).
    """
    import httpx
    from chromadb.errors import ChromaError

    text = str(exc).lower()
    code = _errno(exc)
    if remote and isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError):
        msg = (
            f"the Chroma server at {where} does not answer ({_cause(exc)}); check that it runs "
            "(`chroma run --path DIR --port N`): requests succeed again once it is back, without a restart"
        )
        return StoreError(msg)
    if not isinstance(exc, OSError | sqlite3.Error | ChromaError) and type(exc) is not Exception:
        return None  # a TypeError or ValueError is a bug here, not a store that failed
    if code in _FULL or any(w in text for w in _FULL_WORDS):
        msg = (
            f"cannot write the {what} at {where} ({_cause(exc)}): the disk is full or a file size limit was hit; "
            "free some space and run `scenebridge index` again (it finishes what is left)"
        )
        return StoreError(msg)
    if code in _READ_ONLY or any(w in text for w in _READ_ONLY_WORDS):
        msg = (
            f"cannot write the {what} at {where} ({_cause(exc)}): it is read-only; make it writable, or index "
            "into another folder (--store DIR)"
        )
        return StoreError(msg)
    if remote:
        return StoreError(f"the Chroma server at {where} failed ({_cause(exc)})")
    # Embedded Chroma often hides the OS error of a failed write behind its own words ("Error in compaction: Failed
    # to apply logs to the metadata segment" for a file that could not grow): name the likely causes.
    msg = (
        f"the {what} at {where} failed ({_cause(exc)}); if the disk is full or the folder read-only, free some space "
        "or make it writable and run `scenebridge index` again (it finishes what is left)"
    )
    return StoreError(msg)


class Guarded:
    """A Chroma client or collection whose failed calls raise what ``on_failure`` makes of them.

    Attributes pass through; each method's result is guarded too when it is a collection (or a list of them), so
    ``client.list_collections()[0].query(...)`` fails as clearly as ``client.heartbeat()``.
    """

    def __init__(self, target: Any, on_failure: Callable[[Exception], StoreError | None]) -> None:
        self._target = target
        self._on_failure = on_failure

    @property
    def unwrapped(self) -> Any:
        """The Chroma object itself."""
        return self._target

    def __getattr__(self, name: str) -> Any:
        if name in ("_target", "_on_failure"):  # not set yet (a copy made without __init__): no recursion
            raise AttributeError(name)
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                out = value(*args, **kwargs)
            except StoreError:
                raise
            except Exception as exc:
                err = self._on_failure(exc)
                if err is None:
                    raise
                raise err from None
            return self._wrap(out)

        return call

    def _wrap(self, out: Any) -> Any:
        from chromadb.api.models.Collection import Collection

        if isinstance(out, Collection):
            return Guarded(out, self._on_failure)
        if isinstance(out, list) and out and all(isinstance(c, Collection) for c in out):
            return [Guarded(c, self._on_failure) for c in out]
        return out
