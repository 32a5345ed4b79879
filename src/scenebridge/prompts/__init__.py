"""Prompt templates as package data (YAML + Jinja with StrictUndefined), versioned."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["Prompt", "load_prompt"]


@dataclass(frozen=True)
class Prompt:
    """A named, versioned set of templates."""

    name: str
    version: int
    templates: dict[str, str]

    def render(self, part: str, **values: Any) -> str:
        """Renders one template; a missing value raises instead of rendering as empty text."""
        from jinja2 import Environment, StrictUndefined

        env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        return env.from_string(self.templates[part]).render(**values).strip()


@cache
def load_prompt(name: str) -> Prompt:
    """Loads ``prompts/NAME.yaml`` from the package."""
    import yaml

    text = resources.files("scenebridge.prompts").joinpath(f"{name}.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    templates = {k: v for k, v in data.items() if isinstance(v, str) and k != "name"}
    return Prompt(name=data["name"], version=int(data["version"]), templates=templates)
