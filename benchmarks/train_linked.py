"""Trains the fusion reranker with statement mode through the agent's linking path: each training user's derived
statement is linked by the agent's own :class:`~scenebridge.agent.linking.Linker` (over the item store, with the
co-purchase prior of an already trained checkpoint of the same split, as a served agent links), and the linked,
confidence-weighted history joins the statement in a third training list (``rerank/train.py``'s ``link``). The
linker is injected here, above ``rerank``, as ``bench conversation`` gives ``evaluate`` its one.

    nice -n 19 .venv/bin/python benchmarks/train_linked.py /work/shared/datasets/amazon-art-office --source art \
        --target office --store /work/check/store-ao --prior /work/check/model-ao --out /work/check/model-ao-linked

Then ``bench conversation … --reranker /work/check/model-ao-linked`` scores the agent's first turn and the
``fusion-statement`` / ``fusion-statement-linked`` rows with the new checkpoint.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

from scenebridge.agent.link_prior import prior_for
from scenebridge.agent.linking import Linker
from scenebridge.bench.conversation_measures import agent_statement_linker
from scenebridge.build import build_reranker, build_store
from scenebridge.cli.options import settings_from
from scenebridge.data.format import load_dataset
from scenebridge.progress import RichProgress
from scenebridge.rerank.statement import StatementLinker
from scenebridge.rerank.train import TrainConfig, train


class CountingLinker:
    """The agent's statement linker, counting calls, parts, links and seconds (linking is the run's added cost)."""

    def __init__(self, link: StatementLinker) -> None:
        self._link = link
        self.calls = self.parts = self.linked = 0
        self.seconds = 0.0

    def __call__(self, parts: Sequence[str]) -> list[tuple[str, float]]:
        t0 = time.perf_counter()
        out = self._link(parts)
        self.seconds += time.perf_counter() - t0
        self.calls, self.parts, self.linked = self.calls + 1, self.parts + len(parts), self.linked + len(out)
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("--source", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--prior", type=Path, required=True, help="a fusion checkpoint of the same split (its prior)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=12)
    args = ap.parse_args()
    cfg = settings_from(args.store, None, None, [args.prior], llm="none", explain="template", k=10)
    store = build_store(settings=cfg.store)
    store.mirror()  # the linker looks items up by id for every part: from memory, as a served agent's store does
    linker = Linker(store, prior=prior_for(build_reranker(folders=cfg.agent.reranker)))
    link = CountingLinker(agent_statement_linker(linker, args.source, args.target))
    with RichProgress() as progress:
        report = train(load_dataset(args.data), args.source, args.target, args.out, TrainConfig(epochs=args.epochs),
                       progress, link=link)  # fmt: skip
    summary = {"valid_ndcg": report.valid_ndcg, "valid_ndcg_statement": report.valid_ndcg_statement,
               "valid_ndcg_statement_linked": report.valid_ndcg_statement_linked, "best_epoch": report.best_epoch,
               "train_lists": report.train_users, "minutes": round(report.seconds / 60, 1),
               "link_calls": link.calls, "parts": link.parts, "linked": link.linked,
               "link_seconds": round(link.seconds, 1)}  # fmt: skip
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
