"""Interest parsing with a scripted fake LLM: validation, clamping, repair, fallback; and the lexical parser."""

import json

import numpy as np
import pytest

from scenebridge.agent import InterestSummary, clean_statement, lexical_parse, parse_interests
from scenebridge.agent.lexical import scene_evidence, want_clause
from scenebridge.agent.parse import SceneClassifier, wire_schema
from scenebridge.errors import LLMError, UsageError
from scenebridge.llm import ScriptedLLM

pytestmark = pytest.mark.unit

SCENES = ["art", "office"]
ZH = "我在电脑上买了水彩颜料和画笔，现在用手机想看看办公用品，但不要打印机墨盒"
GOOD = {
    "topics": ["watercolor paint", " brushes ", ""],
    "scene": "Office",
    "exclusions": ["printer ink cartridges"],
}


def test_valid_answer_is_normalised_and_merged():
    llm = ScriptedLLM([json.dumps(GOOD)])
    res = parse_interests(ZH, llm, scenes=SCENES)
    assert res.source == "llm"
    assert res.attempts == 1
    assert res.prompt_version >= 2
    s = res.summary
    assert [(t.name, t.weight) for t in s.topics] == [("watercolor paint", 1.0), ("brushes", 0.9)]  # weight by order
    assert s.scene == "office"  # matched case-insensitively to a catalogue scene
    assert res.llm_scene == "office"
    assert "printer ink cartridges" in s.exclusions
    assert s.language == "zh"
    call = llm.calls[0]
    assert call["schema"]["title"] == "Interests"
    assert call["schema"]["properties"]["scene"]["enum"] == ["art", "office", None]
    assert call["max_tokens"] == 160
    assert "art, office; null if none is meant" in call["messages"][0]["content"]
    assert ZH in call["messages"][1]["content"]


def test_wire_schema_is_compact():
    schema = wire_schema(["art", "office"])
    assert schema["required"] == ["topics", "scene", "exclusions"]
    assert schema["properties"]["topics"]["maxItems"] == 5


def test_a_statement_without_a_negation_cue_is_not_asked_for_exclusions():
    """They would all be dropped, and the field is last: the same answer in fewer generated tokens."""
    llm = ScriptedLLM([json.dumps({"topics": ["staplers"], "scene": "office"}), json.dumps(GOOD)])
    res = parse_interests("staplers for my office", llm, scenes=SCENES)
    assert (res.source, res.summary.exclusions) == ("llm", [])
    assert llm.calls[0]["schema"]["required"] == ["topics", "scene"]
    assert "exclusions" not in llm.calls[0]["schema"]["properties"]
    res = parse_interests(ZH, llm, scenes=SCENES)  # "不要" is a cue
    assert llm.calls[1]["schema"]["required"] == ["topics", "scene", "exclusions"]
    assert "printer ink cartridges" in res.summary.exclusions


def test_full_summary_shaped_answer_is_accepted():
    """A hosted model may answer in the InterestSummary's own shape; names are taken, weights re-derived."""
    answer = {"topics": [{"name": "gel pens", "weight": 0.2}, {"name": "notebooks"}], "scene": "office",
              "intent": "buy", "exclusions": "black ink", "constraints": {"price_max": 5}}  # fmt: skip
    res = parse_interests("gel pens and notebooks for the office, no black ink", ScriptedLLM([json.dumps(answer)]),
                          scenes=SCENES)  # fmt: skip
    assert res.source == "llm"
    assert [t.name for t in res.summary.topics] == ["gel pens", "notebooks"]
    assert res.summary.exclusions == ["black ink"]
    assert res.summary.intent == "discover"  # intent comes from keywords, not from the model


def test_scene_named_in_the_now_clause_beats_the_llm():
    answer = {**GOOD, "scene": "art"}  # small models often answer with the scene the person came from
    res = parse_interests(ZH, ScriptedLLM([json.dumps(answer)]), scenes=SCENES)
    assert res.summary.scene == "office"
    assert res.scene_from == "now-clause"
    assert res.llm_scene == "art"
    assert res.summary.source_scenes == ["art"]


def test_llm_decides_the_scene_when_the_statement_names_none():
    answer = {"topics": ["cast iron pan"], "scene": "kitchen", "exclusions": []}
    text = "I bought sketchbooks and markers. Any good cast iron pans?"
    res = parse_interests(text, ScriptedLLM([json.dumps(answer)]), scenes=["art", "kitchen"])
    assert res.summary.scene == "kitchen"
    assert res.scene_from == "llm"
    unknown = {**answer, "scene": "garden"}  # not a catalogue scene: means none
    res = parse_interests(text, ScriptedLLM([json.dumps(unknown)]), scenes=["art", "kitchen"])
    assert res.summary.scene is None
    assert res.scene_from is None


def test_intent_comes_from_keywords_not_the_model():
    answer = {"scene": "art", "topics": ["书法"], "exclusions": ["墨水"], "intent": "buy"}  # extra key: ignored
    res = parse_interests("想送给喜欢书法的妹妹一份礼物，在美术用品里找，不要墨水", ScriptedLLM([json.dumps(answer)]),
                          scenes=SCENES)  # fmt: skip
    assert res.summary.intent == "gift"
    res = parse_interests("书法用品", ScriptedLLM([json.dumps(answer)]), scenes=SCENES)
    assert res.summary.intent == "discover"


def test_llm_exclusions_must_be_stated():
    text = "最近买了很多素描铅笔，现在想买点厨房用具"
    answer = {"scene": "kitchen", "topics": ["厨房用具"], "exclusions": ["素描铅笔", "买点厨房用具"], "intent": "buy"}
    res = parse_interests(text, ScriptedLLM([json.dumps(answer)]), scenes=["art", "kitchen"])
    assert res.summary.exclusions == []  # no negation anywhere: the model invented them
    assert [t.name for t in res.summary.topics] == ["厨房用具"]
    text = "Snacks for the road, I'm allergic to peanuts, and no chocolate"
    answer = {
        "scene": "food",
        "topics": ["snacks"],
        "exclusions": ["no chocolate", "peanuts", "candy"],
        "intent": "buy",
    }
    res = parse_interests(text, ScriptedLLM([json.dumps(answer)]), scenes=["food"])
    assert res.summary.exclusions == ["chocolate", "peanuts", "candy"]  # nothing in the statement contradicts "candy"
    text = "I bought watercolor paints, now I want office supplies, no printer ink"
    answer = {"scene": "office", "topics": ["office supplies"], "exclusions": ["watercolor paints"], "intent": "buy"}
    res = parse_interests(text, ScriptedLLM([json.dumps(answer)]), scenes=["art", "office"])
    assert res.summary.exclusions == ["printer ink"]  # quoted from a clause with no negation: dropped


class _KeywordEmbedder:
    """A deterministic embedder for tests: one dimension per keyword group."""

    groups = (("pan", "cookware", "kitchen"), ("sketch", "paint", "art"), ("pen", "office"))
    dim = 3

    def embed(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for j, words in enumerate(self.groups):
                out[i, j] = sum(w in text.lower() for w in words)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def test_scene_classifier_outvotes_a_wrong_llm_scene():
    text = "I bought sketchbooks, now any good cast iron pans?"
    scenes = ["art", "kitchen"]
    clf = SceneClassifier(_KeywordEmbedder())
    assert want_clause(text) == "now any good cast iron pans?"
    assert clf.scores(text, {"art": ["arts"], "kitchen": ["cookware"]}) == {"art": 0.0, "kitchen": 1.0}
    wrong = {"topics": ["cast iron pans"], "scene": "art", "exclusions": []}
    res = parse_interests(text, ScriptedLLM([json.dumps(wrong)]), scenes=scenes, classifier=clf)
    assert (res.summary.scene, res.scene_from, res.llm_scene) == ("kitchen", "embedding", "art")
    right = {**wrong, "scene": "kitchen"}
    res = parse_interests(text, ScriptedLLM([json.dumps(right)]), scenes=scenes, classifier=clf)
    assert (res.summary.scene, res.scene_from) == ("kitchen", "llm")
    res = parse_interests(text, None, scenes=scenes, classifier=clf)  # the lexical path uses it too
    assert (res.summary.scene, res.scene_from) == ("kitchen", "embedding")


def test_the_llm_scene_wins_a_near_tie():
    text = "now pens and paint"  # equally close to office and art
    answer = {"topics": ["pens"], "scene": "office", "exclusions": []}
    res = parse_interests(text, ScriptedLLM([json.dumps(answer)]), scenes=["art", "office"],
                          classifier=SceneClassifier(_KeywordEmbedder()))  # fmt: skip
    assert (res.summary.scene, res.scene_from) == ("office", "llm")


def test_want_clause_drops_exclusions():
    assert want_clause("我买过画笔，现在想看看办公用品，不要打印机墨盒") == "现在想看看办公用品，"
    assert want_clause("gel pens, no black ink") == "gel pens,"


def test_scene_evidence():
    ev = scene_evidence("Bought a sewing machine last month. Now I want a good chef's knife", ["art", "kitchen"])
    assert ev.now is None
    assert ev.fallback is None  # named only before "now": where they were, not where they go
    assert ev.mentioned == ("art",)
    ev = scene_evidence("我在电脑上买了美术用品，现在想看看办公用品，但不要办公椅", ["art", "office"])
    assert (ev.now, ev.fallback, ev.mentioned) == ("office", "office", ("art", "office"))
    ev = scene_evidence("Label printer for the office, no Bluetooth models.", ["art", "office"])
    assert (ev.now, ev.fallback) == (None, "office")


def test_invalid_json_gets_one_repair_then_succeeds():
    llm = ScriptedLLM(["{not json", json.dumps(GOOD)])
    res = parse_interests(ZH, llm, scenes=SCENES)
    assert res.source == "llm-repair"
    assert res.attempts == 2
    assert len(res.errors) == 1
    repair = llm.calls[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "{not json"}
    assert "not valid" in repair[-1]["content"]


def test_two_bad_answers_fall_back_to_the_lexical_parser():
    llm = ScriptedLLM(['["a list"]', '{"scene": "office", "topics": 5}'])
    res = parse_interests(ZH, llm, scenes=SCENES)
    assert res.source == "fallback"
    assert len(res.errors) == 2
    assert res.summary.scene == "office"
    assert res.summary.exclusions == ["打印机墨盒"]


def test_unreachable_llm_falls_back_at_once():
    llm = ScriptedLLM([LLMError("cannot reach the LLM at http://127.0.0.1:9")])
    res = parse_interests("I want gel pens for the office, no black ink", llm, scenes=SCENES)
    assert res.source == "fallback"
    assert res.errors == ["cannot reach the LLM at http://127.0.0.1:9"]
    assert len(llm.calls) == 1
    assert res.summary.exclusions == ["black ink"]


def test_llm_missing_an_exclusion_and_scene_gets_them_from_the_lexical_parser():
    answer = {"topics": [{"name": "办公用品"}, {"name": "打印机墨盒"}], "scene": None, "exclusions": []}
    res = parse_interests(ZH, ScriptedLLM([json.dumps(answer)]), scenes=SCENES)
    assert res.summary.exclusions == ["打印机墨盒"]
    # An excluded thing is not an interest, the scene word is none either: the lexical parser's topics stand in.
    assert [t.name for t in res.summary.topics] == ["水彩颜料", "画笔"]
    assert res.summary.scene == "office"
    assert res.summary.language == "zh"  # from the characters, whatever the model said


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the statement is empty"),
        ("   \n\t ", "the statement is empty"),
        ("\x00\x01\x02", "the statement is empty"),
        ("x" * 4001, "the statement has 4,001 characters; keep it under 4,000"),
        (b"\xff\xfe", "the statement is not valid UTF-8 text"),
        (42, "the statement must be text, not int"),
    ],
)
def test_bad_statements(text, message):
    with pytest.raises(UsageError, match=message):
        clean_statement(text)


@pytest.mark.parametrize(
    ("text", "topics", "language"),
    [
        ("🎨🖌️✨", [], "other"),  # nothing to read, and nothing made up
        ("Ｗａｔｅｒｃｏｌｏｒ 水彩 paint　please", ["watercolor", "水彩", "paint"], "mixed"),  # full-width folded
        ("tab\there and\x07 bell", ["tab", "bell"], "en"),  # the bell character dropped ("here" is a stopword)
    ],
)
def test_odd_but_valid_statements_parse(text, topics, language):
    res = parse_interests(text, None, scenes=SCENES)
    assert res.source == "fallback"
    assert res.errors == []
    assert [t.name for t in res.summary.topics] == topics
    assert res.summary.language == language
    assert res.summary.scene is None
    assert res.summary.exclusions == []


def test_lexical_parser_english_and_chinese():
    en = lexical_parse("I bought sketchbooks on my PC; now I want office supplies, no printer ink, under $30",
                       SCENES)  # fmt: skip
    assert en.scene == "office"
    assert en.exclusions == ["printer ink"]
    assert en.constraints.price_max == 30.0
    assert en.language == "en"
    assert "sketchbooks" in [t.name for t in en.topics]
    zh = lexical_parse("想送给喜欢书法的妹妹一份礼物，在美术用品里找，不要墨水", SCENES)
    assert zh.scene == "art"
    assert zh.intent == "gift"
    assert zh.exclusions == ["墨水"]
    assert zh.language == "zh"


def test_summary_accepts_loose_model_output():
    s = InterestSummary.model_validate(
        {
            "topics": ["pens", "", {"name": "ink", "weight": "0.5"}],
            "intent": "shop",
            "exclusions": "glitter",
            "scene": "  ",
        }
    )
    assert [t.name for t in s.topics] == ["pens", "ink"]
    assert s.topics[1].weight == 0.5
    assert s.intent == "other"
    assert s.exclusions == ["glitter"]
    assert s.scene is None


def test_a_scene_name_or_a_device_is_not_a_topic():
    """The 0.5B model's "京都" ranked every Kyoto place by its name; "电脑" and "Instagram" are where, not what."""
    scenes = ["osaka", "kyoto"]
    text = "我在微信上分享了大阪城和住吉大社的照片，下一站去京都，推荐几个地方"
    llm = ScriptedLLM([json.dumps({"topics": ["大阪城", "京都", "住吉大社", "Instagram", "电脑", "Kyoto"],
                                   "scene": "kyoto", "exclusions": []})])  # fmt: skip
    s = parse_interests(text, llm, scenes=scenes).summary
    assert [t.name for t in s.topics] == ["大阪城", "住吉大社"]
    # Nothing else left: the scene word stays ("办公用品" alone says more than nothing).
    llm = ScriptedLLM([json.dumps({"topics": ["Kyoto", "phone"], "scene": "kyoto", "exclusions": []})])
    s = parse_interests("what should I see in Kyoto?", llm, scenes=scenes).summary
    assert [t.name for t in s.topics] == ["Kyoto", "phone"]


def test_scene_words_alone_give_way_to_the_lexical_topics():
    """The 1.5B model read "art, office supplies" from a statement about art things bought: no interest in it."""
    text = (
        "I've been using white transfer paper and jewelry making beads for my arts projects; now show me office "
        "supplies"
    )
    llm = ScriptedLLM([json.dumps({"topics": ["art", "office supplies"], "scene": "office", "exclusions": []})])
    s = parse_interests(text, llm, scenes=SCENES).summary
    lexical = parse_interests(text, None, scenes=SCENES).summary
    assert [t.name for t in s.topics] == [t.name for t in lexical.topics][:5]
    assert "art" not in [t.name for t in s.topics]
    assert "office supplies" not in [t.name for t in s.topics]


class _CountingEmbedder(_KeywordEmbedder):
    """The keyword embedder, remembering each call's texts."""

    model_id = "keywords"

    def __init__(self):
        self.calls = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return super().embed(texts)


def test_no_embedding_when_the_now_clause_names_the_scene():
    emb = _CountingEmbedder()
    res = parse_interests("I bought sketchbooks, now I want office pens", None, scenes=["art", "office"],
                          classifier=SceneClassifier(emb), interest_ahead=True)  # fmt: skip
    assert (res.summary.scene, res.scene_from) == ("office", "now-clause")
    assert emb.calls == []


@pytest.mark.parametrize("llm", [None, "llm"])
def test_a_turns_parse_embeds_the_interest_in_the_classifiers_call(llm):
    from scenebridge.agent.query_embed import QueryEmbedder

    text = "I bought sketchbooks, now any good cast iron pans?"
    inner = _CountingEmbedder()
    memo = QueryEmbedder(inner)
    answer = {"topics": ["cast iron pans", "skillet"], "scene": "kitchen", "exclusions": []}
    backend = ScriptedLLM([json.dumps(answer)]) if llm else None
    res = parse_interests(text, backend, scenes=["art", "kitchen"], classifier=SceneClassifier(memo),
                          interest_ahead=True)  # fmt: skip
    texts = res.summary.interest_texts()
    assert res.scene_from in ("embedding", "llm")
    assert texts
    assert texts[1:] == [t.name for t in res.summary.topics]
    assert [want_clause(text), *texts] in inner.calls
    before = len(inner.calls)
    memo.embed(texts)  # the turn's own embedding: remembered
    assert len(inner.calls) == before
    plain = _CountingEmbedder()
    parse_interests(text, None, scenes=["art", "kitchen"], classifier=SceneClassifier(plain))
    assert [want_clause(text)] in plain.calls  # not asked for (the parse tool): only the want clause


def test_the_first_turns_interest_embeds_the_summarys_interest_texts():
    from scenebridge.agent.session import Session
    from scenebridge.agent.stages.read import interest
    from scenebridge.agent.summary import Topic

    emb = _CountingEmbedder()
    summary = InterestSummary(topics=[Topic(name="skillet", weight=0.9), Topic(name="cast iron pans", weight=1.0)])
    interest(summary, Session("s1"), "kitchen", emb, None)
    assert emb.calls == [summary.interest_texts()] == [["cast iron pans, skillet", "cast iron pans", "skillet"]]
    assert InterestSummary().interest_texts() == []
