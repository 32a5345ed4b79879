"""Dialogue-state benchmark: labelled multi-turn conversations (``benchmarks/dialogues.yaml``) replayed through the
real turn, the state after each turn scored per field (scene, exclusions, constraints, linked, seen) per backend."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scenebridge.agent.result import TurnResult
from scenebridge.agent.turn import Recommender
from scenebridge.errors import UsageError

__all__ = ["CATALOGUES", "DialogueScore", "bench_dialogues", "load_dialogues", "score_turn"]

CATALOGUES = {"movies": {"comedy", "drama", "thrill"}, "shop": {"art", "office"}}
FIELDS = ("scene", "exclusions", "constraints", "linked", "seen")
_CONSTRAINTS = ("price_max", "price_min", "year_min", "year_max", "newer", "no_sequels", "cheaper")


class Expect(BaseModel):
    """The state fields one turn is scored on (absent = not scored)."""

    model_config = ConfigDict(extra="forbid")

    scene: str | None = None
    exclusions: list[str] | None = None
    constraints: dict[str, Any] | None = None
    linked: list[str | list[str]] | None = None
    seen: list[int] | None = None


class LabelledTurn(BaseModel):
    """What the person says and the state expected after it."""

    model_config = ConfigDict(extra="forbid")

    say: str = Field(min_length=1)
    expect: Expect


class Dialogue(BaseModel):
    """One labelled conversation."""

    model_config = ConfigDict(extra="forbid")

    id: str
    catalogue: str
    lang: str = "en"
    turns: list[LabelledTurn] = Field(min_length=1)


@dataclass
class DialogueScore:
    """One backend's scores over the conversations its store could run.

    Attributes:
        backend: the LLM spec (``none`` = lexical).
        conversations: conversations run; turns: turns scored.
        state_accuracy: share of turns whose every scored field is right.
        fields: per field, the share of turns scoring it that got it right.
        by_lang: state accuracy per language.
        p50_s: turn latency p50 (seconds).
        failures: the wrong (conversation, turn, field, got) rows, for reading.
    """

    backend: str
    conversations: int
    turns: int
    state_accuracy: float
    fields: dict[str, float]
    by_lang: dict[str, float]
    p50_s: float
    failures: list[dict[str, Any]] = field(default_factory=list)


def load_dialogues(path: Path) -> list[Dialogue]:
    """The labelled conversations of a YAML file.

    Raises:
        UsageError: for a missing or malformed file.
    """
    import yaml

    if not path.is_file():
        msg = f"{path} not found; pass --labels FILE"
        raise UsageError(msg)
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
        return [Dialogue.model_validate(d) for d in raw["conversations"]]
    except (yaml.YAMLError, KeyError, TypeError, ValidationError) as exc:
        msg = f"{path} is not a dialogue file: {str(exc).splitlines()[0]}"
        raise UsageError(msg) from None


def _match(a: str, b: str) -> bool:
    a, b = a.lower().strip(), b.lower().strip()
    return a in b or b in a


def _same(a: Any, b: Any) -> bool:
    """Equal, with numbers compared as numbers (20 == 20.0)."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return bool(a == b)
    return float(a) == float(b)


def score_turn(expect: Expect, result: TurnResult, shown: Sequence[Sequence[str]]) -> dict[str, tuple[bool, Any]]:
    """Each scored field of one turn: (right, what the state had).

    Args:
        expect: the labelled fields.
        result: the turn's result (its ``state``).
        shown: the item ids each earlier turn showed, turn 1 first (this one included).
    """
    state = result.state
    summary = result.summary
    out: dict[str, tuple[bool, Any]] = {}
    if expect.scene is not None:
        out["scene"] = (result.scene == expect.scene, result.scene)
    if expect.exclusions is not None:
        have = summary.exclusions
        ok = all(any(_match(e, h) for h in have) for e in expect.exclusions) and all(
            any(_match(e, h) for e in expect.exclusions) for h in have
        )
        out["exclusions"] = (ok, have)
    if expect.constraints is not None:
        c = summary.constraints
        got = {
            "price_max": c.price_max, "price_min": c.price_min, "year_min": c.year_min, "year_max": c.year_max,
            "newer": c.newer, "no_sequels": c.no_sequels, "cheaper": "cheaper" in c.other,
        }  # fmt: skip
        want = {k: expect.constraints.get(k, False if k in ("newer", "no_sequels", "cheaper") else None)
                for k in _CONSTRAINTS}  # fmt: skip
        ok = all(_same(got[k], want[k]) for k in _CONSTRAINTS)
        out["constraints"] = (ok, {k: v for k, v in got.items() if v not in (None, False)})
    if expect.linked is not None:
        linked = {x.item_id for x in result.linked}
        ok = all((set(w) if isinstance(w, list) else {w}) & linked for w in expect.linked)
        out["linked"] = (ok, sorted(linked))
    if expect.seen is not None:
        want_seen = {i for t in expect.seen for i in shown[t - 1]}
        have_seen = set(state.seen) if state is not None else set()
        out["seen"] = (have_seen == want_seen, len(have_seen))
    return out


def bench_dialogues(
    dialogues: Sequence[Dialogue],
    backends: Sequence[str],
    stores: Sequence[Path],
    make: Callable[[str, Path], Recommender],
    k: int = 10,
    log: Callable[[str], None] | None = None,
) -> list[DialogueScore]:
    """Replays each conversation on the first store that has its scenes, in a fresh session, once per backend.

    Args:
        dialogues: the labelled conversations.
        backends: LLM specs (``none`` = lexical).
        stores: item store folders (e.g. the MovieLens and the art/office stores).
        make: a recommender for a backend on a store.
        k: items per answer.
        log: progress lines.

    Raises:
        UsageError: when no conversation fits any store.
    """
    results = []
    for backend in backends:
        recs = [make(backend, path) for path in stores]
        plan: list[tuple[Recommender, Dialogue]] = []
        for d in dialogues:
            need = CATALOGUES.get(d.catalogue, {d.catalogue})
            rec = next((r for r in recs if need <= set(r.scenes)), None)
            if rec is not None:
                plan.append((rec, d))
        if not plan:
            msg = f"none of the conversations fits the stores' scenes: {[sorted(r.scenes) for r in recs]}"
            raise UsageError(msg)
        per_field: dict[str, list[bool]] = defaultdict(list)
        per_lang: dict[str, list[bool]] = defaultdict(list)
        turns_ok: list[bool] = []
        times: list[float] = []
        failures: list[dict[str, Any]] = []
        for rec, d in plan:
            sid: str | None = None
            shown: list[list[str]] = []
            for n, t in enumerate(d.turns, 1):
                start = time.perf_counter()
                result = rec.turn(t.say, session_id=sid, k=k)
                times.append(time.perf_counter() - start)
                sid = result.session_id
                shown.append([i.item_id for i in result.items])
                scores = score_turn(t.expect, result, shown)
                for name, (ok, got) in scores.items():
                    per_field[name].append(ok)
                    if not ok:
                        failures.append({"id": d.id, "turn": n, "field": name, "got": got})
                whole = all(ok for ok, _ in scores.values())
                turns_ok.append(whole)
                per_lang[d.lang].append(whole)
            if log:
                log(f"{backend}: {d.id} done")
        results.append(DialogueScore(
            backend=backend, conversations=len(plan), turns=len(turns_ok),
            state_accuracy=sum(turns_ok) / len(turns_ok),
            fields={f: sum(v) / len(v) for f in FIELDS if (v := per_field.get(f))},
            by_lang={lang: sum(v) / len(v) for lang, v in sorted(per_lang.items())},
            p50_s=statistics.median(times), failures=failures,
        ))  # fmt: skip
    return results
