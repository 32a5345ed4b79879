"""A fresh process's `scenebridge recommend ... --json`, two trees side by side, alternating run by run.

Each run is a new interpreter (the one-shot CLI as a person types it), so it pays the imports, the model's load, the
restored prompt prefix and the parse. A tree is given as the ``src`` folder of a checkout (``PYTHONPATH``; the venv
is this checkout's), e.g. a ``git worktree`` of the commit to compare with. Usage::

    python benchmarks/fresh_ab.py --old /tmp/ab-old/src --new src --runs 5 \
        --store runs/quickstart-store --reranker runs/quickstart-model --out benchmarks/results/fresh/ab.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

STATEMENT = "I loved Alien and The Terminator; tonight I want something scary but not too gory"


def one_run(src: str, args: argparse.Namespace) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    cmd = [str(Path(sys.executable).parent / "scenebridge"), "recommend", args.statement, "--store", args.store,
           "--json", *(["--reranker", args.reranker] if args.reranker else [])]  # fmt: skip
    start = time.perf_counter()
    cpu0 = os.times()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    cpu1 = os.times()
    if out.returncode != 0:
        msg = f"{src}: exit {out.returncode}: {out.stderr[-2000:]}"
        raise SystemExit(msg)
    result = json.loads(out.stdout)
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round((cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system), 3),
        "load1": os.getloadavg()[0],
        "timings_ms": result["timings_ms"],
        "items": [i["item_id"] for i in result["items"]],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True, help="the src folder of the tree to compare with")
    ap.add_argument("--new", default="src", help="the src folder of the tree under test")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--store", required=True)
    ap.add_argument("--reranker")
    ap.add_argument("--statement", default=STATEMENT)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    trees = {"old": args.old, "new": args.new}
    runs: dict[str, list[dict[str, object]]] = {"old": [], "new": []}
    one_run(args.new, args)  # not counted: the first run after a change writes the prefix file, pages the model in
    for n in range(args.runs):
        for name in ("old", "new") if n % 2 == 0 else ("new", "old"):
            r = one_run(trees[name], args)
            runs[name].append(r)
            print(f"run {n + 1} {name}: {r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU, load {r['load1']:.2f}, "
                  f"parse {r['timings_ms']['parse']:.0f} ms", flush=True)  # type: ignore[index]  # fmt: skip
    summary = {}
    for name, rs in runs.items():
        summary[name] = {
            "wall_p50_s": statistics.median(float(r["wall_s"]) for r in rs),  # type: ignore[arg-type]
            "cpu_p50_s": statistics.median(float(r["cpu_s"]) for r in rs),  # type: ignore[arg-type]
            "parse_p50_ms": statistics.median(r["timings_ms"]["parse"] for r in rs),  # type: ignore[index]
        }
    ratio = summary["new"]["wall_p50_s"] / summary["old"]["wall_p50_s"]
    for name, s in summary.items():
        print(f"{name}: wall p50 {s['wall_p50_s']:.2f} s, CPU p50 {s['cpu_p50_s']:.2f} s, "
              f"parse p50 {s['parse_p50_ms']:.0f} ms")  # fmt: skip
    print(f"new / old wall p50: {ratio:.2f}x")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        doc = {"trees": trees, "statement": args.statement, "store": args.store, "reranker": args.reranker,
               "runs": runs, "summary": summary, "ratio_wall_p50": round(ratio, 3)}  # fmt: skip
        args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
