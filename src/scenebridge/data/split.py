"""The cold-start cross-scene protocol (DESIGN.md).

Source scene S, target scene T. Test users are users of split ``test`` with at least one interaction in S and one
in T; their T interactions are the hidden ground truth and only their S history is visible. Training sees every
interaction of train users and the S interactions of valid and test users; valid users' T interactions are kept
apart for model selection. Every item of scene T is ranked.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

from scenebridge.data.format import Dataset
from scenebridge.errors import UsageError

__all__ = ["CrossSceneSplit", "cold_start_split", "user_splits"]


@dataclass
class CrossSceneSplit:
    """What a method may see (``train``) and what it is judged on (``test_truth``), kept apart.

    Attributes:
        source: the scene whose history is visible.
        target: the scene to recommend in.
        train: the visible interactions (user_id, item_id, scene, order), deduplicated per (user, item).
        items: the catalogue (all scenes).
        target_items: every item id of scene T, sorted: the ranking universe.
        test_users: test users with >= 1 S and >= 1 T interaction, sorted.
        valid_users: valid users with >= 1 S and >= 1 T interaction, sorted.
        test_truth: hidden T items of each test user.
        valid_truth: hidden T items of each valid user (model selection only).
    """

    source: str
    target: str
    train: pd.DataFrame
    items: pd.DataFrame
    target_items: list[str]
    test_users: list[str]
    valid_users: list[str]
    test_truth: dict[str, set[str]]
    valid_truth: dict[str, set[str]]

    def history(self, user: str) -> list[str]:
        """The user's visible S items, oldest first."""
        return self._histories.get(user, [])

    def __post_init__(self) -> None:
        src = self.train[self.train["scene"] == self.source].sort_values(["user_id", "order"], kind="stable")
        self._histories: dict[str, list[str]] = {
            str(u): list(items) for u, items in src.groupby("user_id", sort=False)["item_id"]
        }


def user_splits(ds: Dataset, seed: int = 0) -> pd.Series:
    """The split of each user: from users.csv, or a stable 80/10/10 hash split when the folder has none."""
    if ds.users is not None:
        return ds.users.set_index("user_id")["split"]
    users = pd.Series(sorted(ds.interactions["user_id"].unique()))

    def bucket(uid: str) -> str:
        h = int(hashlib.sha1(f"{seed}:{uid}".encode()).hexdigest()[:8], 16) % 10
        return "test" if h == 0 else "valid" if h == 1 else "train"

    return pd.Series(users.map(bucket).to_numpy(), index=users.to_numpy(), name="split")


def cold_start_split(ds: Dataset, source: str, target: str, seed: int = 0) -> CrossSceneSplit:
    """Builds the cold-start cross-scene split.

    Raises:
        UsageError: for an unknown scene, S == T, or when no test user has interactions in both scenes.
    """
    scenes = ds.scenes
    for name, scene in (("source", source), ("target", target)):
        if scene not in scenes:
            msg = f"unknown {name} scene {scene!r}; the dataset's scenes are: {', '.join(scenes)}"
            raise UsageError(msg)
    if source == target:
        msg = f"source and target are both {source!r}; pick two different scenes"
        raise UsageError(msg)

    inter = ds.interactions.sort_values(["user_id", "order"], kind="stable").drop_duplicates(["user_id", "item_id"])
    splits = user_splits(ds, seed)
    inter = inter.assign(split=inter["user_id"].map(splits).fillna("train"))
    in_s = inter[inter["scene"] == source].groupby("user_id").size()
    in_t = inter[inter["scene"] == target].groupby("user_id").size()
    both = set(in_s.index) & set(in_t.index)

    held_out = inter["split"] != "train"
    visible = inter[~held_out | (inter["scene"] == source)]
    target_rows = inter[held_out & (inter["scene"] == target)]

    def truth(split: str) -> dict[str, set[str]]:
        rows = target_rows[(target_rows["split"] == split) & target_rows["user_id"].isin(both)]
        return {str(u): set(g) for u, g in rows.groupby("user_id")["item_id"]}

    test_truth, valid_truth = truth("test"), truth("valid")
    if not test_truth:
        msg = f"no test user has interactions in both {source!r} and {target!r}; check users.csv and the scenes"
        raise UsageError(msg)
    target_items = sorted(ds.items.loc[ds.items["scene"] == target, "item_id"])
    return CrossSceneSplit(
        source=source,
        target=target,
        train=visible.drop(columns="split").reset_index(drop=True),
        items=ds.items,
        target_items=target_items,
        test_users=sorted(test_truth),
        valid_users=sorted(valid_truth),
        test_truth=test_truth,
        valid_truth=valid_truth,
    )
