"""The similar-users signal kept sparse gives, bit for bit, what the dense pass gave."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from scenebridge.rerank.behaviour import Behaviour, _scale_rows, history_matrix

pytestmark = pytest.mark.unit


def _dense_users(beh: Behaviour, H: sp.csr_matrix) -> np.ndarray:
    """The pass as it was: a diagonal product, the dense similarity row cut below its k-th best, made sparse again."""
    lens = np.sqrt(np.asarray(H.multiply(H).sum(axis=1)).ravel())
    Hn = sp.diags(1.0 / np.maximum(lens, 1e-9)).astype(np.float32) @ H
    S = np.asarray((Hn @ beh.neighbours.T.tocsr()).todense(), dtype=np.float32)
    k = beh.n_neighbours
    if 0 < k < S.shape[1]:
        kth = -np.partition(-S, k - 1, axis=1)[:, k - 1 : k]
        S[kth > S] = 0.0
    return np.asarray((sp.csr_matrix(S) @ beh.neighbour_targets).todense(), dtype=np.float32)


@pytest.fixture(scope="module")
def behaviour():
    rng = np.random.default_rng(0)
    X = sp.random(600, 300, density=0.03, random_state=rng, format="csr", dtype=np.float32)
    X.data[:] = 1.0
    return Behaviour.fit(X, np.arange(200, 300), n_neighbours=40)


@pytest.mark.parametrize("weighted", [False, True])
def test_same_bits_as_the_dense_pass(behaviour, weighted):
    rng = np.random.default_rng(1)
    histories = [rng.choice(200, size=int(rng.integers(1, 30)), replace=False) for _ in range(60)]
    weights = [rng.uniform(0.3, 1.0, len(h)).astype(np.float32) for h in histories] if weighted else None
    for h, w in zip(histories, weights or [None] * len(histories), strict=True):
        H = history_matrix([h], behaviour.n_items, [w] if w is not None else None)
        assert behaviour.users(H).tobytes() == _dense_users(behaviour, H).tobytes()
    H = history_matrix(histories, behaviour.n_items, weights)  # a batch, as training reads it
    assert behaviour.users(H).tobytes() == _dense_users(behaviour, H).tobytes()


def test_scaling_rows_is_the_diagonal_product_in_its_order():
    H = sp.csr_matrix(np.array([[0, 2, 0, 1, 3], [0, 0, 0, 0, 0], [4, 0, 5, 0, 0]], dtype=np.float32))
    scale = np.array([0.5, 2.0, 0.25], dtype=np.float32)
    want = sp.csr_matrix(sp.diags(scale) @ H, dtype=np.float32)
    got = _scale_rows(H, scale)
    assert got.indices.tolist() == want.indices.tolist()
    assert got.data.tobytes() == want.data.tobytes()
    H.has_canonical_format = False  # not known to be canonical: the general product
    assert (_scale_rows(H, scale) != want).nnz == 0
