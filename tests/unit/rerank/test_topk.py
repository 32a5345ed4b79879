"""ContentTop: the float16 short list finds exactly the set the full float32 product finds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scenebridge.rerank.features import _top
from scenebridge.rerank.topk import ContentTop

pytestmark = pytest.mark.unit


def _unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _full_top(targets, query, depth):
    return _top(np.ascontiguousarray(np.ascontiguousarray(targets) @ query.T).T, depth)


@pytest.mark.parametrize("half", [True, False])
def test_same_set_as_the_full_product(half):
    rng = np.random.default_rng(0)
    targets = _unit(rng.standard_normal((3000, 64)))
    if half:  # a float16 checkpoint's vectors: the copy is exact
        targets = targets.astype(np.float16).astype(np.float32)
    ct = ContentTop(np.ascontiguousarray(targets), torch)
    for _ in range(30):
        query = _unit(targets[rng.integers(3000, size=5)].sum(0) + 0.3 * rng.standard_normal(64))[None, :]
        got, want = ct(query, 50), _full_top(targets, query, 50)
        assert got.shape == (1, 50)
        assert set(got[0]) == set(want[0])
        assert got[0][0] == want[0][0]


def test_a_tie_at_the_edge_falls_back_to_the_full_product():
    rng = np.random.default_rng(1)
    targets = _unit(rng.standard_normal((500, 16))).astype(np.float16).astype(np.float32)
    query = _unit(rng.standard_normal(16))[None, :]
    scores = (targets @ query.T).ravel()
    edge = np.argsort(-scores)[9]  # the 10th best, copied: the 10th and 11th tie exactly
    targets = np.ascontiguousarray(np.vstack([targets, targets[edge]]))
    ct = ContentTop(targets, torch)
    got = ct(query, 10)
    assert ct.exact_fallbacks == 1
    assert set(got[0]) == set(_full_top(targets, query, 10)[0])
    assert ct(query, 600).shape == (1, 501)  # asking for more than there are: all of them
