"""The verify run's worker processes: tasks by priority, a worker past its memory or its task's
time stopped and its task reported as such (never a value), and a warm run that restores every
decision, query file and analysis row exactly as the cold run made them."""
from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

from checker.decide.engine import Options
from checker.pipeline import VerifySettings, verify_run
from checker.workers import Done, Task, Workers


def _square(x: int) -> int:
    return x * x


def _grow(mb: int) -> int:
    block = bytearray(mb << 20)
    for i in range(0, len(block), 4096):  # touch every page: resident, not only reserved
        block[i] = 1
    time.sleep(5)
    return len(block)


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _fail() -> None:
    raise ValueError("bad input")


def _run(workers: Workers, tasks: list[Task]) -> list[Done]:
    out: list[Done] = []
    for task in tasks:
        workers.submit(task)
    workers.run(out.append)
    return out


def test_tasks_run_by_priority_and_come_back_with_their_cost():
    done = _run(Workers(1), [Task(("t", x), _square, (x,), priority=x) for x in (1, 3, 2)])
    assert [d.key for d in done] == [("t", 3), ("t", 2), ("t", 1)]
    assert [d.value for d in done] == [9, 4, 1] and not any(d.error for d in done)
    assert all(d.cpu >= 0 and d.peak_mb > 0 for d in done)


def test_a_worker_past_its_memory_is_stopped_and_the_others_go_on():
    workers = Workers(1, memory_mb=300)
    done = {d.key: d for d in _run(workers, [Task("big", _grow, (600,), priority=2), Task("after", _square, (5,))])}
    assert done["big"].error == "memory" and done["big"].value is None
    assert done["after"].value == 25 and not done["after"].error
    assert workers.stopped and workers.stopped[0].startswith("big: memory")


def test_a_task_past_its_time_is_stopped_and_an_exception_is_reported():
    done = {d.key: d for d in _run(Workers(2), [Task("slow", _sleep, (30,), seconds=0.5), Task("bad", _fail)])}
    assert done["slow"].error == "time" and 0.5 <= done["slow"].wall < 10
    assert done["bad"].error.startswith("exception: ValueError: bad input")


STATEMENTS = textwrap.dedent("""\
    theorem T-1 "a bound with a hypothesis" {
      param x : real
      param n : int in [1, inf)
      assume big: x > 1
      claim x^2 >= x
      check symbolic expect proved
      check finite n in 1..4 expect verified
    }
    theorem T-2 "a false one" {
      param x : real
      claim x^2 > 0
      check symbolic expect refuted
    }
    """)


def _settings(tmp_path: Path, build: str, **kw) -> VerifySettings:
    source = tmp_path / "t.lim"
    source.write_text(STATEMENTS)
    folder = tmp_path / build
    return VerifySettings(paths=[str(source)], build=folder, options=Options(timeout=5, build_dir=folder), jobs=2,
                          necessity=True, tightness=True, second_solver=True, cache=str(tmp_path / "cache"), **kw)


def _comparable(report: dict) -> dict:
    checks = [{k: v for k, v in c.items() if k != "seconds"} for c in report["checks"]]
    for c in checks:
        c["smt2"] = [Path(p).name for p in c["smt2"]]
        if c.get("counterexample"):
            c["counterexample"] = {k: v for k, v in c["counterexample"].items() if k != "file"}
    second = {k: report["second_solver"][k] for k in ("files", "agree", "disagree", "unknown")}
    return {"checks": checks, "necessity": report["necessity"], "tightness": report["tightness"], "cvc5": second}


def test_a_warm_run_restores_the_cold_runs_decisions_files_and_rows(tmp_path: Path):
    cold = verify_run(_settings(tmp_path, "cold"))
    warm = verify_run(_settings(tmp_path, "warm"))
    assert cold.ok and warm.ok
    assert warm.profile["cached_theorems"] == 2 and cold.profile["cached_theorems"] == 0
    assert warm.profile["stages"]["checks"]["cpu"] == 0.0
    first, second = (json.loads(r.report.read_text()) for r in (cold, warm))
    assert _comparable(first) == _comparable(second)
    # the query files are back, under the warm run's own build folder, with the same text
    for a, b in zip(first["checks"], second["checks"]):
        assert [Path(p).read_text() for p in a["smt2"]] == [Path(p).read_text() for p in b["smt2"]]
        assert all(p.startswith(str(tmp_path / "warm")) for p in b["smt2"])
    assert second["second_solver"]["from_cache"] == second["second_solver"]["files"]
    profile = first["profile"]
    assert {t["id"] for t in profile["theorems"]} == {"T-1", "T-2"}
    assert profile["stages"]["checks"]["cpu"] > 0 and profile["peak_mb_tree_sampled"] > 0


def test_a_worker_out_of_memory_makes_checks_unknown_never_decided(tmp_path: Path):
    # the limit counts growth over what a fork inherits, which a small check may not even reach
    # within one poll: a negative limit is one no worker can meet, so every task is stopped
    run = verify_run(_settings(tmp_path, "tiny", worker_memory_mb=-1.0))
    assert {r.status.value for r in run.results} == {"unknown"}
    assert all("stopped" in r.reason for r in run.results)
    assert run.profile["stopped"] and run.tightness == []
    # nothing undecided is kept: a run with room decides every check
    again = verify_run(_settings(tmp_path, "room"))
    assert again.ok and again.profile["cached_theorems"] == 0


def test_an_undecided_probe_is_kept_apart_and_decided_again_only_when_asked(tmp_path: Path):
    from checker.analyses.cache import Cache
    from checker.analyses.tightness import cached_statuses
    from checker.verdict import Status
    text = 'theorem P-1 "a sibling" {\n  param x : real\n  claim x^2 + 1 > 0\n  check symbolic expect proved\n}\n'
    cache = Cache(tmp_path / "cache")
    starved = Options(timeout=2, budget=1e-9)             # no time at all: unknown, never a verdict
    assert cached_statuses(text, starved, cache) == [Status.UNKNOWN]
    assert cache.peek("statuses", text, {"timeout": 2}) is None       # not kept as the answer
    roomy = Options(timeout=2)
    assert cached_statuses(text, roomy, cache, retry_undecided=False) == [Status.UNKNOWN]
    assert cached_statuses(text, roomy, cache, retry_undecided=True) == [Status.PROVED]
    assert cached_statuses(text, roomy, cache, retry_undecided=False) == [Status.PROVED]  # decided wins


def _grow(mb: int) -> int:
    block = bytearray(mb << 20)
    for i in range(0, len(block), 4096):   # touch every page so it is resident
        block[i] = 1
    time.sleep(0.5)
    return len(block)


def test_the_memory_limit_counts_growth_over_the_fork_not_the_inherited_pages():
    """A parent holding 200 MB forks workers that inherit those pages: a 100 MB limit must not
    stop a task that adds a few MB, and must stop one that adds 150 MB."""
    ballast = bytearray(200 << 20)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    done = {d.key: d for d in _run(Workers(2, memory_mb=100.0),
                                   [Task("small", _grow, (4,)), Task("large", _grow, (150,))])}
    assert done["small"].error == "" and done["small"].value == 4 << 20
    assert done["large"].error == "memory" and done["large"].value is None
    del ballast
