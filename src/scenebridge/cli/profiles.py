"""Profile commands: ``profiles import``, ``profiles show`` and ``profiles forget``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scenebridge.cli.options import ProfilesOpt
from scenebridge.errors import UsageError
from scenebridge.settings import AgentSettings

if TYPE_CHECKING:
    from scenebridge.store.profiles import ProfileStore

__all__ = ["app"]

app = typer.Typer(help="Cross-scene user profiles: import histories, show, forget.", no_args_is_help=True)


def _profiles(path: Path | None) -> ProfileStore:
    from scenebridge.store.profiles import ProfileStore

    return ProfileStore(path or AgentSettings().profiles)


@app.command("import")
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


@app.command("show")
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


@app.command("forget")
def profiles_forget_cmd(
    user: Annotated[str, typer.Argument(help="User id.")],
    profiles: ProfilesOpt = None,
) -> None:
    """Delete everything the profile store holds about a user."""
    n = _profiles(profiles).forget(user)
    print(f"deleted {n:,} events of user {user!r}")
