"""Probe the history path: full turns said by dataset users with their real cross-scene history, dumped as JSON.

Run it before and after a change to the reranker or the store's search and ``cmp`` the two files: every item id,
score (``repr``, so exact), order and evidence (as data, without the agent's wording) of each turn, and the fusion
reranker's own behaviour candidates and scores, must match. Run both sides on the same agent code: two
``git worktree``s of one commit, one with ``src/scenebridge/rerank`` from the earlier commit, each run with
``PYTHONPATH=WORKTREE/src`` (only APIs that older commits have too are used).

    python benchmarks/probe_history.py --store /work/check/store-ao --reranker /work/check/model-ao \
        --data /work/shared/datasets/amazon-art-office --out /tmp/probe-after.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from scenebridge.build import build_recommender, build_reranker, build_store
from scenebridge.data.format import load_dataset
from scenebridge.rerank.api import Candidate, RerankQuery
from scenebridge.settings import Settings, StoreSettings
from scenebridge.store.profiles import ProfileStore

STATEMENTS = (
    "gel pens that do not smudge for taking notes",
    "a sturdy stapler for the office desk",
    "我想要一些给孩子用的彩色铅笔",
    "sticky notes and a planner to organize my week",
    "printer paper, but no ink cartridges",
)


def probe_users(data: Path, source: str, n: int) -> list[tuple[str, list[str]]]:
    """The first ``n`` valid/test users (file order) with at least three items in ``source``, oldest first."""
    ds = load_dataset(data)
    if ds.users is None:
        msg = f"{data} has no users.csv: the probe needs its valid/test users"
        raise SystemExit(msg)
    wanted = ds.users.loc[ds.users["split"].isin(["valid", "test"]), "user_id"].tolist()
    inter = ds.interactions
    inter = inter[inter["scene"] == source].sort_values(["user_id", "order"], kind="stable")
    by_user = {u: list(g) for u, g in inter.groupby("user_id", sort=False)["item_id"]}
    return [(u, by_user[u]) for u in wanted if len(by_user.get(u, [])) >= 3][:n]


def _evidence(evidence: list[Any]) -> list[dict[str, Any]]:
    """The evidence as the reranker gave it (its wording, ``text``, is the agent's and follows the statement)."""
    return [e.model_dump(exclude={"text"}) for e in evidence]


def _scored(found: list[Any]) -> list[dict[str, Any]]:
    return [{"id": s.item_id, "score": repr(s.score), "evidence": _evidence(s.evidence)} for s in found]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--reranker", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    store = build_store(settings=StoreSettings(path=args.store))
    model = build_reranker(folders=[args.reranker])
    if model is None or not hasattr(model, "ckpt"):
        raise SystemExit("--reranker must be one fusion reranker folder")
    target, source = model.ckpt.target, str(model.ckpt.config["source"])
    profiles = ProfileStore(":memory:")
    cfg = Settings.load(llm={"spec": "none"}, agent={"explain": "template", "k": 10})
    rec = build_recommender(settings=cfg, store=store, reranker=model, profiles=profiles, sessions=None, mirror=True)
    out: list[dict[str, Any]] = []
    for user, history in probe_users(args.data, source, args.users):
        for item in history:
            profiles.record(user, item, source, "purchase")
        for text in STATEMENTS:
            model.clear_cache()
            res = rec.turn(text, scene=target, user_id=user)
            turn = {"user": user, "text": text, "scene": res.scene,
                    "items": [{"id": i.item_id, "score": repr(i.score),
                               "evidence": _evidence(i.evidence)} for i in res.items]}  # fmt: skip
            vec = rec.query_embedder.embed([res.summary.text() or target])[0]
            query = RerankQuery(scene=target, history=history, interest_vector=vec, interests=["probe"])
            model.clear_cache()
            cands = model.candidates(query, 50)
            turn["candidates"] = cands
            turn["reranked"] = _scored(model.rerank(query, [Candidate(i, target) for i in cands], k=20))
            out.append(turn)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(out)} turns of {len({t['user'] for t in out})} users -> {args.out}")


if __name__ == "__main__":
    main()
