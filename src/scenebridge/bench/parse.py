"""Parse benchmark: field accuracy of each backend on a labelled set of English and Chinese statements."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scenebridge.agent import parse_interests
from scenebridge.agent.lexical import detect_language
from scenebridge.agent.parse import SceneClassifier
from scenebridge.build import build_llm
from scenebridge.errors import UsageError
from scenebridge.llm.llama_cpp import LlamaCppLLM
from scenebridge.llm.registry import is_llama
from scenebridge.llm.speculative import DraftStats
from scenebridge.progress import Progress, SilentProgress
from scenebridge.settings import LLMSettings, table
from scenebridge.store.embed import get_embedder

__all__ = ["VARIANT_OPTIONS", "ParseBenchResult", "bench_parse", "load_labels", "parse_variant", "score_summary"]

VARIANT_OPTIONS = {"lookup": int, "draft": str, "draft_k": int, "fields": bool, "repack": bool}
"""The :class:`~scenebridge.llm.LlamaCppLLM` options a ``bench parse --variant`` may set, with their types."""


@dataclass
class ParseBenchResult:
    """Accuracy per field (share of statements, or of stated exclusions) and latency of one backend."""

    backend: str
    n: int
    scene: float
    intent: float
    topics: float
    exclusions: float
    false_exclusions: float
    by_language: dict[str, dict[str, float]] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    p50_s: float = 0.0
    p95_s: float = 0.0
    prompt_version: int = 0
    by_set: dict[str, dict[str, float]] = field(default_factory=dict)
    llm_scene: float | None = None
    """Scene accuracy of the model's own answer, before the "now"-clause rule (``None`` for the lexical parser)."""
    scene_from: dict[str, int] = field(default_factory=dict)
    cpu_p50_s: float = 0.0
    cpu_p95_s: float = 0.0
    """CPU seconds of this process per statement: with one llama.cpp thread (``SCENEBRIDGE_LLAMA_THREADS=1``) this is
    close to the wall time on an idle core, even while other processes share the CPU."""
    threads: str = ""
    classifier: str | None = None
    """The embedder of the scene classifier, if one was used."""
    load_avg: tuple[float, float] = (0.0, 0.0)
    """The machine's 1-minute load average before and after this backend's run (latency is only comparable at
    similar load: the CPU may be shared)."""
    statements: list[dict[str, Any]] = field(default_factory=list)
    draft: dict[str, int] | None = None
    """A draft model's counters over the timed parses: verification batches, tokens guessed, guesses kept."""


def parse_variant(text: str) -> dict[str, Any]:
    """The options of one ``--variant``: ``plain`` (none), or ``key=value`` pairs separated by commas, e.g.
    ``draft=qwen2.5-coder-0.5b,draft_k=2`` or ``lookup=10``.

    Raises:
        UsageError: for an unknown option or a value of the wrong type.
    """
    out: dict[str, Any] = {}
    for part in [] if text.strip() in ("", "plain") else text.split(","):
        key, sep, value = (x.strip() for x in part.partition("="))
        kind = VARIANT_OPTIONS.get(key)
        if not sep or kind is None:
            msg = f"--variant {text!r}: give 'plain' or KEY=VALUE pairs with KEY one of {', '.join(VARIANT_OPTIONS)}"
            raise UsageError(msg)
        if kind is bool:
            if value.lower() not in ("true", "false"):
                msg = f"--variant {text!r}: {key} must be true or false, not {value!r}"
                raise UsageError(msg)
            out[key] = value.lower() == "true"
        elif kind is int:
            if not value.isdigit():
                msg = f"--variant {text!r}: {key} must be a whole number >= 0, not {value!r}"
                raise UsageError(msg)
            out[key] = int(value)
        else:
            out[key] = value
    return out


def load_labels(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(data["scenes"]), list(data["statements"])


def _contains(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    return a in b or b in a


def score_summary(summary: Any, label: dict[str, Any]) -> dict[str, float]:
    """Per-statement scores: scene and intent exact, topics (any expected word in any topic), exclusions."""
    topics = [t.name for t in summary.topics]
    expected_ex = label.get("exclusions") or []
    captured = sum(any(_contains(e, x) for x in summary.exclusions) for e in expected_ex)
    false_ex = sum(not any(_contains(e, x) for e in expected_ex) for x in summary.exclusions)
    return {
        "scene": float(summary.scene == label["scene"]),
        "intent": float(summary.intent == label["intent"]),
        "topics": float(any(_contains(w, t) for w in label["topics"] for t in topics)),
        "exclusions_captured": float(captured),
        "exclusions_expected": float(len(expected_ex)),
        "false_exclusions": float(false_ex > 0),
    }


def _aggregate(sel: list[dict[str, float]]) -> dict[str, float]:
    expected = sum(s["exclusions_expected"] for s in sel)
    return {
        "scene": float(np.mean([s["scene"] for s in sel])),
        "intent": float(np.mean([s["intent"] for s in sel])),
        "topics": float(np.mean([s["topics"] for s in sel])),
        "exclusions": sum(s["exclusions_captured"] for s in sel) / expected if expected else 1.0,
        "false_exclusions": float(np.mean([s["false_exclusions"] for s in sel])),
    }


def _llm_label(spec: str, options: Mapping[str, Any]) -> str:
    return " ".join([spec, *(f"{k}={v}" for k, v in options.items())])


def bench_parse(
    labels: Path,
    backends: Sequence[str],
    progress: Progress | None = None,
    embedder: str | None = "use-multilingual",
    variants: Sequence[Mapping[str, Any]] = ({},),
    scenes: Sequence[str] | None = None,
) -> list[ParseBenchResult]:
    """Parses every labelled statement with each backend (``none`` = the lexical parser alone).

    Latency is per statement after one warm-up parse (model load + system prompt); statements carry an optional
    ``set`` label (e.g. ``holdout``) and accuracy is reported per set as well. LLM backends run with the embedding
    scene classifier (``embedder``, as the turn does); ``none`` is the lexical parser alone, with no model at all.

    ``variants``: for each local model, one variant per set of :class:`~scenebridge.llm.LlamaCppLLM` options (e.g.
    ``{"lookup": 10}``: prompt-lookup decoding, ``{"fields": False}``: the keys decoded too). The variants of a model
    are loaded together and each statement is parsed by every variant in turn, so that drift in the machine's load
    falls on all of them alike. ``scenes``: only the statements labelled with these scenes (all when None).
    """

    progress = progress or SilentProgress()
    all_scenes, rows = load_labels(labels)
    if scenes:
        rows = [r for r in rows if r.get("scene") in set(scenes)]
        if not rows:
            msg = f"no statement of {labels} is in the scenes {', '.join(scenes)}; its scenes: {', '.join(all_scenes)}"
            raise UsageError(msg)
    classifier = None
    if embedder:
        classifier = SceneClassifier(get_embedder(embedder))
    results: list[ParseBenchResult] = []
    for spec in backends:
        load_before = os.getloadavg()[0]
        options = list(variants) if is_llama(spec) else [{}]
        models = {_llm_label(spec, o): build_llm(settings=table(LLMSettings, spec=spec), **o) for o in options}
        runs = {name: _Run() for name in models}
        for llm in models.values():
            if llm is not None:
                # Loading the model and evaluating the (shared) system prompt once is start-up, not per-statement cost.
                parse_interests("warm-up", llm, scenes=all_scenes, classifier=classifier)
                if isinstance(llm, LlamaCppLLM) and llm.draft_path is not None:
                    llm.draft_stats = DraftStats()  # count the timed parses only
        advance = progress.task(f"parse: {', '.join(models)}", len(rows) * len(models))
        for row in rows:
            for name, llm in models.items():
                runs[name].parse(row, llm, all_scenes, classifier if llm is not None else None)
                advance(1)
        for name, run in runs.items():
            results.append(run.result(name, models[name], classifier, load_before))
        del models  # one model in memory at a time
    return results


@dataclass
class _Run:
    """One backend's parses and scores."""

    scores: list[dict[str, float]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    sources: Counter[str] = field(default_factory=Counter)
    scene_from: Counter[str] = field(default_factory=Counter)
    langs: list[str] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)
    llm_hits: list[float] = field(default_factory=list)
    version: int = 0

    def parse(self, row: dict[str, Any], llm: Any, scenes: Sequence[str], clf: SceneClassifier | None) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        res = parse_interests(row["text"], llm, scenes=scenes, classifier=clf)
        seconds = time.perf_counter() - t0
        self.times.append(seconds)
        self.cpu.append(time.process_time() - c0)
        self.scores.append(score_summary(res.summary, row))
        self.sources[res.source] += 1
        self.scene_from[str(res.scene_from)] += 1
        self.langs.append("zh" if detect_language(row["text"]) in ("zh", "mixed") else "en")
        self.sets.append(str(row.get("set", "dev")))
        if res.source != "fallback":
            self.llm_hits.append(float(res.llm_scene == row["scene"]))
        self.details.append({
            "text": row["text"], "set": self.sets[-1], "scene": row["scene"], "got_scene": res.summary.scene,
            "llm_scene": res.llm_scene, "scene_from": res.scene_from, "source": res.source,
            "exclusions": row.get("exclusions") or [], "got_exclusions": res.summary.exclusions,
            "intent": row["intent"], "got_intent": res.summary.intent,
            "topics": [t.name for t in res.summary.topics], "seconds": round(seconds, 3),
            "cpu_seconds": round(self.cpu[-1], 3),
        })  # fmt: skip
        self.version = res.prompt_version

    def split(self, keys: list[str]) -> dict[str, dict[str, float]]:
        return {k: _aggregate([s for s, x in zip(self.scores, keys, strict=True) if x == k]) for k in sorted(set(keys))}

    def result(self, name: str, llm: Any, clf: SceneClassifier | None, load_before: float) -> ParseBenchResult:
        return ParseBenchResult(
            backend=name,
            n=len(self.times),
            by_language=self.split(self.langs),
            by_set=self.split(self.sets),
            sources=dict(self.sources),
            scene_from=dict(self.scene_from),
            llm_scene=float(np.mean(self.llm_hits)) if self.llm_hits else None,
            p50_s=float(np.percentile(self.times, 50)),
            p95_s=float(np.percentile(self.times, 95)),
            cpu_p50_s=float(np.percentile(self.cpu, 50)),
            cpu_p95_s=float(np.percentile(self.cpu, 95)),
            threads=os.environ.get("SCENEBRIDGE_LLAMA_THREADS", "auto"),
            prompt_version=self.version,
            load_avg=(load_before, os.getloadavg()[0]),
            classifier=clf.embedder.model_id if clf is not None and llm is not None else None,
            statements=self.details,
            draft=asdict(llm.draft_stats) if isinstance(llm, LlamaCppLLM) and llm.draft_path is not None else None,
            **_aggregate(self.scores),
        )
