"""Recomputes an evaluation's metrics from rankings.jsonl and the raw CSV files, independently of scenebridge.

Usage: python benchmarks/recompute_metrics.py DATA_DIR RUN_DIR

It rebuilds the ground truth from the protocol's definition (test users with >= 1 source and >= 1 target
interaction; truth = their distinct target items) using only the standard library, recomputes every metric from
the top-50 lists, and compares with metrics.json. Exit 0 when every value matches to 1e-9.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections import defaultdict
from pathlib import Path


def main(data: Path, run: Path) -> int:
    stored = json.loads((run / "metrics.json").read_text())
    meta = stored.pop("_meta")
    source, target = meta["source"], meta["target"]
    with (data / "users.csv").open(encoding="utf-8") as fh:
        split = {r["user_id"]: r["split"] for r in csv.DictReader(fh)}
    seen: dict[str, set[str]] = defaultdict(set)
    truth: dict[str, set[str]] = defaultdict(set)
    with (data / "interactions.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if split.get(r["user_id"]) != "test":
                continue
            seen[r["user_id"]].add(r["scene"])
            if r["scene"] == target:
                truth[r["user_id"]].add(r["item_id"])
    users = sorted(u for u, s in seen.items() if source in s and target in s)
    with (data / "items.csv").open(encoding="utf-8") as fh:
        n_target = sum(1 for r in csv.DictReader(fh) if r["scene"] == target)

    lists: dict[str, dict[str, list[str]]] = defaultdict(dict)
    with (run / "rankings.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            lists[rec["method"]][rec["user_id"]] = rec["items"]

    worst = 0.0
    for method, values in stored.items():
        ranked = lists[method]
        if sorted(ranked) != users:
            print(f"{method}: rankings cover {len(ranked)} users, protocol says {len(users)}")
            return 1
        for k in (10, 20, 50):
            rec_, nd, hr, rr = [], [], [], []
            shown: set[str] = set()
            for u in users:
                top, rel = ranked[u][:k], truth[u]
                shown.update(top)
                hits = [i for i, x in enumerate(top) if x in rel]
                rec_.append(len(hits) / len(rel))
                dcg = sum(1 / math.log2(i + 2) for i in hits)
                idcg = sum(1 / math.log2(i + 2) for i in range(min(k, len(rel))))
                nd.append(dcg / idcg)
                hr.append(1.0 if hits else 0.0)
                rr.append(1 / (hits[0] + 1) if hits else 0.0)
            mine = {
                f"recall@{k}": sum(rec_) / len(users),
                f"ndcg@{k}": sum(nd) / len(users),
                f"hr@{k}": sum(hr) / len(users),
                f"mrr@{k}": sum(rr) / len(users),
                f"coverage@{k}": len(shown) / n_target,
            }
            for name, v in mine.items():
                diff = abs(v - values[name])
                worst = max(worst, diff)
                if diff > 1e-9:
                    print(f"{method} {name}: metrics.json {values[name]!r} != recomputed {v!r}")
                    return 1
    print(f"ok: {len(stored)} methods x 15 metrics over {len(users)} test users match (max |diff| {worst:.1e})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
