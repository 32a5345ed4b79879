"""Statement mode through the linking path (rerank/evaluate.py, rerank/statement.py, rerank/train.py): the derived
statement's parts are linked to items and become a confidence-weighted history, as the agent gives linked mentions to
the reranker, in evaluation and, given a linker, in training."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from scenebridge.data.format import load_dataset
from scenebridge.data.split import cold_start_split
from scenebridge.data.visible import Context
from scenebridge.errors import UsageError
from scenebridge.rerank.checkpoint import read_config
from scenebridge.rerank.evaluate import FusionMethod
from scenebridge.rerank.examples import Examples
from scenebridge.rerank.resume import fingerprint
from scenebridge.rerank.statement import derive_parts, derive_statement
from scenebridge.rerank.train import TrainConfig, train

pytestmark = pytest.mark.unit

CFG = TrainConfig(embedder="hashing", epochs=4, patience=4, depth=20, folds=2, neighbours=(20,), hidden=16)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("stmt-linked")
    mp = pytest.MonkeyPatch()
    mp.setenv("SCENEBRIDGE_CACHE", str(root / "cache"))
    from tests.conftest import make_dataset

    ds = load_dataset(make_dataset(root / "tiny"))
    train(ds, "a", "b", root / "model", CFG)
    ctx = Context.build(cold_start_split(ds, "a", "b"), seed=0)
    yield ds, root / "model", ctx
    mp.undo()


class TitleLinker:
    """Links a part to the items whose titles start with it (a perfect linker on this data), recording the calls."""

    def __init__(self, ds, confidence: float = 0.7, scene: str = "a") -> None:
        items = ds.items[ds.items["scene"] == scene]
        self.titles = dict(zip(items["item_id"], items["title"].astype(str), strict=True))
        self.confidence = confidence
        self.calls: list[list[str]] = []

    def __call__(self, parts: Sequence[str]) -> list[tuple[str, float]]:
        self.calls.append(list(parts))
        return [(i, self.confidence) for p in parts for i, t in self.titles.items() if t.startswith(p)]


def test_parts_are_the_statement_most_recent_first():
    titles = {"a1": "watercolor paint set twelve tubes artist grade", "a2": "sable brush", "a3": ""}
    assert derive_parts(["a1", "a3", "a2"], titles) == ["sable brush", "watercolor paint set twelve tubes"]
    assert derive_statement(["a1", "a3", "a2"], titles) == "sable brush, watercolor paint set twelve tubes"


def test_linked_statements_are_a_weighted_history(trained):
    ds, model, ctx = trained
    link = TitleLinker(ds)
    method = FusionMethod(model, "statement", link=link)
    assert method.name == "fusion-statement-linked"
    method.fit(ctx)
    user = ctx.split.test_users[0]
    [query] = method._queries([user])
    assert link.calls == [derive_parts(ctx.split.history(user), method.titles)]
    linked = {method.ckpt.item_ids[c] for c in query.history}
    assert linked == {i for i, _ in link(link.calls[0])}
    assert query.weights is not None
    assert np.allclose(query.weights, 0.7)
    assert query.interest is not None  # the statement is still said, beside the history


def test_a_linked_target_item_is_no_history_and_weights_of_one_are_none(trained):
    ds, model, ctx = trained
    method = FusionMethod(model, "statement", link=TitleLinker(ds, confidence=1.0, scene="b"))
    method.fit(ctx)
    [query] = method._queries(ctx.split.test_users[:1])
    assert len(query.history) == 0  # cold start: what is linked in the target scene is not history
    sure = FusionMethod(model, "statement", link=TitleLinker(ds, confidence=1.0))
    sure.fit(ctx)
    [query] = sure._queries(ctx.split.test_users[:1])
    assert len(query.history) > 0
    assert query.weights is None  # all sure: the trained (unweighted) case


def test_linking_brings_the_history_signal_back(trained):
    ds, model, ctx = trained
    users = ctx.split.test_users
    plain, linked, history = (FusionMethod(model, "statement"), FusionMethod(model, "statement", link=TitleLinker(ds)),
                              FusionMethod(model, "history"))  # fmt: skip
    for m in (plain, linked, history):
        m.fit(ctx)

    def hits(method: FusionMethod) -> float:
        top = np.argsort(-method.score(users), axis=1)[:, :10]
        truth = ctx.split.test_truth
        return float(np.mean([len({ctx.split.target_items[j] for j in row} & truth[u]) for row, u in
                              zip(top, users, strict=True)]))  # fmt: skip

    # Tastes carry across scenes in this data: the linked items' co-occurrence finds more of the hidden items than
    # the statement's words alone.
    assert hits(linked) > hits(plain)
    scores = linked.score(users[:3])
    assert scores.shape == (3, len(ctx.split.target_items))


def test_a_linker_outside_statement_mode_is_refused(trained):
    ds, model, _ = trained
    with pytest.raises(UsageError, match="statement mode only"):
        FusionMethod(model, "history", link=TitleLinker(ds))


def test_training_with_a_linker_learns_and_selects_on_the_linked_lists_too(tmp_path, monkeypatch):
    from tests.conftest import make_dataset

    monkeypatch.setenv("SCENEBRIDGE_CACHE", str(tmp_path / "cache"))
    ds = load_dataset(make_dataset(tmp_path / "tiny"))
    link = TitleLinker(ds)
    report = train(ds, "a", "b", tmp_path / "linked", CFG, link=link)
    assert report.statement_linked
    assert report.valid_ndcg_statement_linked is not None
    assert all("valid_ndcg_statement_linked" in row for row in report.history)
    # Each derived statement is linked once, however many folds and epochs read it.
    assert len(link.calls) == len({tuple(c) for c in link.calls})
    assert read_config(tmp_path / "linked")["report"]["statement_linked"] is True
    plain = train(ds, "a", "b", tmp_path / "plain", CFG)
    assert not plain.statement_linked
    assert plain.valid_ndcg_statement_linked is None
    assert all("valid_ndcg_statement_linked" not in row for row in plain.history)
    # A saved state of one kind is never resumed as the other.
    assert fingerprint(ds, "a", "b", CFG) != fingerprint(ds, "a", "b", CFG, linked=True)


def test_linked_lists_weigh_the_id_path_and_plain_ones_do_not():
    ex = Examples(histories=[np.array([1, 2]), np.array([3])], weights=[None, np.array([0.5], np.float32)])
    assert ex.id_weights(np.array([0])) is None
    assert ex.id_weights(np.array([1, 0])).tolist() == [0.5, 1.0, 1.0]
