"""Optional features and the extra that installs each: a missing one is one line naming the ``pip install`` to run.

``pip install scenebridge`` is the light core (parsing, the item store, the content reranker, the CLI); torch,
fastapi, mcp, langchain-core, matplotlib and llama-cpp-python come with the extras named here.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from scenebridge.errors import UsageError

__all__ = ["FEATURES", "available", "missing", "require"]

FEATURES = {
    "train": "fusion reranker training and scoring (torch)",
    "serve": "the HTTP API (fastapi, uvicorn)",
    "mcp": "the MCP server (mcp)",
    "langchain": "the LangChain retriever and tools (langchain-core)",
    "plots": "plotting the evaluation report (matplotlib)",
    "llama": "GGUF models in-process (llama-cpp-python)",
    "st": "sentence-transformers embedders",
}
"""Each extra and what it adds, as the one-line message words it."""


def missing(extra: str, what: str | None = None) -> UsageError:
    """The error for a feature whose extra is not installed: ``WHAT needs the 'X' extra: pip install '…[X]'``."""
    return UsageError(
        f"{what or FEATURES.get(extra, extra)} needs the '{extra}' extra: pip install 'scenebridge[{extra}]'"
    )


def available(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(extra: str, module: str, what: str | None = None) -> ModuleType:
    """Imports a third-party module that an extra installs.

    Raises:
        UsageError: when the module (or its top-level package) is not installed, naming the extra to install.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # Only the module itself missing means the extra is; a missing dependency of it is a broken install.
        if exc.name is None or module.split(".")[0] != exc.name.split(".")[0]:
            raise
        raise missing(extra, what) from None
