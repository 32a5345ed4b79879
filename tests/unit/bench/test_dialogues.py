"""The dialogue-state benchmark scores each field of each turn, and its labelled file is well formed."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenebridge.agent.turn import Recommender
from scenebridge.bench.dialogues import CATALOGUES, Expect, bench_dialogues, load_dialogues, score_turn
from scenebridge.errors import UsageError
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.unit

LABELS = Path(__file__).parents[3] / "benchmarks" / "dialogues.yaml"


def test_the_labelled_file_has_thirty_conversations_in_both_languages():
    dialogues = load_dialogues(LABELS)
    assert len(dialogues) >= 30
    assert {d.lang for d in dialogues} == {"en", "zh"}
    assert all(d.catalogue in CATALOGUES for d in dialogues)
    assert all(len(d.turns) >= 2 for d in dialogues)


def test_a_bad_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "d.yaml"
    bad.write_text("conversations: [{id: x}]\n")
    with pytest.raises(UsageError, match="not a dialogue file"):
        load_dialogues(bad)
    with pytest.raises(UsageError, match="not found"):
        load_dialogues(tmp_path / "missing.yaml")


def test_fields_are_scored_both_ways(tmp_path):
    rec = Recommender(build_store(tmp_path))
    one = rec.turn("pens for the office, not paper", k=3)
    two = rec.turn("I've seen all of those", session_id=one.session_id, k=3)
    shown = [[i.item_id for i in one.items], [i.item_id for i in two.items]]
    good = score_turn(Expect(scene="office", exclusions=["paper"], seen=[1], constraints={}), two, shown)
    assert all(ok for ok, _ in good.values())
    bad = score_turn(Expect(scene="art", exclusions=["paper", "ink"], seen=[2], constraints={"newer": True}), two,
                     shown)  # fmt: skip
    assert not any(ok for ok, _ in bad.values())


def test_conversations_run_on_the_store_with_their_scenes(tmp_path):
    store = build_store(tmp_path)
    dialogues = [d for d in load_dialogues(LABELS) if d.catalogue == "shop"][:2]
    [score] = bench_dialogues(dialogues, ["none"], [tmp_path], lambda backend, path: Recommender(store))
    assert score.conversations == 2
    assert score.turns == sum(len(d.turns) for d in dialogues)
    assert 0.0 <= score.state_accuracy <= 1.0
    assert set(score.fields) <= {"scene", "exclusions", "constraints", "linked", "seen"}
