"""llama.cpp in-process (llama-cpp-python): the embedded default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from scenebridge.errors import LLMError, UsageError
from scenebridge.extras import require
from scenebridge.llm.protocol import Message

__all__ = ["LlamaCppLLM"]


class LlamaCppLLM:
    """A GGUF model loaded in this process; JSON answers are grammar-constrained by the schema."""

    def __init__(
        self,
        path: str | Path,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int = 0,
        prompt_cache_mb: int = 0,
    ) -> None:
        """Loads the model.

        Args:
            path: the GGUF file.
            n_ctx: context size in tokens.
            n_threads: CPU threads; default ``$SCENEBRIDGE_LLAMA_THREADS`` or the core count. On a CPU shared with
                other busy processes fewer threads can be much faster (llama.cpp's threads wait for each other).
            seed: sampling seed (answers are greedy anyway).
            prompt_cache_mb: keep up to this many MB of evaluated prompt states in RAM (``LlamaRAMCache``), so that
                a prompt whose prefix was seen before (the parse system prompt after an explain call) skips that
                prefix. 0 = only llama.cpp's reuse of the prefix of the immediately preceding call.
        """
        path = Path(path)
        if not path.is_file():
            msg = f"model file {path} not found; run `scenebridge models install` or pass --llm PATH.gguf"
            raise UsageError(msg)
        # The extra's pip install compiles for minutes; in a checkout `make llama` reuses a cached wheel.
        require("llama", "llama_cpp", "a GGUF model in-process (llama-cpp-python; in a checkout: `make llama`)")
        from llama_cpp import Llama

        try:
            self.llm = Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=n_threads or _default_threads(), seed=seed,
                verbose=False,
            )  # fmt: skip
            if prompt_cache_mb > 0:
                from llama_cpp import LlamaRAMCache

                self.llm.set_cache(LlamaRAMCache(capacity_bytes=prompt_cache_mb << 20))
        except (ValueError, RuntimeError) as exc:
            msg = f"cannot load {path} as a GGUF model ({exc}); the file may be corrupt: install it again"
            raise LLMError(msg) from None
        self.name = f"llama.cpp:{path.name}"

    def complete(self, messages: list[Message], schema: dict[str, Any] | None = None, max_tokens: int = 512) -> str:
        kwargs: dict[str, Any] = {"temperature": 0.0, "max_tokens": max_tokens}
        if schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        # cast: llama_cpp's message TypedDicts are stricter than ours, and mypy only sees them where it is installed.
        out: Any = self.llm.create_chat_completion(messages=cast(Any, messages), **kwargs)
        return str(out["choices"][0]["message"]["content"] or "")


def _default_threads() -> int:
    env = os.environ.get("SCENEBRIDGE_LLAMA_THREADS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            msg = f"SCENEBRIDGE_LLAMA_THREADS must be a positive whole number, not {env!r}"
            raise UsageError(msg)
        return int(env)
    return os.cpu_count() or 2
