"""The ``scenebridge`` command line: one Typer app over :mod:`scenebridge.build`.

:mod:`~scenebridge.cli.app` assembles the command modules (``data``, ``store``, ``train``, ``models``, ``bench``,
``agent``, ``ops``, ``profiles``); :mod:`~scenebridge.cli.options` generates the shared options from the settings.
This is the one place where internal imports stay lazy: each command imports the layers it uses (pandas, Chroma,
the agent, torch ...) inside its function, so that ``scenebridge --help`` stays quick.
"""

from scenebridge.cli.app import app, main

__all__ = ["app", "main"]
