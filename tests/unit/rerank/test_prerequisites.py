"""The prerequisite gate: links read from relations.csv, items with undone prerequisites never returned."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest

from scenebridge.errors import DatasetError, UsageError
from scenebridge.rerank import Candidate, RerankQuery, Scored
from scenebridge.rerank.prerequisites import PrerequisiteGate, load_prerequisites
from scenebridge.rerank.registry import RERANKERS, get_reranker
from scenebridge.rerank.router import served_scenes
from scenebridge.script.model import Script

pytestmark = pytest.mark.unit

LINKS = (
    "head,relation,tail\nadd,prerequisite_of,multiply\nmultiply,prerequisite_of,divide\n"
    "subtract,prerequisite_of,divide\n"
)


class Everything:
    """A stand-in reranker: returns every candidate in the order given (and a fixed behaviour list)."""

    embedder_id = "hashing-256"
    scene = "arithmetic"

    def candidates(self, query: RerankQuery, k: int) -> list[str]:
        return ["divide", "multiply", "count"][:k]

    def rerank(self, query: RerankQuery, candidates: Sequence[Candidate], k: int | None = None) -> list[Scored]:
        return [Scored(item_id=c.item_id, score=1.0) for c in candidates if c.item_id not in query.exclude][:k]


@pytest.fixture
def links(tmp_path):
    (tmp_path / "relations.csv").write_text(LINKS, encoding="utf-8")
    return tmp_path


def _pool(*ids: str) -> list[Candidate]:
    return [Candidate(item_id=i, scene="arithmetic") for i in ids]


def test_links_are_read_per_item_from_the_file_or_its_folder(links):
    pre = load_prerequisites(links)
    assert pre == load_prerequisites(links / "relations.csv")
    assert pre == {"multiply": {"add"}, "divide": {"multiply", "subtract"}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("head,tail\nadd,multiply\n", "missing column(s) relation"),
        ("head,relation,tail\nadd,similar_to,multiply\n", "line 2: relation 'similar_to' is not 'prerequisite_of'"),
        ("head,relation,tail\n,prerequisite_of,multiply\n", "line 2: an empty head or tail"),
    ],
)
def test_a_bad_relations_file_is_one_clear_error(tmp_path, text, message):
    (tmp_path / "relations.csv").write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_prerequisites(tmp_path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(DatasetError, match=r"no prerequisite links at .*relations\.csv"):
        load_prerequisites(tmp_path)


def test_only_items_whose_prerequisites_are_done_come_back(links):
    gate = PrerequisiteGate(Everything(), load_prerequisites(links))
    pool = _pool("divide", "multiply", "count", "add")
    nothing_done = RerankQuery(scene="arithmetic")
    assert [s.item_id for s in gate.rerank(nothing_done, pool)] == ["count", "add"]
    # What they did elsewhere (history) counts as done ...
    did_add = RerankQuery(scene="arithmetic", history=["add"])
    assert [s.item_id for s in gate.rerank(did_add, pool)] == ["multiply", "count", "add"]
    # ... and so does what must not come back (linked here, marked seen): divide needs both multiply and subtract.
    seen = RerankQuery(scene="arithmetic", history=["add"], exclude={"multiply"})
    assert [s.item_id for s in gate.rerank(seen, pool)] == ["count", "add"]
    both = RerankQuery(scene="arithmetic", history=["subtract"], exclude={"multiply"})
    assert [s.item_id for s in gate.rerank(both, pool)] == ["divide", "count", "add"]


def test_behaviour_candidates_pass_the_same_gate(links):
    gate = PrerequisiteGate(Everything(), load_prerequisites(links))
    assert gate.candidates(RerankQuery(scene="arithmetic"), 3) == ["count"]
    assert gate.candidates(RerankQuery(scene="arithmetic", history=["add"]), 3) == ["multiply", "count"]


def test_the_gate_serves_the_scenes_and_vectors_of_what_it_wraps(links):
    gate = PrerequisiteGate(Everything(), load_prerequisites(links))
    assert gate.embedder_id == "hashing-256"
    assert served_scenes(gate) == ("arithmetic",)


def test_it_is_a_named_reranker_that_needs_its_links_and_the_store(links):
    assert "prerequisites" in RERANKERS.names()
    with pytest.raises(UsageError, match="prerequisites needs its links"):
        get_reranker("prerequisites", store=None)
    with pytest.raises(UsageError, match="needs the item store"):
        get_reranker(f"prerequisites:{links}", store=None)


def test_a_script_reranker_path_is_relative_to_the_script(links):
    script = Script.model_validate({"catalogue": ".", "turns": [{"say": "x"}], "path": links / "s.yaml",
                                    "reranker": "prerequisites:relations.csv"})  # fmt: skip
    assert script.reranker_spec() == f"prerequisites:{(links / 'relations.csv').resolve()}"
    assert Script.model_validate({"catalogue": ".", "turns": [{"say": "x"}]}).reranker_spec() is None
