"""Does a restored prefix give the answers of a cold evaluation? The 32 art/office statements parsed three ways.

- ``one-batch``: the context cleared and the whole prompt evaluated in one batch (a fresh process before the prefix
  cache);
- ``restored``: the prefix read back from the cache file into a cleared context, the statement evaluated after it (a
  fresh process with the prefix cache);
- ``warm``: one long-lived process, each statement after the previous one (the prefix cut back from the context).

Greedy answers should agree where the evaluation is split the same way (``restored`` and ``warm``); ``one-batch``
splits it differently, and any answer that changes with it is listed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scenebridge.agent import parse_interests
from scenebridge.agent.parse import SceneClassifier
from scenebridge.bench.parse import load_labels
from scenebridge.errors import UsageError
from scenebridge.llm.llama_cpp import LlamaCppLLM
from scenebridge.llm.protocol import Message
from scenebridge.llm.registry import get_llm
from scenebridge.store.embed import get_embedder

__all__ = ["PrefixCheck", "check_prefix_restore"]

MODES = ("one-batch", "restored", "warm")


@dataclass
class PrefixCheck:
    """Answers and latencies per mode, and the statements whose answers differ between modes."""

    model: str
    n: int
    p50_s: dict[str, float]
    differences: dict[str, list[str]]
    """``"restored vs one-batch"`` etc.: the statements whose parse differs."""
    prefix_tokens: int
    state_bytes: int
    answers: dict[str, list[str]] = field(default_factory=dict)


class _Mode:
    """The LLM protocol over one loaded model, putting its context in a given starting state before each call."""

    def __init__(self, backend: LlamaCppLLM, mode: str) -> None:
        self.backend, self.mode, self.name = backend, mode, f"{backend.name} {mode}"

    def complete(self, messages: list[Message], schema: dict[str, Any] | None = None, max_tokens: int = 512) -> str:
        llm, cache = self.backend.llm, self.backend.prefix
        assert cache is not None
        if self.mode == "one-batch":
            llm.reset()
            kwargs: dict[str, Any] = {"temperature": 0.0, "max_tokens": max_tokens}
            if schema is not None:
                kwargs["response_format"] = {"type": "json_object", "schema": schema}
            out: Any = llm.create_chat_completion(messages=messages, **kwargs)
            return str(out["choices"][0]["message"]["content"] or "")
        if self.mode == "restored":
            llm.reset()
            cache.forget()  # the next prefix comes from the cache file, as in a fresh process
        answer = self.backend.complete(messages, schema=schema, max_tokens=max_tokens)
        if self.mode == "restored" and cache.last != "disk":
            msg = f"the prefix came from {cache.last}, not from the cache file"
            raise UsageError(msg)
        return answer


def _answer(res: Any) -> str:
    s = res.summary
    return json.dumps([s.scene, [t.name for t in s.topics], s.exclusions, res.source], ensure_ascii=False)


def check_prefix_restore(
    labels: Path, spec: str = "qwen2.5-coder-1.5b", scenes: Sequence[str] = ("art", "office"),
    embedder: str | None = "use-multilingual", limit: int | None = None, modes: Sequence[str] = MODES,
) -> PrefixCheck:  # fmt: skip
    """Parses each statement of ``scenes`` in the three modes, interleaved (one model, one process)."""
    all_scenes, rows = load_labels(labels)
    texts = [r["text"] for r in rows if r.get("scene") in set(scenes)][:limit]
    backend = get_llm(spec)
    if not isinstance(backend, LlamaCppLLM):
        msg = f"the prefix check needs a local GGUF model, not {spec!r}"
        raise UsageError(msg)
    classifier = SceneClassifier(get_embedder(embedder)) if embedder else None
    parse_interests("warm-up", backend, scenes=all_scenes, classifier=classifier)  # writes the cache file
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        msg = f"unknown mode(s) {', '.join(unknown)}; the modes are: {', '.join(MODES)}"
        raise UsageError(msg)
    llms = {m: _Mode(backend, m) for m in modes}
    answers: dict[str, list[str]] = {m: [] for m in modes}
    seconds: dict[str, list[float]] = {m: [] for m in modes}
    for text in texts:
        for name, llm in llms.items():
            t0 = time.perf_counter()
            res = parse_interests(text, llm, scenes=all_scenes, classifier=classifier)
            seconds[name].append(time.perf_counter() - t0)
            answers[name].append(_answer(res))
    pairs = [(a, b) for i, a in enumerate(modes) for b in modes[i + 1 :]]
    differences = {
        f"{a} vs {b}": [f"{t!r}: {x} != {y}" for t, x, y in zip(texts, answers[a], answers[b], strict=True) if x != y]
        for a, b in pairs
    }
    states = backend.prefix.states() if backend.prefix else []
    prefix, state = (states[-1].tokens, states[-1].state) if states else ((), b"")
    return PrefixCheck(
        model=spec, n=len(texts), p50_s={m: round(float(np.median(v)), 3) for m, v in seconds.items()},
        differences=differences, prefix_tokens=len(prefix), state_bytes=len(state),
        answers=answers,
    )  # fmt: skip
