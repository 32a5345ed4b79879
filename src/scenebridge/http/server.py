"""Running the API with uvicorn in a background thread (tests, load tests, embedding in another program)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from scenebridge.errors import UsageError

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["running"]


@contextmanager
def running(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0, keep_alive: float = 75.0
) -> Iterator[str]:
    """Serves ``app`` with uvicorn in a thread; yields its base URL (``http://host:port``), stops on exit.

    ``keep_alive`` is longer than uvicorn's 5 s: a pooled client connection that sat idle while requests queued
    on a busy CPU was otherwise closed by the server just as the client reused it (a ReadError in the load test).

    Raises:
        UsageError: when the server does not start within ``timeout`` seconds.
    """
    import uvicorn

    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="off", timeout_keep_alive=int(keep_alive)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name="scenebridge-http")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            msg = f"the HTTP server did not start on {host}:{port}"
            raise UsageError(msg)
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
