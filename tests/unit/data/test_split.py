"""The cold-start protocol: hidden target interactions never reach what methods see."""

import pandas as pd
import pytest

from scenebridge.data.format import Dataset, load_dataset
from scenebridge.data.split import cold_start_split
from scenebridge.data.visible import Context
from scenebridge.errors import UsageError
from scenebridge.eval.baselines import fitted
from scenebridge.eval.harness import evaluate

pytestmark = pytest.mark.unit


def test_split_definitions(tiny_dataset):
    ds = load_dataset(tiny_dataset)
    split = cold_start_split(ds, "a", "b")
    users = ds.users.set_index("user_id")["split"]
    assert split.test_users
    assert all(users[u] == "test" for u in split.test_users)
    assert split.valid_users
    assert all(users[u] == "valid" for u in split.valid_users)
    assert split.target_items == sorted(ds.items.loc[ds.items.scene == "b", "item_id"])
    # held-out users keep only their source history visible
    heldout = split.train[split.train.user_id.map(users) != "train"]
    assert set(heldout.scene) == {"a"}
    # train users keep everything
    train_rows = ds.interactions[ds.interactions.user_id.map(users) == "train"].drop_duplicates(["user_id", "item_id"])
    assert len(split.train[split.train.user_id.map(users) == "train"]) == len(train_rows)
    for u in split.test_users:
        assert split.history(u), "a test user must have visible source history"


def test_no_hidden_interaction_reaches_training(tiny_dataset):
    ds = load_dataset(tiny_dataset)
    split = cold_start_split(ds, "a", "b")
    visible = set(zip(split.train.user_id, split.train.item_id, strict=True))
    for truth in (split.test_truth, split.valid_truth):
        for user, items in truth.items():
            assert not any((user, i) in visible for i in items)
    ctx = Context.build(split)
    for user in split.test_users:
        row = ctx.X[ctx.user_index[user]]
        assert not set(row.indices) & set(ctx.tgt_cols)


def test_canary_item_seen_only_by_hidden_users_gets_no_behaviour_signal(tiny_dataset):
    """An item that only test users interacted with must look unseen to every behaviour method."""
    ds = load_dataset(tiny_dataset)
    canary = pd.DataFrame([{"item_id": "canary", "scene": "b", "title": "zz", "category": "qq"}])
    test_users = ds.users.loc[ds.users.split == "test", "user_id"].tolist()
    extra = pd.DataFrame([{"user_id": u, "item_id": "canary", "scene": "b", "order": 99.0} for u in test_users])
    ds = Dataset(ds.name, pd.concat([ds.items, canary]), pd.concat([ds.interactions, extra]), ds.users)
    split = cold_start_split(ds, "a", "b")
    ctx = Context.build(split)
    assert ctx.X[:, ctx.item_index["canary"]].nnz == 0
    col = split.target_items.index("canary")
    users = split.test_users
    assert (fitted(ctx, "popularity").score(users)[:, col] == 0).all()
    assert (fitted(ctx, "itemknn").score(users)[:, col] == 0).all()
    als = fitted(ctx, "als").score(users)
    assert abs(als[:, col]).max() < 1e-3 < abs(als).max()
    result = evaluate(ds, "a", "b", methods=["popularity"])
    assert all(items[-1] == "canary" or "canary" not in items for items in result.rankings["popularity"].values())


def test_bad_scenes_raise_usage_errors(tiny_dataset):
    ds = load_dataset(tiny_dataset)
    with pytest.raises(UsageError, match="scenes are: a, b"):
        cold_start_split(ds, "a", "nope")
    with pytest.raises(UsageError, match="different"):
        cold_start_split(ds, "a", "a")


def test_hash_split_when_users_csv_is_missing(tiny_dataset):
    (tiny_dataset / "users.csv").unlink()
    ds = load_dataset(tiny_dataset)
    assert ds.users is None
    split = cold_start_split(ds, "a", "b")
    again = cold_start_split(ds, "a", "b")
    assert split.test_users == again.test_users
    assert 0 < len(split.test_users) < 40
