"""The chat page at ``/`` and its assets at ``/web/``: plain HTML, CSS and JavaScript shipped in the package.

No CDN, no remote font, no build step: the page works offline and talks only to the public HTTP API.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["WEB_DIR", "mount_page"]

WEB_DIR = Path(str(files("scenebridge.http") / "web"))
"""Where the page's files are (package data)."""

# The page may only reach its own origin: a stray remote asset or request fails in the browser, not silently.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def mount_page(app: FastAPI) -> None:
    """Serves the page at ``/`` and its assets under ``/web/`` (both outside the OpenAPI schema)."""

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", media_type="text/html",
                            headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-cache"})  # fmt: skip

    app.mount("/web", StaticFiles(directory=WEB_DIR), name="web")
