"""Benchmark commands: ``bench store``, ``parse``, ``contention``, ``rerank``, ``turn`` and ``conversation``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scenebridge.cli.options import MAX_K, EmbedderOpt, RerankerOpt, StoreOpt, UrlOpt, settings_from
from scenebridge.cli.output import make_console
from scenebridge.errors import UsageError
from scenebridge.extras import require

__all__ = ["app"]

app = typer.Typer(help="Benchmarks that compare side by side in one run.", no_args_is_help=True)


@app.command("store")
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
    console = make_console()
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


@app.command("parse")
def bench_parse_cmd(
    llm: Annotated[
        list[str] | None, typer.Option("--llm", help="Backend(s) to compare; 'none' = lexical parser.")
    ] = None,
    labels: Annotated[Path, typer.Option(help="Labelled statements (YAML).")] = Path("benchmarks/parse_labels.yaml"),
    variant: Annotated[list[str] | None, typer.Option(help="A local model's decoding, compared side by side: "
        "'plain', or KEY=VALUE,... of lookup, draft (a model name), draft_k, fields, repack (repeatable).")] = None,
    scenes: Annotated[str | None, typer.Option(help="Only the statements of these scenes (comma-separated).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the numbers as JSON here.")] = None,
) -> None:  # fmt: skip
    """Parse benchmark: field accuracy per backend on the labelled English + Chinese statements."""
    import dataclasses
    import json

    from rich.table import Table

    from scenebridge.bench.parse import bench_parse, parse_variant
    from scenebridge.progress import RichProgress

    if not labels.is_file():
        msg = f"{labels} not found; pass --labels FILE"
        raise UsageError(msg)
    variants = [parse_variant(v) for v in variant or ["plain"]]
    wanted = [s.strip() for s in scenes.split(",")] if scenes else None
    with RichProgress() as progress:
        results = bench_parse(labels, llm or ["none"], progress=progress, variants=variants, scenes=wanted)
    table = Table(title=f"parse accuracy on {results[0].n} labelled statements (prompt v{results[0].prompt_version})")
    for col in ("backend", "scene", "intent", "topics", "exclusions captured", "false excl.", "p50 s", "p95 s",
                "sources"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("backend", "sources") else "right")
    for r in results:
        table.add_row(r.backend, f"{r.scene:.1%}", f"{r.intent:.1%}", f"{r.topics:.1%}", f"{r.exclusions:.1%}",
                      f"{r.false_exclusions:.1%}", f"{r.p50_s:.2f}", f"{r.p95_s:.2f}",
                      ", ".join(f"{k} {v}" for k, v in r.sources.items()))  # fmt: skip
    make_console(150).print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=2, ensure_ascii=False) + "\n")


@app.command("contention")
def bench_contention_cmd(
    llm: Annotated[str, typer.Option("--llm", help="The model (a name or .gguf path).")] = "qwen2.5-coder-1.5b",
    policy: Annotated[
        list[str] | None,
        typer.Option("--policy", help="Thread policies to compare: adaptive, fixed-cores, fixed-N (repeatable)."),
    ] = None,
    background: Annotated[int, typer.Option(help="CPU-bound processes at nice 19 in the loaded condition.", min=1)] = 1,
    labels: Annotated[Path, typer.Option(help="Labelled statements (YAML).")] = Path("benchmarks/parse_labels.yaml"),
    scenes: Annotated[str, typer.Option(help="Keep statements whose scene is one of these.")] = "art,office",
    limit: Annotated[int | None, typer.Option(help="Use only the first N statements.", min=1)] = None,
    repeat: Annotated[int, typer.Option(help="Passes over the statements per condition.", min=1)] = 1,
    interleave: Annotated[
        bool, typer.Option(help="Each statement idle then loaded (fairer on a machine shared with other work).")
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Write the numbers as JSON here.")] = None,
) -> None:
    """Contention benchmark: parse p50/p95 in one long-lived process, idle and beside busy processes, per policy."""
    import dataclasses
    import json

    from rich.table import Table

    from scenebridge.bench.contention import bench_contention

    if not labels.is_file():
        msg = f"{labels} not found; pass --labels FILE"
        raise UsageError(msg)
    console = make_console()
    res = bench_contention(labels, llm, policy or ["fixed-1", "fixed-cores", "adaptive"], background=background,
                           scenes=[s.strip() for s in scenes.split(",") if s.strip()], limit=limit, repeat=repeat,
                           interleave=interleave, log=lambda m: console.print(m, highlight=False))  # fmt: skip
    table = Table(title=f"parse latency, {res.n_statements} statements x {res.repeat}, {res.model}, {res.cores} cores, "
                  f"{res.background} background process(es) at nice 19 when loaded")  # fmt: skip
    for col in ("policy", "idle p50 s", "idle p95 s", "loaded p50 s", "loaded p95 s", "loaded/idle p50", "threads"):
        table.add_column(col, justify="left" if col in ("policy", "threads") else "right")
    for name, ratio in res.ratio.items():
        idle, loaded = (next(c for c in res.conditions if c.policy == name and c.condition == k)
                        for k in ("idle", "loaded"))  # fmt: skip
        table.add_row(name, f"{idle.p50_s:.2f}", f"{idle.p95_s:.2f}", f"{loaded.p50_s:.2f}", f"{loaded.p95_s:.2f}",
                      f"{ratio:.2f}x", f"idle {idle.threads}, loaded {loaded.threads}")  # fmt: skip
    make_console(150).print(table)
    same = "identical" if res.identical_outputs else f"DIFFERENT in {len(res.differences)} parses"
    console.print(f"parse outputs across policies and conditions: {same}; {res.uptime_before} before, "
                  f"{res.uptime_after} after; {res.wall_s:.0f} s")  # fmt: skip
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(dataclasses.asdict(res), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@app.command("rerank")
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

    require("train", "torch", "bench rerank (torch)")
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


@app.command("turn")
def bench_turn_cmd(
    store: StoreOpt = None,
    url: UrlOpt = None,
    embedder: EmbedderOpt = None,
    reranker: RerankerOpt = None,
    llm: Annotated[list[str] | None, typer.Option("--llm", help="Backend(s) to compare; none = lexical.")] = None,
    explain: Annotated[str, typer.Option(help="template or llm.")] = "template",
    labels: Annotated[Path, typer.Option(help="Statements (YAML, as for bench parse).")] = Path(
        "benchmarks/parse_labels.yaml"
    ),
    scenes: Annotated[
        str | None, typer.Option(help="Keep statements whose scene is one of these (default: the store's scenes).")
    ] = None,
    repeat: Annotated[int, typer.Option(help="Passes over the statements.")] = 1,
    k: Annotated[int, typer.Option("-k", help="Items per turn.", min=1, max=MAX_K)] = 10,
    limit: Annotated[int | None, typer.Option(help="Use only the first N statements.", min=1)] = None,
    history: Annotated[
        Path | None,
        typer.Option(
            help="A dataset folder: each statement is said by one of its users, with that user's history in "
            "the other scenes (cross-scene users; default: anonymous statements)."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the numbers as JSON here.")] = None,
) -> None:
    """Turn benchmark: per-stage latency p50/p95 (parse, embed, retrieve, rerank, explain) and checks per backend."""
    import dataclasses
    import json

    from rich.table import Table

    from scenebridge.bench.turn import STAGE_COLUMNS, bench_turn, load_user_histories
    from scenebridge.build import build_reranker, build_store

    if not labels.is_file():
        msg = f"{labels} not found; pass --labels FILE"
        raise UsageError(msg)
    if explain not in ("template", "llm"):
        msg = f"--explain must be template or llm, not {explain!r}"
        raise UsageError(msg)
    cfg = settings_from(store, url, embedder, reranker)
    item_store = build_store(settings=cfg.store)
    model = build_reranker(folders=cfg.agent.reranker)
    wanted = [s.strip() for s in scenes.split(",")] if scenes else None
    histories = load_user_histories(history, item_store.scenes) if history else None
    console = make_console()
    results = bench_turn(item_store, labels, llm or ["none"], reranker=model, explain=explain, scenes=wanted,
                         repeat=repeat, log=lambda m: console.print(m, highlight=False), k=k, limit=limit,
                         histories=histories)  # fmt: skip
    table = Table(title=f"turn latency, ms p50 / p95 over {results[0].n} statements ({results[0].n_en} en, "
                  f"{results[0].n_zh} zh)")  # fmt: skip
    for col in ("backend", *STAGE_COLUMNS, "scene ok", "excl. leaks", "expl. rejected"):
        table.add_column(col, justify="left" if col == "backend" else "right")
    for r in results:
        cells = [f"{r.p50[c]:.1f} / {r.p95[c]:.1f}" for c in STAGE_COLUMNS]
        table.add_row(r.backend, *cells, f"{r.scene_accuracy:.0%}", str(r.exclusion_leaks),
                      f"{r.rejected}/{r.llm_explanations}" if r.llm_explanations else "-")  # fmt: skip
    console.print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=2, ensure_ascii=False) + "\n")


@app.command("conversation")
def bench_conversation_cmd(
    data: Annotated[Path, typer.Argument(help="The dataset the store was indexed from (canonical folder).")],
    source: Annotated[str, typer.Option(help="The scene people speak of.")],
    target: Annotated[str, typer.Option(help="The scene they want items in.")],
    store: StoreOpt = None,
    url: UrlOpt = None,
    embedder: EmbedderOpt = None,
    reranker: RerankerOpt = None,
    llm: Annotated[str, typer.Option("--llm", help="The parsing backend; none = lexical.")] = "none",
    people: Annotated[int, typer.Option(help="Simulated people.", min=1)] = 300,
    turns: Annotated[int, typer.Option(help="Turns per conversation at most.", min=1, max=10)] = 5,
    lang: Annotated[str, typer.Option(help="en, zh or mixed (every second person speaks Chinese).")] = "mixed",
    seed: Annotated[int, typer.Option(help="Which people, their targets and their wording.")] = 0,
    users: Annotated[str, typer.Option(help="test (reported numbers) or valid (choosing settings).")] = "test",
    k: Annotated[int, typer.Option("-k", help="Items per answer; a hit is the target in them.", min=1, max=MAX_K)] = 10,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the numbers and conversations here.")] = None,
) -> None:
    """Conversation benchmark: simulated people critique toward a hidden item; hit rate by turn vs baselines."""
    import dataclasses
    import json

    from rich.table import Table

    from scenebridge.agent.link_prior import prior_for
    from scenebridge.agent.linking import Linker
    from scenebridge.bench.conversation import bench_conversation, check_options
    from scenebridge.bench.conversation_measures import agent_statement_linker
    from scenebridge.build import build_recommender, build_reranker, build_store
    from scenebridge.data.format import load_dataset
    from scenebridge.rerank.evaluate import FusionMethod

    check_options(lang, users, turns, people)
    cfg = settings_from(store, url, embedder, reranker, llm=llm, explain="template", k=k)
    item_store = build_store(settings=cfg.store)
    ds = load_dataset(data)
    model = build_reranker(folders=cfg.agent.reranker)
    rec = build_recommender(settings=cfg, store=item_store, reranker=model, profiles=None, sessions=None, mirror=True)
    console = make_console()
    # fusion-statement as `evaluate` scores it, and through the agent's linking path (its derived statement's
    # titles linked as mentions, a confidence-weighted history), on the same users.
    link = agent_statement_linker(Linker(item_store, prior=prior_for(model)), source, target)
    refs = [FusionMethod(p, "statement", link=x) for x in (None, link) for p in cfg.agent.reranker]
    res = bench_conversation(ds, rec, source, target, backend=llm, people=people, turns=turns, lang=lang, seed=seed,
                             users=users, k=k, references=refs,
                             log=lambda m: console.print(m, highlight=False))  # fmt: skip
    table = Table(title=f"{res.source} -> {res.target}, {res.people} {res.users} people ({res.n_en} en, "
                  f"{res.n_zh} zh), {llm}: hit = the target in the top {res.k}")  # fmt: skip
    for col in ("", *(f"turn {t}" for t in range(1, res.turns + 1)), "mean turns to hit"):
        table.add_column(col, justify="left" if not col else "right")
    mean = (f"{v:.2f}" if v is not None else "-" for v in (res.mean_turns_to_hit, res.replay_mean_turns_to_hit))
    table.add_row("conversation", *(f"{h:.1%}" for h in res.hit_by_turn), next(mean))
    table.add_row("stateless replay", *(f"{h:.1%}" for h in res.replay_hit_by_turn), next(mean))
    table.add_row("popularity", *(f"{res.popularity_hit:.1%}" for _ in res.hit_by_turn), "-")
    console.print(table)
    ratio = f"{res.ratio:.2f}x" if res.ratio is not None else "-"
    precision = f"{res.link_precision:.1%} of {res.linked}" if res.link_precision is not None else "- (nothing linked)"
    ref = " vs ".join(f"{n} {v:.4f}" for n, v in res.references.items()) or "no reference"
    console.print(f"within {res.turns} turns: {ratio} the stateless replay; link precision {precision}; mentions "
                  f"linked {res.mention_recall:.1%}", highlight=False)  # fmt: skip
    console.print(f"first-turn NDCG@10 {res.first_turn_ndcg:.4f} vs {ref} vs popularity {res.popularity_ndcg:.4f} "
                  f"(same users); first-turn scene right {res.first_turn_scene_accuracy:.1%}; scene told "
                  f"{res.scene_told} times in conversations, {res.replay_scene_told} in the replay; turn p50 "
                  f"{res.turn_ms_p50:.0f} ms, p95 {res.turn_ms_p95:.0f} ms; {res.wall_s:.0f} s",
                  highlight=False)  # fmt: skip
    for note in res.notes:
        console.print(f"note: {note}", highlight=False)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(dataclasses.asdict(res), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@app.command("dialogues")
def bench_dialogues_cmd(
    store: Annotated[
        list[Path],
        typer.Option("--store", help="Item store folder(s); each conversation runs on the first with its scenes."),
    ],
    llm: Annotated[
        list[str] | None, typer.Option("--llm", help="Backend(s) to compare; 'none' = lexical (repeatable).")
    ] = None,
    labels: Annotated[Path, typer.Option(help="Labelled conversations (YAML).")] = Path("benchmarks/dialogues.yaml"),
    reranker: RerankerOpt = None,
    out: Annotated[Path | None, typer.Option(help="Write the numbers (and the wrong fields) as JSON here.")] = None,
) -> None:
    """Dialogue-state benchmark: the state after each turn of labelled EN/ZH conversations, per field, per backend."""
    import dataclasses
    import json

    from rich.table import Table

    from scenebridge.agent.turn import Recommender
    from scenebridge.bench.dialogues import FIELDS, bench_dialogues, load_dialogues
    from scenebridge.build import build_llm, build_recommender, build_reranker
    from scenebridge.llm.protocol import LLM
    from scenebridge.settings import LLMSettings, Settings

    dialogues = load_dialogues(labels)
    models: dict[str, LLM | None] = {}

    def make(backend: str, path: Path) -> Recommender:
        if backend not in models:
            models[backend] = build_llm(settings=LLMSettings(spec=backend))
        cfg = Settings.load(store={"path": path})
        rerank = build_reranker(folders=[Path(r) for r in reranker or []])
        return build_recommender(settings=cfg, llm=models[backend], reranker=rerank, profiles=None, sessions=None,
                                 mirror=True)  # fmt: skip

    console = make_console()
    results = bench_dialogues(dialogues, llm or ["none"], store, make, log=lambda m: console.print(m, highlight=False))
    table = Table(title=f"dialogue state accuracy per turn ({labels})")
    for col in ("backend", "conversations", "turns", "state", *FIELDS, "by language", "p50 s"):
        table.add_column(col, justify="left" if col in ("backend", "by language") else "right")
    for r in results:
        table.add_row(r.backend, str(r.conversations), str(r.turns), f"{r.state_accuracy:.1%}",
                      *(f"{r.fields[f]:.1%}" if f in r.fields else "-" for f in FIELDS),
                      ", ".join(f"{k} {v:.0%}" for k, v in r.by_lang.items()), f"{r.p50_s:.2f}")  # fmt: skip
    make_console(160).print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=2, ensure_ascii=False) + "\n")


@app.command("tool-loop")
def bench_tool_loop_cmd(
    store: Annotated[Path, typer.Option(help="Item store folder (the amazon-art-office store for the requests).")],
    model: Annotated[Path, typer.Option(help="The caller: a GGUF model served by llama-cpp-python.")],
    requests: Annotated[Path, typer.Option(help="Requests (YAML).")] = Path("benchmarks/tool_requests.yaml"),
    limit: Annotated[int | None, typer.Option(help="Use only the first N requests.", min=1)] = None,
    budget_s: Annotated[float | None, typer.Option(help="Start no request after this many seconds.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the figures and every outcome as JSON here.")] = None,
) -> None:
    """A real model as the caller: it drives recommend/search_items over EN/ZH requests; served share, invalid calls
    caught and corrected, items named outside the catalogue."""
    import json
    import sys

    from scenebridge.bench.tool_loop import run_bench

    console = make_console()
    res = run_bench(store=store, model=model, requests=requests, limit=limit, budget_s=budget_s,
                    command=" ".join(sys.argv),
                    log=lambda m: console.print(m, highlight=False))  # fmt: skip
    console.print_json(json.dumps(res["figures"], ensure_ascii=False))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
