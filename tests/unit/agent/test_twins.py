"""A catalogue's duplicate entries of one thing ("twins": two ids, the very same title): one answer holds one of
them, and what was seen, had or disliked under one id stays out under the other (agent/titles.py, the turn)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scenebridge.agent.linking import Linker, TitleIndex
from scenebridge.agent.session_data import Session
from scenebridge.agent.stages import link as link_stage
from scenebridge.agent.stages.read import Interest
from scenebridge.agent.stages.retrieve import query_for
from scenebridge.agent.state import LinkedItem
from scenebridge.agent.titles import title_key
from scenebridge.agent.turn import Recommender
from scenebridge.store import HashingEmbedder, ItemStore

pytestmark = pytest.mark.unit

ITEMS = [
    ("o1", "office", "pilot g2 gel pens black 12 pack", "office products writing pens gel"),
    ("o2", "office", "pilot g2 gel pens black 12 pack", "office products writing pens gel"),
    ("o3", "office", "Pilot G2  Gel Pens Black 12 Pack", "office products writing pens"),
    ("o4", "office", "pilot g2 gel pens blue 12 pack", "office products writing pens gel"),
    ("o5", "office", "uniball gel pens black", "office products writing pens gel"),
    ("o6", "office", "zebra gel pens assorted", "office products writing pens gel"),
    ("o7", "office", "bic gel pens black 10 pack", "office products writing pens gel"),
    ("o8", "office", "stapler heavy duty", "office products desk accessories staplers"),
    ("a1", "art", "pilot g2 gel pens black 12 pack", "arts crafts drawing pens"),  # another scene: not a twin
    ("a2", "art", "watercolor paint set", "arts crafts painting"),
]
TWINS = {"o1", "o2", "o3"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ItemStore:
    s = ItemStore(HashingEmbedder(256), path=tmp_path_factory.mktemp("twins"))
    s.index(pd.DataFrame(ITEMS, columns=["item_id", "scene", "title", "category"]))
    return s


def test_twins_are_the_very_title_case_and_spacing_aside():
    index = TitleIndex([(i, t) for i, s, t, _ in ITEMS if s == "office"])
    assert index.twins(["o1"]) == {"o2", "o3"}
    assert index.twins(["o3", "o8"]) == {"o1", "o2"}
    assert index.twins(["o4", "o5"]) == set()  # "blue" is another product, however close
    assert title_key("Body Snatchers  (1993)") == title_key("body snatchers (1993)")
    assert title_key("Hamlet (1996)") != title_key("Hamlet (1990)")  # the year tells two films apart


def test_one_answer_holds_one_twin_and_still_k_items(store: ItemStore):
    rec = Recommender(store)
    res = rec.turn("black gel pens for the office", k=5)
    ids = [i.item_id for i in res.items]
    assert len(ids) == 5
    assert len(TWINS & set(ids)) == 1
    assert len({title_key(i.title) for i in res.items}) == 5


def test_seen_under_one_id_stays_out_under_the_other(store: ItemStore):
    rec = Recommender(store)
    one = rec.turn("black gel pens for the office", k=5)
    shown = {i.item_id for i in one.items}
    two = rec.turn("I've seen all of those", session_id=one.session_id, k=5)
    assert set(two.state.seen) == shown  # only what was shown is marked: its twins are kept out, not marked
    assert not TWINS & {i.item_id for i in two.items}


def test_what_was_said_and_linked_keeps_its_twins_out_of_the_query(store: ItemStore):
    sess = Session(session_id="s", user_id=None)
    sess.linked.append(LinkedItem(mention="g2 pens", action="bought", item_id="o2", title=ITEMS[1][2], scene="office",
                                  confidence=1.0))  # fmt: skip
    interest = Interest(np.zeros(256, dtype=np.float32), [], np.zeros((0, 256), dtype=np.float32))
    plain = query_for("office", interest, sess, None)
    assert plain.exclude == {"o2"}
    query = query_for("office", interest, sess, None, twins=link_stage.twins(Linker(store), "office"))
    assert query.exclude == TWINS
