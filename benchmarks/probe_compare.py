"""Compare two ``benchmarks/probe_history.py`` files: the same items in the same order, the same evidence, and how far
the scores moved (when ``cmp`` says the files differ, this says whether only the last bits of the scores did).

    python benchmarks/probe_compare.py /tmp/probe-before.json /tmp/probe-after.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    args = ap.parse_args()
    a = json.loads(args.before.read_text(encoding="utf-8"))
    b = json.loads(args.after.read_text(encoding="utf-8"))
    if len(a) != len(b):
        print(f"the files hold {len(a)} and {len(b)} turns: not the same probe")
        return 1
    same = lists = 0
    worst = 0.0
    moved = []
    for x, y in zip(a, b, strict=True):
        for key in ("items", "reranked"):
            lists += 1
            same += [i["id"] for i in x[key]] == [i["id"] for i in y[key]]
            for p, q in zip(x[key], y[key], strict=False):
                worst = max(worst, abs(float(p["score"]) - float(q["score"])))
                if p["evidence"] != q["evidence"]:
                    moved.append((x["user"], x["text"], p["id"]))
        lists += 1
        same += x["candidates"] == y["candidates"]
    print(f"lists with the same ids in the same order: {same} of {lists}; items whose evidence differs: "
          f"{len(moved)}; largest score difference: {worst:.3g}")  # fmt: skip
    for user, text, item in moved[:10]:
        print(f"  evidence differs: user {user}, {text!r}, item {item}")
    return 0 if same == lists and not moved else 1


if __name__ == "__main__":
    sys.exit(main())
