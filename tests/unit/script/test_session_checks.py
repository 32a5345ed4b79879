"""The expectations checked against what the session knows rather than fixed ids: ``seen_previous`` (the items the
previous turn showed are seen and do not come back) and ``prerequisites_done`` (no item whose prerequisites the
person has not done), over a real embedded store (hashing vectors) with the fake LLM."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from scenebridge.errors import UsageError
from scenebridge.script import load_script, run_script
from tests.unit.turn_fixtures import ITEMS

pytestmark = pytest.mark.unit

PENS = {"say": "pens for the office", "llm_reply": {"topics": ["pens"], "scene": "office", "exclusions": []}}


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cat")
    pd.DataFrame(ITEMS, columns=["item_id", "scene", "title", "category"]).to_csv(folder / "items.csv", index=False)
    # o4 (gel pens) needs o9 (the stapler) first; o10 (brush pens) needs a3, an art item.
    (folder / "relations.csv").write_text("head,relation,tail\no9,prerequisite_of,o4\na3,prerequisite_of,o10\n")
    return folder


def write(tmp_path: Path, catalogue: Path, turns: list[dict], **meta) -> Path:
    path = tmp_path / "conv.yaml"
    body = {"catalogue": str(catalogue), "embedder": "hashing", "k": 4, "user": "u1", **meta, "turns": turns}
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path


def test_seen_previous_passes_when_the_shown_items_are_marked_seen(tmp_path, catalogue):
    turns = [PENS, {"say": "I already have all of those", "expect": {"seen_previous": True, "seen_count": 4}}]
    report = run_script(write(tmp_path, catalogue, turns))
    assert report.ok, report.format()


def test_seen_previous_fails_when_nothing_was_marked_or_there_was_no_previous_turn(tmp_path, catalogue):
    turns = [
        {**PENS, "expect": {"seen_previous": True}},
        # Not a "seen" follow-up: the four shown items are not marked seen, so the check must fail.
        {"say": "cheaper", "expect": {"seen_previous": True}},
    ]
    report = run_script(write(tmp_path, catalogue, turns))
    fails = {(f.turn, f.check, f.expected) for f in report.failures}
    assert (1, "seen_previous", "a previous turn's items") in fails, report.format()
    assert (2, "seen_previous", "every item shown before seen") in fails, report.format()


def test_seen_previous_starts_again_with_a_new_session(tmp_path, catalogue):
    turns = [PENS, {**PENS, "new_session": True, "expect": {"seen_previous": True}}]
    report = run_script(write(tmp_path, catalogue, turns))
    assert [f.expected for f in report.failures] == ["a previous turn's items"], report.format()


def test_prerequisites_done_catches_an_ungated_ranking_and_passes_a_gated_one(tmp_path, catalogue):
    turn = {**PENS, "expect": {"include": ["o4"], "prerequisites_done": True}}
    ungated = run_script(write(tmp_path, catalogue, [turn], prerequisites=str(catalogue / "relations.csv")))
    locked = [f.got for f in ungated.failures if f.check == "prerequisites_done"]
    assert len(locked) == 1, ungated.format()
    assert "o4 (missing o9)" in locked[0]
    gated_turn = {**PENS, "expect": {"exclude": ["o4", "o10"], "prerequisites_done": True, "min_items": 4}}
    gated = run_script(write(tmp_path, catalogue, [gated_turn], prerequisites=str(catalogue / "relations.csv"),
                             reranker=f"prerequisites:{catalogue / 'relations.csv'}"))  # fmt: skip
    assert gated.ok, gated.format()


def test_prerequisites_done_counts_the_profile_as_done(tmp_path, catalogue):
    turn = {**PENS, "expect": {"include": ["o10"], "prerequisites_done": True}}
    links = catalogue / "relations.csv"
    path = write(tmp_path, catalogue, [turn], prerequisites=str(links), reranker=f"prerequisites:{links}",
                 profiles={"u1": ["a3"]})  # fmt: skip
    report = run_script(path)
    assert report.ok, report.format()


def test_prerequisites_done_without_links_is_a_clear_error(tmp_path, catalogue):
    path = write(tmp_path, catalogue, [{**PENS, "expect": {"prerequisites_done": True}}])
    with pytest.raises(UsageError, match="prerequisites_done and unlocked need the script's 'prerequisites'"):
        load_script(path)


def test_unlocked_needs_an_item_opened_by_what_the_previous_turn_showed(tmp_path, catalogue):
    links = catalogue / "relations.csv"
    stapler = {"say": "a heavy duty stapler for the office",
               "llm_reply": {"topics": ["stapler"], "scene": "office", "exclusions": []},
               "expect": {"include": ["o9"], "exclude": ["o4"], "prerequisites_done": True}}  # fmt: skip
    meta = {"prerequisites": str(links), "reranker": f"prerequisites:{links}", "k": 5}
    # "I have all of those" makes the stapler done: the gel pens (o4) it opens may come, and do.
    done = {"say": "I already have all of those", "expect": {"unlocked": True, "include": ["o4"],
                                                             "prerequisites_done": True}}  # fmt: skip
    report = run_script(write(tmp_path, catalogue, [stapler, done], **meta))
    assert report.ok, report.format()
    # A follow-up that marks nothing done opens nothing.
    report = run_script(write(tmp_path, catalogue, [stapler, {"say": "cheaper", "expect": {"unlocked": True}}], **meta))
    assert [f.check for f in report.failures] == ["unlocked"], report.format()
