"""llama.cpp in-process (llama-cpp-python): the embedded default."""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, cast

from scenebridge.errors import LLMError, UsageError
from scenebridge.extras import require
from scenebridge.llm.fields import Decoder, FieldWriter, flat_fields
from scenebridge.llm.greedy import LlamaDecoder
from scenebridge.llm.models import MODELS, model_path
from scenebridge.llm.prefix import PrefixCache, PrefixStore, common_prefix, model_identity
from scenebridge.llm.protocol import Message
from scenebridge.llm.speculative import DraftDecoder, DraftStats
from scenebridge.llm.threads import ThreadPolicy, reserved_cores, threads_from_env

__all__ = ["LlamaCppLLM", "LlamaKV"]


class LlamaCppLLM:
    """A GGUF model loaded in this process; JSON answers are grammar-constrained by the schema.

    The model loads in a background thread from construction on (a fresh CLI call opens the item store and the
    embedder meanwhile) and the first completion waits for it; one instance serves parsing and explanation wording.
    """

    def __init__(
        self,
        path: str | Path,
        n_ctx: int = 4096,
        n_threads: int | Literal["auto"] | None = None,
        seed: int = 0,
        prompt_cache_mb: int = 0,
        prefix_cache: bool = True,
        lookup: int = 0,
        preload: bool = True,
        fields: bool = True,
        repack: bool = False,
        draft: str | Path | None = None,
        draft_k: int = 4,
    ) -> None:
        """Checks the file and starts loading the model.

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
            prefix_cache: keep the evaluated system prompt of each chat in RAM and under the user cache folder
                (:mod:`scenebridge.llm.prefix`), so that a fresh process skips it; False = RAM only.
            lookup: prompt-lookup decoding: draft up to this many tokens copied from the prompt and verify them in
                one batch (``LlamaPromptLookupDecoding``); 0 = off.
            preload: load in a background thread now; False = load at the first completion.
            fields: answer a flat object's schema by decoding only its values, the keys and punctuation being
                evaluated with the prompt (:mod:`scenebridge.llm.fields`); False = the whole JSON text is decoded.
            repack: let llama.cpp repack the weights for its CPU kernels at load (llama.cpp's default). Off here:
                on this project's 2-core AVX2 machine the repack cost ~1 s of every load and decoded no faster
                (docs/contention.md, "Less generation, second pass").
            draft: a draft model (an installed model's name or a GGUF path, same vocabulary) whose guesses are
                verified in batches (:mod:`scenebridge.llm.speculative`; measured slower here, so a benchmark option).
            draft_k: tokens the draft guesses per batch.
        """
        path = Path(path)
        if not path.is_file():
            msg = f"model file {path} not found; run `scenebridge models install` or pass --llm PATH.gguf"
            raise UsageError(msg)
        with path.open("rb") as f:
            magic = f.read(4)
        if magic != b"GGUF":
            # Checked here, not in the background load: a wrong file is an error of the command, not of a parse.
            msg = f"{path} is not a GGUF model file (it does not start with GGUF); install it again or pass another"
            raise LLMError(msg)
        if lookup < 0:
            msg = f"lookup must be 0 (off) or a positive number of draft tokens, not {lookup}"
            raise UsageError(msg)
        # The extra's pip install compiles for minutes; in a checkout `make llama` reuses a cached wheel.
        require("llama", "llama_cpp", "a GGUF model in-process (llama-cpp-python; in a checkout: `make llama`)")
        if n_threads is None:
            n_threads = threads_from_env() or "auto"
        self.policy = ThreadPolicy(None if n_threads == "auto" else int(n_threads))
        self.threads = self.policy.choose()
        """The (generation, prompt evaluation) thread counts of the latest completion."""
        self.path, self.n_ctx, self.seed, self.lookup = path, n_ctx, seed, lookup
        self.draft_path = _draft_path(draft) if draft is not None else None
        self.draft_k = draft_k
        self.draft_stats = DraftStats()
        self._draft: Any = None
        self._options = {"prompt_cache_mb": prompt_cache_mb, "prefix_cache": prefix_cache, "fields": fields,
                         "repack": repack}  # fmt: skip
        self.name = f"llama.cpp:{path.name}"
        self.prefix: PrefixCache | None = None
        self._llm: Any = None
        self._error: Exception | None = None
        self._formatter: Any = None
        self._prefixes: dict[str, tuple[int, ...]] = {}
        self._loader: threading.Thread | None = None
        if preload:
            self._loader = threading.Thread(target=self._load_quietly, name="llama-load", daemon=True)
            self._loader.start()

    @property
    def loading(self) -> bool:
        """Whether the background load is still running (a caller may do other work meanwhile)."""
        return self._llm is None and self._loader is not None and self._loader.is_alive()

    @property
    def llm(self) -> Any:
        """The ``llama_cpp.Llama``, loaded now if it is not yet (waits for the background load).

        Raises:
            LLMError: when the file is not a loadable GGUF model.
        """
        if self._llm is None:
            if self._loader is not None:
                self._loader.join()
                self._loader = None
            else:
                self._load_quietly()
            if self._error is not None:
                raise self._error
        return self._llm

    @llm.setter
    def llm(self, value: Any) -> None:
        self._llm = value

    def _load_quietly(self) -> None:
        try:
            self._load()
        except LLMError as exc:
            self._error = exc

    def _load(self) -> None:
        from llama_cpp import Llama, __version__

        draft = None
        if self.lookup:
            from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

            draft = LlamaPromptLookupDecoding(num_pred_tokens=self.lookup)
        try:
            with _repack(bool(self._options["repack"])):
                llm = Llama(
                    model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.threads[0],
                    n_threads_batch=self.threads[1], seed=self.seed, verbose=False, draft_model=draft,
                    # A draft needs the logits of every row; the score buffer is then n_ctx rows (else n_batch
                    # rows, which prompts longer than a batch would overrun).
                    logits_all=draft is not None,
                )  # fmt: skip
            if self.draft_path is not None:
                self._draft = Llama(model_path=str(self.draft_path), n_ctx=self.n_ctx, n_threads=self.threads[0],
                                    n_threads_batch=self.threads[1], seed=self.seed, verbose=False)  # fmt: skip
            if self._options["prompt_cache_mb"]:
                from llama_cpp import LlamaRAMCache

                llm.set_cache(LlamaRAMCache(capacity_bytes=int(self._options["prompt_cache_mb"]) << 20))
        except (ValueError, RuntimeError) as exc:
            msg = f"cannot load {self.path} as a GGUF model ({exc}); the file may be corrupt: install it again"
            raise LLMError(msg) from None
        identity = f"{model_identity(self.path)}|llama-cpp-python {__version__}|n_ctx {self.n_ctx}"
        store = PrefixStore() if self._options["prefix_cache"] else None
        self.prefix = PrefixCache(LlamaKV(llm), identity, store)
        self._formatter = _formatter(llm)
        self._llm = llm

    def complete(self, messages: list[Message], schema: dict[str, Any] | None = None, max_tokens: int = 512) -> str:
        llm = self.llm
        self._recheck_threads()
        prefix = self.prefix_of(messages)
        if prefix and self.prefix is not None:
            self.prefix.prepare(prefix)
        kwargs: dict[str, Any] = {"temperature": 0.0, "max_tokens": max_tokens}
        if schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        if not self.policy.fixed and reserved_cores():
            kwargs["logits_processor"] = self._watch_background()
        plan = flat_fields(schema) if self._options["fields"] and not self.lookup and self._formatter else None
        if plan is not None:
            greedy = LlamaDecoder(llm, logits_processor=kwargs.get("logits_processor"))
            decoder: Decoder = (
                greedy if self._draft is None else DraftDecoder(greedy, self._draft, self.draft_k, self.draft_stats)
            )
            writer = FieldWriter(decoder)
            return writer.write(self._tokens(messages), plan, max_tokens)
        # cast: llama_cpp's message TypedDicts are stricter than ours, and mypy only sees them where it is installed.
        out: Any = llm.create_chat_completion(messages=cast(Any, messages), **kwargs)
        if prefix and common_prefix(llm.input_ids[: llm.n_tokens], prefix) < len(prefix):
            # Our rendering of the chat template differed from the handler's: no prefix for this system prompt.
            self._prefixes[str(messages[0]["content"])] = ()
        return str(out["choices"][0]["message"]["content"] or "")

    def prefix_of(self, messages: Sequence[Message]) -> tuple[int, ...]:
        """The tokens of the system message and the user turn's header: what every prompt with this system message
        starts with (found by rendering it with two different user messages); ``()`` when there is none."""
        if self._formatter is None or len(messages) < 2 or messages[0]["role"] != "system":
            return ()
        if messages[1]["role"] != "user":
            return ()
        system = str(messages[0]["content"])
        if system not in self._prefixes:
            probes: list[list[Message]] = [[messages[0], {"role": "user", "content": p}] for p in ("a", "b")]
            ta, tb = (self._tokens(probe) for probe in probes)
            self._prefixes[system] = tuple(ta[: common_prefix(ta, tb)])
        return self._prefixes[system]

    def _tokens(self, messages: Sequence[Message]) -> list[int]:
        """The prompt tokens as llama-cpp-python's chat handler makes them (``llama_chat_format``)."""
        result = self._formatter(messages=list(messages))
        return list(self._llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True))

    def _watch_background(self) -> Any:
        """A logits processor that leaves the scores alone and chooses the thread counts again once this process's
        background work (a reranker loading beside a one-shot parse) has ended, so the rest of the answer is
        generated with the core it no longer needs (measured: 127-150 ms a token on one thread, ~74 on two)."""
        from llama_cpp import LogitsProcessorList

        reserved = reserved_cores()

        def watch(_ids: Any, scores: Any) -> Any:
            nonlocal reserved
            now = reserved_cores()
            if now != reserved:
                reserved = now
                self._recheck_threads()
            return scores

        return LogitsProcessorList([watch])

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
        if self._draft is not None:
            llama_set_n_threads(self._draft.ctx, *threads)
        self.llm.n_threads, self.llm.n_threads_batch = threads
        self.llm.context_params.n_threads, self.llm.context_params.n_threads_batch = threads
        self.threads = threads


_PARAMS_LOCK = threading.Lock()


@contextmanager
def _repack(on: bool) -> Iterator[None]:
    """Model parameters with llama.cpp's ``use_extra_bufts`` set as asked, for the ``Llama`` constructed inside.

    llama-cpp-python 0.3.36 has the field in its ``llama_model_params`` but no constructor argument for it, so its
    default-parameters function is wrapped while the model loads (one load at a time).
    """
    import llama_cpp.llama_cpp as low

    with _PARAMS_LOCK:
        default = low.llama_model_default_params

        def params() -> Any:
            p = default()
            p.use_extra_bufts = on
            return p

        low.llama_model_default_params = params
        try:
            yield
        finally:
            low.llama_model_default_params = default


def _formatter(llm: Any) -> Any:
    """The chat formatter llama-cpp-python uses for a GGUF's own template, or None for any other chat format (then
    no prefix is cached)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if llm.chat_handler is not None or llm.chat_format != "chat_template.default" or not template:
        return None
    eos, bos = llm.token_eos(), llm.token_bos()
    return Jinja2ChatFormatter(
        template=template,
        eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
        bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
        stop_token_ids=[eos],
    )


class LlamaKV:
    """The :class:`~scenebridge.llm.prefix.KVModel` of a ``llama_cpp.Llama``.

    The state goes through llama.cpp's ``llama_state_get_data``/``set_data`` directly: ``Llama.save_state`` also
    copies one row of scores per cached token (~600 KB each for Qwen's 152k vocabulary) and ``load_state`` scans the
    whole score buffer (n_batch or n_ctx rows), which cost more than the prefix saves.
    """

    def __init__(self, llm: Any) -> None:
        self.llm = llm

    def cached_tokens(self) -> Sequence[int]:
        return [int(t) for t in self.llm.input_ids[: self.llm.n_tokens]]

    def truncate(self, n: int) -> None:
        llm = self.llm
        if n < llm.n_tokens:
            llm.n_tokens = n
            llm._ctx.kv_cache_seq_rm(-1, n, -1)
        llm._requires_eval = True  # the logits in the buffer are not those after token n

    def evaluate(self, tokens: Sequence[int]) -> None:
        llm = self.llm
        llm.reset()
        # Two decodes, the last token alone: the saved state then holds one row of logits, not one per token (with
        # a draft model every row has logits).
        if len(tokens) > 1:
            llm.eval(list(tokens[:-1]))
        llm.eval(list(tokens[-1:]))

    def get_state(self) -> bytes:
        import llama_cpp

        ctx = self.llm._ctx.ctx
        size = int(llama_cpp.llama_state_get_size(ctx))
        buf = (ctypes.c_uint8 * size)()
        n = int(llama_cpp.llama_state_get_data(ctx, buf, size))
        return ctypes.string_at(buf, n)

    def set_state(self, tokens: Sequence[int], state: bytes) -> None:
        import llama_cpp

        llm = self.llm
        if len(tokens) > llm.n_ctx():
            msg = f"a prefix of {len(tokens)} tokens does not fit a context of {llm.n_ctx()}"
            raise ValueError(msg)
        buf = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if int(llama_cpp.llama_state_set_data(llm._ctx.ctx, buf, len(state))) != len(state):
            llm.reset()
            msg = "llama.cpp refused the saved state"
            raise ValueError(msg)
        llm.input_ids[: len(tokens)] = tokens
        llm.n_tokens = len(tokens)
        llm._requires_eval = True


def _draft_path(draft: str | Path) -> Path:
    """The GGUF of a draft model given by an installed model's name or a path."""
    path = model_path(str(draft)) if str(draft) in MODELS else Path(draft)
    if not path.is_file():
        msg = f"draft model {draft} not found; run `scenebridge models install NAME` or pass a .gguf path"
        raise UsageError(msg)
    return path


def _default_threads() -> int:
    """The generation threads a model loaded now gets: ``$SCENEBRIDGE_LLAMA_THREADS``, else the adaptive choice."""
    return ThreadPolicy(threads_from_env()).choose()[0]
