"""llama.cpp in-process (llama-cpp-python): the embedded default."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, cast

from scenebridge.errors import LLMError, UsageError
from scenebridge.extras import require
from scenebridge.llm.protocol import Message
from scenebridge.llm.threads import ThreadPolicy, threads_from_env

__all__ = ["LlamaCppLLM"]


class LlamaCppLLM:
    """A GGUF model loaded in this process; JSON answers are grammar-constrained by the schema."""

    def __init__(
        self,
        path: str | Path,
        n_ctx: int = 4096,
        n_threads: int | Literal["auto"] | None = None,
        seed: int = 0,
        prompt_cache_mb: int = 0,
    ) -> None:
        """Loads the model.

        Args:
            path: the GGUF file.
            n_ctx: context size in tokens.
            n_threads: CPU threads for generation and prompt evaluation, or ``"auto"``: the cores free at load time,
                re-checked before each completion (:mod:`scenebridge.llm.threads`; on a CPU shared with busy
                processes fewer threads are much faster, since llama.cpp's threads wait for each other). Default
                ``$SCENEBRIDGE_LLAMA_THREADS`` when set, else ``"auto"``.
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

        if n_threads is None:
            n_threads = threads_from_env() or "auto"
        self.policy = ThreadPolicy(None if n_threads == "auto" else int(n_threads))
        self.threads = self.policy.choose()
        """The (generation, prompt evaluation) thread counts of the latest completion."""
        try:
            self.llm = Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=self.threads[0], n_threads_batch=self.threads[1],
                seed=seed, verbose=False,
            )  # fmt: skip
            if prompt_cache_mb > 0:
                from llama_cpp import LlamaRAMCache

                self.llm.set_cache(LlamaRAMCache(capacity_bytes=prompt_cache_mb << 20))
        except (ValueError, RuntimeError) as exc:
            msg = f"cannot load {path} as a GGUF model ({exc}); the file may be corrupt: install it again"
            raise LLMError(msg) from None
        self.name = f"llama.cpp:{path.name}"

    def complete(self, messages: list[Message], schema: dict[str, Any] | None = None, max_tokens: int = 512) -> str:
        self._recheck_threads()
        kwargs: dict[str, Any] = {"temperature": 0.0, "max_tokens": max_tokens}
        if schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        # cast: llama_cpp's message TypedDicts are stricter than ours, and mypy only sees them where it is installed.
        out: Any = self.llm.create_chat_completion(messages=cast(Any, messages), **kwargs)
        return str(out["choices"][0]["message"]["content"] or "")

    def _recheck_threads(self) -> None:
        """Between completions the CPU may have filled up or emptied: the adaptive policy chooses again (~10 ms)."""
        if self.policy.fixed:
            return
        threads = self.policy.choose()
        if threads == self.threads:
            return
        from llama_cpp import llama_set_n_threads

        # The low-level call takes effect at the next decode; the Llama object's own fields follow it, so that
        # anything reading them (its pickled state) sees the counts in use.
        llama_set_n_threads(self.llm.ctx, *threads)
        self.llm.n_threads, self.llm.n_threads_batch = threads
        self.llm.context_params.n_threads, self.llm.context_params.n_threads_batch = threads
        self.threads = threads


def _default_threads() -> int:
    """The generation threads a model loaded now gets: ``$SCENEBRIDGE_LLAMA_THREADS``, else the adaptive choice."""
    return ThreadPolicy(threads_from_env()).choose()[0]
