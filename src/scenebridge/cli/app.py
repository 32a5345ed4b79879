"""The root of the ``scenebridge`` command line: the one module that assembles the command modules into one app."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from scenebridge.cli import agent, bench, data, models, ops, output, plugins, profiles, store, train
from scenebridge.errors import ScenebridgeError
from scenebridge.version import __version__

__all__ = ["app", "main"]

app = typer.Typer(
    help="scenebridge: cross-scene recommendations for chat assistants.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"scenebridge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """scenebridge: cross-scene recommendations for chat assistants."""


# The order of --help: commands first, then the groups.
app.command("evaluate")(data.evaluate_cmd)
app.command("train")(train.train_cmd)
app.command("index")(store.index_cmd)
app.command("search")(store.search_cmd)
app.command("parse")(agent.parse_cmd)
app.command("report")(data.report_cmd)
app.command("recommend")(agent.recommend_cmd)
app.command("chat")(agent.chat_cmd)
app.command("mcp")(agent.mcp_cmd)
app.command("serve")(ops.serve_cmd)
app.command("forget")(ops.forget_cmd)
app.command("plugins")(plugins.plugins_cmd)
app.add_typer(data.app, name="data")
app.add_typer(bench.app, name="bench")
app.add_typer(models.app, name="models")
app.add_typer(profiles.app, name="profiles")
app.add_typer(ops.script_app, name="script")


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    output.PROCESS_ENTRY = True
    try:
        app()
    except ScenebridgeError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("SCENEBRIDGE_DEBUG"):
            raise
        print(
            f"error: internal error ({type(exc).__name__}: {exc}); set SCENEBRIDGE_DEBUG=1 for the traceback",
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
