"""``bench turn --history`` (lexical parser) with every turn run in a worker thread, as ``scenebridge serve`` runs
them, the main thread having set a BLAS limit first (as a host's start-up does: threadpoolctl then lets no other
thread change OpenBLAS's limit). Writes the same JSON as ``bench turn --out``, for ``benchmarks/ab_report.py``.

    PYTHONPATH=$TREE/src python benchmarks/history_in_thread.py --out $OUT/$T$I.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import threading
from pathlib import Path
from typing import Any

import threadpoolctl

from scenebridge.bench.turn import bench_turn, load_user_histories
from scenebridge.build import build_reranker, build_store
from scenebridge.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", default="/work/check/store-ao")
    ap.add_argument("--reranker", default="/work/check/model-ao")
    ap.add_argument("--data", default="../shared/datasets/amazon-art-office")
    ap.add_argument("--labels", default="benchmarks/parse_labels.yaml")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    threadpoolctl.threadpool_limits(2, user_api="blas")  # the main thread takes threadpoolctl's control first
    store = build_store(settings=Settings.load(store={"path": args.store}).store)
    model = build_reranker(folders=[args.reranker])
    histories = load_user_histories(Path(args.data), store.scenes)
    got: dict[str, Any] = {}

    def run() -> None:
        got["results"] = bench_turn(store, Path(args.labels), ["none"], reranker=model, repeat=args.repeat,
                                    histories=histories)  # fmt: skip

    worker = threading.Thread(target=run, name="server-worker")
    worker.start()
    worker.join()
    Path(args.out).write_text(json.dumps([dataclasses.asdict(r) for r in got["results"]]), encoding="utf-8")
    print(f"non_llm p50 {got['results'][0].p50['non_llm']} ms -> {args.out}")


if __name__ == "__main__":
    main()
