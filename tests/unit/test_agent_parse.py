"""Interest parsing with a scripted fake LLM: validation, clamping, repair, fallback; and the lexical parser."""

import json

import pytest

from scenebridge.agent import InterestSummary, LLMError, ScriptedLLM, clean_statement, lexical_parse, parse_interests
from scenebridge.errors import UsageError

pytestmark = pytest.mark.unit

SCENES = ["art", "office"]
ZH = "我在电脑上买了水彩颜料和画笔，现在用手机想看看办公用品，但不要打印机墨盒"
GOOD = {
    "topics": [{"name": "watercolor paint", "weight": 1.7}, {"name": "brushes", "weight": -3}],
    "scene": "Office",
    "source_scenes": ["art", "shoes"],
    "intent": "discover",
    "exclusions": ["printer ink cartridges"],
    "constraints": {"price_max": -5, "level": None, "other": []},
    "language": "zh",
}


def test_valid_answer_is_clamped_and_normalised():
    llm = ScriptedLLM([json.dumps(GOOD)])
    res = parse_interests(ZH, llm, scenes=SCENES)
    assert res.source == "llm"
    assert res.attempts == 1
    s = res.summary
    assert [t.weight for t in s.topics] == [1.0, 0.0]
    assert s.scene == "office"  # matched case-insensitively to a catalogue scene
    assert s.source_scenes == ["art"]  # unknown scene dropped
    assert s.constraints.price_max == 0.0
    assert "printer ink cartridges" in s.exclusions
    call = llm.calls[0]
    assert call["schema"]["title"] == "InterestSummary"
    assert "art, office" in call["messages"][0]["content"]
    assert ZH in call["messages"][1]["content"]


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
    llm = ScriptedLLM(['["a list"]', '{"topics": "nope", "intent": 5}'])
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
    assert [t.name for t in res.summary.topics] == ["办公用品"]  # an excluded thing is not an interest
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


def test_odd_but_valid_statements_parse():
    for text in ("🎨🖌️✨", "Ｗａｔｅｒｃｏｌｏｒ 水彩 paint　please", "tab\there and\x07 bell"):
        res = parse_interests(text, None, scenes=SCENES)
        assert isinstance(res.summary, InterestSummary)
        assert res.source == "fallback"


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
