"""Conversation benchmark: simulated people from a dataset talk to the recommender through its public API.

Each person is one valid or test user of the cold-start split with their visible source-scene history and one
hidden target-scene item (:mod:`scenebridge.bench.person`). They open with a statement about 2-4 of their source
items and the target scene, with no user id, then critique each answer toward the target for up to ``turns`` turns,
stopping at the first answer whose top ``k`` holds it. Reported: hit rate by turn, mean turns to hit, link precision
(linked items that are the person's own source items or near-duplicates of them), the same messages replayed
statelessly (each a fresh session) and the target scene's most popular items as baselines, and the first turn's
NDCG@10 against all the user's hidden target items beside a reference method (the ``fusion-statement`` row of
``evaluate``) on the same users.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from scenebridge.bench.conversation_measures import OwnItems, Reference, ndcg_at, popular, reference_ndcg
from scenebridge.bench.person import Catalogue, Person
from scenebridge.data.split import CrossSceneSplit, cold_start_split
from scenebridge.errors import UsageError

if TYPE_CHECKING:
    from scenebridge.agent.turn import Recommender, TurnResult
    from scenebridge.data.format import Dataset

__all__ = ["ConversationBench", "bench_conversation", "check_options", "draw_people"]

LANGUAGES = ("en", "zh", "mixed")


@dataclass
class ConversationBench:
    """The figures of one run (rates are shares of the people; turns count from 1)."""

    backend: str
    source: str
    target: str
    users: str
    people: int
    n_en: int
    n_zh: int
    turns: int
    k: int
    hit_by_turn: list[float]
    replay_hit_by_turn: list[float]
    popularity_hit: float
    mean_turns_to_hit: float | None
    replay_mean_turns_to_hit: float | None
    ratio: float | None
    linked: int
    linked_own: int
    link_precision: float | None
    mention_recall: float
    first_turn_ndcg: float
    reference: str | None
    reference_ndcg: float | None
    references: dict[str, float]
    popularity_ndcg: float
    first_turn_scene_accuracy: float
    scene_told: int
    replay_scene_told: int
    refused: int
    replay_first_differs: int
    turn_ms_p50: float
    turn_ms_p95: float
    wall_s: float
    notes: list[str] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)


def bench_conversation(
    ds: Dataset,
    rec: Recommender,
    source: str,
    target: str,
    *,
    backend: str = "none",
    people: int = 300,
    turns: int = 5,
    lang: str = "mixed",
    seed: int = 0,
    users: str = "test",
    k: int = 10,
    references: Sequence[Reference] = (),
    log: Callable[[str], None] = lambda m: None,
) -> ConversationBench:
    """Runs the simulated conversations, their stateless replay and the baselines.

    Args:
        ds: the dataset the store was indexed from.
        rec: the recommender under test (used only through ``turn``).
        source: the scene whose history people speak of.
        target: the scene they want items in.
        backend: the LLM spec, for the report.
        people: how many people (at most the eligible users of the split).
        turns: turns per conversation at most.
        lang: ``en``, ``zh`` or ``mixed`` (every second person speaks Chinese).
        seed: the people, their targets and their wording.
        users: ``test`` (reported numbers) or ``valid`` (for choosing settings).
        k: the answer size and the hit depth.
        references: methods to score the first turn's NDCG against on the same users (every one that fits S -> T;
            the first is ``reference``).
        log: progress lines.

    Raises:
        UsageError: for a bad language, user split, turn count or people count, or a split with too few users.
    """
    check_options(lang, users, turns, people)
    start = time.perf_counter()
    split, catalogue, drawn = draw_people(ds, source, target, users=users, people=people, lang=lang, seed=seed)
    truth = split.test_truth if users == "test" else split.valid_truth
    chosen = [p.user_id for p in drawn]
    top = popular(split, k)
    convs: list[dict[str, Any]] = []
    for n, person in enumerate(drawn):
        conv = _converse(rec, person, turns, k, truth[person.user_id], catalogue)
        conv["popularity_hit"] = bool(catalogue.same_title(person.target).intersection(top))
        convs.append(conv)
        ms = conv["turn_ms"]
        log(f"{n + 1}/{len(drawn)} {person.language} {person.user_id}: hit at turn {conv['hit_turn']}, replay "
            f"{conv['replay_hit_turn']}; {len(ms)} turns, mean {np.mean(ms) if ms else 0:.0f} ms")  # fmt: skip
    return _summarise(convs, split, chosen, truth, references, backend, users, turns, k, start)


def draw_people(
    ds: Dataset, source: str, target: str, *, users: str = "test", people: int = 300, lang: str = "mixed", seed: int = 0
) -> tuple[CrossSceneSplit, Catalogue, list[Person]]:
    """The simulated people of a run: the split, the catalogue's word statistics and the people, by user id.

    Raises:
        UsageError: when no user of the split has two visible source items to speak of.
    """
    split = cold_start_split(ds, source, target, seed=0)
    truth = split.test_truth if users == "test" else split.valid_truth
    pool = split.test_users if users == "test" else split.valid_users
    catalogue = Catalogue(ds.items)
    eligible = [u for u in pool if len({catalogue.words(i).phrase for i in split.history(u) if i in catalogue}) >= 2]
    if not eligible:
        msg = f"no {users} user has two or more visible {source!r} items to speak of"
        raise UsageError(msg)
    order = list(eligible)
    random.Random(seed).shuffle(order)  # a smaller run's people are the first of a larger one's (same seed)
    drawn = []
    for n, user in enumerate(sorted(order[:people])):
        prng = random.Random(f"{seed}:{user}")
        language = lang if lang != "mixed" else ("en", "zh")[n % 2]
        drawn.append(Person(user, split.history(user), prng.choice(sorted(truth[user])), source, target, language,
                            catalogue, prng))  # fmt: skip
    return split, catalogue, drawn


def check_options(lang: str, users: str, turns: int, people: int) -> None:
    """Fails early on a bad option (before any data or model is loaded).

    Raises:
        UsageError: naming the option and its valid values.
    """
    if lang not in LANGUAGES:
        msg = f"--lang must be one of {', '.join(LANGUAGES)}, not {lang!r}"
        raise UsageError(msg)
    if users not in ("test", "valid"):
        msg = f"--users must be test or valid, not {users!r}"
        raise UsageError(msg)
    if not 1 <= turns <= 10:
        msg = f"--turns must be between 1 and 10, got {turns}"
        raise UsageError(msg)
    if people < 1:
        msg = f"--people must be at least 1, got {people}"
        raise UsageError(msg)


def _ask(
    rec: Recommender, text: str, session_id: str | None, scene: str, k: int, errors: list[str]
) -> tuple[TurnResult | None, bool]:
    """One turn; when the agent cannot tell the scene, the person says it (as a chat client's scene picker would).
    Any other refusal of a message is the agent's failure: it is kept in ``errors`` and the answer is empty."""
    told = False
    try:
        try:
            return rec.turn(text, session_id=session_id, k=k), told
        except UsageError as exc:
            if "which scene" not in str(exc):
                raise
            told = True
            return rec.turn(text, scene=scene, session_id=session_id, k=k), told
    except UsageError as exc:
        errors.append(f"{text!r}: {exc}")
        return None, told


def _converse(
    rec: Recommender, person: Person, turns: int, k: int, truth: set[str], catalogue: Catalogue
) -> dict[str, Any]:
    """One conversation in one session, then its messages replayed one fresh session each."""
    messages = [person.opening()]
    goal = catalogue.same_title(person.target)  # the target, or its twin under another id: the same thing shown
    shown: list[list[str]] = []
    linked: dict[str, dict[str, Any]] = {}
    told, times, hit_turn, session, first_scene = 0, [], None, None, None
    errors: list[str] = []
    for turn in range(1, turns + 1):
        if turn > 1:
            messages.append(person.critique(turn, shown[-1]))
        res, said = _ask(rec, messages[-1], session, person.scene, k, errors)
        told += said
        shown.append([i.item_id for i in res.items] if res else [])
        if res is None:
            continue
        session = res.session_id
        times.append(res.timings_ms.get("total", 0.0))
        if turn == 1:
            first_scene = res.scene
        for link in res.linked:
            linked.setdefault(link.item_id, {**link.model_dump(mode="json"), "turn": turn})
        if goal.intersection(shown[-1][:k]):
            hit_turn = turn
            break
    replay: list[list[str]] = []
    replay_told = 0
    replay_errors: list[str] = []
    for text in messages:
        again, said = _ask(rec, text, None, person.scene, k, replay_errors)
        replay_told += said
        replay.append([i.item_id for i in again.items] if again else [])
    replay_hit = next((t for t, items in enumerate(replay, 1) if goal.intersection(items[:k])), None)
    own = OwnItems(person.history, catalogue)
    for item in linked.values():
        item["own"] = own.holds(item["item_id"])
    found = {m for m in person.mentioned if any(own.same(m, i) for i in linked)}
    return {"user_id": person.user_id, "target": person.target, "target_title": person.goal.title,
            "language": person.language, "mentioned": person.mentioned, "messages": messages, "shown": shown,
            "hit_turn": hit_turn, "replay": replay, "replay_hit_turn": replay_hit, "linked": list(linked.values()),
            "mentions_linked": len(found), "scene_told": told, "replay_scene_told": replay_told,
            "errors": errors, "replay_errors": replay_errors, "first_scene": first_scene, "truth": sorted(truth),
            "first_ndcg": ndcg_at(shown[0], truth, 10),
            "turn_ms": times, "replay_first_differs": replay[0] != shown[0]}  # fmt: skip


def _summarise(
    convs: list[dict[str, Any]], split: CrossSceneSplit, users: list[str], truth: dict[str, set[str]],
    refs: Sequence[Reference], backend: str, which: str, turns: int, k: int, start: float,
) -> ConversationBench:  # fmt: skip
    n = len(convs)
    hits = [c["hit_turn"] for c in convs]
    replay = [c["replay_hit_turn"] for c in convs]
    by_turn = [sum(h is not None and h <= t for h in hits) / n for t in range(1, turns + 1)]
    replay_by_turn = [sum(h is not None and h <= t for h in replay) / n for t in range(1, turns + 1)]
    links = [item for c in convs for item in c["linked"]]
    own = sum(item["own"] for item in links)
    mentioned = sum(len(c["mentioned"]) for c in convs)
    times = [ms for c in convs for ms in c["turn_ms"]]
    notes: list[str] = []
    scored = reference_ndcg(refs, split, users, truth, 10, notes)  # NDCG@10 whatever k the hits use
    name = next(iter(scored), None)
    if not links:
        notes.append("no item was linked in any turn: link precision is undefined")
    refused = [e for c in convs for e in (*c["errors"], *c["replay_errors"])]
    if refused:  # the agent refused a message a person may say: an agent bug, counted as an empty answer
        notes.append(f"{len(refused)} turn(s) refused, answered as empty; first: {refused[0]}")
    return ConversationBench(
        backend=backend, source=split.source, target=split.target, users=which, people=n,
        n_en=sum(c["language"] == "en" for c in convs), n_zh=sum(c["language"] == "zh" for c in convs),
        turns=turns, k=k, hit_by_turn=by_turn, replay_hit_by_turn=replay_by_turn,
        popularity_hit=sum(c["popularity_hit"] for c in convs) / n,
        mean_turns_to_hit=_mean([h for h in hits if h is not None]),
        replay_mean_turns_to_hit=_mean([h for h in replay if h is not None]),
        ratio=by_turn[-1] / replay_by_turn[-1] if replay_by_turn[-1] else None,
        linked=len(links), linked_own=own, link_precision=own / len(links) if links else None,
        mention_recall=sum(c["mentions_linked"] for c in convs) / mentioned if mentioned else 0.0,
        first_turn_ndcg=float(np.mean([c["first_ndcg"] for c in convs])), reference=name,
        reference_ndcg=scored[name] if name else None, references=scored,
        popularity_ndcg=float(np.mean([ndcg_at(popular(split, 10), truth[c["user_id"]], 10) for c in convs])),
        first_turn_scene_accuracy=sum(c["first_scene"] == split.target for c in convs) / n,
        refused=len(refused), scene_told=sum(c["scene_told"] for c in convs),
        replay_scene_told=sum(c["replay_scene_told"] for c in convs),
        replay_first_differs=sum(c["replay_first_differs"] for c in convs),
        turn_ms_p50=round(float(np.percentile(times, 50)), 1) if times else 0.0,
        turn_ms_p95=round(float(np.percentile(times, 95)), 1) if times else 0.0,
        wall_s=round(time.perf_counter() - start, 1), notes=notes, conversations=convs,
    )  # fmt: skip


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None
