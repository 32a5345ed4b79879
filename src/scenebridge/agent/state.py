"""The dialogue state of one session as data: what was understood, linked, shown, seen, liked and disliked."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LinkedItem"]


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
