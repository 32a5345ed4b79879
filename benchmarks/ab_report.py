"""Pool the A/B runs of ``benchmarks/ab_history.sh``: per-stage p50/p95 of A and B, the B/A ratios, and whether
every turn returned the same items for the same user and statement in both.

The non-LLM figure is recomputed from each turn's own stage timings (link + embed + retrieve + rerank + template
explain; the parse stage apart, since with an LLM it is the model), so A and B are compared on one definition even
when their harnesses differ. With ``--lexical`` the parse stage (the lexical parser and the scene classifier's
embedding: no LLM either) is added as a second total.

    python benchmarks/ab_report.py /tmp/ab            # reads /tmp/ab/A*.json and /tmp/ab/B*.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

STAGES = ("parse", "link", "embed", "retrieve", "rerank", "explain")
NON_LLM = ("link", "embed", "retrieve", "rerank", "explain")


def _turns(files: list[Path]) -> list[dict[str, Any]]:
    out = []
    for path in files:
        for bench in json.loads(path.read_text(encoding="utf-8")):
            out += bench["turns"]
    return out


def _times(turns: list[dict[str, Any]]) -> dict[str, list[float]]:
    cols: dict[str, list[float]] = {s: [] for s in (*STAGES, "non_llm", "non_llm+parse")}
    for t in turns:
        ms = t["timings_ms"]
        for s in STAGES:
            cols[s].append(float(ms.get(s, 0.0)))
        non_llm = sum(float(ms.get(s, 0.0)) for s in NON_LLM)
        cols["non_llm"].append(non_llm)
        cols["non_llm+parse"].append(non_llm + float(ms.get("parse", 0.0)))
    return cols


def _items(turns: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[list[str]]]:
    out: dict[tuple[str, str, str], list[list[str]]] = {}
    for t in turns:
        out.setdefault((str(t["user"]), t["text"], t["scene"]), []).append(list(t["items"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="the OUTDIR given to ab_history.sh")
    args = ap.parse_args()
    sides = {t: sorted(args.out.glob(f"{t}[0-9]*.json")) for t in ("A", "B")}
    if not sides["A"] or not sides["B"]:
        raise SystemExit(f"{args.out} has no A*.json and B*.json runs")
    turns = {t: _turns(files) for t, files in sides.items()}
    times = {t: _times(tt) for t, tt in turns.items()}
    print(f"runs: A {len(sides['A'])}, B {len(sides['B'])}; turns: A {len(turns['A'])}, B {len(turns['B'])}")
    print(f"{'ms':<14}{'A p50':>9}{'B p50':>9}{'B/A':>7}{'A p95':>9}{'B p95':>9}{'B/A':>7}")
    for col in times["A"]:
        a, b = np.asarray(times["A"][col]), np.asarray(times["B"][col])
        a50, b50, a95, b95 = (float(np.percentile(x, q)) for x, q in ((a, 50), (b, 50), (a, 95), (b, 95)))
        print(f"{col:<14}{a50:9.2f}{b50:9.2f}{b50 / max(a50, 1e-9):7.2f}{a95:9.2f}{b95:9.2f}"
              f"{b95 / max(a95, 1e-9):7.2f}")  # fmt: skip
    for t, files in sides.items():
        per_run = [float(np.percentile(_times(_turns([f]))["non_llm"], 50)) for f in files]
        print(f"{t} non_llm p50 per run: " + ", ".join(f"{v:.1f}" for v in per_run))
    items_a, items_b = _items(turns["A"]), _items(turns["B"])
    same = sum(items_a.get(key) == lists for key, lists in items_b.items())
    print(f"same items for the same (user, statement, scene): {same} of {len(items_b)} keys "
          f"({len(turns['B'])} turns)")  # fmt: skip
    if same != len(items_b) or set(items_a) != set(items_b):
        sys.exit(1)


if __name__ == "__main__":
    main()
