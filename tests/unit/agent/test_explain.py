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


def test_every_evidence_kind_is_worded_in_english_and_chinese():
    from typing import get_args

    from scenebridge.prompts import load_wording
    from scenebridge.rerank.api import EvidenceKind

    wording = load_wording()
    for lang in ("en", "zh"):
        assert set(get_args(EvidenceKind)) | {"anchor"} <= set(wording.evidence[lang]), lang
        assert set(wording.reply[lang]) == {"empty", "head", "item"}


@pytest.mark.parametrize(
    ("evidence", "en", "zh"),
    [
        (Evidence(kind="co-occurrence", weight=0.6, item_id="a4", scene="art", people=7, measure="occlusion"),
         "chosen by 7 people who also chose 'copic ink refill' in art", "买过「copic ink refill」的人也常选它"),
        (Evidence(kind="popularity", weight=0.2, people=31, measure="occlusion"),
         "chosen by 31 people in office", "在办公用品里很受欢迎"),
        (Evidence(kind="popularity", weight=1.0), "popular in office", "在办公用品里很受欢迎"),
        (Evidence(kind="interest", weight=0.5, interest="gel pens", measure="occlusion"),
         "matches your interest 'gel pens'", "符合你对“gel pens”的兴趣"),
        (Evidence(kind="history-content", weight=0.3, item_id="a4", scene="art", measure="occlusion"),
         "similar in content to 'copic ink refill' from art", "与你在美术里的「copic ink refill」内容相似"),
        (Evidence(kind="history-content", weight=1.0, item_id="o9", scene="office", anchor=True),
         "similar to 'stapler heavy duty', which you asked for more like",
         "与你在办公用品里的「stapler heavy duty」内容相似"),
        (Evidence(kind="collaborative", weight=0.1, measure="occlusion"),
         "chosen by people whose history resembles yours", "口味与你相近的用户喜欢它"),
    ],
)  # fmt: skip
def test_evidence_is_data_worded_in_one_place(evidence, en, zh):
    from scenebridge.agent.wording import evidence_phrase, with_text

    titles = {"a4": "copic ink refill", "o9": "stapler heavy duty"}
    assert evidence.text == ""  # rerankers give data only
    assert evidence_phrase(evidence, titles, "office") == en
    assert evidence_phrase(evidence, titles, "office", "zh") == zh
    assert with_text([evidence], titles, "office")[0].text == en
    inp = ExplainInput("o4", "pilot g2 gel pens black 12 pack", "office products writing pens gel", "office",
                       [evidence], ["gel pens"], titles)  # fmt: skip
    checker = GroundingChecker([inp], OTHERS)
    for language in ("en", "zh"):
        text = template_explanation(inp, language)
        assert checker.problems("o4", text) == [], text


def test_a_history_item_without_a_title_is_named_by_its_id_and_chinese_falls_back_to_english():
    from scenebridge.agent.wording import evidence_phrase

    ev = Evidence(kind="co-occurrence", weight=1.0, item_id="a9", scene="art", people=3, measure="occlusion")
    assert evidence_phrase(ev, {}, "office") == "chosen by 3 people who also chose 'a9' in art"
    no_ref = Evidence(kind="co-occurrence", weight=1.0, scene="art", people=3, measure="occlusion")
    assert evidence_phrase(no_ref, {}, "office", "zh") == evidence_phrase(no_ref, {}, "office", "en")
