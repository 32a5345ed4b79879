"""Faults of the item store under ``scenebridge index``, each with a real process: a full disk, a read-only store
folder (the Chroma server killed under ``serve`` is tests/integration/test_faults_chroma.py).

A full disk is a file size limit (``RLIMIT_FSIZE`` in the child: a write past it fails with EFBIG, as a full disk
fails with ENOSPC; no privileges needed). A read-only folder is a read-only bind mount in the child's own mount
namespace (``unshare``; root ignores permission bits, so ``chmod`` would test nothing there); as a normal user it is
``chmod``, and the test skips where neither is possible.
"""

from __future__ import annotations

import csv
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scenebridge.script.catalogue import read_items
from scenebridge.store import CachedEmbedder, EmbeddingCache, HashingEmbedder, item_texts
from tests.integration import faults_figures

pytestmark = pytest.mark.integration

N_ITEMS = 600  # catalogue of the index faults: a few batches, a few seconds per run


def _catalogue(folder: Path, n: int, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "items.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["item_id", "scene", "title", "category"])
        for i in range(n):
            w.writerow([f"i{i}", "shop", f"{version} item {i} " + "with words " * 8, f"cat {i % 7}"])
    return folder


def _cli(args: list[str], env: dict[str, str], preexec=None, wrap: list[str] | None = None):
    cmd = [*(wrap or []), sys.executable, "-m", "scenebridge.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, preexec_fn=preexec, check=False, timeout=300)


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()  # after the progress bar's last state, when there was one
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == lines[-1:], proc.stderr
    return errors[0]


def _titles(store: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = ["search", "item 3 with words", "--store", str(store), "--embedder", "hashing", "--scene", "shop", "-k", "5"]
    return _cli(args, env)


def _largest_file(folder: Path) -> int:
    return max(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Version 1 of the catalogue indexed once, complete (a store and its embedding cache)."""
    root = tmp_path_factory.mktemp("faults-index")
    env = {**os.environ, "SCENEBRIDGE_HOME": str(root / "home"), "SCENEBRIDGE_CACHE": str(root / "cache")}
    done = _cli(["index", str(_catalogue(root / "v1", N_ITEMS, "first")), "--store", str(root / "store"),
                 "--embedder", "hashing"], env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{N_ITEMS:,} items in the store" in done.stdout
    return root


@pytest.fixture
def indexed(built, tmp_path) -> tuple[Path, dict[str, str]]:
    """A copy of the built store and cache for one test; and the env its CLI runs use."""
    shutil.copytree(built / "store", tmp_path / "store")
    shutil.copytree(built / "cache", tmp_path / "cache")
    env = {**os.environ, "SCENEBRIDGE_HOME": str(tmp_path / "home"), "SCENEBRIDGE_CACHE": str(tmp_path / "cache")}
    return tmp_path / "store", env


def _warm_cache(catalogue: Path, cache: Path) -> None:
    """Puts the catalogue's vectors in the embedding cache (in this process: no Chroma client is opened here)."""
    emb = CachedEmbedder(HashingEmbedder(), EmbeddingCache(cache / "embeddings.sqlite"))
    emb.embed(item_texts(read_items(catalogue)))
    emb.cache.close()


@pytest.mark.parametrize("fills", ["the embedding cache", "the Chroma files"])
def test_index_on_a_full_disk_is_one_clear_line_and_leaves_nothing_half_served(indexed, tmp_path, fills):
    store, env = indexed
    v2 = _catalogue(tmp_path / "v2", N_ITEMS, "second")  # every text changes: every item is embedded and written again
    if fills == "the Chroma files":  # version 2's vectors already cached: only Chroma's files grow
        _warm_cache(v2, tmp_path / "cache")
    limit = _largest_file(store) + 16 * 1024

    def full_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    fault = f"disk full during index ({fills} first)"
    faults_figures.injected(fault)
    failed = _one_line_error(_cli(["index", str(v2), "--store", str(store), "--embedder", "hashing"], env, full_disk))
    assert "the disk is full" in failed, failed
    assert ("embedding cache" in failed) == (fills == "the embedding cache"), failed
    assert "run `scenebridge index` again" in failed
    seen = _titles(store, env)
    if seen.returncode == 0:  # the old index, complete: nothing of version 2 is served
        assert "first item" in seen.stdout, seen.stdout
        assert "second item" not in seen.stdout, seen.stdout
        state = "the old complete index"
    else:
        assert "is incomplete" in _one_line_error(seen)
        state = "the scene marked incomplete (refused with a message)"
    finished = _cli(["index", str(v2), "--store", str(store), "--embedder", "hashing"], env)
    assert finished.returncode == 0, finished.stderr
    assert f"{N_ITEMS:,} items in the store" in finished.stdout
    if fills == "the Chroma files":  # the rust side failed: the store it left must still be whole
        now = _titles(store, env)
        assert now.returncode == 0, now.stderr
        assert "second item" in now.stdout
        assert "first item" not in now.stdout
    faults_figures.survived(fault, f"one line on stderr, exit 2 ({failed}); afterwards {state}; a rerun "
                            "finished it")  # fmt: skip


def _read_only_wrapper(folder: Path) -> list[str] | None:
    """A command prefix that runs a child with ``folder`` read-only, or None where this machine allows none."""
    if os.geteuid() != 0:
        return []  # permission bits hold for a normal user: the caller chmods
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && shift && exec "$@"'
    wrap = [unshare, "--mount", "--propagation", "private", "sh", "-c", script, str(folder), "sh"]
    probe = subprocess.run([*wrap, "true"], capture_output=True, check=False)
    return wrap if probe.returncode == 0 else None


def test_index_into_a_read_only_store_is_one_clear_line_and_keeps_the_old_index(indexed, tmp_path):
    store, env = indexed
    wrap = _read_only_wrapper(store)
    if wrap is None:
        pytest.skip("no way to make a folder read-only for root here (no unshare or mount)")
    modes = {p: p.stat().st_mode for p in [store, *store.rglob("*")]}
    if not wrap:
        for p in modes:
            p.chmod(modes[p] & ~0o222)
    v2 = _catalogue(tmp_path / "v2", N_ITEMS, "second")
    faults_figures.injected("read-only store during index")
    try:
        run = _cli(["index", str(v2), "--store", str(store), "--embedder", "hashing"], env, wrap=wrap)
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    failed = _one_line_error(run)
    assert "writable" in failed or "read-only" in failed, failed
    seen = _titles(store, env)
    assert seen.returncode == 0, seen.stderr
    assert "first item" in seen.stdout
    assert "second item" not in seen.stdout
    faults_figures.survived("read-only store during index", f"one line on stderr, exit 2 ({failed}); "
                            "the old index complete and served as before")  # fmt: skip
