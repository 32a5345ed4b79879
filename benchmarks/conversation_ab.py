"""Side-by-side variants of the agent in `bench conversation` (the same people, one recommender, settings switched
between runs), for choosing settings on valid people before one run on the test people.

    nice -n 5 .venv/bin/python benchmarks/conversation_ab.py /work/shared/datasets/amazon-art-office \
        --source art --target office --store /work/check/store-ao --reranker /work/check/model-ao \
        --users valid --people 200 --variant today=threshold:0.55,pool:0 --variant pool=pool:1 \
        --out benchmarks/results/conversation-ab-valid.json

A variant is NAME=key:value,...; keys: ``threshold`` (the linker's), ``margin``/``together``/``popularity`` (its
:class:`~scenebridge.agent.linking.LinkWeights`), ``pool`` (1: the reranker's own candidates join on the first
turn, :data:`~scenebridge.agent.stages.retrieve.FIRST_TURN_POOL`), ``history`` (the confidence from which a link
stays in the reranker's history after the first turn), ``first_history`` (0: no linked item in the history on the
first turn below ``history`` either), ``fresh`` (1: a follow-up does not show the last answer's items again).
Keys left out keep the agent's defaults. ``--references``
also scores `fusion-statement` and `fusion-statement-linked` on the same users (once, with the first variant).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from scenebridge.agent.link_prior import prior_for
from scenebridge.agent.linking import Linker, LinkWeights
from scenebridge.agent.stages import retrieve
from scenebridge.bench.conversation import bench_conversation
from scenebridge.bench.conversation_measures import agent_statement_linker
from scenebridge.build import build_recommender, build_reranker, build_store
from scenebridge.cli.options import settings_from
from scenebridge.data.format import load_dataset
from scenebridge.rerank.evaluate import FusionMethod

KEYS = ("threshold", "margin", "together", "popularity", "pool", "history", "first_history", "fresh")


def parse_variant(text: str) -> tuple[str, dict[str, float]]:
    """``name=key:value,...`` as a name and its settings."""
    name, _, rest = text.partition("=")
    settings: dict[str, float] = {}
    for part in filter(None, rest.split(",")):
        key, _, value = part.partition(":")
        if key not in KEYS:
            msg = f"unknown key {key!r} in --variant {text!r}; keys: {', '.join(KEYS)}"
            raise SystemExit(msg)
        settings[key] = float(value)
    return name, settings


def apply(
    linker: Linker, settings: dict[str, float], defaults: tuple[float, LinkWeights, bool, float, bool, bool]
) -> None:
    """Sets one variant on the recommender's linker and the retrieve stage (defaults for keys left out)."""
    threshold, weights, pool, history, first, fresh = defaults
    linker.threshold = settings.get("threshold", threshold)
    linker.weights = LinkWeights(margin=settings.get("margin", weights.margin),
                                 together=settings.get("together", weights.together),
                                 popularity=settings.get("popularity", weights.popularity))  # fmt: skip
    retrieve.FIRST_TURN_POOL = bool(settings.get("pool", pool))
    retrieve.HISTORY_CONFIDENCE = settings.get("history", history)
    retrieve.FIRST_TURN_HISTORY = bool(settings.get("first_history", first))
    retrieve.FRESH_FOLLOWUPS = bool(settings.get("fresh", fresh))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("--source", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--reranker", type=Path, required=True)
    ap.add_argument("--users", default="valid")
    ap.add_argument("--people", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variant", action="append", required=True)
    ap.add_argument("--references", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    variants = [parse_variant(v) for v in args.variant]
    cfg = settings_from(args.store, None, None, [args.reranker], llm="none", explain="template", k=10)
    store = build_store(settings=cfg.store)
    reranker = build_reranker(folders=cfg.agent.reranker)
    rec = build_recommender(settings=cfg, store=store, reranker=reranker, profiles=None, sessions=None, mirror=True)
    linker: Linker = rec._linker  # a benchmark switches the agent's own linker between variants
    defaults = (linker.threshold, linker.weights, retrieve.FIRST_TURN_POOL, retrieve.HISTORY_CONFIDENCE,
                retrieve.FIRST_TURN_HISTORY, retrieve.FRESH_FOLLOWUPS)  # fmt: skip
    ds = load_dataset(args.data)
    out = []
    for n, (name, settings) in enumerate(variants):
        apply(linker, settings, defaults)
        refs = []
        if args.references and n == 0:
            ref_linker = Linker(store, prior=prior_for(reranker), threshold=linker.threshold, weights=linker.weights)
            link = agent_statement_linker(ref_linker, args.source, args.target)
            refs = [FusionMethod(args.reranker, "statement"), FusionMethod(args.reranker, "statement", link=link)]
        t0 = time.perf_counter()
        res = bench_conversation(ds, rec, args.source, args.target, people=args.people, seed=args.seed,
                                 users=args.users, references=refs)  # fmt: skip
        row = {k: v for k, v in dataclasses.asdict(res).items() if k != "conversations"}
        row["variant"], row["settings"] = name, settings
        print(f"{name} {settings}: hit@5 {res.hit_by_turn[-1]:.1%} vs replay {res.replay_hit_by_turn[-1]:.1%} "
              f"({res.ratio or 0:.2f}x), by turn {[round(h, 3) for h in res.hit_by_turn]}, replay "
              f"{[round(h, 3) for h in res.replay_hit_by_turn]}; precision {res.link_precision or 0:.1%} of "
              f"{res.linked}; first NDCG@10 {res.first_turn_ndcg:.4f}; refs {res.references}; "
              f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
        out.append({**row, "conversations": res.conversations})
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
