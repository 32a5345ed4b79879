"""The llama.cpp thread policy: a pure function of (cores, load average, runnable threads); no model needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenebridge.errors import UsageError
from scenebridge.llm import threads
from scenebridge.llm.threads import CpuSample, ThreadPolicy, choose_threads, sample_cpu, threads_from_env


@pytest.mark.parametrize(
    ("cores", "load1", "running", "expected"),
    [
        (2, 0.0, (1, 1, 1), (2, 2)),  # idle: every core
        (2, 3.0, (1, 1, 1), (2, 2)),  # a high load average that has passed: the readings win over the lag
        (2, 0.0, (2, 2, 2), (1, 1)),  # one CPU-bound process beside us: the core that is left
        (2, 0.0, (3, 3, 3), (1, 1)),  # two: never fewer than one thread
        (2, 0.0, (1, 2, 1), (2, 2)),  # runnable in one reading only: the median ignores it
        (8, 0.0, (4, 4, 5), (5, 5)),  # three busy of eight
        (1, 0.0, (1, 1, 1), (1, 1)),  # one core
        (4, 0.0, (9, 9, 9), (1, 1)),
    ],
)
def test_policy_counts_the_runnable_threads_beside_this_one(
    cores: int, load1: float, running: tuple[int, ...], expected: tuple[int, int]
) -> None:
    assert choose_threads(cores, load1, running) == expected


@pytest.mark.parametrize(("load1", "expected"), [(0.0, 2), (0.4, 2), (0.5, 2), (0.6, 1), (1.0, 1), (1.5, 1), (4.0, 1)])
def test_without_proc_the_load_average_decides_rounding_half_down(load1: float, expected: int) -> None:
    assert choose_threads(2, load1, ()) == (expected, expected)


def test_own_threads_are_not_load() -> None:
    # Two runnable threads of our own (e.g. a reading thread and an embedding thread) on an idle machine.
    assert choose_threads(2, 0.0, (2, 2, 2), own=2) == (2, 2)


def test_nonsense_inputs_still_give_one_thread() -> None:
    assert choose_threads(0, -1.0, ()) == (1, 1)
    assert choose_threads(2, 0.0, (0, 0, 0)) == (2, 2)


def test_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, expected in (("3", 3), (" 1 ", 1), ("", None), ("auto", None), ("AUTO", None)):
        monkeypatch.setenv(threads.ENV, value)
        assert threads_from_env() == expected
    monkeypatch.delenv(threads.ENV)
    assert threads_from_env() is None
    for bad in ("0", "-1", "two", "1.5"):
        monkeypatch.setenv(threads.ENV, bad)
        with pytest.raises(UsageError, match="positive whole number"):
            threads_from_env()


def test_fixed_policy_reads_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> CpuSample:
        raise AssertionError("a fixed policy must not sample the CPU")

    monkeypatch.setattr(threads, "sample_cpu", boom)
    assert ThreadPolicy(3).choose() == (3, 3)
    assert ThreadPolicy(3).name == "fixed 3"


def test_adaptive_policy_uses_the_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "sample_cpu", lambda: CpuSample(cores=2, load1=0.0, running=(2, 2, 2)))
    policy = ThreadPolicy()
    assert policy.name == "adaptive"
    assert policy.choose() == (1, 1)


def test_sample_cpu_reads_this_machine() -> None:
    sample = sample_cpu(readings=2, interval_s=0.0)
    assert sample.cores >= 1
    assert sample.load1 >= 0.0
    assert all(r >= 1 for r in sample.running)  # the reading thread itself is runnable


def test_sample_cpu_without_proc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(threads, "_LOADAVG", tmp_path / "missing")
    assert sample_cpu().running == ()
