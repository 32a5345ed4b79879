"""How many threads llama.cpp gets: the cores that are free now, not the cores the machine has.

llama.cpp splits every matrix product across its threads and waits at a barrier for the slowest one. A thread that
shares its core with another runnable process (even one at ``nice 19``) is descheduled now and then, and every other
thread then spins at the barrier: on a 2-core machine with one CPU-bound background process, two threads made a parse
several times slower than one. So the policy counts the runnable processes beside this one and gives llama.cpp the
cores that are left (at least one). A process that the scheduler makes yield to ours is not counted: one niced 10 or
more below us that competes with us by that nice (in our autogroup, or with autogroups off), whose CFS weight is under
a tenth of ours (measured here: two threads beside a nice-19 loop of the same session parsed at 1.05x the idle p50,
one thread at 1.60x). A loop started from another terminal is another autogroup, where its nice does not cut its
share: it still counts. Greedy decoding gives the same answer with any thread count (each output row of
a matrix product is summed by one thread), so the choice changes latency only.
"""

from __future__ import annotations

import math
import os
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scenebridge.errors import UsageError

__all__ = ["ENV", "CpuSample", "ThreadPolicy", "background_work", "choose_threads", "sample_cpu", "threads_from_env"]

ENV = "SCENEBRIDGE_LLAMA_THREADS"
"""A whole number fixes both thread counts; unset, empty or ``auto`` = the adaptive policy."""

_LOADAVG = Path("/proc/loadavg")
_TASKS = Path("/proc/self/task")
_PROC = Path("/proc")
_AUTOGROUP_SWITCH = Path("/proc/sys/kernel/sched_autogroup_enabled")
_NICE_YIELDS = 10
"""A process niced this much more than ours has under a tenth of our CFS weight (nice 10: 110 against 1024)."""


@dataclass(frozen=True)
class CpuSample:
    """What the policy sees: the cores this process may run on, the 1-minute load average, and the number of
    runnable threads on the machine (``/proc/loadavg``'s 4th field), read a few times over a few milliseconds."""

    cores: int
    load1: float
    running: tuple[int, ...] = ()


def choose_threads(
    cores: int, load1: float, running: Sequence[int] = (), own: int = 1, reserved: int = 0
) -> tuple[int, int]:
    """(n_threads, n_threads_batch) for llama.cpp from the cores that are free; a pure function.

    Args:
        cores: the cores this process may run on (``os.sched_getaffinity``).
        load1: the 1-minute load average; used only when ``running`` is empty (no ``/proc``). It lags by a minute
            and counts this process's own past work, so it is the weaker signal.
        running: runnable threads on the whole machine, one count per reading (the reading thread included);
            the median of the readings is taken, so a process that is runnable in one reading only does not count.
        own: runnable threads of this process at the time of the readings (1: the reading thread, between
            completions).
        reserved: cores this process's own CPU-bound background work needs now (:func:`background_work`: a
            reranker loading while a one-shot call parses); its threads are not counted in ``running``.

    Returns:
        The same count for generation and for prompt evaluation: both are matrix products split across the
        threads, and both stall the same way on a busy core.
    """
    cores = max(1, cores)
    busy = max(0.0, statistics.median(running) - own) if running else max(0.0, load1)
    # Round half down: a core busy half the time (load 0.5) is still worth a thread; a busy one (0.9) is not.
    n = max(1, min(cores, cores - math.ceil(busy - 0.5) - max(0, reserved)))
    return n, n


_background = 0
_background_lock = threading.Lock()


@contextmanager
def background_work() -> Iterator[None]:
    """Marks CPU-bound work of this process in another thread (an import, a model load): while it runs, the
    adaptive policy leaves it a core, since our own threads are not counted as other processes' load."""
    global _background
    with _background_lock:
        _background += 1
    try:
        yield
    finally:
        with _background_lock:
            _background -= 1


def reserved_cores() -> int:
    """How many :func:`background_work` blocks run now."""
    return _background


def sample_cpu(readings: int = 3, interval_s: float = 0.004) -> CpuSample:
    """Reads the affinity, the load average and ``readings`` counts of runnable threads (~10 ms in all); this
    process's own runnable threads count as one, the reading thread."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    running: list[int] = []
    for i in range(readings):
        try:
            total = int(_LOADAVG.read_text().split()[3].split("/")[0])
        except (OSError, IndexError, ValueError):
            break  # not Linux: the load average alone
        # This process counts as the one reading thread: a thread pool of ours that spins for a while after its
        # work (a BLAS pool after an embedding) is not another process's load.
        running.append(max(1, total - _own_running() + 1))
        if i + 1 < readings:
            time.sleep(interval_s)
    if running:
        yielding = _yielding()
        running = [max(1, n - yielding) for n in running]
    return CpuSample(cores, load1, tuple(running))


def _yielding() -> int:
    """Runnable processes other than this one that the scheduler makes yield to it (``/proc/*/stat``, ~4 ms for 65
    processes): niced :data:`_NICE_YIELDS` or more above ours, and in our autogroup or with autogroups off."""
    try:
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        grouped = _AUTOGROUP_SWITCH.read_text().strip() != "0"
    except (OSError, AttributeError):
        grouped, ours = True, 0
    group = _autogroup("self") if grouped else None
    me, count = str(os.getpid()), 0
    try:
        entries = [p for p in _PROC.iterdir() if p.name.isdigit() and p.name != me]
    except OSError:
        return 0
    for proc in entries:
        try:
            fields = (proc / "stat").read_text().rpartition(")")[2].split()
            state, nice = fields[0], int(fields[16])  # stat fields 3 and 19
        except (OSError, IndexError, ValueError):
            continue  # it ended while we looked
        if state != "R" or nice - ours < _NICE_YIELDS:
            continue
        if grouped and (group is None or _autogroup(proc.name) != group):
            continue  # another session's group: its share is the group's, whatever its nice
        count += 1
    return count


def _autogroup(pid: str) -> str | None:
    """The autogroup of a process (``/autogroup-7 nice 0`` names it by its first word), None when unreadable."""
    try:
        return (_PROC / pid / "autogroup").read_text().split()[0]
    except (OSError, IndexError):
        return None


def _own_running() -> int:
    """Runnable threads of this process now (``/proc/self/task/*/stat``; 1 where that cannot be read)."""
    count = 0
    try:
        for task in _TASKS.iterdir():
            try:
                # The state follows the parenthesised command name, which may itself hold spaces or parentheses.
                count += (task / "stat").read_text().rpartition(")")[2].split()[0] == "R"
            except (OSError, IndexError):
                continue  # the thread ended while we looked
    except OSError:
        return 1
    return max(1, count)


def threads_from_env() -> int | None:
    """The fixed thread count of ``$SCENEBRIDGE_LLAMA_THREADS``, or ``None`` for the adaptive policy.

    Raises:
        UsageError: for a value that is neither a positive whole number nor ``auto``.
    """
    env = os.environ.get(ENV, "").strip()
    if not env or env.lower() == "auto":
        return None
    if not env.isdigit() or int(env) < 1:
        msg = f"{ENV} must be a positive whole number, not {env!r} (or auto: the cores that are free)"
        raise UsageError(msg)
    return int(env)


class ThreadPolicy:
    """Fixed counts, or the adaptive choice made at load time and re-made before each completion."""

    def __init__(self, fixed: int | None = None) -> None:
        """``fixed``: one count for generation and prompt evaluation; ``None`` = adaptive."""
        self.fixed = fixed
        self.name = f"fixed {fixed}" if fixed else "adaptive"

    def choose(self) -> tuple[int, int]:
        """The counts to use now (reads ``/proc`` unless fixed)."""
        if self.fixed:
            return self.fixed, self.fixed
        sample = sample_cpu()
        return choose_threads(sample.cores, sample.load1, sample.running, reserved=reserved_cores())
