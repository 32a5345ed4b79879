"""Attribute constraints: cues read from statements (EN, ZH), sequel titles, and the filter with and without the
catalogue attributes it needs."""

import pytest

from scenebridge.agent.constraint_filter import ConstraintFilter
from scenebridge.agent.constraints import is_sequel, is_sequel_phrase, read_constraints
from scenebridge.agent.lexical import lexical_parse
from scenebridge.agent.result import ItemRecord
from scenebridge.agent.summary import Constraints

pytestmark = pytest.mark.unit


def read(text: str) -> dict:
    """The constraints the lexical parser (and so read_constraints) reads, without the unset ones."""
    c = lexical_parse(text).constraints
    return {k: v for k, v in c.model_dump().items() if v not in (None, False, [])}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I've seen all of those. Something newer, and no sequels", {"newer": True, "no_sequels": True}),
        ("something more recent", {"newer": True}),
        ("the most recent ones please", {"newer": True}),
        ("recent thrillers", {"newer": True}),
        ("movies made after 2000", {"year_min": 2001}),
        ("anything since 2005", {"year_min": 2005}),
        ("1995 or later", {"year_min": 1995}),
        ("not before 1990", {"year_min": 1990}),
        ("no sequels, and nothing before 1970", {"no_sequels": True, "year_min": 1970}),
        ("nothing after 2000", {"year_max": 2000}),
        ("films before 1990", {"year_max": 1989}),
        ("up to 1990", {"year_max": 1990}),  # a year, not a price of 1990
        ("between 1990 and 1995", {"year_min": 1990, "year_max": 1995}),
        ("something from the 90s", {"year_min": 1990, "year_max": 1999}),
        ("a comedy from the '80s", {"year_min": 1980, "year_max": 1989}),
        ("the early 80s", {"year_min": 1980, "year_max": 1983}),
        ("1970s horror", {"year_min": 1970, "year_max": 1979}),
        ("the eighties", {"year_min": 1980, "year_max": 1989}),
        ("under $20", {"price_max": 20.0}),
        ("less than 30 dollars", {"price_max": 30.0}),
        ("pens under 15 bucks", {"price_max": 15.0}),
        ("over $50", {"price_min": 50.0}),
        ("between $10 and $20", {"price_min": 10.0, "price_max": 20.0}),
        ("markers by Sharpie", {"brand": "Sharpie"}),
        ("Pilot brand gel pens", {"brand": "Pilot"}),
        ("I want the Pilot brand", {"brand": "Pilot"}),
        ("made by Staedtler", {"brand": "Staedtler"}),
        ("no sequels", {"no_sequels": True}),
        ("not a sequel", {"no_sequels": True}),
        ("I don't want any sequels", {"no_sequels": True}),
        # Chinese
        ("便宜点", {"other": ["cheaper"]}),
        ("20元以内", {"price_max": 20.0}),
        ("预算100元", {"price_max": 100.0}),
        ("50元以上", {"price_min": 50.0}),
        ("2000年以后的电影", {"year_min": 2000}),
        ("1990年以前的片子", {"year_max": 1989}),
        ("九十年代的电影", {"year_min": 1990, "year_max": 1999}),
        ("80年代的喜剧", {"year_min": 1980, "year_max": 1989}),
        ("新一点的", {"newer": True}),
        ("想看近几年上映的科幻片", {"newer": True}),
        ("不要续集", {"no_sequels": True}),
        ("别推荐续作", {"no_sequels": True}),
        ("要晨光牌的笔", {"brand": "晨光"}),
        ("品牌是百乐", {"brand": "百乐"}),
    ],
)
def test_cues_are_read(text, expected):
    assert read(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I have no problem with sequels",
        "I loved the sequel",
        "in my 30s I watched thrillers",
        "my recent purchases were pens",
        "I recently watched Alien",
        "in recent years I have been painting",
        "近几年我一直在画水彩",
        "modern art supplies",
        "something new",
        "a film less than 2 hours long",
        "inspired by Monet",
        "I need it by Friday",
        "a deck of 扑克牌",
        "no more than 3 items",
    ],
)
def test_no_constraint_where_none_is_stated(text):
    assert read(text) == {}


def test_read_constraints_keeps_the_base():
    base = Constraints(level="beginner", other=["cheaper"], price_max=40.0)
    got = read_constraints("something newer under 40", base)
    assert (got.level, got.other, got.price_max, got.newer) == ("beginner", ["cheaper"], 40.0, True)
    assert read_constraints("after 2000", Constraints(year_max=2010)).model_dump(include={"year_min", "year_max"}) == {
        "year_min": 2001,
        "year_max": 2010,
    }


SEQUELS = [
    "Father of the Bride Part II (1995)",
    "Godfather: Part II, The (1974)",
    "Hot Shots! Part Deux (1993)",
    "Terminator 2: Judgment Day (1991)",
    "Alien 3 (1992)",
    "Die Hard 2 (1990)",
    "Jaws 3-D (1983)",
    "Star Trek IV: The Voyage Home (1986)",
    "Star Trek VI: The Undiscovered Country (1991)",
    "Evil Dead II (1987)",
    "NeverEnding Story III, The (1994)",
    "Land Before Time III: The Time of the Great Giving (1995) (V)",
    "Police Story 4: Project S (Chao ji ji hua) (1993)",
    "Batman Returns (1992)",
    "Empire Strikes Back, The (1980)",
    "Herbie Rides Again (1974)",
    "Toy Story 2",
    "流浪地球2",
    "唐人街探案 续集",
    "黑客帝国第二部",
]
NOT_SEQUELS = [
    "2001: A Space Odyssey (1968)",
    "Seven (Se7en) (1995)",
    "Se7en",
    "Apollo 13 (1995)",
    "Richard III (1995)",
    "Henry V (1989)",
    "Menace II Society (1993)",
    "Girl 6 (1996)",
    "District 9",
    "Mystery Science Theater 3000: The Movie (1996)",
    "Miracle on 34th Street (1994)",
    "Alien (1979)",
    "Terminator, The (1984)",
    "Return of Martin Guerre, The (Retour de Martin Guerre, Le) (1982)",
    "Revenge of the Nerds",
    "Saving Private Ryan: World War II",
    "Falling in Love Again (1980)",
    "Body Parts (1991)",
    "Blade Runner (1982)",
]


@pytest.mark.parametrize("title", SEQUELS)
def test_sequel_titles(title):
    assert is_sequel(title)


@pytest.mark.parametrize("title", NOT_SEQUELS)
def test_titles_that_are_not_sequels(title):
    assert not is_sequel(title)


def rec(item_id: str, title: str, **attrs) -> ItemRecord:
    return ItemRecord(item_id, "film", title, "Sci-Fi", attrs=attrs)


FILMS = [
    rec("m1", "Alien (1979)", year=1979),
    rec("m2", "Aliens (1986)", year=1986),
    rec("m3", "Alien 3 (1992)", year=1992),
    rec("m4", "Gattaca (1997)", year=1997),
    rec("m5", "Metropolis"),  # no year: kept by every year rule
    rec("m6", "Terminator 2: Judgment Day (1991)", year=1991),
]


def ids(records) -> list[str]:
    return [r.item_id for r in records]


def test_years_filter_and_say_how_many():
    f = ConstraintFilter.build(Constraints(year_min=1990), {"year"})
    kept, removed = f.apply(FILMS)
    assert ids(kept) == ["m3", "m4", "m5", "m6"]
    assert removed == {"m1": "from 1990 on", "m2": "from 1990 on"}
    assert f.notes == ["from 1990 on: 2 candidate(s) left out"]
    zh = ConstraintFilter.build(Constraints(year_max=1989), {"year"}, language="zh")
    kept, removed = zh.apply(FILMS)
    assert ids(kept) == ["m1", "m2", "m5"]
    assert removed["m3"] == "up to 1989"  # the reason stays English; the note is Chinese
    assert zh.notes == ["1989年及以前：排除了 3 个候选"]


def test_newer_than_the_references_median_else_the_newer_half():
    refs = [{"year": 1979}, {"year": 1984}, {"year": 1986}]
    f = ConstraintFilter.build(Constraints(newer=True), {"year"}, refs)
    kept, removed = f.apply(FILMS)
    assert ids(kept) == ["m2", "m3", "m4", "m5", "m6"]  # 1986 is newer than the median 1984
    assert set(removed) == {"m1"}
    assert f.notes == ["newer than 1984, the middle year of what was shown or mentioned: 1 candidate(s) left out"]
    half = ConstraintFilter.build(Constraints(newer=True), {"year"})
    kept, _ = half.apply(FILMS)
    assert ids(kept) == ["m3", "m4", "m5", "m6"]  # the candidates' median year is 1991: 1991 itself stays
    assert half.notes == ["the newer half: 2 candidate(s) left out"]
    late = ConstraintFilter.build(Constraints(newer=True), {"year"}, [{"year": 2005}])
    kept, _ = late.apply(FILMS)  # nothing is newer than 2005: the newer half instead of an empty answer
    assert ids(kept) == ["m3", "m4", "m5", "m6"]


def test_no_sequels_uses_titles_and_needs_no_attribute():
    f = ConstraintFilter.build(Constraints(no_sequels=True), set())
    kept, removed = f.apply(FILMS)
    assert ids(kept) == ["m1", "m2", "m4", "m5"]
    assert removed == {"m3": "no sequels", "m6": "no sequels"}


def test_a_catalogue_without_the_attribute_filters_nothing_and_says_so():
    f = ConstraintFilter.build(Constraints(price_max=20.0, year_min=2001, newer=True), {"brand"})
    kept, removed = f.apply(FILMS)
    assert (ids(kept), removed) == (ids(FILMS), {})
    assert f.notes == [
        "this catalogue has no years, so 'from 2001 on' could not be applied",
        "this catalogue has no years, so 'newer' could not be applied",
        "this catalogue has no prices, so 'at most 20' could not be applied",
    ]
    cheaper = ConstraintFilter.build(Constraints(other=["cheaper"]), set())
    assert cheaper.apply(FILMS)[0] == FILMS
    assert cheaper.notes == ["the catalogue has no prices, so the price wish is recorded but cannot be applied"]
    zh = ConstraintFilter.build(Constraints(price_max=20.0), set(), language="zh")
    zh.apply(FILMS)
    assert zh.notes == ["这个目录没有价格信息，无法按“不超过20”筛选"]


PENS = [
    ItemRecord("p1", "office", "pilot g2 gel pens", "writing", attrs={"price": 12.5, "brand": "Pilot"}),
    ItemRecord("p2", "office", "sharpie fine markers", "writing", attrs={"price": 25.0, "brand": "Sharpie"}),
    ItemRecord("p3", "office", "autopilot desk lamp", "desk", attrs={"price": 40.0}),
    ItemRecord("p4", "office", "unbranded pencils", "writing"),
]


def test_prices_and_cheaper():
    f = ConstraintFilter.build(Constraints(price_max=20.0), {"price", "brand"})
    kept, removed = f.apply(PENS)
    assert ids(kept) == ["p1", "p4"]
    assert removed == {"p2": "at most 20", "p3": "at most 20"}
    lo = ConstraintFilter.build(Constraints(price_min=20.0, price_max=30.0), {"price"})
    assert ids(lo.apply(PENS)[0]) == ["p2", "p4"]
    cheaper = ConstraintFilter.build(Constraints(other=["cheaper"]), {"price"}, [{"price": 30.0}])
    assert ids(cheaper.apply(PENS)[0]) == ["p1", "p2", "p4"]
    assert cheaper.notes[0].startswith("cheaper than 30")


def test_brand_by_attribute_or_name_and_none_matching():
    f = ConstraintFilter.build(Constraints(brand="pilot"), {"brand", "price"})
    kept, removed = f.apply(PENS)
    assert ids(kept) == ["p1"]  # "autopilot" is not Pilot
    assert removed["p2"] == "brand pilot"
    by_name = ConstraintFilter.build(Constraints(brand="Sharpie"), set())
    assert ids(by_name.apply(PENS)[0]) == ["p2"]  # no brand column: the name in the title
    none = ConstraintFilter.build(Constraints(brand="Bic"), {"brand"})
    assert none.apply(PENS)[0] == PENS
    assert none.notes == ["no candidate matches 'brand Bic', so it was not applied"]
    missing = ConstraintFilter.build(Constraints(brand="Bic"), set())
    missing.apply(PENS)
    assert missing.notes == ["this catalogue has no brands, so 'brand Bic' could not be applied"]


def test_no_constraints_no_work():
    f = ConstraintFilter.build(Constraints(level="beginner"), {"year"})
    assert not f.active
    assert f.apply(FILMS) == (FILMS, {})
    assert f.notes == []


def test_sequel_phrases():
    assert all(is_sequel_phrase(p) for p in ("sequels", "any sequels", "续集", "续作"))
    assert not any(is_sequel_phrase(p) for p in ("horror sequels", "musicals", "动画片"))
