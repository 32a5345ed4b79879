"""The dialogue state of one session as data: what was understood, linked, shown, seen, liked and disliked."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from scenebridge.agent.summary import InterestSummary

__all__ = ["DialogueState", "LinkedItem"]


class LinkedItem(BaseModel):
    """A catalogue item a mention was linked to.

    Attributes:
        mention: the mention's text as said ("Alien").
        action: what the person did with it (bought, watched, liked, disliked ...).
        item_id: the catalogue item.
        title: its catalogue title.
        scene: its scene.
        confidence: 0..1, how sure the link is (embedding neighbour and title match combined).
    """

    model_config = ConfigDict(extra="ignore")

    mention: str
    action: str = "other"
    item_id: str
    title: str
    scene: str
    confidence: float = Field(ge=0.0, le=1.0)


class DialogueState(BaseModel):
    """One session's conversation state after a turn, as data (shown in results, scored by the dialogue benchmark).

    Attributes:
        scene: the scene recommended in; it sticks unless a message names another one.
        summary: what was understood: topics, exclusions, constraints, mentions, context.
        linked: catalogue items the mentions were linked to.
        shown: the last answer's item ids, in order.
        seen: items the person said they have seen / have (not recommended again unless asked).
        liked: items liked in this session.
        disliked: items disliked in this session (never recommended again in it).
    """

    scene: str | None = None
    summary: InterestSummary | None = None
    linked: list[LinkedItem] = Field(default_factory=list)
    shown: list[str] = Field(default_factory=list)
    seen: list[str] = Field(default_factory=list)
    liked: list[str] = Field(default_factory=list)
    disliked: list[str] = Field(default_factory=list)
