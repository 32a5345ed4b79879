"""A throwaway PostgreSQL cluster for the state tests: Debian's ``postgresql`` binaries, a temporary folder, a free
port on 127.0.0.1, trust authentication, no fsync (only ``serve`` processes are killed, never the database).

As root, ``initdb`` and the server run as the ``postgres`` user (``runuser``): PostgreSQL refuses to run as root.
Without the binaries or psycopg the tests skip, except in CI (``CI=true``), where ``make test`` installs both
(``make postgres``) and a missing one fails.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import free_port

__all__ = ["Cluster", "fresh_database", "postgres_cluster"]


class Cluster:
    """A running cluster: its URL, and a restart (every connection to it drops)."""

    def __init__(self, url: str, pg_ctl: list[str], options: str) -> None:
        self.url, self._pg_ctl, self._options = url, pg_ctl, options

    def restart(self) -> None:
        done = subprocess.run([*self._pg_ctl, "-m", "fast", "-o", self._options, "restart"], capture_output=True,
                              text=True, check=False)  # fmt: skip
        assert done.returncode == 0, f"pg_ctl restart failed: {done.stdout}\n{done.stderr}"


def _unavailable(why: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{why} (CI=true: `make postgres` installs it)")
    pytest.skip(why)


def _bindir() -> Path | None:
    # Debian keeps them off PATH, one folder per major version: the newest.
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: float(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@contextmanager
def postgres_cluster() -> Iterator[Cluster]:
    """Starts a cluster; yields it (its URL: the ``postgres`` database, superuser ``scenebridge``); stops it after."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed: pip install 'scenebridge[postgres]'")
    bindir = _bindir()
    if bindir is None:
        _unavailable("Debian's postgresql is not installed (initdb not found): apt-get install postgresql")
        raise AssertionError  # unreachable: skip or fail raised
    root = Path(tempfile.mkdtemp(prefix="scenebridge-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
    try:
        init = subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "scenebridge",
                               "--auth=trust", "-E", "UTF8", "--no-sync"],
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert init.returncode == 0, f"initdb failed: {init.stdout}\n{init.stderr}"
        pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60"]
        start = subprocess.run([*pg_ctl, "-o", options, "start"], capture_output=True, text=True, check=False)
        log = (root / "log").read_text() if (root / "log").exists() else ""
        assert start.returncode == 0, f"pg_ctl start failed: {start.stdout}\n{start.stderr}\n{log}"
        yield Cluster(f"postgresql://scenebridge@127.0.0.1:{port}/postgres", pg_ctl, options)
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(url: str) -> str:
    """A new empty database on the cluster of ``url``; its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]  # a generated identifier
    return url.rsplit("/", 1)[0] + f"/{name}"
