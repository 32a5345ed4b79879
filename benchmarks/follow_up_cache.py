"""A person's next statement with the reranker's history-only pass kept (warm) against one with nothing kept (cold):
the same candidates, store lookup and rerank with evidence, alternating which side goes first; outputs compared.

    python benchmarks/follow_up_cache.py --store /work/check/store-ao --reranker /work/check/model-ao \\
        --data /work/shared/datasets/amazon-art-office
"""

from __future__ import annotations

import argparse
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


def _call(rr: Any, store: ItemStore, q: RerankQuery, vec: np.ndarray) -> tuple[float, Any]:
    start = time.perf_counter()
    cands = rr.candidates(q, 50)
    hits, vecs = store.search_with_vectors(vec, scenes=[q.scene], k=100)
    seen = {h.item_id for h in hits}
    more, more_vecs = store.get_items([i for i in cands if i not in seen], scenes=[q.scene])
    pool = [Candidate(h.item_id, q.scene, vector=v) for h, v in zip([*hits, *more], np.vstack([vecs, more_vecs]),
            strict=True)]  # fmt: skip
    out = rr.rerank(q, pool, k=15)
    ms = (time.perf_counter() - start) * 1000
    return ms, (cands, [(s.item_id, repr(s.score), [e.model_dump() for e in s.evidence]) for s in out])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--reranker", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--users", type=int, default=40)
    args = ap.parse_args()
    store = build_store(settings=StoreSettings(path=args.store))
    rr: Any = build_reranker(folders=[args.reranker])
    if rr is None or not hasattr(rr, "ckpt"):
        raise SystemExit("--reranker must be one fusion reranker folder")
    target = rr.ckpt.target
    store.mirror([target])
    vecs = QueryEmbedder.for_store(store.embedder).embed(list(STATEMENTS))
    times: dict[str, list[float]] = {"cold": [], "warm": []}
    same = n = 0
    for user in load_user_histories(args.data, [target], users=args.users)[target]:
        qs = [RerankQuery(scene=target, history=user.items, interest_vector=v, interests=[t])
              for t, v in zip(STATEMENTS, vecs, strict=True)]  # fmt: skip
        for i in range(1, len(qs)):
            got = {}
            for side in ("cold", "warm") if n % 2 == 0 else ("warm", "cold"):
                rr.clear_cache()
                if side == "warm":  # the person's previous statement
                    rr.rerank(qs[i - 1], [Candidate(c, target) for c in rr.candidates(qs[i - 1], 50)], k=15)
                ms, got[side] = _call(rr, store, qs[i], vecs[i])
                times[side].append(ms)
            same += got["cold"] == got["warm"]
            n += 1
    cold, warm = np.asarray(times["cold"]), np.asarray(times["warm"])
    print(f"{n} follow-up statements; outputs identical warm vs cold in {same} of {n}")
    print(f"cold p50 {np.median(cold):.2f} ms, warm p50 {np.median(warm):.2f} ms, "
          f"warm/cold {np.median(warm) / np.median(cold):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
