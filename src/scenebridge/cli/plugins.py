"""``scenebridge plugins``: the loaded plugins and what each registry offers (built-ins and third-party alike)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

__all__ = ["plugins_cmd"]


def plugins_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print the registries as JSON.")] = False,
) -> None:
    """List the plugins (entry point group scenebridge.plugins) and the names each registry offers."""
    from scenebridge.llm.registry import LLMS
    from scenebridge.plugins import PLUGINS, Registry
    from scenebridge.rerank.registry import RERANKERS
    from scenebridge.store.embed import EMBEDDERS
    from scenebridge.tools.registry import TOOL_REGISTRY

    registries: dict[str, Registry[Any]] = {
        "llm": LLMS,
        "embedder": EMBEDDERS,
        "reranker": RERANKERS,
        "tool": TOOL_REGISTRY,
    }
    table = {
        kind: [{"name": name, "plugin": reg.entry(name).plugin, "help": reg.entry(name).help} for name in reg.names()]
        for kind, reg in registries.items()
    }
    if as_json:
        print(json.dumps({"plugins": PLUGINS.names(), **table}, indent=2, ensure_ascii=False))
        return
    print("plugins: " + ", ".join(f"{n}{'' if PLUGINS.is_builtin(n) else ' (third-party)'}" for n in PLUGINS.names()))
    for kind, rows in table.items():
        print(f"\n{kind}s:")
        for row in rows:
            print(f"  {row['name']:<24} {row['help']}  [{row['plugin']}]")
