"""Shared fixtures: a small synthetic cross-scene dataset with real structure (clustered tastes across scenes)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

TOPICS = [
    "watercolor paint",
    "fountain pen",
    "oil canvas",
    "desk organizer",
    "sketch pencil",
    "label printer",
]


def make_dataset(folder: Path, n_users: int = 90, per_scene: int = 30, seed: int = 7) -> Path:
    """Writes a canonical dataset: users in a cluster prefer that cluster's items in both scenes ``a`` and ``b``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for scene in ("a", "b"):
        for i in range(per_scene):
            cluster = i % len(TOPICS)
            items.append((f"{scene}{i}", scene, f"{TOPICS[cluster]} item {i}", f"{scene} {TOPICS[cluster]}"))
    with (folder / "items.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["item_id", "scene", "title", "category"])
        w.writerows(items)
    splits = []
    rows = []
    for u in range(n_users):
        uid = f"u{u}"
        split = "test" if u % 5 == 0 else "valid" if u % 5 == 1 else "train"
        splits.append((uid, split))
        cluster = u % len(TOPICS)
        pos = 0
        for scene in ("a", "b"):
            liked = [it for it in items if it[1] == scene and int(it[0][1:]) % len(TOPICS) == cluster]
            picks = rng.sample(liked, 3)
            other = [it for it in items if it[1] == scene and it not in picks]
            picks += rng.sample(other, 1)
            for it in picks:
                rows.append((uid, it[0], scene, pos))
                pos += 1
    with (folder / "interactions.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "item_id", "scene", "position"])
        w.writerows(rows)
    with (folder / "users.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "split"])
        w.writerows(splits)
    return folder


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "tiny")
