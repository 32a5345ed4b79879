"""Attribute constraints through a whole turn: a real embedded store with years, the lexical parser, sessions."""

import statistics

import pandas as pd
import pytest

from scenebridge.agent.turn import Recommender
from scenebridge.store import HashingEmbedder, ItemStore

pytestmark = pytest.mark.unit

FILMS = [
    ("m1", "Alien (1979)", "Sci-Fi Horror thriller", "1979"),
    ("m2", "Aliens (1986)", "Sci-Fi Action thriller", "1986"),
    ("m3", "Alien 3 (1992)", "Sci-Fi Horror thriller", "1992"),
    ("m4", "Terminator, The (1984)", "Sci-Fi Action thriller", "1984"),
    ("m5", "Terminator 2: Judgment Day (1991)", "Sci-Fi Action thriller", "1991"),
    ("m6", "Gattaca (1997)", "Sci-Fi Drama thriller", "1997"),
    ("m7", "Event Horizon (1997)", "Sci-Fi Horror thriller", "1997"),
    ("m8", "Thing, The (1982)", "Sci-Fi Horror thriller", "1982"),
    ("m9", "Apollo 13 (1995)", "Drama thriller", "1995"),
    ("m10", "2001: A Space Odyssey (1968)", "Sci-Fi thriller", "1968"),
]


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    items = pd.DataFrame([(i, "thrill", t, c, y) for i, t, c, y in FILMS],
                         columns=["item_id", "scene", "title", "category", "year"])  # fmt: skip
    with_years = ItemStore(HashingEmbedder(128), path=tmp_path_factory.mktemp("years"))
    with_years.index(items)
    without = ItemStore(HashingEmbedder(128), path=tmp_path_factory.mktemp("plain"))
    without.index(items.drop(columns=["year"]))
    return with_years, without


def test_no_sequels_and_years_in_a_turn(stores):
    rec = Recommender(stores[0], k=10)
    first = rec.turn("sci-fi horror thriller, no sequels")
    titles = [i.title for i in first.items]
    assert "Alien 3 (1992)" not in titles
    assert "Terminator 2: Judgment Day (1991)" not in titles
    assert {"Apollo 13 (1995)", "2001: A Space Odyssey (1968)"} <= set(titles)  # numbers, not sequels
    assert first.filtered["m3"] == "no sequels"
    assert "no sequels: 2 candidate(s) left out" in first.notes
    after = rec.turn("sci-fi thriller after 1990")
    assert {i.item_id for i in after.items} == {"m3", "m5", "m6", "m7", "m9"}
    assert after.filtered["m1"] == "from 1991 on"


def test_newer_follows_what_was_shown(stores):
    rec = Recommender(stores[0], k=3)
    first = rec.turn("sci-fi horror thriller before 1990")
    shown = {i.item_id for i in first.items}
    assert shown <= {"m1", "m2", "m4", "m8", "m10"}
    year = {f[0]: int(f[3]) for f in FILMS}
    middle = statistics.median(year[i] for i in shown)
    later = rec.turn("something newer", session_id=first.session_id, k=10)
    assert later.items
    assert all(year[i.item_id] > middle for i in later.items)
    assert any(n.startswith(f"newer than {int(middle)}, the middle year") for n in later.notes)


def test_a_catalogue_without_years_says_so(stores):
    rec = Recommender(stores[1], k=10)
    result = rec.turn("sci-fi thriller after 2000")
    assert len(result.items) == len(FILMS)  # nothing filtered
    assert "this catalogue has no years, so 'from 2001 on' could not be applied" in result.notes
    zh = rec.turn("科幻惊悚片，2000年以后的，不要续集")
    assert "这个目录没有年份信息，无法按“2000年及以后”筛选" in zh.notes
    assert not {"m3", "m5"} & {i.item_id for i in zh.items}
    assert not any("no catalogue words" in n for n in zh.notes)  # read as an exclusion too, but applied by title
    assert "不要续集：排除了 2 个候选" in zh.notes


def test_the_filter_compares_with_shown_seen_and_linked_items(stores):
    from scenebridge.agent.session import Session
    from scenebridge.agent.stages.retrieve import constraint_filter
    from scenebridge.agent.state import LinkedItem
    from scenebridge.agent.summary import Constraints, InterestSummary

    sess = Session("s1", None, shown=["m10"], seen=["m1"])
    sess.linked = [LinkedItem(mention="The Terminator", item_id="m4", title="Terminator, The (1984)", scene="thrill",
                              confidence=0.9)]  # fmt: skip
    newer = InterestSummary(constraints=Constraints(newer=True))
    f = constraint_filter(newer, stores[0], sess, "thrill")
    assert sorted(a["year"] for a in f.reference) == [1968, 1979, 1984]
    assert f.attributes == {"year"}
    plain = constraint_filter(InterestSummary(constraints=Constraints(no_sequels=True)), stores[1], sess, "thrill")
    assert (plain.reference, plain.attributes) == ([], frozenset())  # no "newer": no store round trip for references
