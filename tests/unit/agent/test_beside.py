"""The one worker a turn does work beside (agent/stages/beside.py): used when free, never queued behind."""

from __future__ import annotations

import threading

import pytest

from scenebridge.agent.stages import beside as worker

pytestmark = pytest.mark.unit


def _where() -> str:
    return threading.current_thread().name


def test_work_runs_in_the_worker_when_it_is_free_and_it_is_free_again_after():
    answer = worker.beside(_where)
    assert answer().startswith("scenebridge-beside")
    assert worker._WORKER_FREE.acquire(blocking=False)
    worker._WORKER_FREE.release()


def test_a_turn_that_finds_the_worker_taken_does_the_work_itself_at_once():
    ran: list[str] = []
    assert worker._WORKER_FREE.acquire(blocking=False)  # another turn's work is in the worker
    try:
        answer = worker.beside(lambda: ran.append(_where()) or "done")
        assert ran == [threading.current_thread().name]  # before the answer is asked for: not queued
    finally:
        worker._WORKER_FREE.release()
    assert answer() == "done"


def test_what_the_work_raised_is_raised_where_its_answer_is_taken():
    def fails() -> None:
        msg = "boom"
        raise ValueError(msg)

    answer = worker.beside(fails)
    with pytest.raises(ValueError, match="boom"):
        answer()
    assert worker._WORKER_FREE.acquire(blocking=False)
    worker._WORKER_FREE.release()
