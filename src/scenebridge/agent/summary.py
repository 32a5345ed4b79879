"""The typed interest summary an LLM (or the lexical fallback) produces from a free-form statement."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ACTIONS", "INTENTS", "Constraints", "InterestSummary", "Mention", "SceneContext", "Topic"]

INTENTS = ("discover", "buy", "compare", "replace", "gift", "learn", "other")
ACTIONS = ("bought", "watched", "own", "liked", "disliked", "visited", "studied", "used", "other")


def _clamp(value: Any, lo: float, hi: float, default: float) -> float:
    """Out-of-range numbers are clamped, not rejected: grammar-constrained decoding does not enforce min/max."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    if math.isnan(number):
        return default
    return min(hi, max(lo, number))


class Topic(BaseModel):
    """One interest, with how strongly the statement expresses it."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=80, description="A short interest, e.g. 'watercolor paint'.")
    weight: float = Field(1.0, description="0..1, how central this interest is.")

    @field_validator("name", mode="before")
    @classmethod
    def _strip(cls, v: Any) -> Any:
        return v.strip() if isinstance(v, str) else v

    @field_validator("weight", mode="before")
    @classmethod
    def _clamp_weight(cls, v: Any) -> float:
        return _clamp(v, 0.0, 1.0, 1.0)


class Constraints(BaseModel):
    """Hard wishes that filter or steer results."""

    model_config = ConfigDict(extra="ignore")

    price_max: float | None = Field(None, description="Upper price limit, if stated.")
    price_min: float | None = Field(None, description="Lower price limit, if stated.")
    level: str | None = Field(None, description="Skill level or quality tier, e.g. 'beginner', 'professional'.")
    year_min: int | None = Field(None, description="Earliest year wanted ('after 2000' -> 2001).")
    year_max: int | None = Field(None, description="Latest year wanted ('before 1990' -> 1989).")
    newer: bool = Field(False, description="'newer', 'more recent': newer than what was mentioned or shown.")
    no_sequels: bool = Field(False, description="'no sequels': no 'Part II', '2', '3' titles.")
    brand: str | None = Field(None, description="A brand the person asks for.")
    other: list[str] = Field(default_factory=list, description="Any other stated constraint, short phrases.")

    @field_validator("year_min", "year_max", mode="before")
    @classmethod
    def _year(cls, v: Any) -> int | None:
        if v is None or v == "":
            return None
        return int(_clamp(v, 0, 3000, 0)) or None

    @field_validator("price_max", "price_min", mode="before")
    @classmethod
    def _non_negative(cls, v: Any) -> float | None:
        if v is None or v == "":
            return None
        return _clamp(v, 0.0, 1e9, 0.0)


class Mention(BaseModel):
    """Something the person says they did: bought, watched, own, liked, disliked, visited, studied or used.

    Attributes:
        text: the thing as they said it ("Alien", "watercolor paints", "数据分析课程").
        action: what they did with it.
        scene: the catalogue scene it belongs to, when the statement says (or the parser can tell).
        context: where it happened, as said ("PC", "WeChat", "laptop"), if said.
    """

    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1, max_length=120)
    action: Literal["bought", "watched", "own", "liked", "disliked", "visited", "studied", "used", "other"] = "other"
    scene: str | None = None
    context: str | None = None

    @field_validator("text", mode="before")
    @classmethod
    def _strip_text(cls, v: Any) -> Any:
        return v.strip()[:120] if isinstance(v, str) else v

    @field_validator("action", mode="before")
    @classmethod
    def _known_action(cls, v: Any) -> str:
        return v if v in ACTIONS else "other"


class SceneContext(BaseModel):
    """Where the person was and is now (device, platform or app): "PC -> phone", "WeChat -> Weibo"."""

    model_config = ConfigDict(extra="ignore")

    before: str | None = None
    now: str | None = None


class InterestSummary(BaseModel):
    """What a person said they did and want, as typed data.

    Attributes:
        topics: weighted interests, most important first.
        scene: the scene they want recommendations in now (a scene name of the catalogue), if stated.
        source_scenes: scenes they mention having been active in.
        intent: what they want to do.
        exclusions: things they explicitly do not want.
        constraints: price, level, year, sequels and other hard wishes.
        language: language of the statement.
        mentioned: what they say they did (bought, watched, liked ...), to be linked to catalogue items.
        context: the device, platform or app before and now.
    """

    model_config = ConfigDict(extra="ignore")

    topics: list[Topic] = Field(default_factory=list, max_length=12)
    scene: str | None = None
    source_scenes: list[str] = Field(default_factory=list)
    intent: Literal["discover", "buy", "compare", "replace", "gift", "learn", "other"] = "discover"
    exclusions: list[str] = Field(default_factory=list, max_length=12)
    constraints: Constraints = Field(default_factory=lambda: Constraints())
    language: Literal["en", "zh", "mixed", "other"] = "en"
    mentioned: list[Mention] = Field(default_factory=list, max_length=12)
    context: SceneContext = Field(default_factory=lambda: SceneContext())

    @field_validator("mentioned", mode="before")
    @classmethod
    def _mentions(cls, v: Any) -> Any:
        if isinstance(v, list):
            out = [{"text": m} if isinstance(m, str) else m for m in v]
            return [m for m in out if not isinstance(m, dict) or str(m.get("text", "")).strip()][:12]
        return v

    @field_validator("intent", mode="before")
    @classmethod
    def _known_intent(cls, v: Any) -> str:
        return v if v in INTENTS else "other"

    @field_validator("exclusions", "source_scenes", mode="before")
    @classmethod
    def _clean_list(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list):
            return [s.strip() for s in v if isinstance(s, str) and s.strip()][:12]
        return v

    @field_validator("topics", mode="before")
    @classmethod
    def _topics(cls, v: Any) -> Any:
        if isinstance(v, list):
            # Accept bare strings from weaker models; drop empty names instead of failing the whole summary.
            out = [{"name": t} if isinstance(t, str) else t for t in v]
            return [t for t in out if not isinstance(t, dict) or str(t.get("name", "")).strip()][:12]
        return v

    @field_validator("scene", mode="before")
    @classmethod
    def _empty_scene(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v

    def text(self) -> str:
        """A short text for embedding: the topics, strongest first."""
        return ", ".join(t.name for t in sorted(self.topics, key=lambda t: -t.weight))

    def interest_texts(self) -> list[str]:
        """What a session's first turn embeds in one call for this summary: :meth:`text`, then each topic, strongest
        first (none without topics: the interest is then made of the scene's words)."""
        names = [t.name for t in sorted(self.topics, key=lambda t: -t.weight)]
        return [", ".join(names), *names] if names else []
