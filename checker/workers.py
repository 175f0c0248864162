"""Forked worker processes that run one verify run's tasks, the most urgent first.

`Workers(jobs, memory_mb)` forks `jobs` processes; `submit(Task)` queues a call of a
module-level function, and `run(on_done)` hands queued tasks to idle workers by priority until
none is left, calling `on_done(Done)` in the parent as each finishes (it may submit more). The
parent watches its workers: one whose resident memory grows by more than `memory_mb` over what
it held, idle, before its first task (the pages the fork shares with the parent), or whose task
runs past the task's own wall-clock limit, is killed and replaced, and its task comes back with
`error` set ("memory" or "time"), never a value: the caller reads that as undecided. Each task
reports its CPU time (user + system) and the peak resident memory of its worker while it ran;
the run keeps the peak of the whole tree (the parent and its workers, summed) as it polls.

Workers are forked: they see the parent's modules and data as they were when they were forked,
so tasks name their work by index into state the caller set up before (see checker.pipeline).
"""
from __future__ import annotations

import heapq
import itertools
import multiprocessing
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, cast

POLL_S = 0.05  # how often busy workers' memory is looked at


@dataclass
class Task:
    key: Any                      # handed back in Done
    fn: Callable[..., Any]        # a module-level function (sent by name)
    args: tuple = ()
    priority: float = 0.0         # higher first; equal priorities in submission order
    seconds: float | None = None  # wall-clock limit of the task: past it, its worker is stopped


@dataclass
class Done:
    key: Any
    value: Any = None
    error: str = ""          # "" | "memory" | "time" | "crash: ..." | "exception: ..."
    cpu: float = 0.0         # user + system seconds the task took
    peak_mb: float = 0.0     # the worker's peak resident memory while the task ran
    wall: float = 0.0


@dataclass
class _Worker:
    process: Any
    conn: Connection
    task: Task | None = None
    started: float = 0.0
    peak_mb: float = 0.0
    tasks_done: int = 0
    inherited_mb: float | None = None  # its resident memory before its first task: what the fork inherited


@dataclass
class Workers:
    jobs: int
    memory_mb: float | None = None   # growth of resident memory (over what the fork inherited)
                                     # past which a worker is stopped
    recycle_mb: float | None = None  # a worker grown past this after a task is replaced by a fresh fork
    peak_tree_mb: float = 0.0
    stopped: list[str] = field(default_factory=list)   # what was stopped and why, for the report
    _queue: list = field(default_factory=list)
    _count: Any = field(default_factory=itertools.count)
    _workers: list[_Worker] = field(default_factory=list)

    def __post_init__(self):
        self._context = multiprocessing.get_context("fork")
        self._workers = [self._spawn() for _ in range(max(1, self.jobs))]

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child,), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def submit(self, task: Task) -> None:
        heapq.heappush(self._queue, (-task.priority, next(self._count), task))

    def run(self, on_done: Callable[[Done], None]) -> None:
        try:
            while self._queue or any(w.task for w in self._workers):
                for w in self._workers:
                    if w.task is None and self._queue:
                        _, _, task = heapq.heappop(self._queue)
                        if w.inherited_mb is None:
                            # a fork shares the parent's pages and /proc counts them as the child's:
                            # a parent that has loaded a large library (torch, under pytest) must not
                            # make every task look out of memory, so the limits count the growth
                            # over what the idle fork holds before its first task
                            w.inherited_mb = _rss_mb(w.process.pid)
                        w.task, w.started, w.peak_mb = task, time.monotonic(), 0.0
                        w.conn.send((task.fn, task.args))
                busy = [w for w in self._workers if w.task is not None]
                ready = cast("list[Connection]", wait([w.conn for w in busy], timeout=POLL_S))
                for w in busy:
                    if w.conn in ready:
                        self._finish(w, on_done)
                self._watch(on_done)
        finally:
            self.close()

    def _finish(self, w: _Worker, on_done) -> None:
        task = w.task
        assert task is not None
        try:
            value, error, cpu, peak_mb, wall = w.conn.recv()
        except (EOFError, OSError):
            value, error, cpu, peak_mb, wall = None, "crash: the worker stopped", 0.0, w.peak_mb, \
                time.monotonic() - w.started
            self._replace(w)
        if not error and self.memory_mb and \
                max(peak_mb, w.peak_mb) - (w.inherited_mb or 0.0) > self.memory_mb:
            # a task can finish between two polls: its own peak (VmHWM) still counts against the
            # limit, so whether a check past it is decided never depends on the poll's timing
            value, error = None, "memory"
            self.stopped.append(f"{task.key}: memory ({max(peak_mb, w.peak_mb):.0f} MB peak, "
                                f"{wall:.1f} s)")
        w.task = None
        w.tasks_done += 1
        if self.recycle_mb and w.process.is_alive() and \
                _rss_mb(w.process.pid) - (w.inherited_mb or 0.0) > self.recycle_mb:
            self._replace(w)
        on_done(Done(task.key, value, error, cpu, max(peak_mb, w.peak_mb), wall))

    def _watch(self, on_done) -> None:
        """Stop a worker past its memory or its task's time; note the tree's resident memory."""
        total = _rss_mb(os.getpid())
        now = time.monotonic()
        for w in self._workers:
            rss = _rss_mb(w.process.pid)
            total += rss
            if w.task is None:
                continue
            w.peak_mb = max(w.peak_mb, rss)
            why = ""
            if self.memory_mb and rss - (w.inherited_mb or 0.0) > self.memory_mb:
                why = "memory"
            elif w.task.seconds is not None and now - w.started > w.task.seconds:
                why = "time"
            if why:
                task, wall, peak = w.task, now - w.started, w.peak_mb
                self.stopped.append(f"{task.key}: {why} ({rss:.0f} MB, {wall:.1f} s)")
                self._replace(w)
                w.task = None
                on_done(Done(task.key, None, why, 0.0, peak, wall))
        self.peak_tree_mb = max(self.peak_tree_mb, total)

    def _replace(self, w: _Worker) -> None:
        if w.process.is_alive():
            w.process.kill()
        w.process.join()
        w.conn.close()
        fresh = self._spawn()
        w.process, w.conn, w.inherited_mb = fresh.process, fresh.conn, None

    def close(self) -> None:
        for w in self._workers:
            try:
                if w.task is None:
                    w.conn.send(None)
            except OSError:
                pass
        for w in self._workers:
            w.process.join(timeout=1)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()
        self._workers = []


def _serve(conn: Connection) -> None:
    """A worker's loop: run each (fn, args) it is sent and send back (value, error, cpu, peak, wall)."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, args = message
        _reset_peak()
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.monotonic()
        try:
            value, error = fn(*args), ""
        except Exception as err:  # noqa: BLE001 - reported to the parent with the task
            value, error = None, f"exception: {type(err).__name__}: {err}"
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        conn.send((value, error, cpu, _peak_mb(), time.monotonic() - started))


def _reset_peak() -> None:
    """Start the kernel's count of peak resident memory (VmHWM) afresh for the next task."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:  # not Linux: the peak is the process's since it started
        pass


def _peak_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1 << 20)
    except (OSError, ValueError, IndexError):
        return 0.0
