"""Sessions through a real `scenebridge serve` with the real multilingual embedder: the thread pool and restarts.

- A Chinese follow-up whose exclusion the glossary lacks ("不要动画片") is read semantically against the catalogue's
  category words, through the embedding cache, from FastAPI's thread pool: it answered 500 while the cache's SQLite
  connection was bound to the thread that opened it (issue 11).
- A session survives ``kill -9`` of the server: a restart on the same files continues it with its state.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd
import pytest

from scenebridge.store.chroma import ItemStore
from scenebridge.store.embed import cached_embedder
from tests.helpers import free_port, scenebridge_serve

pytestmark = pytest.mark.integration

MOVIES = [
    ("m1", "Toy Story (1995)", "Animation|Children's|Comedy"),
    ("m2", "Lion King, The (1994)", "Animation|Children's|Musical"),
    ("m3", "Aladdin (1992)", "Animation|Children's|Comedy|Musical"),
    ("m4", "Alien (1979)", "Action|Horror|Sci-Fi|Thriller"),
    ("m5", "Terminator, The (1984)", "Action|Sci-Fi|Thriller"),
    ("m6", "Heat (1995)", "Action|Crime|Thriller"),
    ("m7", "Seven (Se7en) (1995)", "Crime|Thriller"),
    ("m8", "Shining, The (1980)", "Horror|Thriller"),
    ("m9", "Groundhog Day (1993)", "Comedy|Romance"),
    ("m10", "Mulan (1998)", "Animation|Children's"),
    ("m11", "Predator (1987)", "Action|Sci-Fi|Thriller"),
    ("m12", "Fargo (1996)", "Crime|Drama|Thriller"),
    ("m13", "Antz (1998)", "Animation|Children's"),
    ("m14", "Aliens (1986)", "Action|Sci-Fi|Thriller|War"),
    ("m15", "Terminator 2: Judgment Day (1991)", "Action|Sci-Fi|Thriller"),
    ("m16", "Scream (1996)", "Horror|Thriller"),
    ("m17", "Scream 2 (1997)", "Horror|Thriller"),
    ("m18", "Cube (1997)", "Horror|Sci-Fi|Thriller"),
    ("m19", "Event Horizon (1997)", "Horror|Sci-Fi|Thriller"),
]
BOOKS = [("b1", "Dune", "Sci-Fi|Adventure"), ("b2", "The Hobbit", "Fantasy|Adventure"),
         ("b3", "Gone Girl", "Crime|Thriller"), ("b4", "It", "Horror|Thriller")]  # fmt: skip
ANIMATED = {i for i, _, c in MOVIES if "Animation" in c}
COMEDY = {i for i, _, c in MOVIES if "Comedy" in c}


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A data home with a small real store (use-multilingual, the default embedder) and its embedding cache."""
    root = tmp_path_factory.mktemp("home")
    rows = [(i, "movies", t, c, int(t[-5:-1])) for i, t, c in MOVIES] + [(i, "books", t, c, None) for i, t, c in BOOKS]
    store = ItemStore(cached_embedder("use-multilingual", root / "cache" / "embeddings.sqlite"), path=root / "store")
    store.index(pd.DataFrame(rows, columns=["item_id", "scene", "title", "category", "year"]))
    store.embedder.cache.close()
    return root


@contextmanager
def serve(home: Path, port: int | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`scenebridge serve` on 127.0.0.1 over the home's store, profiles and sessions; yields its URL and process."""
    port = port or free_port()
    env = {**os.environ, "SCENEBRIDGE_HOME": str(home), "SCENEBRIDGE_CACHE": str(home / "cache")}
    env.pop("SCENEBRIDGE_AGENT_SESSIONS", None)  # the default: $SCENEBRIDGE_HOME/sessions.sqlite
    args = ["--store", str(home / "store"), "--embedder", "use-multilingual", "--llm", "none"]
    with scenebridge_serve(args, port, env=env) as running:
        yield running


def _turn(url: str, sid: str, statement: str, user: str, scene: str | None = None) -> httpx.Response:
    return httpx.post(f"{url}/v1/sessions/{sid}/turns", json={"statement": statement, "scene": scene},
                      headers={"X-User-Id": user}, timeout=120)  # fmt: skip


def _ids(resp: httpx.Response) -> set[str]:
    return {i["item_id"] for i in resp.json()["items"]}


def test_the_chinese_follow_up_reads_its_exclusion_semantically_under_the_thread_pool(home):
    with serve(home) as (url, _):
        user = {"X-User-Id": "ann"}
        sid = httpx.post(f"{url}/v1/sessions", json={"scene": "movies"}, headers=user, timeout=30).json()["session_id"]
        first = _turn(url, sid, "I loved Alien and The Terminator; something scary tonight", "ann")
        assert first.status_code == 200, first.text
        # No scene given: it sticks (the follow-up names none); the exclusion is read against the movies' category
        # words in a pool thread.
        follow = _turn(url, sid, "再推荐几部，不要动画片", "ann")
        assert follow.status_code == 200, follow.text  # was 500: sqlite3.ProgrammingError from store/embed.py
        body = follow.json()
        assert body["scene"] == "movies"
        assert "动画片" in body["summary"]["exclusions"]
        assert any("animation" in n for n in body["notes"]), body["notes"]  # read as the catalogue's word
        assert body["items"]
        assert not ANIMATED & _ids(follow)


def test_the_english_dialogue_links_what_was_seen_and_holds_the_scene(home):
    with serve(home) as (url, _):
        user = {"X-User-Id": "dee"}
        sid = httpx.post(f"{url}/v1/sessions", json={}, headers=user, timeout=30).json()["session_id"]
        first = _turn(url, sid, "I loved Alien and The Terminator; tonight I want something scary but not too gory",
                      "dee")  # fmt: skip
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["scene"] == "movies"
        assert {x["item_id"] for x in body["linked"]} == {"m4", "m5"}
        assert not {"m4", "m5"} & _ids(first)  # what they have seen is not recommended back
        assert any("Alien (1979)" in n for n in body["notes"]), body["notes"]
        assert any("Terminator, The (1984)" in n for n in body["notes"]), body["notes"]
        follow = _turn(url, sid, "I've seen all of those. Something newer, and no sequels", "dee")
        assert follow.status_code == 200, follow.text
        nxt = follow.json()
        assert nxt["scene"] == "movies"  # the scene sticks
        assert nxt["summary"]["constraints"]["newer"] is True
        assert nxt["summary"]["constraints"]["no_sequels"] is True
        assert not _ids(first) & _ids(follow)  # no shown film returns
        assert set(nxt["state"]["seen"]) == _ids(first)
        assert not {"m15", "m17"} & _ids(follow)  # Terminator 2, Scream 2: sequels
        assert all(i["attrs"].get("year", 0) > 1984 for i in nxt["items"]), nxt["items"]


def test_a_session_continues_after_kill_9_and_a_restart(home):
    user = {"X-User-Id": "bo"}
    port = free_port()
    with serve(home, port) as (url, proc):
        sid = httpx.post(f"{url}/v1/sessions", json={"scene": "movies"}, headers=user, timeout=30).json()["session_id"]
        first = _turn(url, sid, "thrillers like Heat and Fargo, no comedy", "bo")
        assert first.status_code == 200, first.text
        assert "comedy" in first.json()["summary"]["exclusions"]
        shown = [i["item_id"] for i in first.json()["items"]]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    with serve(home, port) as (url, _):
        info = httpx.get(f"{url}/v1/sessions/{sid}", headers=user, timeout=30)
        assert info.status_code == 200, info.text  # the session is still there
        assert info.json()["exclusions"] == ["comedy"]
        assert [t["statement"] for t in info.json()["turns"]] == ["thrillers like Heat and Fargo, no comedy"]
        nxt = _turn(url, sid, "more like the first one", "bo")
        assert nxt.status_code == 200, nxt.text
        body = nxt.json()
        assert body["refinements"][0].startswith("more like item 1")  # the shown items came back
        assert shown[0] not in _ids(nxt)
        assert "comedy" in body["summary"]["exclusions"]  # turn 1's exclusion still applies
        assert not COMEDY & _ids(nxt)
        assert body["scene"] == "movies"
        turns = httpx.get(f"{url}/v1/sessions/{sid}", headers=user, timeout=30).json()["turns"]
        assert len(turns) == 2
        other = httpx.get(f"{url}/v1/sessions/{sid}", headers={"X-User-Id": "cy"}, timeout=30)
        assert other.status_code == 404
        gone = httpx.delete(f"{url}/v1/users/bo", headers=user, timeout=30)
        assert gone.json()["sessions_deleted"] == 1
    with serve(home, port) as (url, _):
        assert httpx.get(f"{url}/v1/sessions/{sid}", headers=user, timeout=30).status_code == 404  # forgotten on disk
