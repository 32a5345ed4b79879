"""The app's middleware (body limit, request metrics) and error handlers: every error is
``{"error": {"type", "message", "details"}}`` JSON with the headers its status needs, never a traceback."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route, compile_path

from scenebridge.errors import OverloadError, ScenebridgeError, StoreError
from scenebridge.http.metrics import Metrics
from scenebridge.settings import ApiSettings

__all__ = ["error_response", "install_handlers"]

log = logging.getLogger("scenebridge.http")
_KINDS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "not_allowed",
          409: "conflict"}  # fmt: skip


def error_response(
    status: int, kind: str, message: str, details: list[str] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one error shape."""
    body = {"error": {"type": kind, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status, headers=headers)


def _allowed(request: Request) -> str:
    """Every method of the path (RFC 9110). Starlette's own 405 names the methods of the first route that matched the
    path alone, and a path served by several routes (GET, PATCH and DELETE of a session) has one route per method."""
    app = request.app
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "method_table", None)
    if table is None:
        table = [(compile_path(path)[0], {m.upper() for m in ops}) for path, ops in app.openapi()["paths"].items()]
        table += [(r.path_regex, set(r.methods or ())) for r in app.router.routes if isinstance(r, Route)]
        app.state.method_table = table
    path = request.scope.get("path", "")
    return ", ".join(sorted({m for regex, methods in table if regex.match(path) for m in methods}))


def install_handlers(app: FastAPI, cfg: ApiSettings, metrics: Metrics) -> None:
    """Adds the body limit, the request metrics and the error handlers to ``app``."""

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        size = request.headers.get("content-length")
        if size is not None and (not size.isdigit() or int(size) > cfg.max_body_bytes):
            return error_response(413, "too_large", f"request bodies are limited to {cfg.max_body_bytes:,} bytes")
        return await call_next(request)

    @app.middleware("http")  # added last, so outermost: it counts the 413s above too
    async def count(request: Request, call_next: Any) -> Any:
        start = time.perf_counter()
        status = 500  # an exception escapes to the outermost handler, which answers 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            # The route's template, never the raw path: fuzzed or hostile paths must not grow the label set.
            endpoint = getattr(request.scope.get("route"), "path", None) or "unmatched"
            metrics.observe_request(endpoint, request.method, status, time.perf_counter() - start)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()]
        return error_response(422, "validation", "the request does not match the API's schema", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed(request)
        if exc.status_code == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return error_response(exc.status_code, _KINDS.get(exc.status_code, "http"), str(exc.detail), headers=headers)

    @app.exception_handler(OverloadError)
    async def overload(request: Request, exc: OverloadError) -> JSONResponse:
        status = 503 if exc.waited else 429
        return error_response(status, "overloaded", str(exc), headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(ScenebridgeError)
    async def usage(request: Request, exc: ScenebridgeError) -> JSONResponse:
        status = 503 if isinstance(exc, StoreError) else 400
        lines = str(exc).splitlines() or [type(exc).__name__]
        return error_response(status, type(exc).__name__, lines[0], lines[1:])

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        ref = uuid.uuid4().hex[:12]
        log.exception("internal error %s on %s %s", ref, request.method, request.url.path)
        return error_response(500, "internal", f"internal error (reference {ref}); the server log has the details")
