"""A real turn: the packaged Qwen2.5-Coder-0.5B through llama.cpp, multilingual USE vectors in an embedded Chroma
store holding real Amazon Art/Office items (a slice of the catalogue with every printer-ink item in it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AMAZON = ROOT.parent / "shared" / "datasets" / "amazon-art-office"
STATEMENT = "我在电脑上买了水彩颜料和画笔，现在用手机想看看办公用品，但不要打印机墨盒"
INK = re.compile(r"\bink cartridges?\b|\btoner\b|\bprinter ink\b")

pytestmark = pytest.mark.integration


def _model() -> Path:
    pytest.importorskip("llama_cpp")
    from scenebridge.llm.models import model_path

    path = model_path("qwen2.5-coder-0.5b")
    if not path.is_file():
        pytest.skip("qwen2.5-coder-0.5b is not installed (scenebridge models install qwen2.5-coder-0.5b)")
    if not AMAZON.is_dir():
        pytest.skip("shared Amazon Art/Office dataset not present")
    return path


@pytest.fixture(scope="module")
def recommender(tmp_path_factory):
    import pandas as pd

    from scenebridge.agent.turn import Recommender
    from scenebridge.llm import get_llm
    from scenebridge.store import ItemStore, cached_embedder
    from scenebridge.store.profiles import ProfileStore

    model = _model()
    items = pd.read_csv(AMAZON / "items.csv", dtype=str).fillna("")
    text = items["title"] + " " + items["category"]
    ink = items[(items["scene"] == "office") & text.str.contains(INK)]
    rest = items.drop(ink.index).groupby("scene").sample(1500, random_state=0)
    catalogue = pd.concat([ink, rest])
    store = ItemStore(cached_embedder("use-multilingual"), path=tmp_path_factory.mktemp("store"))
    store.index(catalogue)
    rec = Recommender(store, llm=get_llm(str(model)), profiles=ProfileStore(":memory:"), k=10)
    return rec, catalogue.set_index("item_id")


def _check_items(result, catalogue, scene: str) -> None:
    from scenebridge.agent.explain import ExplainInput, GroundingChecker

    assert result.items
    for item in result.items:
        assert item.item_id in catalogue.index
        row = catalogue.loc[item.item_id]
        assert (row["scene"], row["title"]) == (scene, item.title)
        assert not INK.search(f"{item.title} {item.category}"), item.title
    assert [e.item_id for e in result.explanations] == [i.item_id for i in result.items]
    interests = [t.name for t in result.summary.topics]
    inputs = [ExplainInput(i.item_id, i.title, i.category, i.scene, i.evidence, interests) for i in result.items]
    checker = GroundingChecker(inputs)
    for item in result.items:
        assert checker.problems(item.item_id, item.explanation) == []


def test_issue_statement_with_the_real_model(recommender):
    rec, catalogue = recommender
    result = rec.turn(STATEMENT, scene="office")
    # The 0.5B model answers (llm / llm-repair) almost always; a fallback would still have to pass every check.
    assert result.parse_source in ("llm", "llm-repair", "fallback")
    assert result.scene == "office"
    assert any("墨盒" in e or "cartridge" in e.lower() for e in result.summary.exclusions)
    _check_items(result, catalogue, "office")
    assert result.timings_ms["parse"] > result.timings_ms["retrieve"]


def test_exclusion_removes_what_retrieval_finds(recommender):
    rec, catalogue = recommender
    result = rec.turn("I need printer supplies for my office, but no ink cartridges", scene="office")
    assert result.filtered, "the statement should retrieve ink cartridges for the filter to remove"
    _check_items(result, catalogue, "office")
    follow = rec.turn("not paper", session_id=result.session_id)
    assert follow.parse_source == "refinement"
    assert all("paper" not in i.title for i in follow.items)
    _check_items(follow, catalogue, "office")
