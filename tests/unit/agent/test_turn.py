"""The agent's turn over a real embedded Chroma store (hashing embeddings) with the scripted fake LLM."""

from __future__ import annotations

import pytest

from scenebridge.agent.explain import ExplainInput, GroundingChecker
from scenebridge.agent.followup import read_refinement
from scenebridge.agent.turn import STAGES, Recommender
from scenebridge.errors import UsageError
from scenebridge.llm import ScriptedLLM
from scenebridge.store.profiles import ProfileStore
from tests.unit.turn_fixtures import ITEMS, build_store, summary_json

pytestmark = pytest.mark.unit

INK = {"o1", "o2"}
CATALOGUE = {i[0]: i for i in ITEMS}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("store"))


def _grounded(result) -> None:
    """Every explanation (Chinese ones too) passes the checker, and the checker still bites on them."""
    topics = [t.name for t in result.summary.topics]
    inputs = [ExplainInput(i.item_id, i.title, i.category, i.scene, i.evidence, topics,
                           {ev.item_id: CATALOGUE[ev.item_id][2] for ev in i.evidence if ev.item_id in CATALOGUE})
              for i in result.items]  # fmt: skip
    checker = GroundingChecker(inputs, [(i[0], i[2], i[3]) for i in ITEMS])
    assert result.items
    for item in result.items:
        assert checker.problems(item.item_id, item.explanation) == [], item.explanation
        other = next(i for i in ITEMS if i[1] == item.scene and i[0] != item.item_id)
        # The same sentence naming another item must fail: a check that passed everything would pass this too.
        assert checker.problems(item.item_id, f"{item.explanation}（{other[0]}，Sakura）")


def test_turn_applies_chinese_exclusion_and_scene(store):
    statement = "我在电脑上买了水彩颜料和画笔，现在用手机想看看办公用品，但不要打印机墨盒"
    llm = ScriptedLLM([summary_json(["水彩颜料", "画笔", "ink"], "office", ["打印机墨盒"], "zh")])
    rec = Recommender(store, llm=llm, k=8)
    res = rec.turn(statement)
    assert res.parse_source == "llm"
    assert res.scene == "office"
    assert "打印机墨盒" in res.summary.exclusions
    assert res.items, res
    assert all(i.item_id in CATALOGUE and CATALOGUE[i.item_id][1] == "office" for i in res.items)
    assert not INK & {i.item_id for i in res.items}
    assert set(res.filtered) >= INK
    assert len(res.explanations) == len(res.items)
    assert all(i.explanation for i in res.items)
    assert set(STAGES) <= set(res.timings_ms)
    assert res.reply.startswith("在办公用品里")  # the scene's Chinese name from the scene hints
    assert all(i.explanation.startswith(f"推荐「{i.title}」") for i in res.items)
    _grounded(res)


def test_english_exclusion_with_lexical_parser(store):
    rec = Recommender(store)
    res = rec.turn("I like watercolor and ink; show me office supplies, but no printer ink cartridges", k=10)
    assert res.parse_source == "fallback"
    assert not INK & {i.item_id for i in res.items}
    assert res.scene == "office"


def test_session_refinements(store):
    rec = Recommender(store, profiles=ProfileStore(":memory:"))
    first = rec.turn("watercolor paper and pens for the office", user_id="u1", k=5)
    sid = first.session_id
    assert first.scene == "office"
    second = rec.turn("not paper", user_id="u1", session_id=sid, k=5)
    assert second.parse_source == "refinement"
    assert "exclusion added: paper" in second.refinements
    assert not any("paper" in i.title for i in second.items)
    third = rec.turn("more like the second one", user_id="u1", session_id=sid, k=5)
    anchor = second.items[1]
    assert third.refinements[0].startswith("more like item 2")
    assert anchor.item_id not in {i.item_id for i in third.items}
    likeness = [ev for i in third.items for ev in i.evidence if ev.item_id == anchor.item_id]
    assert likeness  # the anchor is named as what it is, not as "your interest '<its whole title>'"
    assert all(ev.text == f"similar to '{anchor.title}', which you asked for more like" for ev in likeness)
    assert anchor.title not in {ev.interest for i in third.items for ev in i.evidence}
    assert any(
        anchor.title in i.explanation for i in third.items if any(ev.item_id == anchor.item_id for ev in i.evidence)
    )
    fourth = rec.turn("cheaper", user_id="u1", session_id=sid, k=5)
    assert "constraint added: cheaper" in fourth.refinements
    assert any("no prices" in n for n in fourth.notes)
    fifth = rec.turn("now show me art supplies", user_id="u1", session_id=sid, k=3)
    assert fifth.scene == "art"
    assert "scene changed: office -> art" in fifth.refinements
    assert all(CATALOGUE[i.item_id][1] == "art" for i in fifth.items)
    assert "paper" in fifth.summary.exclusions  # exclusions stay for the session


def test_profile_history_feeds_the_reranker_and_dislikes_are_never_shown(store):
    rec = Recommender(store, profiles=ProfileStore(":memory:"))
    rec.feedback("u9", "a2", "like")
    rec.feedback("u9", "o10", "dislike")
    res = rec.turn("watercolor brush pens for the office", user_id="u9", k=10)
    assert "o10" not in {i.item_id for i in res.items}
    kinds = {ev.kind for i in res.items for ev in i.evidence}
    assert "history-content" in kinds
    assert any(ev.item_id == "a2" for i in res.items for ev in i.evidence)
    _grounded(res)
    zh = rec.turn("我想在办公用品里找水彩笔", user_id="u9", k=4)  # Chinese phrases of the history evidence
    assert any("与你在美术里的「" in i.explanation for i in zh.items)
    _grounded(zh)
    assert rec.forget("u9") == 2
    with pytest.raises(UsageError, match="not in the catalogue"):
        rec.feedback("u9", "zzz", "like")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"statement": "  "}, "the statement is empty"),
        ({"statement": "pens", "scene": "garden"}, "unknown scene 'garden'"),
        ({"statement": "pens", "k": 0}, "k must be between 1 and 50"),
        ({"statement": "pens"}, "say which scene"),
        ({"statement": "more like the first one", "scene": "office"}, "no earlier results"),
    ],
)
def test_bad_input_is_one_clear_usage_error(store, kwargs, message):
    with pytest.raises(UsageError, match=message):
        Recommender(store).turn(**kwargs)


def test_an_unknown_scene_is_still_one_clear_error_for_a_user_with_a_history(store):
    # The turn starts the history's searches before its own checks: they must not answer for it.
    rec = Recommender(store, profiles=ProfileStore(":memory:"))
    rec.feedback("u7", "a2", "like")
    with pytest.raises(UsageError, match="unknown scene 'garden'"):
        rec.turn("pens", scene="garden", user_id="u7")


def test_sessions_belong_to_one_user(store):
    rec = Recommender(store)
    res = rec.turn("gel pens for the office", user_id="alice")
    with pytest.raises(UsageError, match="belongs to another user"):
        rec.turn("cheaper", user_id="bob", session_id=res.session_id)


def test_a_misbehaving_llm_never_breaks_the_turn(store):
    llm = ScriptedLLM(["not json", "{still not json"])
    res = Recommender(store, llm=llm).turn("desk organizer for the office")
    assert res.parse_source == "fallback"
    assert res.items


def test_llm_wording_is_checked_and_falls_back(store):
    import json

    llm = ScriptedLLM([summary_json(["watercolor"], "office")])
    rec = Recommender(store, llm=llm, explain="llm", k=3)
    # Script the wording call after seeing which items come back from an identical template turn.
    ids = [i.item_id for i in Recommender(store, k=3).turn("watercolor", scene="office").items]
    wording = {"explanations": [
        {"item_id": ids[0], "text": "It matches your interest in watercolor."},
        {"item_id": ids[1], "text": f"Better than {ids[2]}, a Sakura bestseller for 5 dollars."},
    ]}  # fmt: skip
    llm.add(json.dumps(wording))
    res = rec.turn("watercolor", scene="office")
    assert [i.item_id for i in res.items] == ids
    first, second, third = res.explanations
    assert first.source == "llm"
    assert first.text == "It matches your interest in watercolor."
    assert second.source == "template"
    assert any("another item" in p for p in second.rejected)
    assert any("Sakura" in p for p in second.rejected)
    assert third.source == "template"
    assert third.rejected == ["the LLM gave no explanation for this item"]


@pytest.mark.parametrize(
    ("text", "position", "cheaper", "negation"),
    [
        ("more like the second one", 2, False, False),
        ("something like #3 but cheaper", 3, True, False),
        ("更像第二个", 2, False, False),
        ("便宜一点的", None, True, False),
        ("not office paper", None, False, True),
        ("不要办公纸", None, False, True),
        ("items like the last one", -1, False, False),
    ],
)
def test_refinement_cues(text, position, cheaper, negation):
    ref = read_refinement(text)
    assert (ref.more_like, ref.cheaper, ref.negation) == (position, cheaper, negation)


class _Popular:
    """A stand-in trained reranker: the protocol only, scoring by a fixed preference."""

    def __init__(self, embedder_id: str) -> None:
        self.embedder_id = embedder_id

    def candidates(self, query, k):
        return ["o9", "a1"][:k]  # a foreign-scene id must never reach the answer

    def rerank(self, query, candidates, k=None):
        from scenebridge.rerank.api import Evidence, Scored

        order = sorted(candidates, key=lambda c: (c.item_id != "o9", c.item_id))
        return [Scored(item_id=c.item_id, score=1.0 / (n + 1),
                       evidence=[Evidence(kind="popularity", weight=1.0, scene=c.scene)])
                for n, c in enumerate(order)][:k]  # fmt: skip


def test_any_reranker_following_the_protocol(store):
    res = Recommender(store, reranker=_Popular("hashing:256")).turn("gel pens", scene="office", k=3)
    assert res.items[0].item_id == "o9"  # the reranker decides the order
    assert all(i.scene == "office" for i in res.items)
    assert res.items[0].explanation == "stapler heavy duty: popular in office."  # worded by the agent, from data
    assert res.items[0].evidence[0].text == "popular in office"
    with pytest.raises(UsageError, match="expects 'use-multilingual' vectors"):
        Recommender(store, reranker=_Popular("use-multilingual"))


class _TwoWordEmbedder:
    """Scene-aware fake vectors: one axis for office words, one for art words, zero for the rest."""

    model_id = "fake-two-word"
    dim = 2

    def embed(self, texts):
        import numpy as np

        office = ("office", "paper", "stationery", "办公", "文具")
        arty = ("art", "paint", "craft", "画", "美术")
        return np.array(
            [[float(any(w in t.lower() for w in arty)), float(any(w in t.lower() for w in office))] for t in texts]
        )


def test_turn_scene_comes_from_the_classifier_when_the_statement_names_none(store):
    from scenebridge.agent.parse import SceneClassifier

    statement = "I need something to keep my tax papers in order"
    llm = ScriptedLLM([summary_json(["tax papers"], "art")])  # small models often answer the wrong shop
    res = Recommender(store, llm=llm, classifier=SceneClassifier(_TwoWordEmbedder())).turn(statement)
    assert res.scene == "office"
    assert Recommender(store).classifier is None  # hashing vectors carry no meaning: no classifier by default
    llm = ScriptedLLM([summary_json(["tax papers"], "art")])
    assert Recommender(store, llm=llm).turn(statement).scene == "art"


def test_a_scene_the_trained_reranker_does_not_cover_is_ranked_by_content(store):
    from typing import ClassVar

    from scenebridge.rerank.content import ContentReranker

    class OfficeOnly(ContentReranker):
        scene = "office"
        calls: ClassVar[list[str]] = []

        def rerank(self, query, candidates, k=None, evidence=True):
            self.calls.append(query.scene)
            return super().rerank(query, candidates, k)

    trained = OfficeOnly(store)
    rec = Recommender(store, reranker=trained)
    art = rec.turn("watercolor paint", scene="art")
    assert art.items
    assert all(i.scene == "art" for i in art.items)
    assert any("covers office" in n for n in art.notes)
    office = rec.turn("printer paper", scene="office")
    assert trained.calls == ["office"]
    assert not any("covers" in n for n in office.notes)


def test_a_reranker_serving_several_scenes_is_used_for_each(store):
    from scenebridge.rerank.content import ContentReranker

    class Both(ContentReranker):
        scenes = ("art", "office")

    both = Both(store)
    rec = Recommender(store, reranker=both)
    for scene in ("art", "office"):
        assert rec.router.route(scene) is both
        assert not rec.router.falls_back(scene)
    assert not any("covers" in n for n in rec.turn("watercolor paint", scene="art").notes)


def test_behaviour_candidates_only_join_for_a_user_with_history(store):
    from scenebridge.rerank.content import ContentReranker

    class Popular(ContentReranker):
        asked: ClassVar[list[int]] = []

        def candidates(self, query, k):
            self.asked.append(k)
            return ["o6"]  # the scene's "most popular" item, whatever was asked

    from typing import ClassVar

    profiles = ProfileStore(":memory:")
    rec = Recommender(store, reranker=Popular(store), profiles=profiles, retrieve_k=3)
    alone = rec.turn("watercolor paper pad", scene="office", k=3)
    assert Popular.asked == []  # no history: only what was asked for is retrieved
    assert "o6" not in {i.item_id for i in alone.items}
    profiles.record("u7", "a1", "art", "purchase")
    with_history = rec.turn("watercolor paper pad", user_id="u7", scene="office", k=4)
    assert Popular.asked == [50]  # behaviour_k
    assert "o6" in {i.item_id for i in with_history.items} | set(with_history.filtered)
