"""The conversation script format (YAML): metadata, then turns with the user's words and what must come back."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scenebridge.errors import UsageError
from scenebridge.settings import MAX_K

__all__ = ["Expect", "Script", "SummaryExpect", "Turn", "load_script"]

MAX_SCRIPT_BYTES = 2_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _listify(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


class SummaryExpect(_Strict):
    """Expectations on the interest summary in force after the turn (case-insensitive substring matches)."""

    scene: str | None = None
    exclusions_contain: list[str] = Field(default_factory=list)
    topics_contain: list[str] = Field(default_factory=list)
    language: Literal["en", "zh"] | None = None

    _lists = field_validator("exclusions_contain", "topics_contain", mode="before")(_listify)


class Expect(_Strict):
    """What one turn must produce.

    Item patterns are an item id (``o123``) or a regular expression on the title between slashes (``/copy paper/``).

    Attributes:
        error: the turn must fail with a user error whose message contains this text.
        scene: the result's scene (every item must also be in it).
        parse_source: one or more of llm, llm-repair, fallback (a parsed statement), llm-delta, lexical-delta,
            refinement (a follow-up).
        summary: expectations on the summary.
        refinements_contain: texts each found in one of the turn's refinement lines.
        include: patterns each matched by at least one item.
        include_any: at least one of these patterns matched by some item.
        exclude: patterns no item may match.
        min_items: at least this many items.
        grounded: every explanation must pass the grounding check (default true).
        llm_calls: how many times the LLM was called during the turn.
        notes_contain: texts each found in one of the turn's notes.
        linked: patterns each matched by an item a mention was linked to.
        seen_count: how many items the session holds as seen after the turn.
        seen_previous: every item the previous turn of the session showed is now seen, and none of them comes back
            (whatever a real model's reading of that turn showed).
        prerequisites_done: every item's prerequisites (the script's ``prerequisites`` links) are among what the
            person did: the items their mentions were linked to, the items the session holds as seen, their profile.
        unlocked: some item has a prerequisite among the items the previous turn showed (done since: the answer
            moves on to what they opened).
    """

    error: str | None = None
    scene: str | None = None
    parse_source: list[str] = Field(default_factory=list)
    summary: SummaryExpect | None = None
    refinements_contain: list[str] = Field(default_factory=list)
    include: list[str] = Field(default_factory=list)
    include_any: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    min_items: int = Field(1, ge=0)
    grounded: bool = True
    llm_calls: int | None = Field(None, ge=0)
    notes_contain: list[str] = Field(default_factory=list)
    linked: list[str] = Field(default_factory=list)
    seen_count: int | None = Field(None, ge=0)
    seen_previous: bool = False
    prerequisites_done: bool = False
    unlocked: bool = False

    _lists = field_validator(
        "parse_source",
        "refinements_contain",
        "include",
        "include_any",
        "exclude",
        "notes_contain",
        "linked",
        mode="before",
    )(_listify)

    @field_validator("include", "include_any", "exclude", "linked")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        import re

        for p in v:
            if len(p) > 1 and p.startswith("/") and p.endswith("/"):
                try:
                    re.compile(p[1:-1])
                except re.error as exc:
                    msg = f"bad regular expression {p}: {exc}"
                    raise ValueError(msg) from None
        return v


class Turn(_Strict):
    """One turn: the user's words (``say``) or a direct tool call (``tool`` + ``args``), and expectations.

    Attributes:
        say: what the person says.
        tool: a tool to call instead (parse_interests, search_items, rerank, explain, record_feedback, recommend).
        args: the tool's arguments.
        scene: recommend in this scene (otherwise the statement's, then the session's, then the script's).
        user: the user for this turn (default: the script's).
        new_session: start a new session with this turn.
        llm_reply: for the fake LLM, what it answers to this turn: a JSON object (the parse answer), raw text (for
            broken answers), or a list of either (one per LLM call). Ignored with a real LLM.
        expect: what must come back.
    """

    say: str | None = None
    tool: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    scene: str | None = None
    user: str | None = None
    new_session: bool = False
    llm_reply: dict[str, Any] | str | list[dict[str, Any] | str] | None = None
    expect: Expect = Field(default_factory=Expect)

    @model_validator(mode="after")
    def _one_kind(self) -> Turn:
        if (self.say is None) == (self.tool is None):
            msg = "a turn needs exactly one of 'say' (the user's words) or 'tool' (a tool call)"
            raise ValueError(msg)
        return self


class Script(_Strict):
    """A scripted conversation.

    Attributes:
        name: a short name (default: the file's stem).
        description: what it shows.
        catalogue: a canonical dataset folder (its items.csv) or an items CSV, relative to the script file.
        embedder: the embedder to index the catalogue with (``use-multilingual`` or ``hashing[:DIM]``).
        llm: ``fake`` (scripted replies, deterministic), ``none`` (lexical parser) or a real backend spec.
        explain: template or llm wording of explanations.
        user: the default user id (None = anonymous).
        scene: the default scene.
        k: items per answer.
        profiles: users' histories to load first, user id -> item ids (the cross-scene profile).
        reranker: a named reranker ``NAME[:ARG]`` (``scenebridge plugins``), an ARG path relative to the script file;
            None: the content reranker.
        prerequisites: a relations.csv (``head,prerequisite_of,tail``; relative to the script file) that the
            ``prerequisites_done`` expectation checks the answers against.
        turns: the conversation.
    """

    name: str = ""
    description: str = ""
    catalogue: str
    embedder: str = "use-multilingual"
    llm: str = "fake"
    explain: Literal["template", "llm"] = "template"
    user: str | None = None
    scene: str | None = None
    k: int = Field(10, ge=1, le=MAX_K)
    profiles: dict[str, list[str]] = Field(default_factory=dict)
    reranker: str | None = None
    prerequisites: str | None = None
    turns: list[Turn] = Field(min_length=1)
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _links_for_the_check(self) -> Script:
        if self.prerequisites is None and any(t.expect.prerequisites_done or t.expect.unlocked for t in self.turns):
            msg = "prerequisites_done and unlocked need the script's 'prerequisites' (a relations.csv) to check against"
            raise ValueError(msg)
        return self

    def prerequisites_path(self) -> Path | None:
        """The prerequisite links for the check, resolved against the script's folder."""
        if self.prerequisites is None:
            return None
        base = self.path.parent if self.path is not None else Path.cwd()
        return (base / self.prerequisites).resolve()

    def catalogue_path(self) -> Path:
        """The catalogue, resolved against the script's folder."""
        base = self.path.parent if self.path is not None else Path.cwd()
        return (base / self.catalogue).resolve()

    def reranker_spec(self) -> str | None:
        """The reranker spec with a relative ARG path resolved against the script's folder (``prerequisites:x.csv``)."""
        if self.reranker is None:
            return None
        name, sep, arg = self.reranker.partition(":")
        base = self.path.parent if self.path is not None else Path.cwd()
        return f"{name}:{(base / arg).resolve()}" if sep and arg and (base / arg).exists() else self.reranker


def load_script(path: str | Path) -> Script:
    """Reads and validates a script file.

    Raises:
        UsageError: one line naming the file and every problem (``FILE: turns.2.expect.scene: ...``).
    """
    p = Path(path)
    if not p.is_file():
        msg = f"{p}: no such script file"
        raise UsageError(msg)
    try:
        raw = p.read_bytes()
        if len(raw) > MAX_SCRIPT_BYTES:
            msg = f"{p}: the script is over {MAX_SCRIPT_BYTES:,} bytes"
            raise UsageError(msg)
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        msg = f"{p}: not UTF-8 text"
        raise UsageError(msg) from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        msg = f"{p}:{line} not valid YAML ({getattr(exc, 'problem', None) or type(exc).__name__})"
        raise UsageError(msg) from None
    if not isinstance(data, dict):
        msg = f"{p}: a script is a YAML mapping with 'catalogue' and 'turns'"
        raise UsageError(msg)
    try:
        script = Script.model_validate({**data, "path": p})
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'script'}: {e['msg']}" for e in exc.errors())
        msg = f"{p}: {details}"
        raise UsageError(msg) from None
    if not script.name:
        script.name = p.stem
    return script
