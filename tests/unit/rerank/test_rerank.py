"""The fusion reranker on the small synthetic dataset: training, checkpoints, evaluation rows, evidence."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from scenebridge.data.format import load_dataset
from scenebridge.errors import UsageError
from scenebridge.eval.harness import evaluate, write_outputs
from scenebridge.rerank import Candidate, Reranker, RerankQuery
from scenebridge.rerank.behaviour import Behaviour, history_matrix
from scenebridge.rerank.checkpoint import load_checkpoint
from scenebridge.rerank.fusion import load_reranker
from scenebridge.rerank.statement import derive_statement
from scenebridge.rerank.train import TrainConfig, train
from scenebridge.store.embed import get_embedder
from tests.helpers import recompute

pytestmark = pytest.mark.unit

CFG = TrainConfig(embedder="hashing", epochs=8, patience=8, depth=20, folds=3, neighbours=(5, 20), hidden=16)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("rerank")
    mp = pytest.MonkeyPatch()
    mp.setenv("SCENEBRIDGE_CACHE", str(root / "cache"))
    from tests.conftest import make_dataset

    data = make_dataset(root / "tiny")
    report = train(load_dataset(data), "a", "b", root / "model", CFG)
    yield data, root / "model", report
    mp.undo()


def test_behaviour_matches_a_direct_count():
    # users x items: items 0, 1 in scene A, items 2, 3 in scene B (target)
    X = np.array([[1, 0, 1, 0], [1, 1, 1, 1], [0, 1, 0, 1]], dtype=np.float32)
    import scipy.sparse as sp

    b = Behaviour.fit(sp.csr_matrix(X), np.array([2, 3]), shrink=0.0, n_neighbours=10)
    assert b.support.toarray()[0].tolist() == [2, 1]  # item 0 bought with item 2 by two users, with 3 by one
    assert b.support.toarray()[2:].sum() == 0  # target rows never count (cold start has no target history)
    H = history_matrix([np.array([0])], 4)
    knn = b.knn(H)[0]
    assert knn[0] == pytest.approx(2 / np.sqrt(2 * 2))
    assert knn[1] == pytest.approx(1 / np.sqrt(2 * 2))
    assert b.pop.tolist() == [2, 2]


def test_training_learns_and_writes_a_complete_checkpoint(trained):
    _data, model_dir, report = trained
    assert report.valid_ndcg > 0.3  # tastes carry across scenes in this data; popularity alone is ~0.1
    assert 1 <= report.best_epoch <= CFG.epochs
    cfg = json.loads((model_dir / "config.json").read_text())
    assert cfg["embedder"] == "hashing"
    assert cfg["source"] == "a"
    assert cfg["target"] == "b"
    assert {"torch", "scenebridge", "numpy"} <= set(cfg["versions"])
    for name in ("model.safetensors", "vectors.safetensors", "behaviour.npz", "catalogue.json"):
        assert (model_dir / name).is_file()


def test_training_is_reproducible_with_the_seed(trained, tmp_path):
    data, _, report = trained
    again = train(load_dataset(data), "a", "b", tmp_path / "again", CFG)
    assert again.valid_ndcg == pytest.approx(report.valid_ndcg, abs=1e-6)


def test_evaluate_adds_fusion_rows_beside_the_baselines(trained, tmp_path):
    data, model_dir, _ = trained
    ds = load_dataset(data)
    result = evaluate(ds, "a", "b", methods=["popularity", "itemknn"], reranker=model_dir)
    assert set(result.metrics) == {"popularity", "itemknn", "fusion", "fusion-statement"}
    assert result.metrics["fusion"]["ndcg@10"] > 2 * result.metrics["popularity"]["ndcg@10"]
    out = write_outputs(result, tmp_path / "run")
    proc = recompute(data, out)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_checkpoint_for_other_scenes_or_embedder_is_refused(trained):
    data, model_dir, _ = trained
    with pytest.raises(UsageError, match="trained for a -> b, not b -> a"):
        evaluate(load_dataset(data), "b", "a", methods=["popularity"], reranker=model_dir)
    with pytest.raises(UsageError, match="trained with embedder 'hashing'"):
        load_checkpoint(model_dir, embedder="use-multilingual")


def test_a_changed_feature_spec_is_refused(trained, tmp_path):
    import shutil

    _, model_dir, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    cfg = json.loads((copy / "config.json").read_text())
    cfg["features"] = cfg["features"][:-1]
    (copy / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(UsageError, match="another feature spec"):
        load_checkpoint(copy)
    with pytest.raises(UsageError, match="not a reranker checkpoint"):
        load_checkpoint(tmp_path / "nowhere")


def test_reranker_orders_candidates_with_evidence_and_scores_new_items(trained):
    _data, model_dir, _ = trained
    rr = load_reranker(model_dir)
    assert isinstance(rr, Reranker)
    # cluster 0 = watercolor: a0, a6, a12 in scene a; its b items are b0, b6, b12, ...
    query = RerankQuery(scene="b", history=["a0", "a6", "a12"], exclude={"b18"})
    cands = rr.candidates(query, 10)
    assert cands
    assert "b18" not in cands
    assert all(c.startswith("b") for c in cands)
    emb = get_embedder("hashing")
    new_vec = emb.embed(["watercolor paint item new"])[0]
    pool = [Candidate(item_id=i, scene="b") for i in ("b0", "b1", "b18", "b24")]
    pool.append(Candidate(item_id="new-item", scene="b", vector=new_vec, title="watercolor paint item new"))
    ranked = rr.rerank(query, pool)
    ids = [s.item_id for s in ranked]
    assert "b18" not in ids
    assert "new-item" in ids
    assert len(ids) == 4
    assert ids.index("b0") < ids.index("b1")  # the user's cluster wins
    top = ranked[0]
    assert top.evidence
    assert all(0.0 <= e.weight <= 1.0 for e in top.evidence)
    co = [e for e in ranked[ids.index("b0")].evidence if e.kind == "co-occurrence"]
    for e in co:
        assert e.item_id in {"a0", "a6", "a12"}
        assert e.scene == "a"
        assert (e.people or 0) > 0  # evidence as data: the count, worded later by the agent
        assert (e.measure, e.text) == ("occlusion", "")
    with pytest.raises(UsageError, match="trained for scene 'b'"):
        rr.rerank(RerankQuery(scene="a"), pool)


def test_derived_statement_reads_only_the_source_history():
    titles = {"a1": "watercolor paint set twelve tubes artist grade", "a2": "sable brush", "b9": "printer ink"}
    text = derive_statement(["a1", "a2"], titles)
    assert text == "sable brush, watercolor paint set twelve tubes"
    assert "printer" not in text


def test_train_cli_bad_scene_is_one_clear_line(tiny_dataset, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scenebridge.cli",
            "train",
            str(tiny_dataset),
            "--source",
            "a",
            "--target",
            "zz",
            "--out",
            str(tmp_path / "m"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: unknown target scene 'zz'; the dataset's scenes are: a, b"]


def test_rerank_benchmark_times_every_stage(trained):
    from scenebridge.bench.rerank import bench_rerank

    data, model_dir, _ = trained
    result = bench_rerank(load_dataset(data), model_dir, n_candidates=12, users=5)
    assert result.users == 5
    assert set(result.ms) == {"candidates", "rerank", "rerank+evidence", "rerank alone"}
    assert all(v["p50"] > 0 for v in result.ms.values())


class _StopAfter:
    """A progress that interrupts training (as Ctrl-C or a kill would) once ``epochs`` epochs are done."""

    def __init__(self, epochs: int) -> None:
        self.epochs, self.seen = epochs, 0

    def task(self, description, total):
        return lambda n: None

    def note(self, message):
        if " epoch " in message and "valid ndcg" in message:
            self.seen += 1
            if self.seen == self.epochs:
                raise KeyboardInterrupt


def test_interrupted_training_resumes_to_the_uninterrupted_result(trained, tmp_path):
    import torch
    from safetensors.torch import load_file

    from scenebridge.rerank.resume import RESUME_FILE

    data, _, _ = trained
    ds = load_dataset(data)
    cfg = CFG.model_copy(update={"epochs": 4, "patience": 4})
    whole = train(ds, "a", "b", tmp_path / "whole", cfg)
    with pytest.raises(KeyboardInterrupt):
        train(ds, "a", "b", tmp_path / "cut", cfg, _StopAfter(2))
    assert (tmp_path / "cut" / RESUME_FILE).is_file()
    assert not (tmp_path / "cut" / "config.json").exists()  # no half-written checkpoint looks complete
    resumed = train(ds, "a", "b", tmp_path / "cut", cfg)
    assert resumed.resumed_epochs == 2
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]  # nothing trained twice, nothing lost
    for got, want in zip(resumed.history, whole.history, strict=True):
        assert got == pytest.approx(want)
    a, b = (
        load_file(str(tmp_path / "whole" / "model.safetensors")),
        load_file(str(tmp_path / "cut" / "model.safetensors")),
    )
    # two uninterrupted runs differ by up to ~1e-3 in a bias (multi-threaded float sums), so no closer than that
    assert all(torch.allclose(a[k], b[k], atol=2e-3) for k in a)
    assert not (tmp_path / "cut" / RESUME_FILE).exists()
    # a state saved for other settings is not resumed
    with pytest.raises(KeyboardInterrupt):
        train(ds, "a", "b", tmp_path / "other", cfg, _StopAfter(1))
    notes: list[str] = []

    class Notes:
        def task(self, description, total):
            return lambda n: None

        def note(self, message):
            notes.append(message)

    again = train(ds, "a", "b", tmp_path / "other", cfg.model_copy(update={"seed": 1}), Notes())
    assert again.resumed_epochs == 0
    assert any("saved for other data or settings" in n for n in notes)


def test_interest_evidence_names_the_interest_nearest_to_the_item():
    from scenebridge.rerank.fusion import _nearest_interest

    item = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    vecs = np.array([[1.0, 0.0, 0.0], [0.0, 0.9, 0.1]], dtype=np.float32)
    query = RerankQuery(scene="b", interests=["courtroom dramas", "light comedy"], interest_vectors=vecs)
    assert _nearest_interest(query, item) == "light comedy"
    assert _nearest_interest(RerankQuery(scene="b", interests=["courtroom dramas", "light comedy"]), item) == (
        "courtroom dramas"  # without vectors: the strongest interest
    )


def test_a_scene_router_sends_each_query_to_its_scene_model(trained, tmp_path):
    from scenebridge.build import build_reranker
    from scenebridge.rerank.router import SceneRouter

    data, a_to_b, _ = trained
    train(load_dataset(data), "b", "a", tmp_path / "b-a", CFG.model_copy(update={"epochs": 1}))
    router = build_reranker(folders=[a_to_b, tmp_path / "b-a"])
    assert isinstance(router, SceneRouter)
    assert isinstance(router, Reranker)
    assert router.scenes == ("a", "b")
    for scene, model in router.by_scene.items():
        query = RerankQuery(scene=scene, history=[])
        assert router.candidates(query, 5) == model.candidates(query, 5)
    with pytest.raises(UsageError, match="no trained reranker for scene 'c'"):
        router.candidates(RerankQuery(scene="c"), 5)
    with pytest.raises(UsageError, match="two trained rerankers serve scene 'b'"):
        build_reranker(folders=[a_to_b, a_to_b])
    # With a default, a scene no trained model covers goes to it (the agent's content reranker).
    default = object()
    routed = SceneRouter([router], default=default)  # type: ignore[list-item]
    assert routed.route("c") is default
    assert routed.falls_back("c")
    assert routed.route("a") is router
    assert not routed.falls_back("a")
    assert routed.embedder_id == router.embedder_id


def test_reranker_folders_from_the_environment(monkeypatch, tmp_path):
    from pathlib import Path

    from scenebridge.settings import AgentSettings

    monkeypatch.setenv("SCENEBRIDGE_AGENT_RERANKER", "runs/a, runs/b")
    monkeypatch.setenv("SCENEBRIDGE_CONFIG", str(tmp_path / "none.toml"))
    assert AgentSettings().reranker == [Path("runs/a"), Path("runs/b")]
    monkeypatch.delenv("SCENEBRIDGE_AGENT_RERANKER")
    assert AgentSettings().reranker == []
    assert AgentSettings(reranker=Path("x")).reranker == [Path("x")]


def test_a_background_reranker_answers_exactly_as_one_loaded_in_the_foreground(trained, tmp_path):
    from scenebridge.rerank.background import BackgroundReranker
    from scenebridge.rerank.fusion import FusionReranker

    _data, model_dir, _ = trained
    bg, fg = BackgroundReranker(model_dir), load_reranker(model_dir)
    assert (bg.scene, bg.embedder_id) == (fg.scene, fg.embedder_id)
    from scenebridge.rerank.router import SceneRouter

    SceneRouter.around(bg, fg)  # routing asks for the scenes: answered from the config, before the load ends
    assert not bg.__dict__["_loaded"]
    assert isinstance(bg, FusionReranker)
    query = RerankQuery(scene="b", history=["a0", "a6", "a12"])
    assert bg.candidates(query, 10) == fg.candidates(query, 10)
    pool = [Candidate(item_id=i, scene="b") for i in ("b0", "b1", "b18", "b24")]
    assert [(s.item_id, s.score) for s in bg.rerank(query, pool)] == [
        (s.item_id, s.score) for s in fg.rerank(query, pool)
    ]
    with pytest.raises(UsageError, match=r"no config\.json"):
        BackgroundReranker(tmp_path)  # a wrong folder fails at once, not at the first turn
    (tmp_path / "broken").mkdir()
    for f in model_dir.iterdir():
        (tmp_path / "broken" / f.name).write_bytes(f.read_bytes())
    (tmp_path / "broken" / "model.safetensors").write_bytes(b"not tensors")
    broken = BackgroundReranker(tmp_path / "broken")
    with pytest.raises(UsageError, match="could not be loaded"):
        broken.wait()
