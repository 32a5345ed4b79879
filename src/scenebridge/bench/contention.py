"""Contention benchmark: parse latency of one long-lived process, idle and beside CPU-bound background processes.

For each llama.cpp thread policy (fixed counts, the adaptive one of :mod:`scenebridge.llm.threads`) the model is
loaded once, while the machine is as idle as it is; the same statements are parsed idle, then with ``background``
busy-loop processes at ``nice 19`` (started and killed by the benchmark), in the same process and with the same
loaded model, so that the adaptive policy has to notice the change between completions. Reported per policy and
condition: p50/p95 wall and CPU seconds per statement and the thread counts used; per policy the loaded/idle ratio
of the p50; and whether every parse gave the same answer under every policy and condition (greedy decoding should
not depend on the thread count).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from scenebridge.agent import parse_interests
from scenebridge.agent.parse import SceneClassifier
from scenebridge.bench.parse import load_labels
from scenebridge.build import build_llm
from scenebridge.errors import UsageError
from scenebridge.llm.threads import sample_cpu
from scenebridge.settings import LLMSettings, table
from scenebridge.store.embed import get_embedder

__all__ = ["Condition", "ContentionBench", "background_load", "bench_contention", "policies"]

_BUSY_LOOP = "while True: pass"


@dataclass
class Condition:
    """One policy under one condition (idle or loaded)."""

    policy: str
    condition: str
    background: int
    n: int
    p50_s: float
    p95_s: float
    mean_s: float
    cpu_p50_s: float
    threads: dict[str, int]
    """How many completions ran with each ``generation/batch`` thread pair."""
    load_before: float
    load_after: float
    running_before: tuple[int, ...]
    """Runnable threads on the machine just before the pass (``/proc/loadavg``), this process's reading included."""
    seconds: list[float] = field(default_factory=list)


@dataclass
class ContentionBench:
    """The whole run: every policy, both conditions, the ratios and the machine's load around it."""

    model: str
    n_statements: int
    repeat: int
    background: int
    cores: int
    conditions: list[Condition]
    ratio: dict[str, float]
    """Per policy: loaded p50 / idle p50."""
    identical_outputs: bool
    differences: list[str]
    uptime_before: str
    uptime_after: str
    wall_s: float
    statements: list[str] = field(default_factory=list)


def policies(names: Sequence[str], cores: int) -> dict[str, int | Literal["auto"]]:
    """Policy names (``adaptive``, ``fixed-N``, ``fixed-cores``) to the ``n_threads`` argument of the backend.

    Raises:
        UsageError: for an unknown name.
    """
    out: dict[str, int | Literal["auto"]] = {}
    for name in names:
        if name == "adaptive":
            out[name] = "auto"
        elif name == "fixed-cores":
            out[f"fixed-{cores}"] = cores
        elif name.startswith("fixed-") and name[6:].isdigit() and int(name[6:]) >= 1:
            out[name] = int(name[6:])
        else:
            msg = f"unknown thread policy {name!r}; give adaptive, fixed-cores or fixed-N (N >= 1)"
            raise UsageError(msg)
    return out


@contextmanager
def background_load(n: int, settle_s: float = 1.0) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``n`` busy-loop Python processes at ``nice 19`` for the duration of the block; always killed after it."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(n):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", _BUSY_LOOP],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    preexec_fn=lambda: os.nice(19),
                )
            )  # fmt: skip
        if n:
            time.sleep(settle_s)  # let the scheduler see them as runnable
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


class _Pass:
    """What one policy measured under one condition."""

    def __init__(self, background: int) -> None:
        self.background = background
        self.times: list[float] = []
        self.cpu: list[float] = []
        self.used: Counter[str] = Counter()
        self.answers: list[str] = []
        self.load_before = self.load_after = -1.0
        self.running: tuple[int, ...] = ()

    def start(self) -> None:
        if not self.times:
            self.load_before, self.running = os.getloadavg()[0], sample_cpu().running

    def add(self, seconds: float, cpu: float, threads: tuple[int, int] | None, res: Any) -> None:
        self.times.append(seconds)
        self.cpu.append(cpu)
        self.used["/".join(map(str, threads)) if threads else "?"] += 1
        self.answers.append(_answer(res))
        self.load_after = os.getloadavg()[0]

    def result(self, policy: str, condition: str) -> Condition:
        t, c = self.times, self.cpu
        return Condition(
            policy=policy, condition=condition, background=self.background, n=len(t),
            p50_s=round(float(np.percentile(t, 50)), 3), p95_s=round(float(np.percentile(t, 95)), 3),
            mean_s=round(float(np.mean(t)), 3), cpu_p50_s=round(float(np.percentile(c, 50)), 3),
            threads=dict(self.used), load_before=self.load_before, load_after=self.load_after,
            running_before=self.running, seconds=[round(x, 3) for x in t],
        )  # fmt: skip


def _answer(res: Any) -> str:
    s = res.summary
    return repr((res.source, s.scene, s.intent, [t.name for t in s.topics], s.exclusions))


def _uptime() -> str:
    load = os.getloadavg()
    return f"load average: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}"


def bench_contention(
    labels: Path,
    spec: str = "qwen2.5-coder-1.5b",
    policy_names: Sequence[str] = ("fixed-1", "fixed-cores", "adaptive"),
    background: int = 1,
    scenes: Sequence[str] = ("art", "office"),
    limit: int | None = None,
    repeat: int = 1,
    embedder: str | None = "use-multilingual",
    interleave: bool = False,
    log: Callable[[str], None] = lambda _: None,
) -> ContentionBench:
    """Parses the labelled statements of ``scenes`` idle and beside ``background`` busy processes, per policy.

    Latency is per statement after one warm-up parse per loaded model (model load and system prompt are start-up);
    the parse is the turn's: the LLM with the embedding scene classifier (``embedder``; ``None`` = without).
    ``interleave``: parse each statement idle and then loaded (the background started and stopped around each
    loaded parse), instead of every statement idle and then every statement loaded.
    """
    started = time.perf_counter()
    uptime_before = _uptime()
    all_scenes, rows = load_labels(labels)
    texts = [r["text"] for r in rows if r.get("scene") in set(scenes)][:limit]
    if not texts:
        msg = f"{labels} has no statements for the scenes {', '.join(scenes)}"
        raise UsageError(msg)
    cores = sample_cpu().cores
    chosen = policies(policy_names, cores)
    classifier = SceneClassifier(get_embedder(embedder)) if embedder else None
    conditions: list[Condition] = []
    answers: dict[str, list[str]] = {}
    for name, n_threads in chosen.items():
        llm = build_llm(settings=table(LLMSettings, spec=spec), n_threads=n_threads)
        if llm is None:
            msg = "bench contention needs a model, not --llm none"
            raise UsageError(msg)
        backend = getattr(llm, "inner", llm)
        parse_interests("warm-up", llm, scenes=all_scenes, classifier=classifier)
        passes = {"idle": _Pass(0), "loaded": _Pass(background)}

        def parse(text: str, into: _Pass, llm: Any = llm, backend: Any = backend) -> None:
            into.start()
            t0, c0 = time.perf_counter(), time.process_time()
            res = parse_interests(text, llm, scenes=all_scenes, classifier=classifier)
            into.add(time.perf_counter() - t0, time.process_time() - c0, getattr(backend, "threads", None), res)

        if interleave:
            # Each statement idle, then loaded: on a machine shared with other work, drift in their load then falls
            # on both conditions alike.
            for text in [t for _ in range(repeat) for t in texts]:
                for one in passes.values():
                    with background_load(one.background, settle_s=0.5):
                        parse(text, one)
        else:
            for one in passes.values():
                with background_load(one.background):
                    for text in [t for _ in range(repeat) for t in texts]:
                        parse(text, one)
                    one.load_after = os.getloadavg()[0]
        for condition, one in passes.items():
            answers[f"{name} {condition}"] = one.answers
            cond = one.result(name, condition)
            conditions.append(cond)
            log(f"{name:<12} {condition:<7} p50 {cond.p50_s:6.2f} s  p95 {cond.p95_s:6.2f} s  threads {cond.threads}  "
                f"load {cond.load_before:.2f} -> {cond.load_after:.2f}")  # fmt: skip
        del llm, backend  # one model in memory at a time
    ratio = {}
    for name in chosen:
        idle, loaded = (
            next(c for c in conditions if c.policy == name and c.condition == k) for k in ("idle", "loaded")
        )
        ratio[name] = round(loaded.p50_s / idle.p50_s, 3) if idle.p50_s else float("nan")
    reference_key, reference = next(iter(answers.items()))
    differences = [
        f"{key}: {texts[i % len(texts)]!r}: {a} != {b}"
        for key, got in answers.items()
        for i, (a, b) in enumerate(zip(got, reference, strict=True))
        if a != b
    ]
    return ContentionBench(
        model=spec, n_statements=len(texts), repeat=repeat, background=background, cores=cores,
        conditions=conditions, ratio=ratio, identical_outputs=not differences,
        differences=[f"(vs {reference_key}) {d}" for d in differences], uptime_before=uptime_before,
        uptime_after=_uptime(), wall_s=round(time.perf_counter() - started, 1), statements=texts,
    )  # fmt: skip
