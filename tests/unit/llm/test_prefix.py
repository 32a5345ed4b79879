"""The prefix cache's key, files and restore logic, against a fake model (no llama.cpp)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from scenebridge.llm.prefix import (
    PrefixCache,
    PrefixState,
    PrefixStore,
    common_prefix,
    model_identity,
    prefix_folder,
    prefix_key,
)

pytestmark = pytest.mark.unit


class FakeKV:
    """A model whose 'state' is its token list written as text, and which counts evaluated tokens."""

    def __init__(self) -> None:
        self.tokens: list[int] = []
        self.evaluated = 0
        self.refuse = False

    def cached_tokens(self) -> Sequence[int]:
        return list(self.tokens)

    def truncate(self, n: int) -> None:
        del self.tokens[n:]

    def evaluate(self, tokens: Sequence[int]) -> None:
        self.tokens = list(tokens)
        self.evaluated += len(tokens)

    def get_state(self) -> bytes:
        return ",".join(map(str, self.tokens)).encode()

    def set_state(self, tokens: Sequence[int], state: bytes) -> None:
        if self.refuse:
            msg = "refused"
            raise ValueError(msg)
        self.tokens = [int(t) for t in state.decode().split(",")]
        assert self.tokens == list(tokens)


PREFIX = (1, 2, 3, 4)


def test_common_prefix():
    assert common_prefix([1, 2, 3], [1, 2, 4]) == 2
    assert common_prefix([1, 2], [1, 2, 3]) == 2
    assert common_prefix([], [1]) == 0
    assert common_prefix([5], [1]) == 0


def test_the_key_changes_with_the_model_the_runtime_and_every_token():
    base = prefix_key("sha256:a|llama-cpp-python 0.3.36|n_ctx 4096", PREFIX)
    assert base == prefix_key("sha256:a|llama-cpp-python 0.3.36|n_ctx 4096", list(PREFIX))
    others = {
        prefix_key("sha256:b|llama-cpp-python 0.3.36|n_ctx 4096", PREFIX),
        prefix_key("sha256:a|llama-cpp-python 0.3.37|n_ctx 4096", PREFIX),
        prefix_key("sha256:a|llama-cpp-python 0.3.36|n_ctx 1024", PREFIX),
        prefix_key("sha256:a|llama-cpp-python 0.3.36|n_ctx 4096", (1, 2, 3, 5)),
        prefix_key("sha256:a|llama-cpp-python 0.3.36|n_ctx 4096", (1, 2, 3)),
    }
    assert base not in others
    assert len(others) == 5


def test_an_installed_model_is_known_by_its_published_sha256(tmp_path, monkeypatch):
    from scenebridge.llm import models

    monkeypatch.setenv("SCENEBRIDGE_HOME", str(tmp_path))
    spec = models.MODELS["qwen2.5-coder-0.5b"]
    path = models.model_path(spec.name)
    path.parent.mkdir(parents=True)
    with path.open("wb") as f:
        f.truncate(spec.size)  # sparse: the size is what is checked, nothing is hashed
    assert model_identity(path) == f"sha256:{spec.sha256}"
    other = tmp_path / "mine.gguf"
    other.write_bytes(b"GGUF")
    assert model_identity(other).startswith(f"file:{other.resolve()}:4:")


def test_the_store_round_trips_and_ignores_damaged_files(tmp_path):
    store = PrefixStore(tmp_path)
    assert store.load("k") is None
    state = PrefixState(PREFIX, b"\x00\x01state")
    store.save("k", state)
    assert store.load("k") == state
    store.path("k").write_bytes(b"not an npz file")
    assert store.load("k") is None


def test_the_store_keeps_the_most_recent_files(tmp_path):
    store = PrefixStore(tmp_path, keep=2)
    for i in range(4):
        store.save(f"k{i}", PrefixState((i,), b"s"))
    assert sorted(p.stem for p in tmp_path.glob("*.npz")) == ["k2", "k3"]


def test_the_folder_follows_the_cache_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("SCENEBRIDGE_CACHE", str(tmp_path))
    assert prefix_folder() == tmp_path / "llama-prefix"
    assert PrefixStore().folder == tmp_path / "llama-prefix"


def test_a_fresh_process_restores_what_an_earlier_one_evaluated(tmp_path):
    first = FakeKV()
    assert PrefixCache(first, "m", PrefixStore(tmp_path)).prepare(PREFIX) == "evaluated"
    assert first.evaluated == 4
    second = FakeKV()
    cache = PrefixCache(second, "m", PrefixStore(tmp_path))
    assert cache.prepare(PREFIX) == "disk"
    assert second.evaluated == 0
    assert second.tokens == list(PREFIX)
    # Another model identity does not see that file.
    third = FakeKV()
    assert PrefixCache(third, "other", PrefixStore(tmp_path)).prepare(PREFIX) == "evaluated"


def test_the_context_is_cut_back_to_the_prefix_whatever_the_previous_call_left():
    kv = FakeKV()
    cache = PrefixCache(kv, "m")
    cache.prepare(PREFIX)
    kv.tokens += [7, 8, 9]  # the previous completion's statement and answer
    assert cache.prepare(PREFIX) == "context"
    assert kv.tokens == list(PREFIX)
    assert kv.evaluated == 4


def test_another_prefix_in_between_comes_back_from_memory():
    kv = FakeKV()
    cache = PrefixCache(kv, "m")
    cache.prepare(PREFIX)
    cache.prepare((1, 9, 9))  # an explanation prompt: another system message
    assert cache.prepare(PREFIX) == "memory"
    assert kv.tokens == list(PREFIX)
    assert kv.evaluated == 4 + 3


def test_a_refused_state_is_evaluated_again_and_overwritten(tmp_path):
    PrefixCache(FakeKV(), "m", PrefixStore(tmp_path)).prepare(PREFIX)
    kv = FakeKV()
    kv.refuse = True
    assert PrefixCache(kv, "m", PrefixStore(tmp_path)).prepare(PREFIX) == "evaluated"
    assert kv.tokens == list(PREFIX)


def test_a_file_for_other_tokens_under_the_same_name_is_not_used(tmp_path):
    store = PrefixStore(tmp_path)
    store.save(prefix_key("m", PREFIX), PrefixState((1, 2, 3, 5), b"1,2,3,5"))
    kv = FakeKV()
    assert PrefixCache(kv, "m", store).prepare(PREFIX) == "evaluated"
    assert kv.tokens == list(PREFIX)


def test_an_unwritable_cache_folder_is_skipped(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    kv = FakeKV()
    assert PrefixCache(kv, "m", PrefixStore(Path(blocker) / "sub")).prepare(PREFIX) == "evaluated"
    assert kv.tokens == list(PREFIX)
