import pytest

from scenebridge.bench.store import bench_store, bench_texts

pytestmark = pytest.mark.unit


def test_bench_texts_real_then_variants(tiny_dataset):
    items = bench_texts(150, [tiny_dataset])
    assert len(items) == 150
    assert items["item_id"].is_unique
    assert items["title"].str.contains("edition 2").sum() == 60
    assert items["title"].str.contains("edition 3").sum() == 30
    generated = bench_texts(500, [])
    assert set(generated["scene"]) == {"art", "office", "kitchen", "food"}


@pytest.mark.parametrize("vectors", ["real", "synthetic"])
def test_bench_store_runs_and_reports_side_by_side(vectors, tmp_path):
    res = bench_store(1200, [], embedder="hashing:64", vectors=vectors, n_queries=20, k=10, workdir=tmp_path)
    assert res.items == 1200
    assert res.ingest_per_s > 0
    if vectors == "real":
        assert res.embed_per_s > 0
        assert res.ingest_vs_embed is not None
    names = list(res.query)
    assert any(n.startswith("ItemStore.search") for n in names)
    assert any(n.startswith("numpy brute force") for n in names)
    assert "chroma, one collection + where filter" in names
    assert 0.0 <= res.recall_at_k <= 1.0
    assert list(tmp_path.iterdir()) == []  # temporary stores are removed
