"""Optional item attributes in the item store: written with the facts, read back on every path, named per scene."""

import pandas as pd
import pytest

from scenebridge.store import CachedEmbedder, EmbeddingCache, HashingEmbedder, ItemStore

pytestmark = pytest.mark.unit

ITEMS = pd.DataFrame(
    [
        ("m1", "film", "Alien (1979)", "Sci-Fi Horror", "1979", "", ""),
        ("m2", "film", "Aliens (1986)", "Sci-Fi Action", "1986", "", ""),
        ("m3", "film", "Alien 3 (1992)", "Sci-Fi", "", "", ""),
        ("p1", "pens", "gel pen", "writing", "", "2.5", "Pilot"),
        ("p2", "pens", "marker", "writing", "", "", "Sharpie"),
    ],
    columns=["item_id", "scene", "title", "category", "year", "price", "brand"],
)


def make_store(tmp_path):
    emb = CachedEmbedder(HashingEmbedder(32), EmbeddingCache(tmp_path / "cache.sqlite"))
    return ItemStore(emb, path=tmp_path / "store", batch_size=2)


def test_attributes_on_every_read_path(tmp_path):
    store = make_store(tmp_path)
    store.index(ITEMS)
    q = store.embedder.embed(["Alien"])[0]
    by_id = {h.item_id: h.attrs for h in store.search(q, scenes=["film"], k=3)}
    assert by_id == {"m1": {"year": 1979}, "m2": {"year": 1986}, "m3": {}}
    hits, _ = store.search_with_vectors(q, scenes=["film"], k=3)
    assert {h.item_id: h.attrs for h in hits} == by_id
    got, _ = store.get_items(["p1", "m1"])
    assert [h.attrs for h in got] == [{"price": 2.5, "brand": "Pilot"}, {"year": 1979}]
    mirrored = ItemStore(store.embedder, path=store.where)
    mirrored.mirror()
    assert [h.attrs for h in mirrored.get_items(["p1", "m1"])[0]] == [{"price": 2.5, "brand": "Pilot"}, {"year": 1979}]
    assert {h.item_id: h.attrs for h in mirrored.search(q, scenes=["film"], k=3)} == by_id


def test_attribute_names_per_scene_and_for_the_catalogue(tmp_path):
    store = make_store(tmp_path)
    store.index(ITEMS)
    assert store.attributes("film") == {"year"}
    assert store.attributes("pens") == {"price", "brand"}
    assert store.attributes() == {"year", "price", "brand"}
    assert make_store(tmp_path).attributes("film") == {"year"}  # a manifest on disk, not memory


def test_changed_attributes_rewrite_metadata_without_reembedding(tmp_path):
    store = make_store(tmp_path)
    store.index(ITEMS[["item_id", "scene", "title", "category"]])
    assert store.attributes() == frozenset()
    assert store.get_items(["m1"])[0][0].attrs == {}
    report = store.index(ITEMS)
    assert (report.refreshed, report.embedded, report.updated, report.unchanged) == (4, 0, 0, 5)
    assert "4 with changed attributes (not re-embedded)" in report.line()
    assert store.get_items(["m1"])[0][0].attrs == {"year": 1979}
    assert store.attributes("film") == {"year"}
    again = store.index(ITEMS)
    assert (again.refreshed, again.embedded) == (0, 0)
    no_prices = ITEMS.assign(price="")
    store.index(no_prices, prune=True)
    assert store.attributes("pens") == {"brand"}  # prune: the names follow the catalogue given
    assert store.get_items(["p1"])[0][0].attrs == {"brand": "Pilot"}


def test_a_long_description_is_cut(tmp_path):
    store = make_store(tmp_path)
    store.index(ITEMS.assign(description="word " * 200))
    attrs = store.get_items(["m1"])[0][0].attrs
    assert len(attrs["description"]) == 300
    assert store.attributes("film") == {"year", "description"}
