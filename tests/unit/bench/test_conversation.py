"""The conversation benchmark: an honest simulated person, exact figures from a scripted recommender, and a real
turn over a hashing store."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scenebridge.agent.exclusions import ExclusionFilter
from scenebridge.agent.linking import Linker
from scenebridge.agent.result import RecommendedItem, TurnResult
from scenebridge.agent.state import LinkedItem
from scenebridge.agent.summary import InterestSummary
from scenebridge.agent.turn import Recommender
from scenebridge.bench.conversation import bench_conversation, draw_people
from scenebridge.bench.conversation_measures import agent_statement_linker, ndcg_at
from scenebridge.bench.person import Catalogue, Person
from scenebridge.data.format import Dataset
from scenebridge.data.visible import Context
from scenebridge.errors import UsageError
from scenebridge.store import HashingEmbedder, ItemStore

pytestmark = pytest.mark.unit

ART = ["watercolor paint tube", "sable round brush", "acrylic gesso primer", "charcoal drawing stick",
       "linen canvas panel", "kneaded rubber eraser", "embroidery floss skein", "knitting needle circular"]  # fmt: skip
OFFICE = [("hanging file folders", "filing folders hanging"), ("gel ink pens", "writing pens gel"),
          ("desk drawer organizer", "desk accessories organizers"), ("laser toner cartridge", "printer toner laser"),
          ("spiral notebook ruled", "paper notebooks spiral"), ("heavy duty stapler", "desk accessories staplers"),
          ("shipping label roll", "labels shipping rolls"), ("wall calendar monthly", "calendars planners wall"),
          ("packing tape dispenser", "shipping tape packing"), ("sticky note pads", "paper notes sticky"),
          ("mouse pad gel", "workspace mouse pads"), ("binder clips medium", "fasteners clips binder")]  # fmt: skip
BRANDS = ["acme", "zenith", "orbit"]


def _dataset() -> Dataset:
    items = [(f"a{i}", "art", f"{BRANDS[i % 3]} {t} {i + 2} pack", f"arts crafts painting {t.split()[-1]} "
              f"{BRANDS[i % 3]}") for i, t in enumerate(ART)]  # fmt: skip
    items += [(f"o{i}", "office", f"{BRANDS[i % 3]} {t} {i + 10} count",
               f"office products supplies {c} {BRANDS[i % 3]}") for i, (t, c) in enumerate(OFFICE)]  # fmt: skip
    items.append(("a99", "art", "orbit mystery glitter jar", "arts crafts glitter orbit"))  # owned by no one
    rng = random.Random(3)
    rows, users = [], []
    for u in range(60):
        uid = f"u{u}"
        users.append((uid, "test" if u % 3 == 0 else "valid" if u % 3 == 1 else "train"))
        picks = rng.sample(range(len(ART)), 4) + [len(ART) + j for j in rng.sample(range(len(OFFICE)), 3)]
        rows += [(uid, items[i][0], items[i][1], float(pos)) for pos, i in enumerate(picks)]
    return Dataset(
        "synthetic",
        pd.DataFrame(items, columns=["item_id", "scene", "title", "category"]),
        pd.DataFrame(rows, columns=["user_id", "item_id", "scene", "order"]),
        pd.DataFrame(users, columns=["user_id", "split"]),
    )


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return _dataset()


def _person(ds: Dataset, language: str, seed: int = 1) -> Person:
    cat = Catalogue(ds.items)
    hist = list(ds.interactions[(ds.interactions.user_id == "u0") & (ds.interactions.scene == "art")].item_id)
    target = str(
        ds.interactions[(ds.interactions.user_id == "u0") & (ds.interactions.scene == "office")].item_id.iloc[0]
    )
    return Person("u0", hist, target, "art", "office", language, cat, random.Random(seed))


def test_catalogue_drops_brand_and_generic_words(ds):
    words = Catalogue(ds.items).words("o0")  # "acme hanging file folders 10 count" / "... filing folders hanging acme"
    assert words.specific == ("filing", "folders", "hanging")
    assert "acme" not in words.phrase
    assert "acme" not in words.specific
    assert words.phrase in ("hanging file folders", "file folders")
    assert not any(ch.isdigit() for ch in words.phrase)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_person_speaks_of_own_items_loosely_and_never_names_the_target(ds, language):
    for seed in range(8):
        person = _person(ds, language, seed)
        cat = Catalogue(ds.items)
        opening = person.opening()
        assert 2 <= len(person.mentioned) <= 4
        assert set(person.mentioned) <= set(person.history)
        for item in person.mentioned:
            assert cat.words(item).phrase in opening
            assert cat.words(item).title not in opening  # loose words, not the exact title
        assert person.goal.title not in opening
        assert person.goal.phrase not in opening
        assert ("办公用品" in opening) == (language == "zh")
        assert ("office supplies" in opening) == (language == "en")
        shown = [f"o{i}" for i in range(12) if f"o{i}" != person.target][:10]
        for turn in (2, 3, 4):
            said = person.critique(turn, shown)
            assert person.goal.title not in said
            assert " ".join(person.goal.specific[-2:]) in said
            avoid = re.search(r"(?:\bnot |\bno |不要 |别推荐 )(\w+)", said)
            if avoid:  # a "not" word never rules the target out
                assert not ExclusionFilter.build([avoid.group(1)]).match(person.goal.title, person.goal.category)
            if language == "zh":
                assert re.search(r"[\u4e00-\u9fff]", said)


class ScriptedRecommender:
    """Finds the items whose category holds every word of the statement's first clause, but only in a session that
    has had a turn before (a stateful agent's advantage, made exact); links every art item whose loose name the
    statement holds, plus one item no person owns."""

    def __init__(self, ds: Dataset) -> None:
        self.cat = Catalogue(ds.items)
        self.office = [str(i) for i in ds.items[ds.items.scene == "office"].item_id]
        self.art = [str(i) for i in ds.items[ds.items.scene == "art"].item_id]
        self.turns: dict[str, int] = {}

    def turn(self, statement: str, session_id: str | None = None, scene: str | None = None, k: int = 10,
             user_id: str | None = None) -> TurnResult:  # fmt: skip
        sid = session_id or f"s{len(self.turns)}"
        self.turns[sid] = self.turns.get(sid, 0) + 1
        first = re.split(r"[,，]", statement)[0].split()
        if self.turns[sid] > 1:
            found = [i for i in self.office if all(w in self.cat.words(i).category.split() for w in first[-2:])]
        else:
            found = []
        items = (found + [i for i in self.office if i not in found])[:1]  # the top 1 only: misses are real misses
        linked = [LinkedItem(mention="x", item_id=i, title="t", scene="art", confidence=0.9)
                  for i in [*self.art] if self.cat.words(i).phrase in statement and i != "a99"]  # fmt: skip
        if linked:
            linked.append(LinkedItem(mention="y", item_id="a99", title="t", scene="art", confidence=0.5))
        return TurnResult(session_id=sid, statement=statement, scene="office", summary=InterestSummary(),
                          parse_source="scripted", linked=linked,
                          items=[RecommendedItem(rank=1, item_id=i, title="", category="", scene="office", score=1.0)
                                 for i in items])  # fmt: skip


def test_figures_are_exact_for_a_scripted_recommender(ds):
    res = bench_conversation(ds, ScriptedRecommender(ds), "art", "office", people=15, turns=3, lang="en", k=1)  # type: ignore[arg-type]
    assert res.people == 15
    assert res.n_en == 15
    assert res.n_zh == 0
    hits = [c["hit_turn"] for c in res.conversations]
    # The first answer is always o0; the critique's "closer to" words find the target from turn 2 on, in the session.
    assert all(h == (1 if c["target"] == "o0" else 2) for h, c in zip(hits, res.conversations, strict=True))
    assert res.hit_by_turn[1] == res.hit_by_turn[2] == 1.0
    assert res.hit_by_turn[0] == pytest.approx(sum(c["target"] == "o0" for c in res.conversations) / 15)
    assert res.replay_hit_by_turn == [res.hit_by_turn[0]] * 3  # each message fresh: never past the first answer
    assert res.replay_first_differs == 0
    mentioned = sum(len(c["mentioned"]) for c in res.conversations)
    assert res.linked == mentioned + 15
    assert res.linked_own == mentioned
    assert res.link_precision == pytest.approx(mentioned / (mentioned + 15))
    assert res.mention_recall == 1.0
    assert res.first_turn_scene_accuracy == 1.0


class Oracle:
    """A reference that knows every hidden target item (NDCG 1 when each user has at most 10)."""

    name = "oracle"

    def fit(self, ctx: Context) -> None:
        self.ctx = ctx

    def score(self, users: Sequence[str]) -> np.ndarray:
        target = self.ctx.split.target_items
        truth = self.ctx.split.test_truth
        return np.array([[float(i in truth[u]) for i in target] for u in users])


class Misfit(Oracle):
    name = "misfit"

    def fit(self, ctx: Context) -> None:
        msg = "trained for another pair of scenes"
        raise UsageError(msg)


def test_a_real_recommender_over_a_hashing_store(ds, tmp_path: Path):
    store = ItemStore(HashingEmbedder(256), path=tmp_path / "store")
    store.index(ds.items)
    rec = Recommender(store)
    res = bench_conversation(ds, rec, "art", "office", people=6, turns=3, lang="mixed", references=[Misfit(), Oracle()])
    assert (res.n_en, res.n_zh) == (3, 3)
    assert res.first_turn_scene_accuracy == 1.0  # "office supplies" / "办公用品" name the scene
    assert res.scene_told == 0  # the session keeps the scene; a fresh critique may need it told (no classifier)
    assert res.hit_by_turn == sorted(res.hit_by_turn)
    assert res.replay_hit_by_turn == sorted(res.replay_hit_by_turn)
    assert res.reference == "oracle"
    assert res.reference_ndcg == pytest.approx(1.0)
    assert res.references == {"oracle": pytest.approx(1.0)}  # every reference that fits, the misfit left out
    assert any("misfit skipped" in n for n in res.notes)
    assert res.replay_first_differs == 0  # a fresh session answers the opening as the conversation did
    for conv in res.conversations:
        assert len(conv["messages"]) == len(conv["shown"]) == (conv["hit_turn"] or 3)
        assert conv["first_ndcg"] == pytest.approx(ndcg_at(conv["shown"][0], set(conv["truth"]), 10))


def test_ndcg_matches_the_definition():
    assert ndcg_at(["x", "t"], {"t"}, 10) == pytest.approx(1 / np.log2(3))
    assert ndcg_at(["t", "u"], {"t", "u"}, 10) == pytest.approx(1.0)
    assert ndcg_at(["x"], {"t"}, 10) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"lang": "fr"}, "--lang"),
        ({"users": "train"}, "--users"),
        ({"turns": 0}, "--turns"),
        ({"people": 0}, "--people"),
    ],
)
def test_bad_options_are_one_clear_error(ds, kwargs, words):
    with pytest.raises(UsageError, match=words):
        bench_conversation(ds, ScriptedRecommender(ds), "art", "office", **kwargs)  # type: ignore[arg-type]


class Refusing(ScriptedRecommender):
    """Refuses every follow-up in a session, as an agent that misreads a critique would."""

    def turn(self, statement: str, session_id: str | None = None, scene: str | None = None, k: int = 10,
             user_id: str | None = None) -> TurnResult:  # fmt: skip
        if session_id is not None:
            msg = "the last answer had 10 items; pick one of 1..10"
            raise UsageError(msg)
        return super().turn(statement, session_id, scene, k, user_id)


def test_a_refused_message_is_an_empty_answer_not_a_crash(ds):
    res = bench_conversation(ds, Refusing(ds), "art", "office", people=5, turns=3, lang="zh", k=1)  # type: ignore[arg-type]
    misses = [c for c in res.conversations if c["hit_turn"] != 1]
    assert misses
    assert res.refused == 2 * len(misses)  # turns 2 and 3 of each conversation the first answer missed
    assert all(c["shown"][1:] == [[], []] for c in misses)
    assert any("1..10" in n for n in res.notes)
    assert res.hit_by_turn[-1] == res.hit_by_turn[0]


def test_the_people_drawn_are_those_a_run_talks_to(ds):
    split, _, people = draw_people(ds, "art", "office", users="test", people=4, seed=3)
    again = draw_people(ds, "art", "office", users="test", people=4, seed=3)[2]
    assert [p.user_id for p in people] == [p.user_id for p in again] == sorted(p.user_id for p in people)
    assert [p.opening() for p in people] == [p.opening() for p in again]
    assert all(p.target in split.test_truth[p.user_id] for p in people)
    assert [p.language for p in people] == ["en", "zh", "en", "zh"]
    res = bench_conversation(ds, ScriptedRecommender(ds), "art", "office", people=4, turns=1, seed=3)  # type: ignore[arg-type]
    assert [c["user_id"] for c in res.conversations] == [p.user_id for p in people]


def test_the_agents_linker_as_a_statement_linker(ds, tmp_path: Path):
    store = ItemStore(HashingEmbedder(256), path=tmp_path / "store")
    store.index(ds.items)
    link = agent_statement_linker(Linker(store), "art", "office")
    art = ds.items[ds.items["scene"] == "art"].iloc[0]
    found = link([str(art["title"]), "   ", "a tesla model 3 with autopilot"])
    assert found
    assert found[0][0] == art["item_id"]  # a title names its own item
    assert all(0.0 < conf <= 1.0 for _, conf in found)


class TwinShower:
    """Shows, for any statement, the twins (another id, the very same title) of every office item, never the item."""

    def __init__(self, ds: Dataset) -> None:
        self.twins = [f"{i}-twin" for i in ds.items[ds.items.scene == "office"].item_id]

    def turn(self, statement: str, session_id: str | None = None, scene: str | None = None, k: int = 10,
             user_id: str | None = None) -> TurnResult:  # fmt: skip
        return TurnResult(session_id=session_id or "s", statement=statement, scene="office", summary=InterestSummary(),
                          parse_source="scripted", items=[RecommendedItem(rank=n, item_id=i, title="", category="",
                          scene="office", score=1.0) for n, i in enumerate(self.twins[:k], 1)])  # fmt: skip


def test_the_targets_twin_shown_is_a_hit(ds):
    office = ds.items[ds.items.scene == "office"]
    twins = office.assign(item_id=office.item_id + "-twin", title=office.title.str.upper())  # case aside, the same
    with_twins = Dataset("twins", pd.concat([ds.items, twins]), ds.interactions, ds.users)
    cat = Catalogue(with_twins.items)
    assert cat.same_title("o0") == {"o0", "o0-twin"}
    assert cat.same_title("a0") == {"a0"}
    res = bench_conversation(with_twins, TwinShower(with_twins), "art", "office", people=6, turns=2, lang="en",  # type: ignore[arg-type]
                             k=len(OFFICE))  # fmt: skip
    assert [c["hit_turn"] for c in res.conversations] == [1] * 6
    assert [c["replay_hit_turn"] for c in res.conversations] == [1] * 6
