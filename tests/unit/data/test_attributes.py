"""The optional item columns (description, year, price, brand, any other): validated, loaded, typed, written back."""

import pytest

from scenebridge.data.format import item_attrs, load_dataset, write_dataset
from scenebridge.data.validate import validate_dataset
from scenebridge.errors import DatasetError

pytestmark = pytest.mark.unit

INTER = "user_id,item_id,scene,position\nu1,i1,film,0\nu1,i2,film,1\nu1,i3,film,2\n"


def write(folder, items: str):
    folder.mkdir(exist_ok=True)
    (folder / "items.csv").write_text(items, encoding="utf-8")
    (folder / "interactions.csv").write_text(INTER, encoding="utf-8")
    return folder


GOOD = (
    "item_id,scene,title,category,year,price,brand,description,director\n"
    "i1,film,Alien,Sci-Fi,1979,9.99,Fox,In space no one can hear you scream,Scott\n"
    "i2,film,Aliens,Sci-Fi,1986,,,,Cameron\n"
    "i3,film,Alien 3,Sci-Fi,,0,,,\n"
)


def test_optional_columns_load_typed_and_write_back(tmp_path):
    ds = load_dataset(write(tmp_path / "d", GOOD))
    assert list(ds.items.columns) == [
        "item_id", "scene", "title", "category", "year", "price", "brand", "description", "director",
    ]  # fmt: skip
    assert item_attrs(ds.items) == [
        {"year": 1979, "price": 9.99, "brand": "Fox", "description": "In space no one can hear you scream"},
        {"year": 1986},
        {"price": 0.0},
    ]
    write_dataset(ds, tmp_path / "out")
    again = load_dataset(tmp_path / "out")
    assert again.items.to_dict("records") == ds.items.to_dict("records")  # the extra column travels too


def test_required_columns_alone_still_load(tmp_path):
    ds = load_dataset(write(tmp_path / "d", "item_id,scene,title,category\ni1,film,A,x\ni2,film,B,x\ni3,film,C,x\n"))
    assert item_attrs(ds.items) == [{}, {}, {}]


@pytest.mark.parametrize(
    ("year", "price", "expected"),
    [
        ("19x9", "", "items.csv:2: error: year '19x9' of item 'i1' is not a whole year from 1000 to 2100 (e.g. 1995)"),
        ("1979.0", "", "year '1979.0' of item 'i1' is not a whole year"),
        ("315532800", "", "year '315532800' of item 'i1' is not a whole year"),
        ("", "-1", "items.csv:2: error: price '-1' of item 'i1' is not a non-negative number (e.g. 12.99, no"),
        ("", "$9.99", "price '$9.99' of item 'i1' is not a non-negative number"),
        ("", "nan", "price 'nan' of item 'i1'"),
    ],
)
def test_bad_year_or_price_is_one_line_with_its_row(tmp_path, year, price, expected):
    row = f"i1,film,Alien,Sci-Fi,{year},{price}"
    folder = write(tmp_path / "d", GOOD.replace("i1,film,Alien,Sci-Fi,1979,9.99", row))
    problems = [str(p) for p in validate_dataset(folder)]
    assert len(problems) == 1, problems  # the row is kept: its interactions are not reported again
    assert expected in problems[0]
    with pytest.raises(DatasetError, match=r"items\.csv:2"):
        load_dataset(folder)
