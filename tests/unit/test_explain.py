import json

import pytest

from scenebridge.agent.exclusions import ExclusionFilter
from scenebridge.agent.explain import ExplainInput, GroundingChecker, explain_items, template_explanation
from scenebridge.llm import ScriptedLLM
from scenebridge.rerank.api import Evidence

pytestmark = pytest.mark.unit

PEN = ExplainInput(
    "o4", "pilot g2 gel pens black 12 pack", "office products writing pens gel", "office",
    [Evidence(kind="interest", text="matches your interest in gel pens", weight=0.7, interest="gel pens"),
     Evidence(kind="history-content", text="similar to copic ink refill from your art history", weight=0.3,
              item_id="a4", scene="art")],
    ["gel pens"], {"a4": "copic ink refill"},
)  # fmt: skip
PAPER = ExplainInput("o5", "copy paper 500 sheets letter", "office products paper copy paper", "office", [], ["paper"])
OTHERS = [("o2", "brother tn450 toner cartridge", "office products printer ink toner laser")]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_templates_pass_the_checker(language):
    checker = GroundingChecker([PEN, PAPER], OTHERS)
    for inp in (PEN, PAPER):
        text = template_explanation(inp, language)
        assert checker.problems(inp.item_id, text) == [], text
    assert "copic ink refill" in template_explanation(PEN, "zh")
    assert "美术" in template_explanation(PEN, "zh")  # scenes by their Chinese names in Chinese sentences
    assert "办公用品" in template_explanation(PAPER, "zh")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Great with o5 for your desk.", "names another item (o5)"),
        ("A 24 pack of gel pens.", "a number or id not in the inputs (24)"),
        ("Pairs well with copy paper.", "a fact from another item (copy paper)"),
        ("Works like a Brother toner cartridge.", "a name not in the inputs (Brother)"),
        ("Works like a brother toner cartridge.", "a fact from another item (toner cartridge)"),
        ("Made by Uniball, it matches your gel pens.", "a name not in the inputs (Uniball)"),
    ],
)
def test_checker_rejects_what_is_not_in_the_inputs(text, problem):
    assert problem in GroundingChecker([PEN, PAPER], OTHERS).problems("o4", text)


@pytest.mark.parametrize(
    "text",
    [
        "These Pilot G2 gel pens match your interest in gel pens.",
        "A 12 pack of black gel pens, similar to the copic ink refill you had in art.",
        "Perfect for creative writing: gel pens, as you wanted.",
        "Great for printing? No, for writing: these pens match your interest.",
    ],
)
def test_checker_accepts_grounded_wording(text):
    assert GroundingChecker([PEN, PAPER], OTHERS).problems("o4", text) == []


def test_llm_failure_falls_back_to_templates():
    out = explain_items([PEN], "llm", ScriptedLLM(["not json"]))
    assert out[0].source == "template"
    assert out[0].rejected
    assert out[0].rejected[0].startswith("ValidationError")


def test_llm_wording_accepted_when_grounded():
    llm = ScriptedLLM([json.dumps({"explanations": [{"item_id": "o4", "text": "Black gel pens, as you asked."}]})])
    out = explain_items([PEN], "llm", llm, "en")
    assert (out[0].source, out[0].text) == ("llm", "Black gel pens, as you asked.")
    assert "explanations" in json.dumps(llm.calls[0]["schema"])


@pytest.mark.parametrize(
    ("exclusion", "title", "category", "hit"),
    [
        ("打印机墨盒", "hp 61 black ink cartridge", "office products printer ink toner", True),
        ("打印机墨盒", "brother tn450 toner cartridge", "office products printer ink toner laser", True),
        ("printer ink cartridges", "epson 252 ink cartridges", "office products printer ink toner", True),
        ("打印机墨盒", "pilot g2 gel pens", "office products writing pens", False),
        ("office paper", "copy paper 500 sheets", "office products paper copy paper", True),
        ("蓝牙的", "label printer with bluetooth", "office electronics", True),
        ("batteries", "aa battery pack", "office electronics batteries", True),
        ("batteries", "battery-free clock", "office", True),
        ("spiral binding", "spiral notebook college ruled", "office paper notebooks", False),
    ],
)
def test_exclusion_filter(exclusion, title, category, hit):
    assert (ExclusionFilter.build([exclusion]).match(title, category) is not None) == hit


def test_unknown_chinese_exclusion_is_reported():
    excl = ExclusionFilter.build(["某某牌"])
    assert excl.unmatched == ["某某牌"]
    assert excl.match("anything", "at all") is None
