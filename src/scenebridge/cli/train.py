"""``scenebridge train``: the fusion reranker on the cold-start protocol (needs the ``train`` extra, torch)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scenebridge.extras import require

__all__ = ["train_cmd"]


def train_cmd(
    data: Annotated[Path, typer.Argument(help="A canonical dataset folder.")],
    source: Annotated[str, typer.Option("--source", "-s", help="Scene whose history is visible.")],
    target: Annotated[str, typer.Option("--target", "-t", help="Scene to recommend in.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Checkpoint folder to write.")],
    epochs: Annotated[int, typer.Option(min=1, help="Most epochs (early stopping on valid NDCG@10).")] = 12,
    seed: Annotated[int, typer.Option(help="Random seed (split, folds, initialisation, batches).")] = 0,
    embedder: Annotated[str, typer.Option(help="Embedder for item and interest vectors.")] = "use-multilingual",
) -> None:
    """Train the fusion reranker on the cold-start protocol; early stopping and settings chosen on valid users.

    Interrupted (Ctrl-C, a kill)? Run the same command again: it continues after the last finished epoch.
    """
    require("train", "torch", "scenebridge train (torch)")
    from scenebridge.data.format import load_dataset
    from scenebridge.progress import RichProgress
    from scenebridge.rerank.train import TrainConfig, train

    ds = load_dataset(data)
    with RichProgress() as progress:
        report = train(ds, source, target, out, TrainConfig(epochs=epochs, seed=seed, embedder=embedder), progress)
    print(
        f"wrote {out}: valid NDCG@10 {report.valid_ndcg:.4f} (statement mode {report.valid_ndcg_statement:.4f}), "
        f"epoch {report.best_epoch}, {report.train_users:,} training lists, {report.seconds / 60:.1f} min"
        + (
            f" (resumed: {report.resumed_epochs} epoch(s) done before the interruption)"
            if report.resumed_epochs
            else ""
        )
    )
