"""The semantic exclusion fallback with the real multilingual embedder over a real catalogue's categories."""

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from scenebridge.agent.exclusions import ExclusionFilter, SemanticGlossary
from scenebridge.store.embed import get_embedder

pytestmark = pytest.mark.integration

MINI = Path(__file__).resolve().parents[2] / "examples" / "catalogues" / "art-office-mini" / "items.csv"


def test_chinese_exclusions_the_glossary_lacks_are_read_only_when_clear():
    items = pd.read_csv(MINI)
    office = items[items.scene == "office"]
    reader = SemanticGlossary(get_embedder("use-multilingual"), lambda scene: Counter(office.category.dropna()))
    readings = {p: reader.read(p, "office") for p in ("文件夹", "日历", "标签", "纪录片", "动画片", "剪刀")}
    assert readings == {"文件夹": "folders", "日历": "calendars", "标签": "labels",
                        "纪录片": None, "动画片": None, "剪刀": None}  # fmt: skip
    excl = ExclusionFilter.build(["文件夹"], reader.resolver("office"))
    hit = [t for t, c in zip(office.title, office.category.fillna(""), strict=True) if excl.match(t, c)]
    assert hit
    assert all("folder" in f"{t} {c}".lower() for t, c in zip(office.title, office.category.fillna(""), strict=True)
               if excl.match(t, c))  # fmt: skip
