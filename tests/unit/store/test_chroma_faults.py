"""The item store's failures: one StoreError that says what to do, and a stopped index run that is never half-served.

Real embedded Chroma; the faults with a real process (a Chroma server killed, a full disk, a read-only folder) are in
tests/integration/test_faults_store.py.
"""

import errno
import sqlite3

import httpx
import pandas as pd
import pytest

from scenebridge.errors import StoreError
from scenebridge.store import HashingEmbedder, ItemStore
from scenebridge.store.chroma_client import Guarded, failure

pytestmark = pytest.mark.unit

ITEMS = pd.DataFrame(
    [(f"a{i}", "art", f"paint set {i}", "painting") for i in range(6)]
    + [(f"o{i}", "office", f"gel pens {i}", "writing") for i in range(6)],
    columns=["item_id", "scene", "title", "category"],
)


class _Stop(Exception):
    pass


class StoppingEmbedder(HashingEmbedder):
    """Stops on its n-th call, as a full disk or a kill stops an index run."""

    def __init__(self, calls: int) -> None:
        super().__init__(32)
        self.left = calls

    def embed(self, texts):
        if self.left == 0:
            raise _Stop
        self.left -= 1
        return super().embed(texts)


def test_a_stopped_index_run_leaves_its_scene_clearly_incomplete_until_a_rerun(tmp_path):
    ItemStore(HashingEmbedder(32), path=tmp_path / "s", batch_size=4).index(ITEMS[ITEMS.scene == "art"])
    with pytest.raises(_Stop):  # art is complete; office's second batch of 4 never comes
        ItemStore(StoppingEmbedder(1), path=tmp_path / "s", batch_size=4).index(ITEMS)
    store = ItemStore(HashingEmbedder(32), path=tmp_path / "s")
    assert store.count("office") == 4
    assert store.scenes == ["art"]  # the half-written scene is not offered
    assert len(store.search_text("paint set", scenes=["art"], k=3)) == 3
    with pytest.raises(StoreError, match=r"scene 'office' .* is incomplete.*run `scenebridge index` again"):
        store.search_text("gel pens", scenes=["office"], k=3)
    report = store.index(ITEMS)
    assert (report.added, report.embedded, report.total) == (2, 2, 12)
    assert store.scenes == ["art", "office"]
    assert len(store.search_text("gel pens", scenes=["office"], k=6)) == 6


def test_an_unchanged_rerun_writes_nothing_and_keeps_the_scene_complete(tmp_path):
    ItemStore(HashingEmbedder(32), path=tmp_path / "s").index(ITEMS)
    store = ItemStore(HashingEmbedder(32), path=tmp_path / "s")
    report = store.index(ITEMS)
    assert (report.added, report.updated, report.unchanged) == (0, 0, 12)
    assert store.scenes == ["art", "office"]


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
        (OSError(errno.EFBIG, "File too large"), "the disk is full"),
        (sqlite3.OperationalError("database or disk is full"), "the disk is full"),
        (OSError(errno.EROFS, "Read-only file system"), "it is read-only"),
        (sqlite3.OperationalError("attempt to write a readonly database"), "it is read-only"),
    ],
)
def test_a_failed_write_says_what_to_do(exc, words):
    err = failure(exc, "/data/store", remote=False)
    assert isinstance(err, StoreError)
    assert words in str(err)
    assert "/data/store" in str(err)
    assert "\n" not in str(err)


def test_an_embedded_failure_that_hides_its_cause_names_the_likely_ones():
    from chromadb.errors import InternalError

    # what Chroma 1.5 raised when its SQLite file could not grow (measured under RLIMIT_FSIZE)
    exc = InternalError("Error in compaction: Failed to apply logs to the metadata segment")
    err = failure(exc, "/data/store", remote=False)
    assert err is not None
    assert "Failed to apply logs" in str(err)
    assert "if the disk is full or the folder read-only" in str(err)
    assert "run `scenebridge index` again" in str(err)


def test_a_server_that_does_not_answer_says_so_and_that_it_recovers():
    err = failure(httpx.ConnectError("[Errno 111] Connection refused"), "http://127.0.0.1:1", remote=True)
    assert err is not None
    assert str(err).startswith("the Chroma server at http://127.0.0.1:1 does not answer (ConnectError")
    assert "chroma run" in str(err)
    assert "without a restart" in str(err)


def test_a_bug_is_not_dressed_up_as_a_store_failure():
    assert failure(TypeError("bad argument"), "x", remote=False) is None
    assert failure(ValueError("bad ids"), "x", remote=True) is None


class _Flaky:
    level = 3

    def write(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    def misuse(self):
        raise TypeError("write() takes no arguments")


def test_guarded_maps_failures_and_lets_bugs_through():
    seen = []

    def on_failure(exc):
        seen.append(exc)
        return failure(exc, "/s", remote=False)

    g = Guarded(_Flaky(), on_failure)
    assert g.level == 3
    with pytest.raises(StoreError, match="disk is full"):
        g.write()
    with pytest.raises(TypeError):
        g.misuse()
    assert len(seen) == 2


def test_collections_from_a_guarded_client_are_guarded(tmp_path):
    store = ItemStore(HashingEmbedder(32), path=tmp_path / "s")
    store.index(ITEMS)
    cols = store.client.list_collections()
    assert {type(c) for c in cols} == {Guarded}
    assert sorted(c.metadata["scene"] for c in cols) == ["art", "office"]
