"""`bench turn --history`: statements said by the dataset's valid/test users, by their own user id."""

from __future__ import annotations

import pytest

from scenebridge.bench.turn import UserHistory, bench_turn, load_histories, load_user_histories
from scenebridge.data.format import load_dataset
from tests.conftest import make_dataset
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.unit


def test_histories_are_valid_and_test_users_with_their_other_scene_items(tmp_path):
    data = make_dataset(tmp_path / "tiny")
    ds = load_dataset(data)
    split = dict(zip(ds.users["user_id"], ds.users["split"], strict=True))
    scene_of = dict(zip(ds.items["item_id"], ds.items["scene"], strict=True))
    got = load_user_histories(data, ["a", "b"], users=50)
    for scene, hists in got.items():
        assert hists
        assert all(split[h.user_id] in {"valid", "test"} for h in hists)
        mine = ds.interactions[(ds.interactions["scene"] != scene)]
        for h in hists:
            assert h.items == mine.loc[mine["user_id"] == h.user_id].sort_values("order")["item_id"].tolist()
            assert all(scene_of[i] != scene for i in h.items)
    every = load_user_histories(data, ["a"], users=500, splits=("train", "valid", "test"))["a"]
    assert len(every) > len(got["a"])
    assert load_histories(data, ["a"], users=3) == {"a": [h.items for h in got["a"][:3]]}


def test_each_turn_is_said_by_the_next_user_with_their_id(tmp_path):
    store = build_store(tmp_path / "store")
    labels = tmp_path / "labels.yaml"
    labels.write_text("statements:\n  - {text: 'gel pens', scene: office}\n  - {text: 'a stapler', scene: office}\n",
                      encoding="utf-8")  # fmt: skip
    office = [UserHistory(f"u{n}", items) for n, items in enumerate([["a1", "a2", "a3"], ["a4", "a5", "a6"],
                                                                      ["a1", "a5", "a9"]])]  # fmt: skip
    result = bench_turn(store, labels, ["none"], histories={"office": office}, repeat=2)[0]
    assert [t["user"] for t in result.turns] == ["u1", "u2", "u0", "u1"]
    assert result.items_out_of_scene == 0


def test_non_llm_is_every_stage_but_parse(tmp_path):
    store = build_store(tmp_path / "store")
    labels = tmp_path / "labels.yaml"
    labels.write_text("statements:\n  - {text: 'I bought a1 before; now gel pens', scene: office}\n", encoding="utf-8")
    result = bench_turn(store, labels, ["none"], histories={"office": [UserHistory("u0", ["a1", "a2", "a3"])]})[0]
    for turn in result.turns:
        ms = turn["timings_ms"]
        stages = ("link", "embed", "retrieve", "rerank", "explain")
        assert ms["non_llm"] == pytest.approx(sum(ms.get(s, 0.0) for s in stages))
        assert ms["non_llm"] < ms["total"]
    assert set(result.p50) >= {"parse", "link", "non_llm"}
