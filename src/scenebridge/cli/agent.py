"""Agent commands of the CLI: ``recommend``, ``chat``, ``mcp`` and ``bench turn`` (registered by ``cli.py``).

Heavy libraries are imported inside the commands so ``scenebridge --help`` stays quick.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scenebridge.cli.options import (
    EmbedderOpt,
    ExplainOpt,
    KOpt,
    LlmOpt,
    ProfilesOpt,
    RerankerOpt,
    SceneOpt,
    StoreOpt,
    UrlOpt,
    UserOpt,
    settings_from,
)
from scenebridge.errors import ScenebridgeError, UsageError
from scenebridge.settings import AgentSettings

if TYPE_CHECKING:
    from rich.console import Console

    from scenebridge.agent.turn import Recommender, TurnResult

__all__ = ["register"]


def _console() -> Console:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 140)


def render(result: TurnResult, console: Console) -> None:
    """Prints a turn's result as a rich table with the summary above it."""
    from rich.table import Table

    s = result.summary
    topics = ", ".join(t.name for t in s.topics) or "-"
    console.print(f"[bold]{result.scene}[/] · topics: {topics} · exclusions: {', '.join(s.exclusions) or '-'} "
                  f"· parsed by {result.parse_source}", markup=True, highlight=False)  # fmt: skip
    for change in result.refinements:
        console.print(f"  [cyan]{change}[/]", highlight=False)
    table = Table(show_lines=False)
    for col in ("#", "item", "title", "score", "why"):
        table.add_column(col, justify="right" if col in ("#", "score") else "left", overflow="fold")
    for item in result.items:
        table.add_row(str(item.rank), item.item_id, item.title, f"{item.score:.3f}", item.explanation)
    console.print(table)
    for note in result.notes:
        console.print(f"  [yellow]note:[/] {note}", highlight=False)
    timings = " ".join(f"{k} {v:.0f}" for k, v in result.timings_ms.items())
    console.print(f"[dim]ms: {timings} · session {result.session_id}[/]", highlight=False)


def recommend_cmd(
    text: Annotated[str, typer.Argument(help="What the person did and wants now (English or Chinese).")],
    user: UserOpt = None,
    scene: SceneOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the structured result as JSON.")] = False,
    store: StoreOpt = None,
    url: UrlOpt = None,
    embedder: EmbedderOpt = None,
    reranker: RerankerOpt = None,
    llm: LlmOpt = None,
    profiles: ProfilesOpt = None,
    explain: ExplainOpt = None,
    k: KOpt = None,
) -> None:
    """Recommend items for one statement: parse, retrieve, rerank, explain."""
    from scenebridge.build import build_recommender

    rec = build_recommender(settings=settings_from(store, url, embedder, reranker, llm, profiles, explain, k))
    result = rec.turn(text, user_id=user, scene=scene)
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    render(result, _console())


_HELP = """commands: /scene NAME · /user ID · /new (new session) · /like N · /dislike N · /json · /help · /quit"""


def chat_cmd(
    user: UserOpt = None,
    scene: SceneOpt = None,
    store: StoreOpt = None,
    url: UrlOpt = None,
    embedder: EmbedderOpt = None,
    reranker: RerankerOpt = None,
    llm: LlmOpt = None,
    profiles: ProfilesOpt = None,
    explain: ExplainOpt = None,
    k: KOpt = None,
) -> None:
    """Chat interactively: each line is one turn of a session; follow-ups refine the last answer.

    Follow-ups: "not office paper", "cheaper", "more like the second one", another scene.
    """
    from scenebridge.build import build_recommender

    console = _console()
    with console.status("loading the store and the model ..."):
        cfg = settings_from(store, url, embedder, reranker, llm, profiles, explain, k)
        rec = build_recommender(settings=cfg, mirror=True)
    console.print(f"scenes: {', '.join(rec.scenes)} · LLM: {rec.llm.name if rec.llm else 'none'} · {_HELP}",
                  highlight=False)  # fmt: skip
    state: dict[str, Any] = {"user": user, "scene": scene, "session": None, "json": False, "last": None}
    while True:
        try:
            line = console.input("[bold green]you>[/] ").strip()
        except EOFError:
            break
        if not line:
            continue
        if line.startswith("/"):
            if not _slash(line, state, rec, console):
                break
            continue
        try:
            with console.status("thinking ..."):
                result = rec.turn(line, user_id=state["user"], scene=state["scene"], session_id=state["session"])
        except ScenebridgeError as exc:
            console.print(f"[red]error:[/] {exc}", highlight=False)
            continue
        state["session"], state["last"], state["scene"] = result.session_id, result, None
        if state["json"]:
            console.print_json(result.model_dump_json())
        else:
            render(result, console)


def _slash(line: str, state: dict[str, Any], rec: Recommender, console: Console) -> bool:
    """Runs a slash command; False means quit."""
    cmd, _, arg = line.partition(" ")
    arg = arg.strip()
    try:
        if cmd in ("/quit", "/exit", "/q"):
            return False
        if cmd == "/help":
            console.print(_HELP, highlight=False)
        elif cmd == "/scene":
            if arg not in rec.scenes:
                console.print(f"scenes: {', '.join(rec.scenes)}", highlight=False)
            else:
                state["scene"] = arg
                console.print(f"next answers in {arg}", highlight=False)
        elif cmd == "/user":
            state["user"], state["session"] = arg or None, None
            console.print(f"user {arg or '(anonymous)'}; new session", highlight=False)
        elif cmd == "/new":
            state["session"] = None
            console.print("new session", highlight=False)
        elif cmd == "/json":
            state["json"] = not state["json"]
        elif cmd in ("/like", "/dislike"):
            last = state["last"]
            if not state["user"] or last is None or not arg.isdigit() or not 1 <= int(arg) <= len(last.items):
                console.print(f"usage: {cmd} N (after an answer, with /user set)", highlight=False)
            else:
                item = last.items[int(arg) - 1]
                rec.feedback(state["user"], item.item_id, cmd[1:])
                console.print(f"recorded: {cmd[1:]} {item.title}", highlight=False)
        else:
            console.print(f"unknown command {cmd}; {_HELP}", highlight=False)
    except ScenebridgeError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
    return True


def mcp_cmd(
    store: StoreOpt = None,
    url: UrlOpt = None,
    embedder: EmbedderOpt = None,
    reranker: RerankerOpt = None,
    llm: LlmOpt = None,
    profiles: ProfilesOpt = None,
    explain: ExplainOpt = None,
) -> None:
    """Serve the agent's tools over MCP on stdio.

    Tools: parse_interests, search_items, rerank, explain, record_feedback, recommend.
    """
    from scenebridge.build import build_recommender
    from scenebridge.tools import Toolkit, build_mcp_server

    rec = build_recommender(settings=settings_from(store, url, embedder, reranker, llm, profiles, explain), mirror=True)
    build_mcp_server(Toolkit(rec)).run("stdio")


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
    k: Annotated[int, typer.Option("-k", help="Items per turn.", min=1, max=50)] = 10,
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

    from scenebridge.bench.turn import STAGE_COLUMNS, bench_turn, load_histories
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
    histories = load_histories(history, item_store.scenes) if history else None
    console = _console()
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


profiles_app = typer.Typer(help="Cross-scene user profiles: import histories, show, forget.", no_args_is_help=True)


def _profiles(path: Path | None) -> Any:

    from scenebridge.store.profiles import ProfileStore

    return ProfileStore(path or AgentSettings().profiles)


@profiles_app.command("import")
def profiles_import_cmd(
    data: Annotated[Path, typer.Argument(help="A canonical dataset folder (its interactions become histories).")],
    users: Annotated[str | None, typer.Option(help="Comma-separated user ids to import (default: all).")] = None,
    profiles: ProfilesOpt = None,
) -> None:
    """Import users' interaction histories from a dataset (re-importing replaces, feedback is kept)."""
    from scenebridge.data.format import load_dataset

    ds = load_dataset(data)
    frame = ds.interactions
    if users:
        wanted = {u.strip() for u in users.split(",") if u.strip()}
        frame = frame[frame["user_id"].astype(str).isin(wanted)]
        if frame.empty:
            msg = f"none of the users {', '.join(sorted(wanted))} is in {data}"
            raise UsageError(msg)
    rows = zip(frame["user_id"], frame["item_id"], frame["scene"], frame["order"].rank(method="first"), strict=True)
    store = _profiles(profiles)
    n = store.import_interactions(rows)
    print(f"{store.path}: {n:,} history events for {frame['user_id'].nunique():,} users")


@profiles_app.command("show")
def profiles_show_cmd(
    user: Annotated[str, typer.Argument(help="User id.")],
    profiles: ProfilesOpt = None,
) -> None:
    """Print a user's events, oldest first."""
    events = _profiles(profiles).events(user)
    if not events:
        msg = f"no profile for user {user!r}"
        raise UsageError(msg)
    for e in events:
        print(f"{e.scene:<10} {e.kind:<9} {e.item_id}")


@profiles_app.command("forget")
def profiles_forget_cmd(
    user: Annotated[str, typer.Argument(help="User id.")],
    profiles: ProfilesOpt = None,
) -> None:
    """Delete everything the profile store holds about a user."""
    n = _profiles(profiles).forget(user)
    print(f"deleted {n:,} events of user {user!r}")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Adds the agent commands to the CLI."""
    app.command("recommend")(recommend_cmd)
    app.command("chat")(chat_cmd)
    app.command("mcp")(mcp_cmd)
    app.add_typer(profiles_app, name="profiles")
    bench_app.command("turn")(bench_turn_cmd)
