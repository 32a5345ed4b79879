"""Prompt templates and the agent's wording as package data (YAML + Jinja with StrictUndefined), versioned."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from jinja2 import Template

__all__ = ["Prompt", "Wording", "load_prompt", "load_wording"]


@dataclass(frozen=True)
class Prompt:
    """A named, versioned set of templates."""

    name: str
    version: int
    templates: dict[str, str]

    def render(self, part: str, **values: Any) -> str:
        """Renders one template; a missing value raises instead of rendering as empty text."""
        return _compiled(self.templates[part]).render(**values).strip()


@cache
def _compiled(source: str) -> Template:
    """A template compiled once (the turn renders a few dozen phrases; compiling each time would cost ~1 ms each)."""
    from jinja2 import Environment, StrictUndefined

    env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters["repr"] = repr  # notes quote a phrase as Python does ('x', or "it's")
    return env.from_string(source)


def _read(name: str) -> dict[str, Any]:
    import yaml

    text = resources.files("scenebridge.prompts").joinpath(f"{name}.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


@cache
def load_prompt(name: str) -> Prompt:
    """Loads ``prompts/NAME.yaml`` from the package."""
    data = _read(name)
    templates = {k: v for k, v in data.items() if isinstance(v, str) and k != "name"}
    return Prompt(name=data["name"], version=int(data["version"]), templates=templates)


class ReplyTexts(TypedDict):
    """The reply's parts in one language: no items, the head line, one line per item."""

    empty: str
    head: str
    item: str


@dataclass(frozen=True)
class Wording:
    """``prompts/wording.yaml``: every sentence the agent says (evidence, explanations, reply, notes, refinements).

    Attributes:
        version: bumped on every change of wording.
        evidence: per language (``en``, ``zh``), a phrase per evidence kind (``KIND.occlusion`` where a trained
            model's reason is worded differently).
        explanation: per language, the template sentence of one item.
        reply: per language, the reply's parts.
        refinements: what a turn changed in the session, by key.
        notes: what the person should know, by key.
    """

    version: int
    evidence: dict[str, dict[str, str]]
    explanation: dict[str, str]
    reply: dict[str, ReplyTexts]
    refinements: dict[str, str]
    notes: dict[str, str]

    @staticmethod
    def render(template: str, **values: Any) -> str:
        """Renders one of the templates above (not stripped: a title's own spacing is kept)."""
        return _compiled(template).render(**values)


@cache
def load_wording() -> Wording:
    """Loads ``prompts/wording.yaml``, checking that every section is there."""
    data = _read("wording")
    sections = ("evidence", "explanation", "reply", "refinements", "notes")
    missing = [s for s in sections if not isinstance(data.get(s), dict)]
    if missing:
        msg = f"prompts/wording.yaml lacks the section(s) {', '.join(missing)}"
        raise ValueError(msg)
    return Wording(version=int(data["version"]), **{s: data[s] for s in sections})
