"""Speculative decoding of the answer's values with a small draft model (issue 14, item 3: measured, not adopted).

A draft model of the same tokenizer (the 0.5B beside the 1.5B) guesses the next few tokens greedily; the target
model evaluates the picked token and the guesses in one batch, with logits for every row, and keeps the guesses its
own greedy picks agree with. The picks are the target's (the same grammar check and repeat penalty as
:class:`~scenebridge.llm.greedy.LlamaDecoder`), so the answer is the one plain decoding gives, up to the rounding of
a batched evaluation. Whether it is faster depends on how often the guesses hold and on what a batch of k + 1 rows
costs against one: docs/contention.md, "Less generation: a draft model".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scenebridge.llm.greedy import LlamaDecoder
from scenebridge.llm.prefix import common_prefix

__all__ = ["DraftDecoder", "DraftStats"]


@dataclass
class DraftStats:
    """What the drafts did: verification batches, tokens guessed, guesses kept."""

    batches: int = 0
    drafted: int = 0
    accepted: int = 0


class DraftDecoder:
    """The :class:`~scenebridge.llm.fields.Decoder` of a target ``Llama`` helped by a draft ``Llama``.

    Args:
        target: the target model's greedy decoder (its picks are the answer).
        draft: the draft ``llama_cpp.Llama`` (same vocabulary).
        k: tokens guessed per verification batch.
        stats: counters to add to (one per benchmark variant).
    """

    def __init__(self, target: LlamaDecoder, draft: Any, k: int = 4, stats: DraftStats | None = None) -> None:
        if int(draft.n_vocab()) != target.n_vocab:
            msg = f"the draft model's vocabulary ({draft.n_vocab()}) is not the target's ({target.n_vocab})"
            raise ValueError(msg)
        import llama_cpp

        self._c = llama_cpp
        self.target, self.draft, self.k = target, draft, k
        self.stats = stats or DraftStats()
        self._logits: np.ndarray | None = None  # the target's logits for the next pick (None: its last row)
        self._ahead: list[int] = []  # guesses evaluated in the target and not yet fed
        self._rows: list[np.ndarray] = []  # the target's logits after each of them
        self._eos = int(draft.token_eos())

    def tokenize(self, text: str) -> list[int]:
        return self.target.tokenize(text)

    def detokenize(self, token: int) -> bytes:
        return self.target.detokenize(token)

    def start(self, tokens: Sequence[int], gbnf: str) -> None:
        self._drop_ahead()
        self.target.start(tokens, gbnf)
        self._logits = None

    def pick(self) -> int:
        return self.target.pick(self._logits)

    def feed(self, token: int) -> None:
        if self._ahead and self._ahead[0] == token:  # a kept guess: already evaluated in the last batch
            self._ahead.pop(0)
            self._logits = self._rows.pop(0)
            self.stats.accepted += 1
            return
        self._drop_ahead()
        llm = self.target.llm
        seq = [*(int(t) for t in llm.input_ids[: llm.n_tokens]), token]
        guesses = self._guess(seq)
        rows = self._evaluate([token, *guesses])
        self._logits, self._rows, self._ahead = rows[0], rows[1:], guesses
        self.stats.batches += 1
        self.stats.drafted += len(guesses)

    def close(self) -> None:
        self._drop_ahead()
        self.target.close()

    def _drop_ahead(self) -> None:
        """Removes the guesses the target refused (or never reached) from its cache."""
        if self._ahead:
            llm = self.target.llm
            keep = llm.n_tokens - len(self._ahead)
            llm.n_tokens = keep
            llm._ctx.kv_cache_seq_rm(-1, keep, -1)
        self._ahead, self._rows = [], []

    def _guess(self, seq: list[int]) -> list[int]:
        """The draft model's greedy continuation of ``seq`` (at most ``k`` tokens; no grammar)."""
        d = self.draft
        keep = min(common_prefix(d.input_ids[: d.n_tokens], seq), len(seq) - 1)
        d.n_tokens = keep  # Llama.eval removes the cache from n_tokens on
        d.eval(seq[keep:])
        out: list[int] = []
        n_vocab = self.target.n_vocab
        while len(out) < self.k:
            logits = np.ctypeslib.as_array(self._c.llama_get_logits_ith(d._ctx.ctx, -1), shape=(n_vocab,))
            token = int(np.argmax(logits))
            if token == self._eos:
                break
            out.append(token)
            if len(out) < self.k:
                d.eval([token])
        return out

    def _evaluate(self, tokens: list[int]) -> list[np.ndarray]:
        """Evaluates ``tokens`` in the target in one batch; the logits after each of them."""
        llm = self.target.llm
        n_past = llm.n_tokens
        llm._ctx.kv_cache_seq_rm(-1, n_past, -1)
        llm._batch.set_batch(batch=tokens, n_past=n_past, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[n_past : n_past + len(tokens)] = tokens
        llm.n_tokens += len(tokens)
        ctx, n_vocab = llm._ctx.ctx, self.target.n_vocab
        return [
            np.ctypeslib.as_array(self._c.llama_get_logits_ith(ctx, i), shape=(n_vocab,)).copy()
            for i in range(len(tokens))
        ]
