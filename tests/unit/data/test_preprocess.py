import numpy as np
import pandas as pd
import pytest

from scenebridge.data.format import Dataset
from scenebridge.data.preprocess import clean_dataset, minmax, normalize_text, zscore

pytestmark = pytest.mark.unit


def make(inter_rows, items=None):
    items = items or [("i1", "a", "red pen", "office"), ("i2", "b", "blue ink", "office")]
    return Dataset(
        "t",
        pd.DataFrame(items, columns=["item_id", "scene", "title", "category"]),
        pd.DataFrame(inter_rows, columns=["user_id", "item_id", "scene", "order"]),
    )


def test_clean_removes_duplicates_unknowns_and_reports_counts():
    ds = make(
        [
            ("u1", "i1", "a", 2.0),
            ("u1", "i1", "a", 1.0),
            ("u1", "zz", "a", 0.0),
            ("u2", "i2", "a", 0.0),
            ("u2", "i2", "b", 1.0),
        ],
        items=[("i1", "a", "red pen", "office"), ("i1", "a", "dupe", "x"), ("i2", "b", "blue ink", "office")],
    )
    cleaned, report = clean_dataset(ds)
    assert report.removed["duplicate items"] == 1
    assert report.removed["interactions with unknown items, scene mismatch or no order"] == 2
    assert report.removed["repeated (user, item) interactions"] == 1
    kept = cleaned.interactions.sort_values("user_id")
    assert kept[["user_id", "item_id", "order"]].values.tolist() == [["u1", "i1", 1.0], ["u2", "i2", 1.0]]
    assert report.kept_interactions == 2
    assert any("kept 2 items" in line for line in report.lines())


def test_clean_removes_anomalous_high_activity_users():
    rows = []
    for u in range(50):
        rows += [(f"u{u}", "i1", "a", 0.0), (f"u{u}", "i2", "b", 1.0)]
    bot_items = [(f"x{i}", "a", f"thing {i}", "c") for i in range(500)]
    rows += [("bot", f"x{i}", "a", float(i)) for i in range(500)]
    ds = make(rows, items=[("i1", "a", "red pen", "o"), ("i2", "b", "ink", "o"), *bot_items])
    cleaned, report = clean_dataset(ds)
    assert "bot" not in set(cleaned.interactions.user_id)
    assert report.removed["interactions of 1 anomalous high-activity users"] == 500
    assert cleaned.interactions.user_id.nunique() == 50


def test_zscore_and_minmax():
    x = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    z = zscore(x, axis=1)
    assert z[0] == pytest.approx([-1.2247449, 0.0, 1.2247449])
    assert (z[1] == 0).all()
    m = minmax(x, axis=1)
    assert m[0].tolist() == [0.0, 0.5, 1.0]
    assert (m[1] == 0).all()


def test_normalize_text_english():
    assert normalize_text("The Watercolor Paint-Set, for ARTISTS!") == [
        "watercolor",
        "paint",
        "set",
        "artists",
    ]


def test_normalize_text_chinese_segments_and_drops_stopwords():
    tokens = normalize_text("我在电脑上买了水彩颜料和画笔，现在想看看办公用品")
    assert "水彩" in tokens or "水彩颜料" in tokens
    assert "画笔" in tokens
    assert "办公用品" in tokens
    for stop in ("我", "了", "和", "现在", "，"):
        assert stop not in tokens


def test_normalize_text_fullwidth_and_mixed():
    assert normalize_text("ＵＳＢ 键盘 keyboard") == ["usb", "键盘", "keyboard"]
