"""`scenebridge index` and `scenebridge search` from the command line (hashing embeddings, embedded Chroma)."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit


def sb(*args, tmp_path):
    env = {
        **os.environ,
        "SCENEBRIDGE_CACHE": str(tmp_path / "cache"),
        "SCENEBRIDGE_CONFIG": str(tmp_path / "none.toml"),
    }
    return subprocess.run([sys.executable, "-m", "scenebridge.cli", *args], capture_output=True, text=True, env=env)


def test_index_twice_then_search(tiny_dataset, tmp_path):
    store = str(tmp_path / "store")
    first = sb("index", str(tiny_dataset), "--store", store, "--embedder", "hashing", tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "60 added" in first.stdout
    assert "60 new embeddings; 60 items in the store" in first.stdout
    second = sb("index", str(tiny_dataset), "--store", store, "--embedder", "hashing", tmp_path=tmp_path)
    assert "0 added, 0 re-embedded (text changed), 60 unchanged, 0 removed; 0 new embeddings" in second.stdout
    found = sb("search", "desk organizer", "--store", store, "--embedder", "hashing", "--scene", "b", "-k", "2",
               "--json", tmp_path=tmp_path)  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert '"scene": "b"' in found.stdout
    assert "desk organizer" in found.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "  ", "--store", "STORE"], "error: the search text is empty"),
        (["search", "x", "--store", "STORE", "--embedder", "bert"], "error: unknown embedder 'bert'"),
        (["index", "DATA", "--store", "STORE", "--embedder", "hashing:x"], "error: hashing takes a dimension"),
        (["search", "x", "--store", "STORE", "--embedder", "hashing", "--scene", "zz"], "error: scene 'zz' is not in"),
    ],
)
def test_store_cli_errors_are_one_line_exit_2(args, message, tiny_dataset, tmp_path):
    args = [str(tiny_dataset) if a == "DATA" else str(tmp_path / "store") if a == "STORE" else a for a in args]
    proc = sb(*args, tmp_path=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith(message), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr
