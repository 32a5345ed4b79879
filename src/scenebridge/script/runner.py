"""Replays conversation scripts against the real turn (fake LLM by default, or a real backend)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from scenebridge.agent.summary import InterestSummary
from scenebridge.agent.turn import Recommender, TurnResult
from scenebridge.build import build_llm, build_recommender
from scenebridge.errors import ScenebridgeError
from scenebridge.llm import ScriptedLLM
from scenebridge.rerank.prerequisites import load_prerequisites
from scenebridge.rerank.registry import get_reranker
from scenebridge.script.catalogue import open_catalogue
from scenebridge.script.checks import Failure, Known, Outcome, check_outcome
from scenebridge.script.model import Script, Turn, load_script
from scenebridge.settings import LLMSettings, Settings, table
from scenebridge.store.profiles import ProfileStore
from scenebridge.tools import Toolkit

if TYPE_CHECKING:
    from scenebridge.llm.protocol import LLM, Message
    from scenebridge.script.catalogue import Catalogue

__all__ = ["CountingLLM", "ScriptReport", "ScriptRunner", "assert_script", "run_script", "run_scripts"]


class CountingLLM:
    """Counts calls to any LLM (the ``llm_calls`` expectation)."""

    def __init__(self, inner: LLM) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = 0

    def complete(self, messages: list[Message], schema: dict[str, Any] | None = None, max_tokens: int = 512) -> str:
        self.calls += 1
        return self.inner.complete(messages, schema=schema, max_tokens=max_tokens)


class ScriptReport(BaseModel):
    """How one script went."""

    path: str
    name: str
    llm: str
    turns: int
    failures: list[Failure] = Field(default_factory=list)
    seconds: float = 0.0
    transcript: list[str] = Field(default_factory=list, description="What each turn gave, for writing scripts.")

    @property
    def ok(self) -> bool:
        """True when every turn met its expectations."""
        return not self.failures

    def format(self) -> str:
        """``PASS path (N turns, llm, s)`` or ``FAIL path`` followed by one indented line per failure."""
        head = f"{'PASS' if self.ok else 'FAIL'} {self.path} [{self.name}] ({self.turns} turns, llm {self.llm}, " \
               f"{self.seconds:.1f} s)"  # fmt: skip
        return "\n".join([head, *(f"  {f.line()}" for f in self.failures)])


class ScriptRunner:
    """Runs scripts, reusing indexed catalogues and loaded LLMs across them; each script gets a recommender of its
    own (its LLM, explanation mode, k, fresh sessions and profiles) from :func:`scenebridge.build.build_recommender`.

    Args:
        llm: a backend spec that overrides every script's ``llm`` (``fake``, ``none``, a model name, path or URL).
        embedder: an embedder spec that overrides every script's ``embedder``.
    """

    def __init__(self, llm: str | None = None, embedder: str | None = None) -> None:
        self.llm_override = llm
        self.embedder_override = embedder
        self._catalogues: dict[tuple[Path, str], Catalogue] = {}
        self._llms: dict[str, LLM | None] = {}

    def _catalogue(self, script: Script) -> Catalogue:
        key = (script.catalogue_path(), self.embedder_override or script.embedder)
        if key not in self._catalogues:
            self._catalogues[key] = open_catalogue(*key)
        return self._catalogues[key]

    def _recommender(self, script: Script, cat: Catalogue, llm: LLM | None) -> Recommender:
        """A recommender for one script: its LLM, explanation mode and k, fresh sessions, a fresh in-memory profile
        store with the script's histories, and the script's reranker (the content reranker by default)."""
        profiles = ProfileStore(":memory:")
        for user, history in script.profiles.items():
            profiles.record_many(user, [(i, cat.items[i][0]) for i in history if i in cat.items], "history")
        settings = Settings.load(agent={"explain": script.explain, "k": script.k})
        spec = script.reranker_spec()
        reranker = get_reranker(spec, store=cat.store) if spec is not None else None
        return build_recommender(settings=settings, store=cat.store, llm=llm, reranker=reranker, profiles=profiles,
                                 sessions=None)  # fmt: skip

    def _llm(self, spec: str) -> LLM | None:

        if spec not in self._llms:
            if spec == "fake":
                self._llms[spec] = ScriptedLLM()
            elif spec == "none":
                self._llms[spec] = None
            else:
                self._llms[spec] = build_llm(settings=table(LLMSettings, spec=spec))
        return self._llms[spec]

    def run(self, script: Script) -> ScriptReport:
        """Replays one script in fresh sessions and a fresh in-memory profile store."""

        start = time.perf_counter()
        spec = self.llm_override or script.llm
        cat = self._catalogue(script)
        inner = self._llm(spec)
        counter = CountingLLM(inner) if inner is not None else None
        rec = self._recommender(script, cat, counter)
        links = script.prerequisites_path()
        prerequisites = load_prerequisites(links) if links is not None else {}
        failures: list[Failure] = []
        transcript: list[str] = []
        session: str | None = None
        previous: list[str] = []
        for n, turn in enumerate(script.turns, start=1):
            if turn.new_session:
                session, previous = None, []
            if isinstance(inner, ScriptedLLM):
                inner.responses = _replies(turn)
            before = counter.calls if counter is not None else 0
            out = self._play(rec, turn, script, session)
            out.llm_calls = (counter.calls if counter is not None else 0) - before
            if out.result is not None:
                session = out.result.session_id
            said = turn.say if turn.say is not None else f"tool {turn.tool}"
            user = turn.user or script.user
            known = Known(previous, script.profiles.get(user, []) if user else [], prerequisites)
            failures += check_outcome(n, said, turn.expect, out, cat.items, known)
            if out.result is not None:
                previous = [str(i.get("item_id")) for i in out.items or []]
            transcript.append(_transcript(n, said, out))
        name = script.path.as_posix() if script.path is not None else script.name
        return ScriptReport(path=name, name=script.name, llm=spec, turns=len(script.turns), failures=failures,
                            seconds=round(time.perf_counter() - start, 3), transcript=transcript)  # fmt: skip

    def _play(self, rec: Recommender, turn: Turn, script: Script, session: str | None) -> Outcome:
        user = turn.user or script.user
        scene = turn.scene or (script.scene if session is None else None)
        try:
            if turn.say is not None:
                return Outcome.of_turn(rec.turn(turn.say, user_id=user, scene=scene, session_id=session))
            return _tool_outcome(rec, turn)
        except ScenebridgeError as exc:
            return Outcome(error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        except Exception as exc:  # a bug in the turn: a failure of this turn, not the end of the run
            return Outcome(error=f"{type(exc).__name__}: {str(exc)[:200]}", crashed=True)

    def close(self) -> None:
        """Removes the temporary stores."""
        for cat in self._catalogues.values():
            cat.folder.cleanup()
        self._catalogues.clear()


def _transcript(n: int, said: str, out: Outcome) -> str:
    if out.error is not None:
        return f"turn {n} {said!r} -> error: {out.error}"
    lines = [f"turn {n} {said!r} -> scene {out.scene}, parse {out.parse_source}, llm calls {out.llm_calls}"]
    if out.summary is not None:
        topics = [t.name for t in out.summary.topics]
        lines.append(f"  summary: topics {topics} exclusions {out.summary.exclusions} scene {out.summary.scene}")
    lines += [f"  refinement: {r}" for r in out.refinements]
    lines += [f"  note: {r}" for r in out.notes]
    lines += [f"  {n}. {i.get('item_id')} {str(i.get('title', ''))[:90]}" for n, i in enumerate(out.items or [], 1)]
    return "\n".join(lines)


def _replies(turn: Turn) -> list[str | Exception]:
    reply = turn.llm_reply
    if reply is None:
        return []
    replies = reply if isinstance(reply, list) else [reply]
    return [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in replies]


def _tool_outcome(rec: Recommender, turn: Turn) -> Outcome:

    answer = Toolkit(rec).call(str(turn.tool), turn.args)
    if "error" in answer:
        err = answer["error"]
        return Outcome(error=f"{err.get('type')}: {err.get('message')}")
    if turn.tool == "recommend":
        return Outcome.of_turn(TurnResult.model_validate(answer))
    summary = InterestSummary.model_validate(answer["summary"]) if "summary" in answer else None
    items = answer.get("items")
    scene = turn.args.get("scene") if isinstance(turn.args.get("scene"), str) else None
    return Outcome(items=items, summary=summary, parse_source=answer.get("source"), scene=scene)


def run_script(path: str | Path, llm: str | None = None, embedder: str | None = None) -> ScriptReport:
    """Loads and replays one script (for pytest: ``assert run_script(p).ok, run_script(p).format()``)."""
    runner = ScriptRunner(llm, embedder)
    try:
        return runner.run(load_script(path))
    finally:
        runner.close()


def assert_script(path: str | Path, llm: str | None = None, embedder: str | None = None) -> ScriptReport:
    """Replays a script and raises ``AssertionError`` with the failure lines when any expectation is unmet."""
    report = run_script(path, llm, embedder)
    if not report.ok:
        raise AssertionError(report.format())
    return report


def run_scripts(paths: Sequence[str | Path], llm: str | None = None, embedder: str | None = None) -> list[ScriptReport]:
    """Validates every script first (a bad file raises before anything runs), then replays them in order."""
    scripts = [load_script(p) for p in paths]
    runner = ScriptRunner(llm, embedder)
    try:
        return [runner.run(s) for s in scripts]
    finally:
        runner.close()
