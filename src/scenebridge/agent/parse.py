"""Statement -> InterestSummary: schema-constrained LLM answer, strict validation, one repair, lexical fallback."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from pydantic import ValidationError

from scenebridge.agent.fallback import lexical_parse
from scenebridge.agent.llm.base import LLM, LLMError, Message
from scenebridge.agent.summary import InterestSummary
from scenebridge.errors import UsageError
from scenebridge.prompts import load_prompt

__all__ = ["MAX_STATEMENT_CHARS", "ParseResult", "clean_statement", "parse_interests"]

MAX_STATEMENT_CHARS = 4000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class ParseResult:
    """A summary and how it was obtained."""

    summary: InterestSummary
    source: Literal["llm", "llm-repair", "fallback"]
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    prompt_version: int = 0


def clean_statement(text: object) -> str:
    """Validates and normalises a statement (NFC, no control characters).

    Raises:
        UsageError: for a non-string, an empty or whitespace-only statement, or one over 4,000 characters.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            msg = "the statement is not valid UTF-8 text"
            raise UsageError(msg) from None
    if not isinstance(text, str):
        msg = f"the statement must be text, not {type(text).__name__}"
        raise UsageError(msg)
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", text)).strip()
    if not text:
        msg = "the statement is empty; say what you did and what you are looking for"
        raise UsageError(msg)
    if len(text) > MAX_STATEMENT_CHARS:
        msg = f"the statement has {len(text):,} characters; keep it under {MAX_STATEMENT_CHARS:,}"
        raise UsageError(msg)
    return text


@cache
def _schema() -> dict[str, Any]:
    return InterestSummary.model_json_schema()


def _validate(raw: str, scenes: Sequence[str]) -> InterestSummary:
    data = json.loads(raw)
    if not isinstance(data, dict):
        msg = "the answer must be a JSON object"
        raise ValueError(msg)
    summary = InterestSummary.model_validate(data)
    by_lower = {s.lower(): s for s in scenes}
    if summary.scene is not None:
        summary.scene = by_lower.get(summary.scene.lower())  # a scene the catalogue does not have means "none"
    summary.source_scenes = [by_lower[s.lower()] for s in summary.source_scenes if s.lower() in by_lower]
    return summary


def parse_interests(
    statement: str,
    llm: LLM | None,
    scenes: Sequence[str] = (),
    scene_hints: Mapping[str, Sequence[str]] | None = None,
) -> ParseResult:
    """Parses a statement into an :class:`InterestSummary`; never fails on a misbehaving LLM.

    Args:
        statement: the user's words (English, Chinese or mixed).
        llm: the backend, or ``None`` for the lexical parser alone.
        scenes: the catalogue's scene names; the summary's scene is one of them or ``None``.
        scene_hints: other words for each scene (e.g. ``{"office": ["办公用品", "stationery"]}``).

    Raises:
        UsageError: for a bad statement (see :func:`clean_statement`).
    """
    text = clean_statement(statement)
    fallback = lexical_parse(text, scenes, scene_hints)
    prompt = load_prompt("parse_interests")
    if llm is None:
        return ParseResult(fallback, "fallback", prompt_version=prompt.version)
    hints = {s: list(w) for s, w in (scene_hints or {}).items() if s in scenes}
    messages: list[Message] = [
        {"role": "system", "content": prompt.render("system", scenes=list(scenes) or ["none"], scene_hints=hints)},
        {"role": "user", "content": prompt.render("user", statement=text)},
    ]
    errors: list[str] = []
    for attempt in (1, 2):
        try:
            raw = llm.complete(messages, schema=_schema())
        except LLMError as exc:
            errors.append(str(exc))
            break
        try:
            summary = _validate(raw, scenes)
        except (ValueError, ValidationError) as exc:
            error = str(exc).splitlines()[0][:300]
            errors.append(error)
            messages = [*messages, {"role": "assistant", "content": raw[:2000]},
                        {"role": "user", "content": prompt.render("repair", error=error)}]  # fmt: skip
            continue
        _merge_safety(summary, fallback)
        summary.language = fallback.language  # counted from the characters; small models guess it wrong
        source: Literal["llm", "llm-repair"] = "llm" if attempt == 1 else "llm-repair"
        return ParseResult(summary, source, attempt, errors, prompt.version)
    return ParseResult(fallback, "fallback", len(errors), errors, prompt.version)


def _merge_safety(summary: InterestSummary, lexical: InterestSummary) -> None:
    """Keeps what the lexical parser is sure of when the LLM dropped it: stated exclusions, a missing scene."""
    have = " ".join(summary.exclusions).lower()
    for phrase in lexical.exclusions:
        if phrase.lower() not in have and not any(e.lower() in phrase.lower() for e in summary.exclusions):
            summary.exclusions.append(phrase)
    if summary.scene is None and lexical.scene is not None:
        summary.scene = lexical.scene
    # Topics that are excluded are not interests.
    excluded = [e.lower() for e in summary.exclusions]
    summary.topics = [
        t for t in summary.topics if not any(t.name.lower() in e or e in t.name.lower() for e in excluded)
    ]
