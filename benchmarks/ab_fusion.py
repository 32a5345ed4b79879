"""In-process A/B of the fusion reranker's per-turn work: an earlier ``rerank/fusion.py`` (A) and the current one (B)
on one checkpoint, alternating per call (ABBA, so load drift falls on both), each call with the per-user pass
forgotten: behaviour candidates, the store lookup of the new ones, rerank with evidence over those plus the store's
top-100. Prints p50/min per side, the B/A ratios, and in how many calls the outputs (ids, ``repr`` scores, evidence)
were identical. Only ``fusion.py`` is swapped: the rest of ``rerank`` must be the same in both.

    git show 0bb1e54:src/scenebridge/rerank/fusion.py > /tmp/fusion_old.py
    python benchmarks/ab_fusion.py /tmp/fusion_old.py --store /work/check/store-ao --reranker /work/check/model-ao \\
        --data /work/shared/datasets/amazon-art-office
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path
from typing import Any

import numpy as np

from scenebridge.agent.query_embed import QueryEmbedder
from scenebridge.bench.turn import load_user_histories
from scenebridge.build import build_reranker, build_store
from scenebridge.rerank.api import Candidate, RerankQuery
from scenebridge.settings import StoreSettings
from scenebridge.store.chroma import ItemStore

STATEMENTS = (
    "gel pens that do not smudge for taking notes",
    "a sturdy stapler for the office desk",
    "我想要一些给孩子用的彩色铅笔",
    "sticky notes and a planner to organize my week",
    "printer paper, but no ink cartridges",
)


def _call(rr: Any, store: ItemStore, query: RerankQuery, hits: list[Any], vecs: np.ndarray) -> tuple[float, Any]:
    rr.clear_cache()
    start = time.perf_counter()
    cands = rr.candidates(query, 50)
    seen = {h.item_id for h in hits}
    more, more_vecs = store.get_items([i for i in cands if i not in seen], scenes=[query.scene])
    pool = [Candidate(h.item_id, query.scene, vector=v, retrieval_score=h.score)
            for h, v in zip([*hits, *more], np.vstack([vecs, more_vecs]), strict=True)]  # fmt: skip
    out = rr.rerank(query, pool, k=15)
    ms = (time.perf_counter() - start) * 1000
    return ms, (cands, [(s.item_id, repr(s.score), [e.model_dump() for e in s.evidence]) for s in out])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path, help="the earlier fusion.py")
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--reranker", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--users", type=int, default=60)
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("fusion_old", args.old)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {args.old}")
    old = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old)
    store = build_store(settings=StoreSettings(path=args.store))
    new = build_reranker(folders=[args.reranker])
    if new is None or not hasattr(new, "ckpt"):
        raise SystemExit("--reranker must be one fusion reranker folder")
    target = new.ckpt.target
    store.mirror([target])
    sides = {"A": old.FusionReranker(new.ckpt), "B": new}
    embed = QueryEmbedder.for_store(store.embedder)
    times: dict[str, list[float]] = {"A": [], "B": []}
    same = n = 0
    for user in load_user_histories(args.data, [target], users=args.users)[target]:
        for text in STATEMENTS:
            vec = embed.embed([text])[0]
            hits, vecs = store.search_with_vectors(vec, scenes=[target], k=100)
            query = RerankQuery(scene=target, history=user.items, interest_vector=vec, interests=[text])
            got = {}
            for side in ("A", "B") if n % 2 == 0 else ("B", "A"):
                ms, got[side] = _call(sides[side], store, query, hits, vecs)
                times[side].append(ms)
            same += got["A"] == got["B"]
            n += 1
    a, b = np.asarray(times["A"]), np.asarray(times["B"])
    print(f"{n} calls, ABBA; outputs identical in {same} of {n}")
    for side, x in (("A", a), ("B", b)):
        print(f"{side}: min {x.min():.2f}  p25 {np.percentile(x, 25):.2f}  p50 {np.median(x):.2f}  "
              f"p95 {np.percentile(x, 95):.2f} ms")  # fmt: skip
    print(f"B/A: p50s {np.median(b) / np.median(a):.3f}, per call median {np.median(b / a):.3f}")


if __name__ == "__main__":
    main()
