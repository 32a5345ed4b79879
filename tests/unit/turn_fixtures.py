"""A small two-scene catalogue (art, office) in a real embedded Chroma store with hashing embeddings."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from scenebridge.store import HashingEmbedder, ItemStore

ITEMS = [
    ("a1", "art", "winsor newton watercolor paint set 24 colors", "arts crafts painting watercolor"),
    ("a2", "art", "kolinsky sable watercolor brush size 8", "arts crafts painting brushes"),
    ("a3", "art", "acrylic paint set 12 tubes", "arts crafts painting acrylic"),
    ("a4", "art", "copic ink refill cartridge black", "arts crafts drawing markers"),
    ("o1", "office", "hp 61 black ink cartridge", "office products printer ink toner"),
    ("o2", "office", "brother tn450 toner cartridge", "office products printer ink toner laser"),
    ("o3", "office", "watercolor pencils 24 colors set", "office products writing colored pencils"),
    ("o4", "office", "pilot g2 gel pens black 12 pack", "office products writing pens gel"),
    ("o5", "office", "copy paper 500 sheets letter", "office products paper copy paper"),
    ("o6", "office", "desk organizer with drawers", "office products desk accessories organizers"),
    ("o7", "office", "watercolor paper pad for artists", "office products paper drawing"),
    ("o8", "office", "paint marker pens assorted colors", "office products writing markers"),
    ("o9", "office", "stapler heavy duty", "office products desk accessories staplers"),
    ("o10", "office", "watercolor brush pens 20 colors", "office products writing brush pens"),
]


def build_store(root: Path) -> ItemStore:
    """Indexes ITEMS into an embedded Chroma folder."""
    store = ItemStore(HashingEmbedder(256), path=root)
    store.index(pd.DataFrame(ITEMS, columns=["item_id", "scene", "title", "category"]))
    return store


def summary_json(topics: list[str], scene: str | None, exclusions: list[str] = (), language: str = "en") -> str:
    """What a well-behaved LLM answers for parse_interests."""
    return json.dumps({
        "topics": [{"name": t, "weight": 1.0 - 0.1 * i} for i, t in enumerate(topics)], "scene": scene,
        "source_scenes": [], "intent": "discover", "exclusions": list(exclusions),
        "constraints": {"price_max": None, "price_min": None, "level": None, "other": []}, "language": language,
    })  # fmt: skip
