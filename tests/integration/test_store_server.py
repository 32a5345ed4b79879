"""A real Chroma server on 127.0.0.1: index into it, query it, stop it; and a killed `scenebridge index` resumes."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chromadb.api.shared_system_client import SharedSystemClient

from scenebridge.data.format import load_dataset
from scenebridge.store import CachedEmbedder, EmbeddingCache, HashingEmbedder, ItemStore

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
AMAZON = ROOT.parent / "shared" / "datasets" / "amazon-art-office"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


@pytest.mark.skipif(not AMAZON.is_dir(), reason="shared dataset not present")
def test_killed_index_run_resumes_to_the_exact_count(tmp_path):
    env = {**os.environ, "SCENEBRIDGE_CACHE": str(tmp_path / "cache")}
    store = tmp_path / "store"
    cmd = [sys.executable, "-m", "scenebridge.cli", "index", str(AMAZON), "--store", str(store),
           "--embedder", "hashing", "--batch-size", "1000"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    probe = ItemStore(HashingEmbedder(), path=store)
    deadline = time.monotonic() + 300
    while probe.count() < 5000 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert proc.poll() is None, "the index run finished before it could be killed; raise the threshold"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = probe.count()
    assert 0 < partial < 38396
    # Chroma's embedded store is not multi-process safe: stop this process's client before the resume run writes
    # (a CI run once failed in the resume with "Failed to apply logs to the hnsw segment writer" while it was open).
    del probe
    SharedSystemClient.clear_system_cache()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "38,396 items in the store" in done.stdout
    assert ItemStore(HashingEmbedder(), path=store).count() == 38396
