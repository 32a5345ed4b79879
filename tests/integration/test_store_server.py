"""A real Chroma server on 127.0.0.1: index into it, query it, stop it; and a killed `scenebridge index` resumes."""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from scenebridge.data.format import load_dataset
from scenebridge.store import CachedEmbedder, EmbeddingCache, HashingEmbedder, ItemStore
from tests.helpers import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
AMAZON = ROOT.parent / "shared" / "datasets" / "amazon-art-office"


@pytest.fixture
def chroma_server(tmp_path):
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma CLI ships with chromadb"
    port = free_port()
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma server did not start in 60 s")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


def test_index_and_query_a_real_chroma_server(chroma_server, tiny_dataset, tmp_path):
    ds = load_dataset(tiny_dataset)
    emb = CachedEmbedder(HashingEmbedder(), EmbeddingCache(tmp_path / "c.sqlite"))
    store = ItemStore(emb, url=chroma_server, batch_size=16)
    report = store.index(ds.items)
    assert report.total == len(ds.items) == 60
    assert store.scenes == ["a", "b"]
    hits = store.search_text("watercolor paint", scenes=["b"], k=5, exclude=["b0"])
    assert len(hits) == 5
    assert all(h.scene == "b" and h.item_id != "b0" for h in hits)
    assert "watercolor paint" in hits[0].title
    again = ItemStore(emb, url=chroma_server).index(ds.items)
    assert (again.added, again.embedded) == (0, 0)
    # the CLI talks to the server too
    proc = subprocess.run(
        [sys.executable, "-m", "scenebridge.cli", "search", "fountain pen", "--url", chroma_server,
         "--embedder", "hashing", "--scene", "a", "-k", "3"],
        capture_output=True, text=True, check=False,
        env={**os.environ, "SCENEBRIDGE_CACHE": str(tmp_path / "cli-cache")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "fountain pen" in proc.stdout.splitlines()[0]


def rows_written(store: Path) -> int:
    """Rows the writer has committed so far, read from Chroma's SQLite file read-only.

    The embedded Chroma client is not multi-process safe: opening one in this process while `scenebridge index`
    writes crashed a CI run (a segfault inside Collection.count), so progress is watched through SQLite, which is.
    """
    db = store / "chroma.sqlite3"
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as con:
            row = con.execute(
                "SELECT (SELECT count(*) FROM embeddings) + (SELECT count(*) FROM embeddings_queue)"
            ).fetchone()
    except sqlite3.Error:  # not created yet, or locked for a moment by the writer
        return 0
    return int(row[0])


def count_in_child(store: Path) -> int:
    """Counts the store's items in a child process, so this process never holds a Chroma client on it."""
    code = (
        "import sys; from pathlib import Path; from scenebridge.store import HashingEmbedder, ItemStore; "
        "print(ItemStore(HashingEmbedder(), path=Path(sys.argv[1])).count())"
    )
    out = subprocess.run([sys.executable, "-c", code, str(store)], capture_output=True, text=True, check=False)
    skip_if_chroma_wedged(out.stderr)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


def skip_if_chroma_wedged(stderr: str) -> None:
    """Skips, naming the upstream bug, when the SIGKILL landed inside Chroma's HNSW write and left the segment
    wedged: its compactor then refuses the folder ("Failed to apply logs to the hnsw segment writer";
    chroma-core/chroma#7678, open). Seen twice in about a dozen clean-clone runs, never in 11 local ones; any
    other failure still fails the test."""
    if "Failed to apply logs to the hnsw segment writer" in stderr:
        pytest.skip("Chroma wedged its HNSW segment after the SIGKILL (upstream chroma-core/chroma#7678)")


@pytest.mark.skipif(not AMAZON.is_dir(), reason="shared dataset not present")
def test_killed_index_run_resumes_to_the_exact_count(tmp_path):
    env = {**os.environ, "SCENEBRIDGE_CACHE": str(tmp_path / "cache")}
    store = tmp_path / "store"
    cmd = [sys.executable, "-m", "scenebridge.cli", "index", str(AMAZON), "--store", str(store),
           "--embedder", "hashing", "--batch-size", "1000"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while rows_written(store) < 5000 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert proc.poll() is None, "the index run finished before it could be killed; raise the threshold"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = count_in_child(store)
    assert 0 < partial < 38396
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    skip_if_chroma_wedged(done.stderr)
    assert done.returncode == 0, done.stderr
    assert "38,396 items in the store" in done.stdout
    assert count_in_child(store) == 38396
