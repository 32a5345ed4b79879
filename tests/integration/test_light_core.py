"""The light core: `pip install scenebridge` with no extras in a fresh venv indexes a catalogue and recommends, with
neither torch, fastapi, mcp, langchain-core nor matplotlib importable; features of an extra say which to install."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = REPO / "examples" / "catalogues" / "art-office-mini"
EXTRAS = {"torch": "train", "fastapi": "serve", "mcp": "mcp", "langchain_core": "langchain", "matplotlib": "plots"}


def _pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/simple/typer/", timeout=15) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    """A venv with `pip install <a copy of this checkout>` and no extras; the install time is printed."""
    if not _pypi_reachable():
        pytest.skip("PyPI is unreachable: a fresh venv cannot install the core's dependencies")
    root = tmp_path_factory.mktemp("light-core")
    src = root / "scenebridge"
    # A copy: building in the checkout would leave build/ and egg-info behind, and it may hold a dev venv.
    shutil.copytree(REPO / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    venv = root / "venv"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(src)],
                          capture_output=True, text=True, timeout=1800, env=_env(root))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(f"\nlight core: venv + pip install {time.perf_counter() - started:.0f} s")
    return venv, root


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # The shared embedding cache stays (the default); profiles, stores and config are the test's own.
    return {**env, "SCENEBRIDGE_HOME": str(root / "home"), "SCENEBRIDGE_CONFIG": str(root / "none.toml")}


def _sb(core, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    venv, root = core
    started = time.perf_counter()
    proc = subprocess.run([str(venv / "bin" / "scenebridge"), *args], capture_output=True, text=True,
                          timeout=timeout, env=_env(root), cwd=root)  # fmt: skip
    print(f"scenebridge {args[0]}: {time.perf_counter() - started:.1f} s (exit {proc.returncode})")
    return proc


def test_no_extra_is_installed(core):
    venv, root = core
    for module in EXTRAS:
        proc = subprocess.run([str(venv / "bin" / "python"), "-c", f"import {module}"], capture_output=True,
                              text=True, env=_env(root))  # fmt: skip
        assert proc.returncode != 0, f"{module} is importable in the core install"
        assert "ModuleNotFoundError" in proc.stderr


def test_index_and_recommend_without_extras(core):
    _, root = core
    store = str(root / "S")
    shown = _sb(core, "--help")
    assert shown.returncode == 0, shown.stderr
    assert "recommend" in shown.stdout
    indexed = _sb(core, "index", str(CATALOGUE), "--store", store)
    assert indexed.returncode == 0, indexed.stderr
    assert "437 items in the store" in indexed.stdout
    answer = _sb(core, "recommend", "gel pens, no black ink", "--llm", "none", "--store", store, "--scene", "office",
                 "--json")  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    result = json.loads(answer.stdout)
    assert result["scene"] == "office"
    assert result["items"]
    assert any("black" in e for e in result["summary"]["exclusions"]), result["summary"]
    assert all(item["explanation"] for item in result["items"])


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["serve", "--store", "S"], "serve"),
        (["train", str(CATALOGUE), "-s", "art", "-t", "office", "-o", "M"], "train"),
        (["mcp", "--store", "S", "--llm", "none"], "mcp"),
    ],
)
def test_feature_of_an_extra_names_it(core, args, extra):
    proc = _sb(core, *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert lines[0].endswith(f"needs the '{extra}' extra: pip install 'scenebridge[{extra}]'")
