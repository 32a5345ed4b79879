"""Scores mention linking (scenebridge.agent.linking) on benchmarks/link_labels.yaml, and searches its weights.

    nice -n 5 .venv/bin/python benchmarks/link_eval.py \
        --set amazon-art-office=/work/check/store-ao:/work/shared/datasets/amazon-art-office/items.csv \
        --set movielens-100k=STORE:ITEMS_CSV [--grid]

Each set is STORE:ITEMS (the item store the labels were written for, and its items.csv, from which the title index
is read: the same titles as the store's, read in a second instead of through Chroma). Precision: of the mentions
linked, the share linked to one of their right items; recall: of the mentions that have right items, the share
linked to one. A mention labelled [] and linked counts against precision.
"""

from __future__ import annotations

import argparse
import itertools
import re
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from scenebridge.agent.linking import Candidate, Linker
from scenebridge.agent.summary import Mention
from scenebridge.store.chroma import ItemStore
from scenebridge.store.embed import cached_embedder


def _score(rows: list[tuple[list[Candidate], Mention, set[str]]], linker: Linker) -> dict[str, float]:
    linked = right = wanted = 0
    for cands, mention, ids in rows:
        best: tuple[float, str] | None = None
        for c in cands:  # the first best, as Linker.link takes it
            conf = linker.confidence(mention.text, c.title, c.cosine)[0]
            if best is None or conf > best[0]:
                best = (conf, c.item_id)
        wanted += bool(ids)
        if best is not None and best[0] >= linker.threshold:
            linked += 1
            right += best[1] in ids
    precision = right / linked if linked else 1.0
    recall = right / wanted if wanted else 1.0
    return {"precision": precision, "recall": recall, "linked": linked, "right": right, "wanted": wanted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=Path("benchmarks/link_labels.yaml"))
    parser.add_argument("--set", action="append", default=[], help="NAME=STORE:ITEMS_CSV")
    parser.add_argument("--grid", action="store_true", help="also search title weight, cosine range and threshold")
    args = parser.parse_args()
    labels = yaml.safe_load(args.labels.read_text("utf-8"))["sets"]
    embedder = cached_embedder("use-multilingual")
    rows: list[tuple[list[Candidate], Mention, set[str]]] = []
    by_set: dict[str, list[tuple[list[Candidate], Mention, set[str]]]] = {}
    times: list[float] = []
    linkers: dict[str, Linker] = {}
    for spec in args.set:
        name, _, paths = spec.partition("=")
        store_path, _, items_csv = paths.partition(":")
        items = pd.read_csv(items_csv, dtype=str, keep_default_na=False)
        by_scene = {s: list(zip(g["item_id"], g["title"], strict=True)) for s, g in items.groupby("scene")}
        store = ItemStore(embedder, path=store_path)
        linker = Linker(store, titles=lambda scene, t=by_scene: t[scene])  # type: ignore[misc]
        t0 = time.perf_counter()
        linker.warm()
        print(f"{name}: title indexes of {len(items):,} items built in {time.perf_counter() - t0:.2f} s")
        linkers[name] = linker
        linker.link([Mention(text="warm up")])
        for entry in labels[name]["mentions"]:
            mention = Mention(text=entry["text"], scene=entry.get("scene"))
            t0 = time.perf_counter()
            link = linker.link([mention], target=entry.get("target"))[0]
            times.append(time.perf_counter() - t0)
            vec = store.embedder.embed([mention.text])[0]
            cands = linker.candidates(mention, vec, entry.get("target"))
            row = (cands, mention, set(entry["ids"]))
            rows.append(row)
            by_set.setdefault(name, []).append(row)
            ok = (
                "ok "
                if (link.item.item_id if link.item else None) in row[2] or (not row[2] and not link.item)
                else "BAD"
            )
            print(f"  {ok} {mention.text[:40]:40} -> {link.best_title!s:.45} {link.confidence:.3f}"
                  f"{' linked' if link.item else ''}")  # fmt: skip
    default = next(iter(linkers.values()))
    for name, set_rows in by_set.items():
        print(name, _score(set_rows, default))
    print("all", _score(rows, default))
    zh = [r for r in rows if re.search(r"[\u4e00-\u9fff]", r[1].text)]
    print("zh", _score(zh, default), "en", _score([r for r in rows if r not in zh], default))
    p50, top = statistics.median(times) * 1000, max(times) * 1000
    print(f"Linker.link per mention: p50 {p50:.1f} ms, max {top:.1f} ms over {len(times)}")
    if args.grid:
        results = []
        for w, lo, hi, th in itertools.product(np.arange(0.2, 0.85, 0.1), (0.2, 0.3, 0.4), (0.7, 0.8, 0.9),
                                               np.arange(0.4, 0.9, 0.05)):  # fmt: skip
            default.title_weight, default.cos_range, default.threshold = float(w), (lo, hi), float(th)
            s = _score(rows, default)
            f05 = 1.25 * s["precision"] * s["recall"] / max(1e-9, 0.25 * s["precision"] + s["recall"])
            results.append((round(f05, 4), round(w, 2), lo, hi, round(th, 2), s))
        results.sort(key=lambda r: -r[0])
        for r in results[:15]:
            print(r)


if __name__ == "__main__":
    main()
