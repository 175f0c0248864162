"""A budget per check: wall time and memory, after which the verdict is unknown.

Solver queries have their own timeout, but much of the work of a check happens outside the
solver: enumerating instances, unrolling sums and quantifiers, expanding function spaces,
evaluating big numbers exactly. Every such loop calls `tick()`, which raises
`BudgetExceeded` once the check has run past its wall-clock budget or the process has
grown past its memory budget; single allocations that would be too large (2^(10^12),
binom(10^8, 5 10^7), a range of 10^8 values) are refused before they are made by
`require_size`. The engine turns the exception into an `unknown` verdict with the reason.

The budget in force is a module-level value set by `running(...)` around one check: the
checker decides one check at a time per process, so no locking is needed.
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass

from checker.errors import CheckerError

DEFAULT_SECONDS = 120.0   # wall time per check
DEFAULT_MEMORY_MB = 2048  # growth of resident memory per check
MAX_BITS = 1 << 22        # the largest exact number built (about 4 million bits, 512 KiB)
MAX_ITEMS = 2_000_000     # the most values a range, enumeration or unrolling may produce


class BudgetExceeded(CheckerError):
    """The check ran past its wall time or memory, or would build a value too large."""


@dataclass
class Budget:
    seconds: float = DEFAULT_SECONDS
    memory_mb: float = DEFAULT_MEMORY_MB

    def __post_init__(self):
        self.deadline = time.monotonic() + self.seconds
        self.base_rss = _rss_bytes()
        self.ticks = 0

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def tick(self) -> None:
        self.ticks += 1
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(f"the check ran past its budget of {self.seconds:g} s of wall time")
        if self.ticks & 0x3FF == 0:
            grown = _rss_bytes() - self.base_rss
            if grown > self.memory_mb * (1 << 20):
                raise BudgetExceeded(f"the check grew past its budget of {self.memory_mb:g} MB of memory")


_CURRENT: Budget | None = None


def tick() -> None:
    """Called in every loop whose length the user's input decides."""
    if _CURRENT is not None:
        _CURRENT.tick()


def remaining(default: float) -> float:
    """Seconds left to the check in force (for solver timeouts), at most `default`."""
    if _CURRENT is None:
        return default
    left = _CURRENT.remaining()
    if left <= 0:
        raise BudgetExceeded(f"the check ran past its budget of {_CURRENT.seconds:g} s of wall time")
    return min(default, left)


def require_size(what: str, size: float, limit: float = MAX_ITEMS) -> None:
    """Refuse, before any work, a value or loop of `size` units above `limit`."""
    if size > limit:
        raise BudgetExceeded(f"{what} is too large ({_magnitude(size)}, the limit is {_magnitude(limit)})")


def require_bits(what: str, bits: float) -> None:
    require_size(f"{what} (an exact number)", bits, MAX_BITS)
    if bits > MAX_BITS:  # pragma: no cover - require_size raised
        raise AssertionError


def _magnitude(x: float) -> str:
    if x < 1e6:
        return f"{x:,.0f}"
    return f"about 10^{len(str(int(x))) - 1}" if x < 1e300 else "more than 10^300"


@contextmanager
def running(budget: Budget | None):
    """Make `budget` the one in force for the duration of one check."""
    global _CURRENT
    saved = _CURRENT
    _CURRENT = budget
    try:
        yield budget
    finally:
        _CURRENT = saved


@contextmanager
def within(seconds: float):
    """A shorter deadline inside the check in force, for an attempt that has a fallback: past
    it `tick()` raises `BudgetExceeded` and the caller takes the other way. The check's own
    deadline, if sooner, still holds; without a check in force the attempt gets its own."""
    global _CURRENT
    saved = _CURRENT
    inner = Budget(seconds, saved.memory_mb if saved is not None else DEFAULT_MEMORY_MB)
    if saved is not None:
        inner.deadline = min(inner.deadline, saved.deadline)
        inner.base_rss = saved.base_rss
    _CURRENT = inner
    try:
        yield inner
    finally:
        _CURRENT = saved


ALARM_GRACE = 1.0  # seconds past the budget before the hard stop interrupts Python code


@contextmanager
def alarm(seconds: float):
    """A hard stop behind the cooperative `tick()`: work that never ticks (a long SymPy
    simplification) is interrupted by SIGALRM a little after the budget. Only in the main
    thread of a process on a system with SIGALRM, and only around the outermost check;
    elsewhere the cooperative checks and the solver timeouts alone apply."""
    import signal
    import threading
    if (not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread()
            or signal.getitimer(signal.ITIMER_REAL)[0] > 0):
        yield
        return

    def stop(signum, frame):
        raise BudgetExceeded(f"the check ran past its budget of {seconds:g} s of wall time (stopped)")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds + ALARM_GRACE)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux: only the time budget applies
        return 0
