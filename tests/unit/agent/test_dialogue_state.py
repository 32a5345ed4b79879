"""The dialogue state across turns: sticky scene, seen items, deltas from the lexical reader and from an LLM."""

from __future__ import annotations

import json

import pytest

from scenebridge.agent.delta import apply_delta, lexical_delta, llm_delta, merge_deltas
from scenebridge.agent.followup import read_refinement
from scenebridge.agent.session import SessionStore
from scenebridge.agent.summary import InterestSummary, Topic
from scenebridge.agent.turn import Recommender
from scenebridge.errors import LLMError, UsageError
from scenebridge.llm.fake import ScriptedLLM
from tests.unit.turn_fixtures import build_store, summary_json

pytestmark = pytest.mark.unit

SCENES = ["art", "office"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("dialogue"))


def _prev(**kw) -> InterestSummary:
    return InterestSummary(topics=[Topic(name="gel pens"), Topic(name="ink", weight=0.9)], scene="office", **kw)


@pytest.mark.parametrize(
    ("text", "seen", "again"),
    [
        ("I've seen all of those. Something newer, and no sequels", True, False),
        ("这些都看过了", True, False),
        ("I already have these", True, False),
        ("I have been to all of those", True, False),
        ("show them again", False, True),
        ("more like the second one", False, False),
        ("I have seen Alien", False, False),
    ],
)
def test_seen_and_again_cues(text, seen, again):
    ref = read_refinement(text)
    assert (ref.seen, ref.again) == (seen, again)


def test_a_follow_up_keeps_the_scene_and_the_earlier_interests():
    delta = lexical_delta("I've seen all of those. Something newer, and no sequels", _prev(), SCENES, None)
    assert delta.scene is None
    assert not delta.replace_topics
    assert delta.add_topics == []
    assert delta.add_exclusions == []
    changes: list[str] = []
    after = apply_delta(_prev(), delta, changes)
    assert after.scene == "office"
    assert [t.name for t in after.topics] == ["gel pens", "ink"]


def test_a_follow_up_naming_another_scene_moves_it():
    delta = lexical_delta("now show me art supplies", _prev(), SCENES, None)
    assert delta.scene == "art"
    assert delta.replace_topics


def test_an_exclusion_can_be_lifted():
    prev = _prev(exclusions=["animation"])
    delta = lexical_delta("animation is fine after all", prev, SCENES, None)
    changes: list[str] = []
    after = apply_delta(prev, delta, changes)
    assert after.exclusions == []
    assert "exclusion lifted: animation" in changes


def test_new_interests_go_first_and_old_ones_stay():
    changes: list[str] = []
    after = apply_delta(_prev(), lexical_delta("also a stapler", _prev(), SCENES, None), changes)
    assert next(t.name for t in after.topics) == "stapler"
    assert {"gel pens", "ink"} <= {t.name for t in after.topics}
    assert "interest added: stapler" in changes


def test_the_llm_delta_is_checked_against_the_message_and_the_state():
    answer = {"add_topics": ["desk lamp"], "remove_topics": ["ink", "never there"], "add_exclusions": ["pencils"],
              "remove_exclusions": ["paper"], "newer": True, "no_sequels": False}  # fmt: skip
    llm = ScriptedLLM([json.dumps(answer)])
    delta = llm_delta(llm, _prev(exclusions=["paper"]), "I'd like a newer desk lamp and drop the ink; paper is fine")
    assert delta is not None
    assert delta.remove_topics == ["ink"]  # what was never in the state cannot be removed
    assert delta.add_exclusions == []  # no negation cue in the message
    assert delta.remove_exclusions == ["paper"]
    assert delta.constraints.newer
    merged = merge_deltas(lexical_delta("I'd like a desk lamp and drop the ink", _prev(), SCENES, None), delta)
    assert merged.add_topics == ["desk lamp"]


def test_a_failing_llm_delta_is_none():
    assert llm_delta(ScriptedLLM(["not json"]), _prev(), "more pens") is None
    assert llm_delta(ScriptedLLM(["[]"]), _prev(), "x") is None


def test_seen_items_do_not_come_back_unless_asked(store):
    rec = Recommender(store)
    one = rec.turn("pens and ink for the office", k=3)
    shown = {i.item_id for i in one.items}
    two = rec.turn("I've seen all of those", session_id=one.session_id, k=3)
    assert any("marked as seen" in c for c in two.refinements)
    assert two.scene == "office"
    assert not shown & {i.item_id for i in two.items}
    assert set(two.state.seen) == shown
    three = rec.turn("show them again", session_id=one.session_id, k=10)
    assert "seen items may be shown again" in three.refinements
    assert shown & {i.item_id for i in three.items}


def test_a_follow_up_goes_through_the_llm_delta_and_the_scene_sticks(store):
    first = summary_json(["gel pens"], "office")
    delta = json.dumps({"add_topics": ["stapler"], "remove_topics": [], "add_exclusions": [],
                        "remove_exclusions": [], "newer": False, "no_sequels": False})  # fmt: skip
    rec = Recommender(store, llm=ScriptedLLM([first, delta]), classifier=None)
    one = rec.turn("I want gel pens for the office", k=3)
    two = rec.turn("and something to staple with", session_id=one.session_id, k=3)
    assert two.parse_source == "llm-delta"
    assert two.scene == "office"
    assert [t.name for t in two.summary.topics][:2] == ["stapler", "gel pens"]


def test_the_state_survives_a_restart(tmp_path, store):
    path = tmp_path / "sessions.sqlite"
    rec = Recommender(store, sessions=SessionStore(path=path))
    one = rec.turn("pens and ink for the office", k=3)
    rec.turn("I've seen all of those", session_id=one.session_id, k=3)
    rec.sessions.close()
    again = Recommender(store, sessions=SessionStore(path=path))
    sess = again.sessions.find(one.session_id, None)
    assert sess is not None
    assert set(sess.seen) == {i.item_id for i in one.items}


def test_feedback_in_a_session_is_part_of_its_state(store):
    rec = Recommender(store)
    one = rec.turn("pens and ink for the office", k=3)
    first = one.items[0].item_id
    assert rec.feedback(None, first, "dislike", session_id=one.session_id) == "office"
    rec.feedback(None, one.items[1].item_id, "like", session_id=one.session_id)
    two = rec.turn("more pens", session_id=one.session_id, k=10)
    assert first not in {i.item_id for i in two.items}
    assert two.state.disliked == [first]
    assert two.state.liked == [one.items[1].item_id]
    with pytest.raises(UsageError, match="unknown feedback kind"):
        rec.feedback(None, first, "love", session_id=one.session_id)
    with pytest.raises(UsageError, match="no profile store"):
        Recommender(store, profiles=None).feedback(None, first, "like")


def test_what_the_person_says_they_did_is_linked_used_as_history_and_never_shown(store):
    rec = Recommender(store)
    one = rec.turn("I bought the winsor newton watercolor paint set on my PC; now office supplies on my phone", k=5)
    assert [x.item_id for x in one.linked] == ["a1"]
    assert any("Winsor" in n or "winsor" in n for n in one.notes)
    assert one.scene == "office"
    two = rec.turn("I also loved the hp 61 black ink cartridge", session_id=one.session_id, k=14)
    assert {x.item_id for x in two.linked} == {"a1", "o1"}  # a film seen, an item owned: in the target scene too
    assert "o1" not in {i.item_id for i in two.items}
    assert two.scene == "office"


def test_an_llm_that_fails_is_said_in_the_notes(store):
    rec = Recommender(store, llm=ScriptedLLM([LLMError("the LLM did not answer within 1 s")]), classifier=None)
    res = rec.turn("pens for the office", k=3)
    assert res.parse_source == "fallback"
    assert any("did not answer" in n and "lexical parser" in n for n in res.notes)


def test_the_llm_cannot_lift_or_drop_what_the_message_does_not_speak_of():
    answer = {"add_topics": ["gel pens"], "remove_topics": ["gel pens", "ink"], "add_exclusions": [],
              "remove_exclusions": ["too gory"], "newer": True, "no_sequels": True}  # fmt: skip
    delta = llm_delta(ScriptedLLM([json.dumps(answer)]), _prev(exclusions=["too gory"]), "Something newer, no sequels")
    assert delta is not None
    assert delta.remove_topics == []
    assert delta.remove_exclusions == []


def test_a_subtitle_after_another_catalogue_title_is_a_sequel():
    from scenebridge.agent.constraint_filter import continues
    from scenebridge.agent.linking import norm_title

    titles = {norm_title(t) for t in ("Alien (1979)", "Die Hard (1988)", "Star Wars (1977)")}
    assert continues("Alien: Resurrection (1997)", titles)
    assert continues("Die Hard: With a Vengeance (1995)", titles)
    assert not continues("Star Wars (1977)", titles)
    assert not continues("Wallace & Gromit: The Best of Aardman Animation (1996)", titles)
    assert not continues("Alien: Resurrection (1997)", set())


def test_the_llm_delta_cannot_copy_cue_words_lift_a_restated_exclusion_or_set_unsaid_flags():
    prev = _prev(exclusions=["动画片"])
    answer = {"add_topics": [], "remove_topics": [], "add_exclusions": ["不要", "no"],
              "remove_exclusions": ["动画片"], "newer": True, "no_sequels": True}  # fmt: skip
    text = "再推荐几部，不要动画片"
    delta = llm_delta(ScriptedLLM([json.dumps(answer)]), prev, text)
    assert delta is not None
    assert delta.add_exclusions == []
    assert not delta.constraints.newer
    assert not delta.constraints.no_sequels
    merged = merge_deltas(lexical_delta(text, prev, SCENES, None), delta)
    assert merged.remove_exclusions == []  # said again, so not lifted
    year = {"add_topics": [], "remove_topics": [], "add_exclusions": [], "remove_exclusions": [], "newer": True,
            "no_sequels": False}  # fmt: skip
    after = merge_deltas(lexical_delta("something after 1995", prev, SCENES, None),
                         llm_delta(ScriptedLLM([json.dumps(year)]), prev, "something after 1995"))  # fmt: skip
    assert after.constraints.year_min == 1996
    assert not after.constraints.newer


def test_the_query_memo_never_evicts_the_texts_it_is_answering():
    from scenebridge.agent.query_embed import QueryEmbedder
    from scenebridge.store import HashingEmbedder

    memo = QueryEmbedder(HashingEmbedder(32), size=2)
    memo.embed(["charm", "mix"])
    rows = memo.embed(["charm", "bracelet"])  # "charm" is the oldest entry when "bracelet" joins: a KeyError before
    assert rows.shape == (2, 32)
    assert memo.embed(["a", "b", "c"]).shape == (3, 32)  # more texts than the memo holds


def test_a_parse_never_keeps_a_bare_cue_word_as_an_exclusion(store):
    answer = json.dumps({"topics": ["scary"], "scene": "office", "exclusions": ["not", "no", "without", "too gory"]})
    res = Recommender(store, llm=ScriptedLLM([answer]), classifier=None).turn("something scary but not too gory", k=3)
    assert res.summary.exclusions == ["too gory"]
