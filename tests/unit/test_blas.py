"""scenebridge.blas: one BLAS thread while any holder is in, the earlier limit back when the last one leaves."""

import threading

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from scenebridge.blas import one_thread
from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.unit


def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


@pytest.fixture
def two_threads():
    if not _blas_threads():
        pytest.skip("no BLAS library loaded")
    with threadpool_limits(2, user_api="blas"):
        if _blas_threads() != {2}:
            pytest.skip("this BLAS build runs one thread at most")
        yield


def test_one_thread_inside_and_the_earlier_limit_after(two_threads):
    with one_thread():
        assert _blas_threads() == {1}
        with one_thread():  # nested: still one, and still one after the inner exit
            assert _blas_threads() == {1}
        assert _blas_threads() == {1}
    assert _blas_threads() == {2}


def test_overlapping_holders_in_two_threads_restore_in_any_order(two_threads):
    # A enters, B enters, A leaves first: B still runs on one thread, and only B's exit puts back 2.
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, set[int]] = {}

    def holder_a() -> None:
        with one_thread():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def holder_b() -> None:
        a_in.wait(5)
        with one_thread():
            b_in.set()
            a_out.wait(5)
            seen["b after a left"] = _blas_threads()

    threads = [threading.Thread(target=holder_a), threading.Thread(target=holder_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen["b after a left"] == {1}
    assert _blas_threads() == {2}


@pytest.mark.parametrize("where", ["main thread", "worker thread"])
def test_a_turn_runs_on_one_blas_thread(two_threads, tmp_path, where):
    # A server's turns run in worker threads, where threadpoolctl's own limit() did nothing.
    from scenebridge.agent.turn import Recommender

    rec = Recommender(build_store(tmp_path))
    during: list[set[int]] = []

    def turn() -> None:
        rec.turn("watercolor brushes for the art scene", scene="art",
                 on_event=lambda kind, data: during.append(_blas_threads()))  # fmt: skip

    if where == "main thread":
        turn()
    else:
        worker = threading.Thread(target=turn)
        worker.start()
        worker.join(60)
    assert during
    assert all(seen == {1} for seen in during)
    assert _blas_threads() == {2}
