"""Operations commands: ``script run``, ``serve`` and ``forget``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scenebridge.cli.options import (
    EmbedderOpt,
    ExplainOpt,
    KOpt,
    LlmOpt,
    ProfilesOpt,
    RedactOpt,
    RerankerOpt,
    StoreOpt,
    TokenOpt,
    UrlOpt,
    settings_from,
)
from scenebridge.errors import UsageError
from scenebridge.extras import require
from scenebridge.settings import AgentSettings, StateSettings

__all__ = ["forget_cmd", "script_app", "serve_cmd"]

script_app = typer.Typer(help="Scripted conversation tests: replay YAML scripts of turns.", no_args_is_help=True)


@script_app.command("run")
def script_run_cmd(
    files: Annotated[list[Path], typer.Argument(help="Script files (YAML).")],
    llm: Annotated[
        str | None, typer.Option("--llm", help="Override every script's llm: fake, none, a model name, path or URL.")
    ] = None,
    embedder: Annotated[str | None, typer.Option("--embedder", help="Override every script's embedder.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON lines.")] = False,
    show: Annotated[bool, typer.Option("--show", help="Print what each turn gave (for writing scripts).")] = False,
) -> None:
    """Replay conversation scripts; exit 1 when an expectation fails, 2 when a script file is bad."""
    from scenebridge.script import run_scripts

    reports = run_scripts(files, llm=llm, embedder=embedder)
    for report in reports:
        print(report.model_dump_json() if as_json else report.format())
        if show and not as_json:
            print("\n".join(report.transcript))
    failed = [r for r in reports if not r.ok]
    if not as_json:
        turns = sum(r.turns for r in reports)
        print(f"{len(reports) - len(failed)}/{len(reports)} scripts passed ({turns} turns, "
              f"{sum(len(r.failures) for r in reports)} failed expectations)")  # fmt: skip
    if failed:
        raise typer.Exit(1)


def serve_cmd(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 8080,
    token: TokenOpt = None,
    store: StoreOpt = None,
    url: UrlOpt = None,
    embedder: EmbedderOpt = None,
    reranker: RerankerOpt = None,
    llm: LlmOpt = None,
    profiles: ProfilesOpt = None,
    explain: ExplainOpt = None,
    k: KOpt = None,
    redact: RedactOpt = None,
) -> None:
    """Serve the HTTP API (FastAPI + uvicorn): /v1/recommend, /v1/sessions, /docs."""
    require("serve", "fastapi", "scenebridge serve (fastapi)")
    uvicorn = require("serve", "uvicorn", "scenebridge serve (uvicorn)")
    from scenebridge.build import build_recommender
    from scenebridge.http import create_app

    cfg = settings_from(store, url, embedder, reranker, llm, profiles, explain, k, redact=redact, token=token)
    settings = cfg.api
    rec = build_recommender(settings=cfg, mirror=True)
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.token:
        print("warning: listening beyond this machine without a token (set --token or SCENEBRIDGE_API_TOKEN)")
    uvicorn.run(create_app(rec, settings), host=host, port=port, log_level="info")


def forget_cmd(
    user: Annotated[str, typer.Argument(help="User id.")],
    profiles: ProfilesOpt = None,
    sessions: Annotated[
        Path | None, typer.Option(help="Session database [env SCENEBRIDGE_AGENT_SESSIONS].", show_default=False)
    ] = None,
    server: Annotated[
        str | None, typer.Option(help="Also end the user's sessions on a running `scenebridge serve` (its URL).")
    ] = None,
    token: Annotated[str | None, typer.Option(help="The server's bearer token [env SCENEBRIDGE_API_TOKEN].")] = None,
) -> None:
    """Delete a user's profile, history and saved sessions (with --server, also those live on a running server)."""
    import os

    from scenebridge.agent.session import SessionStore
    from scenebridge.store.profiles import ProfileStore

    shared = StateSettings().url  # PostgreSQL ([state] url) holds both when set
    n = ProfileStore(profiles or shared or AgentSettings().profiles).forget(user)
    print(f"profile store: deleted {n:,} events of user {user!r}")
    saved = sessions or shared or AgentSettings().sessions
    if saved == shared or (str(saved) != ":memory:" and Path(saved).is_file()):
        kept = SessionStore(path=saved)
        print(f"session store: ended {kept.drop_user(user):,} saved sessions of user {user!r}")
        kept.close()
    if server:
        import httpx

        bearer = token or os.environ.get("SCENEBRIDGE_API_TOKEN")
        headers = {"X-User-Id": user, **({"Authorization": f"Bearer {bearer}"} if bearer else {})}
        try:
            resp = httpx.delete(f"{server.rstrip('/')}/v1/users/{user}", headers=headers, timeout=30)
        except httpx.HTTPError as exc:
            msg = f"cannot reach the server at {server} ({type(exc).__name__}); the profile store was cleared"
            raise UsageError(msg) from None
        if resp.status_code != 200:
            msg = f"the server at {server} answered {resp.status_code}: {resp.text[:200]}"
            raise UsageError(msg)
        body = resp.json()
        print(f"server: ended {body.get('sessions_deleted', 0)} sessions, deleted "
              f"{body.get('profile_events_deleted', 0)} events")  # fmt: skip
