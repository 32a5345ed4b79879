"""Pool `bench turn --out` files by their tag (A1.json, A2.json, B1.json ... -> A, B): per tag, the non-LLM p50 and
p95 over every turn, the p50 of each run, the parse p50 and each stage's p50.

Unlike ``ab_report.py`` it takes any number of tags and needs no per-turn user ids (harnesses of older commits did
not write them), so it does not check that the items agree. Non-LLM = link + embed + retrieve + rerank + explain of
each turn's own timings.

    python benchmarks/pool_runs.py benchmarks/results/history-s11/gomp-spin A B C
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

NON_LLM = ("link", "embed", "retrieve", "rerank", "explain")


def main(folder: Path, tags: list[str]) -> None:
    for tag in tags:
        files = sorted(folder.glob(f"{tag}[0-9]*.json"))
        if not files:
            sys.exit(f"no {tag}N.json in {folder}")
        every: list[float] = []
        parse: list[float] = []
        runs: list[float] = []
        stages: dict[str, list[float]] = {s: [] for s in NON_LLM}
        for path in files:
            values = []
            for bench in json.loads(path.read_text(encoding="utf-8")):
                for turn in bench["turns"]:
                    ms = turn["timings_ms"]
                    values.append(sum(ms.get(s, 0.0) for s in NON_LLM))
                    parse.append(ms["parse"])
                    for s in NON_LLM:
                        stages[s].append(ms.get(s, 0.0))
            every += values
            runs.append(float(np.percentile(values, 50)))
        per_stage = " ".join(f"{s} {np.percentile(v, 50):.2f}" for s, v in stages.items())
        each = ", ".join(f"{r:.1f}" for r in runs)
        p50, p95 = np.percentile(every, 50), np.percentile(every, 95)
        print(f"{tag}: {len(every)} turns, non_llm p50 {p50:.2f} p95 {p95:.2f} (runs {each}) | "
              f"parse p50 {np.percentile(parse, 50):.1f} | {per_stage}")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), sys.argv[2:])
