"""The llama.cpp thread policy: a pure function of (cores, load average, runnable threads); no model needed."""

from __future__ import annotations

import subprocess
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


def test_adaptive_backend_resets_threads_between_completions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Between completions a changed choice reaches llama.cpp's context (no model: a stand-in Llama)."""
    import sys
    import types

    from scenebridge.llm.llama_cpp import LlamaCppLLM

    calls: list[tuple[object, int, int]] = []
    fake = types.ModuleType("llama_cpp")
    fake.llama_set_n_threads = lambda ctx, n, nb: calls.append((ctx, n, nb))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", fake)
    llm = types.SimpleNamespace(ctx="ctx", n_threads=2, n_threads_batch=2, context_params=types.SimpleNamespace())
    backend = object.__new__(LlamaCppLLM)
    backend.llm = llm  # type: ignore[assignment]
    backend.policy, backend.threads, backend._draft = ThreadPolicy(), (2, 2), None
    readings = iter([(1, 1, 1), (2, 2, 2), (2, 2, 2)])
    monkeypatch.setattr(threads, "sample_cpu", lambda: CpuSample(2, 0.0, next(readings)))
    backend._recheck_threads()  # still idle: nothing to do
    assert calls == []
    backend._recheck_threads()  # a busy process appeared
    backend._recheck_threads()  # unchanged: not set again
    assert calls == [("ctx", 1, 1)]
    assert backend.threads == (1, 1)
    assert (llm.n_threads, llm.n_threads_batch) == (1, 1)
    assert (llm.context_params.n_threads, llm.context_params.n_threads_batch) == (1, 1)
    backend.policy = ThreadPolicy(2)  # fixed: never re-checked
    backend._recheck_threads()
    assert len(calls) == 1


def test_contention_policy_names() -> None:
    from scenebridge.bench.contention import policies

    assert policies(["fixed-1", "fixed-cores", "adaptive"], cores=2) == {"fixed-1": 1, "fixed-2": 2, "adaptive": "auto"}
    for bad in ("fixed-0", "fixed-x", "two"):
        with pytest.raises(UsageError, match="unknown thread policy"):
            policies([bad], cores=2)


def test_background_load_is_always_killed() -> None:
    from scenebridge.bench.contention import background_load

    started: list[subprocess.Popen[bytes]] = []

    def run() -> None:
        with background_load(1, settle_s=0.0) as procs:
            started.extend(procs)
            assert procs[0].poll() is None  # running
            raise RuntimeError

    with pytest.raises(RuntimeError):
        run()
    assert started[0].returncode is not None


def test_own_spinning_threads_are_not_counted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("0.50 0.40 0.30 4/321 12345\n")
    monkeypatch.setattr(threads, "_LOADAVG", loadavg)
    monkeypatch.setattr(threads, "_own_running", lambda: 3)  # the reading thread and two spinning pool threads
    monkeypatch.setattr(threads, "_yielding", lambda: 0)
    sample = sample_cpu(readings=2, interval_s=0.0)
    assert sample.running == (2, 2)  # one other runnable thread, and our reading thread
    assert choose_threads(2, sample.load1, sample.running) == (1, 1)


def test_own_running_counts_this_thread() -> None:
    assert threads._own_running() >= 1


def test_our_own_background_work_is_left_a_core():
    from scenebridge.llm.threads import background_work, reserved_cores

    assert choose_threads(2, 0.0, (1, 1, 1), reserved=1) == (1, 1)
    assert choose_threads(4, 0.0, (1, 1, 1), reserved=1) == (3, 3)
    assert choose_threads(1, 0.0, (1, 1, 1), reserved=1) == (1, 1)  # never fewer than one
    assert reserved_cores() == 0
    with background_work(), background_work():
        assert reserved_cores() == 2
    assert reserved_cores() == 0
    with pytest.raises(RuntimeError), background_work():
        raise RuntimeError  # an error in the work still gives the core back
    assert reserved_cores() == 0


def test_threads_are_chosen_again_when_background_work_ends_mid_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parse that started while a reranker loaded (one thread) gets the freed core back at the next token."""
    import sys
    import types

    import numpy as np

    from scenebridge.llm.llama_cpp import LlamaCppLLM

    calls: list[tuple[object, int, int]] = []
    fake = types.ModuleType("llama_cpp")
    fake.llama_set_n_threads = lambda ctx, n, nb: calls.append((ctx, n, nb))  # type: ignore[attr-defined]
    fake.LogitsProcessorList = list  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", fake)
    llm = types.SimpleNamespace(ctx="ctx", n_threads=1, n_threads_batch=1, context_params=types.SimpleNamespace())
    backend = object.__new__(LlamaCppLLM)
    backend.llm = llm  # type: ignore[assignment]
    backend.policy, backend.threads, backend._draft = ThreadPolicy(), (1, 1), None
    monkeypatch.setattr(threads, "sample_cpu", lambda: CpuSample(2, 0.0, (1, 1, 1)))
    scores = np.arange(4, dtype=np.float32)
    with threads.background_work():
        (watch,) = backend._watch_background()
        assert watch(None, scores) is scores  # the scores pass untouched
        assert calls == []  # the load still runs: nothing to choose yet
    watch(None, scores)
    watch(None, scores)
    assert calls == [("ctx", 2, 2)]  # once, as soon as the load is over
    assert backend.threads == (2, 2)


def _proc(root: Path, pid: int, state: str, nice: int, group: str) -> None:
    (root / str(pid)).mkdir(parents=True)
    rest = " ".join(["1"] * 13)  # fields 4-16, then priority (18) and nice (19)
    (root / str(pid) / "stat").write_text(f"{pid} (busy loop) {state} {rest} 0 20 {nice} 1 0\n")
    (root / str(pid) / "autogroup").write_text(f"{group} nice 0\n")


@pytest.mark.parametrize(
    ("switch", "expected"),
    [("1", 1), ("0", 2)],  # autogroups on: only the loop of our own group yields; off: every niced loop does
)
def test_niced_processes_of_our_group_yield_their_core(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, switch: str, expected: int
) -> None:
    proc = tmp_path / "proc"
    _proc(proc, 10, "R", 19, "/autogroup-1")  # a nice-19 loop started beside us: yields
    _proc(proc, 11, "R", 19, "/autogroup-9")  # one from another terminal: its group's share, whatever its nice
    _proc(proc, 12, "R", 0, "/autogroup-1")  # a nice-0 loop: takes its core
    _proc(proc, 13, "S", 19, "/autogroup-1")  # asleep: not runnable
    (proc / "self").mkdir()
    (proc / "self" / "autogroup").write_text("/autogroup-1 nice 0\n")
    switch_file = tmp_path / "switch"
    switch_file.write_text(switch + "\n")
    monkeypatch.setattr(threads, "_PROC", proc)
    monkeypatch.setattr(threads, "_AUTOGROUP_SWITCH", switch_file)
    monkeypatch.setattr(threads.os, "getpriority", lambda *_: 0)
    assert threads._yielding() == expected
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("2.00 1.00 1.00 4/321 12345\n")  # us and the three runnable loops
    monkeypatch.setattr(threads, "_LOADAVG", loadavg)
    monkeypatch.setattr(threads, "_own_running", lambda: 1)
    sample = sample_cpu(readings=1, interval_s=0.0)
    assert sample.running == (4 - expected,)
