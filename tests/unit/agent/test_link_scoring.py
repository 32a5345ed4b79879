"""The parts of a link's confidence beyond title + embedding: the ambiguity margin, "had together" across mentions,
popularity (agent/linking.py, agent/link_prior.py); and the first turn's candidate pool (agent/stages/retrieve.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from scenebridge.agent.exclusions import ExclusionFilter
from scenebridge.agent.link_prior import CoPurchase, prior_for
from scenebridge.agent.linking import Linker, LinkWeights, same_product
from scenebridge.agent.result import Trace
from scenebridge.agent.session_data import Session
from scenebridge.agent.stages import retrieve as retrieve_stage
from scenebridge.agent.stages.read import Interest
from scenebridge.agent.stages.retrieve import query_for, retrieve
from scenebridge.agent.state import LinkedItem
from scenebridge.agent.summary import Mention
from scenebridge.rerank import RerankQuery
from scenebridge.rerank.content import ContentReranker
from scenebridge.store import HashingEmbedder, ItemStore

pytestmark = pytest.mark.unit

ITEMS = [
    # four near-identical sketch pads of different makers: "sketch pad" alone cannot tell which one
    ("a1", "art", "strathmore sketch pad 9 x 12 100 sheets", "drawing paper sketch pads"),
    ("a2", "art", "canson artist series sketch pad 9 x 12", "drawing paper sketch pads"),
    ("a3", "art", "melissa doug sketch pad 9 by 12", "drawing paper sketch pads"),
    ("a4", "art", "bee paper sketch pad spiral", "drawing paper sketch pads"),
    # one clear product
    ("a5", "art", "clover wonder clips red 50 pack", "sewing notions clover"),
    ("a6", "art", "tierracast clutch earring backs 50 pairs", "jewelry making findings"),
    ("a7", "art", "bead landing clutch earring backs gold", "jewelry making findings"),
    ("o1", "office", "swingline stapler", "staplers"),
    ("o2", "office", "bic pens blue", "pens"),
]
IDS = [i for i, *_ in ITEMS]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ItemStore:
    root: Path = tmp_path_factory.mktemp("link-score-store")
    s = ItemStore(HashingEmbedder(256), path=root)
    s.index(pd.DataFrame(ITEMS, columns=["item_id", "scene", "title", "category"]))
    return s


def _prior(pairs: list[list[str]]) -> CoPurchase:
    """One user per list of items they had."""
    rows = [[IDS.index(i) for i in items] for items in pairs]
    data = [1.0] * sum(len(r) for r in rows)
    users = [u for u, r in enumerate(rows) for _ in r]
    cols = [c for r in rows for c in r]
    return CoPurchase(sp.csr_matrix((data, (users, cols)), shape=(len(rows), len(IDS))), IDS)


def test_same_product_is_a_title_token_jaccard():
    assert same_product("strathmore sketch pad 9 x 12 100 sheets", "Strathmore sketch pad 9 x 12 100 sheets!")
    assert not same_product("strathmore sketch pad 9 x 12", "canson artist series sketch pad 9 x 12")


def test_ambiguity_lowers_the_confidence_of_many_near_identical_products(store: ItemStore):
    plain = Linker(store, threshold=0.0)
    wary = Linker(store, threshold=0.0, weights=LinkWeights(margin=1.0))
    [pad_plain], [pad_wary] = (lk.scored([Mention(text="sketch pad")], target="office") for lk in (plain, wary))
    best = pad_wary[0]
    assert best.margin < 0.05  # another maker's sketch pad scores about as well
    gain_pad = best.confidence - pad_plain[0].confidence
    [clips] = wary.scored([Mention(text="clover wonder clips")], target="office")
    assert clips[0].candidate.item_id == "a5"
    assert clips[0].margin > 0.1  # nothing else is like it: the lead adds confidence
    assert clips[0].confidence - clips[0].base > gain_pad + 0.15  # (clipped at 1)


def test_a_link_below_the_threshold_names_its_best_title_but_links_nothing(store: ItemStore):
    lk = Linker(store, threshold=0.75, weights=LinkWeights(margin=1.0))
    [link] = lk.link([Mention(text="sketch pad")], target="office")
    assert link.item is None
    assert link.best_title is not None
    assert "sketch pad" in link.best_title
    [clips] = lk.link([Mention(text="clover wonder clips")], target="office")
    assert clips.item is not None
    assert clips.item.item_id == "a5"


def test_had_together_prefers_the_candidate_bought_with_another_mention(store: ItemStore):
    mentions = [Mention(text="clutch earring backs"), Mention(text="clover wonder clips")]
    # Without a prior the two earring backs tie closely (the bead landing pair just ahead); people who had the
    # clips also had the tierracast pair.
    plain = Linker(store, threshold=0.0).scored(mentions, target="office")
    assert plain[0][0].candidate.item_id == "a7"
    prior = _prior([["a5", "a6"], ["a5", "a6", "a1"], ["a7"]])
    lk = Linker(store, threshold=0.0, prior=prior, weights=LinkWeights(together=0.5))
    earring, clips = lk.scored(mentions, target="office")
    assert earring[0].candidate.item_id == "a6"
    assert earring[0].together > 0.5  # the clips' own confidence
    assert {c.candidate.item_id: c.together for c in earring}["a7"] == 0.0
    assert clips[0].candidate.item_id == "a5"
    # One mention alone has nothing to be had together with.
    [alone] = lk.scored(mentions[:1], target="office")
    assert all(c.together == 0.0 for c in alone)


def test_popularity_adds_to_the_confidence_of_what_more_people_had(store: ItemStore):
    prior = _prior([["a6"], ["a6"], ["a6"], ["a7"]])
    pop = prior.popularity(["a6", "a7", "a1", "unknown"])
    assert pop[0] == pytest.approx(1.0)
    assert 0.0 < pop[1] < pop[0]
    assert pop[2] == pop[3] == 0.0
    lk = Linker(store, threshold=0.0, prior=prior, weights=LinkWeights(popularity=0.2))
    [ranked] = lk.scored([Mention(text="clutch earring backs")], target="office")
    by_id = {c.candidate.item_id: c for c in ranked}
    assert by_id["a6"].confidence - by_id["a6"].base == pytest.approx(0.2, abs=1e-3)
    assert ranked[0].candidate.item_id == "a6"  # more people had it: it passes the other pair


def test_co_purchase_counts_people_who_had_both():
    prior = _prior([["a1", "a5"], ["a1", "a5", "a6"], ["a6"]])
    together = prior.together(["a1", "a6", "nope"], ["a5", "a6"])
    assert together.tolist() == [[2.0, 1.0], [1.0, 2.0], [0.0, 0.0]]
    with pytest.raises(ValueError, match="columns"):
        CoPurchase(sp.csr_matrix((1, 3)), ["x"])


def test_no_fusion_reranker_no_prior(store: ItemStore):
    assert prior_for(None) is None
    assert prior_for(ContentReranker(store)) is None


class _Pool:
    """A reranker whose own candidates are the scene's popular items (what a fusion model proposes without a
    history), recording whether it was asked."""

    scene = "office"
    embedder_id = "hashing-256"

    def __init__(self) -> None:
        self.asked = 0

    def candidates(self, query: RerankQuery, k: int) -> list[str]:
        self.asked += 1
        return ["o2"]

    def rerank(self, query, candidates, k=None):  # pragma: no cover - not reached by retrieve
        raise AssertionError


@pytest.mark.parametrize(("first", "history", "asked"), [(True, [], 1), (False, [], 0), (False, ["a5"], 1)])
def test_the_first_turn_pool_holds_the_rerankers_own_candidates(store: ItemStore, first, history, asked):
    vec = store.embedder.embed(["stapler"])[0]
    pool = _Pool()
    query = RerankQuery(scene="office", history=history)
    found = retrieve(store, vec, query, ExclusionFilter.build([]), pool, 1, 5, Trace(), first_turn=first)  # type: ignore[arg-type]
    assert pool.asked == asked
    ids = [r.item_id for r in found]
    assert ids[0] == "o1"  # what was asked for is retrieved first, whatever joins it
    assert ("o2" in ids) == bool(asked)
    assert np.all([r.vector is not None for r in found])


@pytest.mark.parametrize(
    ("switch", "statement", "topics", "mentioned", "pooled"),
    [
        (True, "I bought watercolor paints and brushes, now office supplies", ["watercolor paints", "brushes"],
         ["watercolor paints", "brushes"], True),  # only the scene asked for
        (True, "I bought watercolor paints; now office supplies", ["watercolor"], ["watercolor paints"], True),
        (True, "I bought a drafting table for my studio. Now I need desk lamps", ["drafting table", "desk lamps"],
         ["a drafting table"], False),  # "now I need desk lamps"
        (True, "I bought a drafting table. Now I need more drafting paper", ["drafting", "paper"],
         ["a drafting table"], False),  # a topic of a mention, and another one asked for
        # Words said only about what they did are not asked for: the projects, the time, a list item not read.
        (True, "I've been using pens for my art projects; now show me office supplies", ["pens", "projects"],
         ["pens"], True),
        (True, "Over the past year I picked up a dress form and pins. Now I want office supplies.",
         ["past", "dress", "form", "pins"], ["dress form"], True),
        (True, "上个月买了 soft pipe cleaners，现在想找一些办公用品", ["上个月", "soft", "pipe", "cleaners"],
         ["soft pipe cleaners"], True),
        (True, "我买过 pipe cleaners，现在需要 desk lamps", ["pipe", "cleaners", "desk", "lamps"], ["pipe cleaners"],
         False),
        (True, "I want staplers", ["staplers"], [], False),  # nothing done elsewhere
        (False, "I bought watercolor paints, now office supplies", ["watercolor paints"], ["watercolor paints"], False),
    ],
)  # fmt: skip
def test_only_a_first_turn_that_asks_for_nothing_but_the_scene_gets_the_pool(
    monkeypatch: pytest.MonkeyPatch, switch, statement, topics, mentioned, pooled
):
    from scenebridge.agent.stages.retrieve import pool_first_turn
    from scenebridge.agent.summary import InterestSummary

    monkeypatch.setattr(retrieve_stage, "FIRST_TURN_POOL", switch)
    summary = InterestSummary(topics=[{"name": t} for t in topics], scene="office",
                              mentioned=[{"text": m, "action": "bought"} for m in mentioned])  # fmt: skip
    assert pool_first_turn(summary, statement) is pooled


def test_the_lexical_reading_of_the_benchmarks_openings_gets_the_pool():
    from scenebridge.agent.lexical import lexical_parse
    from scenebridge.agent.stages.retrieve import pool_first_turn

    for text in ("Last month I got blades hobby, medium weight, square punch and handle rotary cutter. Now I need "
                 "some office supplies.",
                 "上个月买了 soft pipe cleaners、dual drive、hypo allergenic 和 earring backs，现在想看看办公用品",
                 "我之前在电脑上买过 liquid fabric 和 large candle，现在想在手机上买点办公用品",
                 "最近买了 sketch marker 和 primary face paint，现在想找一些办公用品"):  # fmt: skip
        assert pool_first_turn(lexical_parse(text, ["art", "office"]), text), text
    text = "I bought a drafting table for my studio. Now I need desk lamps and cable organizers for work"
    assert not pool_first_turn(lexical_parse(text, ["art", "office"]), text)


def _interest() -> Interest:
    return Interest(vector=np.zeros(4, np.float32), names=[], vectors=np.zeros((0, 4), np.float32))


def test_links_are_history_on_the_first_turn_only_and_a_follow_up_wants_other_items(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(retrieve_stage, "FRESH_FOLLOWUPS", True)
    sess = Session(session_id="s")
    sess.linked = [LinkedItem(mention="clips", action="bought", item_id="a5", title="clips", scene="art",
                              confidence=1.0)]  # fmt: skip
    first = query_for("office", _interest(), sess, None)
    assert first.history == ["a5"]
    assert first.history_weights == [1.0]
    assert "a5" in first.exclude  # what they have does not come back
    sess.turns, sess.shown = 1, ["o1", "o2"]
    later = query_for("office", _interest(), sess, None)
    assert later.history == []  # HISTORY_CONFIDENCE is infinite: the critiques lead after the first turn
    assert {"a5", "o1", "o2"} <= later.exclude  # the last answer was critiqued: other items now
    again = query_for("office", _interest(), sess, None, again=True)
    assert not {"o1", "o2"} & again.exclude  # "show them again"
    sess.anchor = ("o2", "bic pens blue")
    anchored = query_for("office", _interest(), sess, None)
    assert "o1" not in anchored.exclude  # "more like the second one" wants what is like it, the first among them
    assert "o2" in anchored.exclude  # not the anchor itself
    sess.anchor = None
    monkeypatch.setattr(retrieve_stage, "FRESH_FOLLOWUPS", False)
    assert not {"o1", "o2"} & query_for("office", _interest(), sess, None).exclude


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([t for _, _, t, _ in ITEMS]), st.floats(0, 1)), max_size=12))
def test_each_margin_is_the_lead_over_the_best_other_product(rows: list[tuple[str, float]]):
    from scenebridge.agent.linking import MARGIN_CAP, Candidate, _margins

    cands = [(Candidate(f"i{n}", "art", title, 0.5), base) for n, (title, base) in enumerate(rows)]
    # The rule itself, every pair compared.
    want = []
    for i, (ci, bi) in enumerate(cands):
        rival = max((bj for j, (cj, bj) in enumerate(cands) if j != i and not same_product(ci.title, cj.title)),
                    default=0.0)  # fmt: skip
        want.append(max(-MARGIN_CAP, min(MARGIN_CAP, bi - rival)))
    assert _margins(cands) == want


def test_link_chooses_what_scored_ranks_first(store: ItemStore):
    # link() leaves out the had-together part when it weighs nothing; the choice is scored()'s best candidate.
    prior = _prior([["a5", "a6"], ["a5", "a6", "a1"], ["a7"]])
    mentions = [Mention(text="clutch earring backs"), Mention(text="clover wonder clips"), Mention(text="sketch pad")]
    lk = Linker(store, threshold=0.0, prior=prior)
    for link, ranked in zip(lk.link(mentions, target="office"), lk.scored(mentions, target="office"), strict=True):
        assert link.item is not None
        assert (link.item.item_id, link.confidence) == (ranked[0].candidate.item_id, ranked[0].confidence)
