"""Searches the linker's confidence weights and threshold on the openings of `bench conversation`'s simulated people.

    nice -n 5 .venv/bin/python benchmarks/link_conversation.py /work/shared/datasets/amazon-art-office \
        --source art --target office --store /work/check/store-ao --reranker /work/check/model-ao \
        --users valid --people 200 --out benchmarks/results/link-conversation-valid.json

Each person's opening is read by the lexical parser (as the turn reads it); every mention's candidates are scored
once with their parts (title + embedding, ambiguity margin, had together with another mention's candidates,
popularity: `Linker.scored`), and each setting of the weights and threshold is replayed offline over them. A linked
item counts as right when it is the person's own visible source item or a near-duplicate of one (title-token Jaccard
>= 0.6), as `bench conversation` counts link precision (distinct items per conversation). Choose on `--users valid`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

from scenebridge.agent.link_prior import prior_for
from scenebridge.agent.linking import Linker, LinkWeights
from scenebridge.bench.conversation import draw_people
from scenebridge.bench.conversation_measures import OwnItems
from scenebridge.build import build_recommender, build_reranker, build_store
from scenebridge.cli.options import settings_from
from scenebridge.data.format import load_dataset

MARGINS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
TOGETHERS = (0.0, 0.1, 0.2, 0.4)
POPULARITIES = (0.0, 0.2, 0.4, 0.6, 0.8)
THRESHOLDS = tuple(round(0.4 + 0.025 * i, 3) for i in range(25))


def collect(args: argparse.Namespace) -> list[dict]:
    """Every person's mentions with their scored candidates (top 15) and whether each is the person's own."""
    cfg = settings_from(args.store, None, None, [args.reranker], llm="none", explain="template")
    store = build_store(settings=cfg.store)
    reranker = build_reranker(folders=cfg.agent.reranker)
    rec = build_recommender(settings=cfg, store=store, reranker=reranker, profiles=None, sessions=None, mirror=True)
    linker = Linker(store, prior=prior_for(reranker))
    ds = load_dataset(args.data)
    _, catalogue, people = draw_people(ds, args.source, args.target, users=args.users, people=args.people)
    rows = []
    for person in people:
        text = person.opening()
        summary = rec.parse(text).summary
        own = OwnItems(person.history, catalogue)
        scored = linker.scored(summary.mentioned, target=summary.scene or args.target,
                               source_scenes=summary.source_scenes)  # fmt: skip
        rows.append({"user": person.user_id, "text": text, "mentions": [
            {"text": m.text, "cands": [{"id": s.candidate.item_id, "title": s.candidate.title, "base": s.base,
                                        "margin": s.margin, "together": s.together, "popularity": s.popularity,
                                        "own": own.holds(s.candidate.item_id)} for s in ranked[:15]]}
            for m, ranked in zip(summary.mentioned, scored, strict=True)]})  # fmt: skip
    return rows


def replay(rows: list[dict], w: LinkWeights, threshold: float) -> tuple[int, int]:
    """(right, linked) distinct items per person, as `bench conversation` counts them."""
    right = linked = 0
    for person in rows:
        items: dict[str, bool] = {}
        for m in person["mentions"]:
            best = max(m["cands"], default=None, key=lambda c: min(1.0, max(0.0, c["base"] + w.margin * c["margin"]
                       + w.together * c["together"] + w.popularity * c["popularity"])))  # fmt: skip
            if best is None:
                continue
            conf = best["base"] + w.margin * best["margin"] + w.together * best["together"] \
                + w.popularity * best["popularity"]  # fmt: skip
            if min(1.0, conf) >= threshold:
                items[best["id"]] = best["own"]
        right += sum(items.values())
        linked += len(items)
    return right, linked


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("--source", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--reranker", type=Path, required=True)
    ap.add_argument("--users", default="valid")
    ap.add_argument("--people", type=int, default=200)
    ap.add_argument("--rows", type=Path, help="reuse the scored candidates written by an earlier run")
    ap.add_argument("--precision", type=float, default=0.75, help="the least precision a setting must reach")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = json.loads(args.rows.read_text()) if args.rows else collect(args)
    print(f"{len(rows)} people, {sum(len(r['mentions']) for r in rows)} mentions, {time.perf_counter() - t0:.0f} s")
    results = []
    for m, t, p in itertools.product(MARGINS, TOGETHERS, POPULARITIES):
        w = LinkWeights(margin=m, together=t, popularity=p)
        for th in THRESHOLDS:
            right, linked = replay(rows, w, th)
            results.append({"margin": m, "together": t, "popularity": p, "threshold": th, "right": right,
                            "linked": linked, "precision": right / linked if linked else None})  # fmt: skip
    base = [r for r in results if r["margin"] == r["together"] == r["popularity"] == 0 and r["threshold"] == 0.55]
    print("today's linker (threshold 0.55, no margin/prior):", base[0])
    ok = [r for r in results if r["precision"] is not None and r["precision"] >= args.precision]
    ok.sort(key=lambda r: (-r["right"], -r["precision"]))
    print(f"best settings with precision >= {args.precision:.0%} (most right links first):")
    for r in ok[:15]:
        print(r)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"rows": rows, "grid": results}, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
