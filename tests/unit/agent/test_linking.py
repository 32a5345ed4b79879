"""Linking mentions to catalogue items: title index, confidence, scenes searched, notes (hashing embedder store)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from scenebridge.agent.linking import EXACT, Linker, LinkWeights, TitleIndex, link_notes, norm_title, title_score
from scenebridge.agent.summary import Mention
from scenebridge.store import HashingEmbedder, ItemStore

pytestmark = pytest.mark.unit

ITEMS = [
    ("m1", "thrill", "Alien (1979)", "Action, Horror, Sci-Fi, Thriller"),
    ("m2", "thrill", "Aliens (1986)", "Action, Sci-Fi, Thriller, War"),
    ("m3", "thrill", "Alien 3 (1992)", "Action, Horror, Sci-Fi, Thriller"),
    ("m4", "thrill", "Terminator, The (1984)", "Action, Sci-Fi, Thriller"),
    ("m5", "thrill", "Heat (1995)", "Action, Crime, Thriller"),
    ("m6", "drama", "Titanic (1997)", "Action, Drama, Romance"),
    ("m7", "comedy", "Toy Story (1995)", "Animation, Children's, Comedy"),
    ("a1", "art", "clover wonder clips red 50 pack", "sewing notions clover"),
    ("a2", "art", "winsor newton cotman water colour paint set of 6 8ml tubes", "painting paints winsor newton"),
    ("o1", "office", "brother pt 1280 p touch electronic labeling system", "label makers brother"),
    ("o2", "office", "brother p touch pt 2030 label maker", "label makers brother"),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ItemStore:
    root: Path = tmp_path_factory.mktemp("link-store")
    s = ItemStore(HashingEmbedder(256), path=root)
    s.index(pd.DataFrame(ITEMS, columns=["item_id", "scene", "title", "category"]))
    return s


@pytest.fixture(scope="module")
def linker(store: ItemStore) -> Linker:
    return Linker(store)


def test_norm_title_moves_articles_and_drops_years():
    assert norm_title("Terminator, The (1984)") == "terminator"
    assert norm_title("The Terminator") == "terminator"
    assert norm_title("Seven (Se7en) (1995)") == "seven se7en"
    assert norm_title("  Ｗonder-Clips!! ") == "wonder clips"


def test_title_score_prefers_the_exact_title_and_the_right_model_number():
    assert title_score("alien", "alien") > title_score("alien", "alien 3") > title_score("alien", "heat")
    assert title_score("brother pt 1280", "brother pt 1280 p touch") > title_score("brother pt 1280", "brother pt 2030")


def test_title_index_scores_only_titles_that_share_a_word():
    index = TitleIndex([("x", "Alien (1979)"), ("y", "Heat (1995)"), ("z", "")])
    assert len(index) == 2  # an empty title is not indexed
    assert [index.ids[row] for row, _ in index.match("alien")] == ["x"]
    assert index.match("nothing here") == []


def test_the_shortlist_holds_the_titles_sharing_the_rarest_words_first_ties_by_row():
    # "pad" is in every title, "spiral" in two: those two lead; the three "pad"-only titles tie, earliest row first.
    titles = ["sketch pad", "spiral pad", "legal pad", "pad", "spiral notebook pad", "mouse pad"]
    index = TitleIndex([(f"i{n}", t) for n, t in enumerate(titles)], shortlist=4)
    rows = [row for row, _ in index.match("spiral pad", limit=10)]
    assert set(rows) == {1, 4, 0, 2}
    assert index.match("spiral pad", limit=1)[0][0] == 1  # the exact title scores best


@pytest.mark.parametrize(
    ("text", "target", "item"),
    [
        ("Alien", "thrill", "m1"),  # in the target scene itself: found by title (never recommended back)
        ("The Terminator", "thrill", "m4"),
        ("Titanic", "thrill", "m6"),
        ("Clover wonder clips", "office", "a1"),
        ("Brother P-touch PT-1280 label maker", "art", "o1"),  # not the PT-2030: the model number decides
    ],
)
def test_links_en_titles(linker: Linker, text: str, target: str, item: str):
    [link] = linker.link([Mention(text=text, action="watched")], target=target)
    assert link.item is not None, link
    assert (link.item.item_id, link.item.mention, link.item.action) == (item, text, "watched")
    assert 0.0 < link.item.confidence <= 1.0


def test_exact_titles_are_confident(linker: Linker):
    [link] = linker.link([Mention(text="Heat")], target="comedy")
    assert link.item is not None
    assert link.item.item_id == "m5"
    assert link.confidence >= EXACT


@pytest.mark.parametrize("text", ["a Tesla Model 3", "museums in Glasgow", "Oppenheimer"])
def test_things_not_in_the_catalogue_link_to_nothing(linker: Linker, text: str):
    [link] = linker.link([Mention(text=text)], target="thrill")
    assert link.item is None
    assert link.confidence < linker.threshold


def test_threshold_decides(store: ItemStore):
    # Title + embedding alone (no margin or prior): an exact-ish title scores under 0.99.
    strict, loose = Linker(store, threshold=0.99, weights=LinkWeights()), Linker(store, threshold=0.0)
    mention = Mention(text="Clover wonder clips")
    assert strict.link([mention], target="office")[0].item is None
    assert loose.link([mention], target="office")[0].item is not None


def test_the_scene_searched_by_embedding():
    calls: list[list[str]] = []

    class FakeStore:
        scenes = ("art", "office", "thrill")
        embedder = HashingEmbedder(16)

        def search(self, vec, scenes=None, k=10, **_):
            calls.append(list(scenes))
            return []

        def count(self, scene):
            return 0

        def get_items(self, ids, scenes=None):
            return [], None

    lk = Linker(FakeStore(), titles=lambda scene: [])  # type: ignore[arg-type]
    lk.link([Mention(text="pens", scene="office")], target="art")
    lk.link([Mention(text="pens")], target="art", source_scenes=["office", "nowhere"])
    lk.link([Mention(text="pens")], target="art")
    assert calls == [["office"], ["office"], ["office", "thrill"]]  # named scene, else sources, else all but target


def test_chinese_mentions_are_compared_by_embedding_only(linker: Linker):
    conf, tscore = linker.confidence("异形", "Alien (1979)", cosine=1.0)
    assert (conf, tscore) == (1.0, 0.0)


def test_notes_en_zh(linker: Linker):
    links = linker.link([Mention(text="Alien"), Mention(text="a Tesla Model 3")], target="thrill")
    assert link_notes(links) == [
        "linked 'Alien' to Alien (1979)",
        "could not link 'a Tesla Model 3' to any catalogue item",
    ]
    zh = link_notes(links, "zh")
    assert "Alien (1979)" in zh[0]
    assert "a Tesla Model 3" in zh[1]
    assert zh[0] != link_notes(links)[0]


def test_no_mentions_no_work(linker: Linker):
    assert linker.link([]) == []


def test_linking_is_fast_once_the_title_index_is_built(linker: Linker):
    linker.warm()
    mentions = [Mention(text=t) for t in ("Alien", "Clover wonder clips", "a Tesla Model 3")]
    start = time.perf_counter()
    linker.link(mentions, target="thrill")
    assert time.perf_counter() - start < 1.0  # generous: a few ms each on an idle core; a shared CI box is slower
