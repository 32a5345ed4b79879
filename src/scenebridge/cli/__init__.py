"""The ``scenebridge`` command line: one Typer app over :mod:`scenebridge.build`."""

from scenebridge.cli.app import app, main

__all__ = ["app", "main"]
