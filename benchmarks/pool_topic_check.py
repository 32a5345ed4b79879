"""Whether the first turn's wider candidate pool crowds out what was asked for: the labelled statements of
`benchmarks/parse_labels.yaml` whose scene the store has, each answered in a fresh session with the reranker's own
candidates in the first turn's pool and without, and for each the share of the top 10 whose title or category holds
one of the label's English topic words ("a stapler" answered with staplers, not with the scene's best sellers).

    nice -n 5 .venv/bin/python benchmarks/pool_topic_check.py --store /work/check/store-ao \
        --reranker /work/check/model-ao --out benchmarks/results/pool-topic-check.json
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import yaml

from scenebridge.agent.stages import retrieve
from scenebridge.build import build_recommender, build_reranker, build_store
from scenebridge.cli.options import settings_from


def on_topic(words: list[str], title: str, category: str) -> bool:
    """Any topic word (its stem: "pens" for "pen") in the item's title or category."""
    text = f" {title} {category} ".lower()
    return any(re.search(rf"\b{re.escape(w.lower().rstrip('s'))}", text) for w in words)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--reranker", type=Path, required=True)
    ap.add_argument("--labels", type=Path, default=Path("benchmarks/parse_labels.yaml"))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    cfg = settings_from(args.store, None, None, [args.reranker], llm="none", explain="template", k=10)
    store = build_store(settings=cfg.store)
    rec = build_recommender(settings=cfg, store=store, reranker=build_reranker(folders=cfg.agent.reranker),
                            profiles=None, sessions=None, mirror=True)  # fmt: skip
    labels = yaml.safe_load(args.labels.read_text())["statements"]
    rows = []
    for lab in labels:
        if lab["scene"] not in store.scenes:
            continue
        # English topic words only: the catalogue's titles are English (a Chinese label's topics are Chinese).
        words = [w for t in lab["topics"] for w in t.split() if w.isascii() and w.lower() != lab["scene"]]
        if not words:
            continue
        row = {"text": lab["text"], "scene": lab["scene"], "words": words}
        for pool in (False, True):
            retrieve.FIRST_TURN_POOL = pool
            res = rec.turn(lab["text"], scene=lab["scene"], k=10)
            hits = sum(on_topic(words, i.title, i.category) for i in res.items)
            row["pool" if pool else "plain"] = {"items": [i.title for i in res.items],
                                                "on_topic": hits / max(len(res.items), 1)}  # fmt: skip
        rows.append(row)
        print(f"{row['plain']['on_topic']:.0%} -> {row['pool']['on_topic']:.0%}  {lab['text']}", flush=True)
    for key in ("plain", "pool"):
        mean = sum(r[key]["on_topic"] for r in rows) / max(len(rows), 1)
        print(f"{key}: mean on-topic share of the top 10 over {len(rows)} statements: {mean:.1%}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
