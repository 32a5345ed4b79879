"""The HTTP API (FastAPI): ``scenebridge serve``."""

from scenebridge.http.app import create_app
from scenebridge.http.server import running
from scenebridge.settings import ApiSettings

__all__ = ["ApiSettings", "create_app", "running"]
