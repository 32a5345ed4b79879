"""The harness on a small synthetic dataset: outputs, determinism, and an independent recomputation."""

import json

import pytest

from scenebridge.data.format import load_dataset
from scenebridge.eval import baselines
from scenebridge.eval.harness import evaluate, write_outputs
from tests.helpers import recompute

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def hashing_seed_dot(monkeypatch, tmp_path):
    """Unit tier: the seed method uses deterministic hashing embeddings and a private cache."""
    monkeypatch.setenv("SCENEBRIDGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(baselines.METHODS, "seed-dot", lambda: baselines.SeedDotMethod(embedder="hashing"))


def test_all_methods_write_all_outputs(tiny_dataset, tmp_path):
    ds = load_dataset(tiny_dataset)
    result = evaluate(ds, "a", "b")
    out = write_outputs(result, tmp_path / "run")
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {*baselines.METHODS, "_meta"}
    for name in baselines.METHODS:
        assert set(metrics[name]) >= {f"{m}@{k}" for m in ("ndcg", "recall", "hr", "mrr") for k in (10, 20, 50)}
    lines = (out / "rankings.jsonl").read_text().splitlines()
    assert len(lines) == len(baselines.METHODS) * metrics["_meta"]["n_test_users"]
    first = json.loads(lines[0])
    assert set(first) == {"method", "user_id", "items"}
    assert len(first["items"]) == min(50, metrics["_meta"]["n_target_items"])
    report = (out / "report.md").read_text()
    assert "| itemknn |" in report
    for png in ("metrics.png", "recall_at_k.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    proc = recompute(tiny_dataset, out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok:")


def test_structure_is_learned_and_runs_are_deterministic(tiny_dataset):
    ds = load_dataset(tiny_dataset)
    a = evaluate(ds, "a", "b", methods=["popularity", "itemknn", "als", "tfidf"])
    b = evaluate(ds, "a", "b", methods=["popularity", "itemknn", "als", "tfidf"])
    assert a.rankings == b.rankings
    # users' tastes carry across scenes in this data: collaborative and text methods must beat popularity
    for method in ("itemknn", "tfidf"):
        assert a.metrics[method]["ndcg@10"] > 1.5 * a.metrics["popularity"]["ndcg@10"]


def test_recompute_detects_a_tampered_metric(tiny_dataset, tmp_path):
    ds = load_dataset(tiny_dataset)
    out = write_outputs(evaluate(ds, "a", "b", methods=["popularity"]), tmp_path / "run")
    metrics = json.loads((out / "metrics.json").read_text())
    metrics["popularity"]["ndcg@10"] += 0.001
    (out / "metrics.json").write_text(json.dumps(metrics))
    proc = recompute(tiny_dataset, out)
    assert proc.returncode == 1
    assert "popularity ndcg@10" in proc.stdout
