"""Agent commands: ``parse``, ``recommend``, ``chat`` and ``mcp``."""

from __future__ import annotations

import sys
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
from scenebridge.cli.output import finish_one_shot, make_console
from scenebridge.errors import ScenebridgeError
from scenebridge.extras import require

if TYPE_CHECKING:
    from rich.console import Console

    from scenebridge.agent.turn import Recommender, TurnResult

__all__ = ["chat_cmd", "mcp_cmd", "parse_cmd", "recommend_cmd", "render"]


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


def parse_cmd(
    text: Annotated[str, typer.Argument(help="What the person said (English or Chinese).")],
    llm: LlmOpt = None,
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
    from scenebridge.llm.registry import llm_from_settings

    cfg = settings_from(store, url, embedder, reranker, llm, profiles, explain, k)
    model = llm_from_settings(cfg.llm, cfg.privacy)  # its load starts now, before the rest of the agent is imported

    from scenebridge.build import build_recommender

    rec = build_recommender(settings=cfg, llm=model, sessions=None)  # one statement: nothing to continue or save
    result = rec.turn(text, user_id=user, scene=scene)
    if as_json:
        print(result.model_dump_json(indent=2))
    else:
        render(result, make_console())
    finish_one_shot()


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
    session: Annotated[
        str | None, typer.Option(help="Continue this saved session (its id is printed after each answer).")
    ] = None,
) -> None:
    """Chat interactively: each line is one turn of a session; follow-ups refine the last answer.

    Follow-ups: "not office paper", "cheaper", "more like the second one", another scene. Sessions are saved in
    ``[agent] sessions``: ``--session ID`` continues one after a restart.
    """
    from scenebridge.build import build_recommender

    console = make_console()
    with console.status("loading the store and the model ..."):
        cfg = settings_from(store, url, embedder, reranker, llm, profiles, explain, k)
        rec = build_recommender(settings=cfg, mirror=True)
    console.print(f"scenes: {', '.join(rec.scenes)} · LLM: {rec.llm.name if rec.llm else 'none'} · {_HELP}",
                  highlight=False)  # fmt: skip
    state: dict[str, Any] = {"user": user, "scene": scene, "session": session, "json": False, "last": None}
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
        state["session"], state["scene"] = result.session_id, None
        if result.items or state["last"] is None:  # an empty answer leaves "/like N" on the one before, as the session
            state["last"] = result
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
            if last is None or not arg.isdigit() or not 1 <= int(arg) <= len(last.items):
                console.print(f"usage: {cmd} N (after an answer)", highlight=False)
            else:
                item = last.items[int(arg) - 1]
                # Kept in the conversation, and in the user's profile when /user is set.
                rec.feedback(state["user"], item.item_id, cmd[1:], session_id=state["session"])
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
    require("mcp", "mcp", "scenebridge mcp (the mcp package)")
    from scenebridge.build import build_recommender
    from scenebridge.tools import Toolkit, build_mcp_server
    from scenebridge.tools.registry import registered_tools

    rec = build_recommender(settings=settings_from(store, url, embedder, reranker, llm, profiles, explain), mirror=True)
    build_mcp_server(Toolkit(rec, registered_tools())).run("stdio")  # plugins' tools too
