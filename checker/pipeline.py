"""One verify run, as a library call: decide, analyse, re-check, report.

`verify_run` is what `limits verify` and `limits reliability` both do: load the statement
files, decide every check, run the requested analyses (necessity, tightness, the cvc5
re-check), and write `report.json` and the catalogue. It returns the data; printing is the
command line's business.

The work is one queue of tasks over forked worker processes (checker.workers), one per core:
a theorem's checks (with its necessity rows) first, in the files' order; as each theorem is
decided, the cvc5 re-check of its queries and one task per tightness site join the queue,
the costliest sites first, so that the cores stay busy to the end. Results are put back in
the theorems' order, exactly as a sequential run gives them. A worker whose memory grows past
`worker_memory_mb`, or a cvc5 query past three times its limit, is stopped: its checks are
unknown, its probes undecided, its query unknown, with the reason, never a verdict. A
theorem's decisions are cached (kind "checks") when every check and necessity row of it is
decided, keyed by its file's text, the options and the checker's version: a warm run restores
them, query files and counterexample files included (a check left unknown is decided again).
A cvc5 query or a tightness probe an earlier run left unknown at the same limit keeps that
answer unless `recheck_unknown` is set: it is never taken for a decided one. The run's profile (CPU seconds and peak
memory by stage and by theorem, and the peak of the whole process tree) goes into report.json.
"""
from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from checker.analyses import necessity as necessity_
from checker.analyses import tightness as tightness_
from checker.analyses.cache import Cache
from checker.api import load_files, selected, statement_files
from checker.decide.engine import Options, run_check
from checker.files import write_atomic
from checker.language.elaborate import CoreTheorem
from checker.language.parser import parse_source
from checker.paths import build as build_folder
from checker.paths import proofs, shown
from checker.paths import results as results_folder
from checker.reports import blocks
from checker.reports.catalogue import load_measurements, render
from checker.reports.figures import verify_block
from checker.reports.report import write_json
from checker.verdict import CheckResult, Status
from checker.workers import Done, Task, Workers

PROBE_BUDGET_S = 60.0     # wall time of one tightness probe's check, all its work included
PROBE_MEMORY_MB = 256.0   # memory one probe's check may add
WORKER_MEMORY_MB = 400.0  # a worker whose resident memory grows past this (over its fork) is stopped


@dataclass
class VerifySettings:
    paths: list[str] = field(default_factory=lambda: [str(proofs())])
    options: Options = field(default_factory=Options)
    build: Path = field(default_factory=lambda: build_folder() / "verify")
    only: str | None = None
    jobs: int = 0                    # 0: one per core, at most 8
    necessity: bool = False
    tightness: bool = False
    tightness_all: bool = False
    tightness_timeout: float = tightness_.DEFAULT_TIMEOUT
    probe_budget: float = PROBE_BUDGET_S
    probe_memory_mb: float = PROBE_MEMORY_MB
    worker_memory_mb: float = WORKER_MEMORY_MB
    second_solver: bool = False
    second_solver_timeout: float = 2.0
    recheck_unknown: bool = False    # ask cvc5 again what an earlier run left unknown at the same limit
    cache: str | None = None         # None: no cache
    catalogue: Path | None = None
    figures: list[Path] = field(default_factory=list)  # documents whose `verify` block this run writes


@dataclass
class VerifyRun:
    files: list[Path]
    theorems: list[CoreTheorem]
    results: list[CheckResult]
    necessity: list = field(default_factory=list)
    tightness: list[dict] = field(default_factory=list)
    second_solver: dict | None = None
    cache: Cache | None = None
    seconds: float = 0.0
    report: Path | None = None
    profile: dict = field(default_factory=dict)

    @property
    def errors(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "error"]

    @property
    def ok(self) -> bool:
        """Every verdict as expected, and no disagreement between the two solvers."""
        return all(r.as_expected for r in self.results) and not (self.second_solver or {}).get("disagree")


def jobs_for(requested: int) -> int:
    return requested or min(os.cpu_count() or 1, 8)


# What the forked workers read: set before they are forked, cleared after the run.
_RUN: dict = {}


def _checks_task(index: int):
    """A theorem's checks and, when asked, its necessity rows, with the CPU seconds of each."""
    thm, options = _RUN["theorems"][index], _RUN["options"]
    started = time.process_time()
    results = [run_check(thm, check, options) for check in thm.checks]
    middle = time.process_time()
    rows = necessity_.analyse(thm, options) if _RUN["necessity"] else []
    return results, rows, middle - started, time.process_time() - middle


def _site_task(index: int, key: str):
    """One tightness site of a theorem: its entry as JSON, and the cache's hits and misses."""
    surface = _RUN["surface"][index]
    site = next(s for s in tightness_.sites(surface) if s.key == key)
    cache = Cache(_RUN["cache"]) if _RUN["cache"] else None
    entry = tightness_.analyse_site(surface, site, _RUN["probe_options"], cache, _RUN["recheck_unknown"])
    return entry.to_json(), (cache.hits, cache.misses) if cache else (0, 0)


def _cvc5_task(query: str, timeout_s: float):
    from checker.analyses.cvc5_check import recheck_here
    return recheck_here(query, timeout_s)


def verify_run(settings: VerifySettings, progress=None) -> VerifyRun:
    """Raises UsageError / SourceError for bad paths or statement files, before any work.

    `progress(phase, done, total, text)`, when given, hears of each finished unit of work: a
    theorem in the phases "checks" and "tightness" (text: the theorem id and its verdicts), a
    query in the phase "cvc5"."""
    files = statement_files(settings.paths)
    modules: dict = {}
    theorems = load_files(files, modules)
    started = time.perf_counter()
    cache = Cache(settings.cache)
    schedule = _Schedule(settings, files, theorems, cache, progress, modules)
    schedule.run()
    results = [r for i in range(len(schedule.selected)) for r in schedule.results[i]]
    rows = [row for i in range(len(schedule.selected)) for row in schedule.rows[i]]
    run = VerifyRun(files, theorems, results, rows, cache=cache)
    run.tightness = schedule.tightness_rows()
    run.seconds = time.perf_counter() - started
    run.report = settings.build / "report.json"
    write_json(results, run.report, run.seconds, rows, run.tightness)
    if not run.errors and settings.second_solver:
        from checker.analyses.cvc5_check import add_to_report, recheck_report
        run.second_solver = recheck_report(run.report, settings.second_solver_timeout,
                                           cache if cache.enabled else None, jobs=jobs_for(settings.jobs),
                                           progress=(lambda done, total: progress("cvc5", done, total, ""))
                                           if progress else None, known=schedule.cvc5_answers,
                                           retry_unknown=settings.recheck_unknown)
        add_to_report(run.report, run.second_solver)
    run.profile = schedule.profile(time.perf_counter() - started)
    _add_profile(run.report, run.profile)
    if run.errors:
        return run
    if settings.catalogue:
        write_atomic(Path(settings.catalogue), render(theorems, results, rows, run.tightness,
                                                      load_measurements(results_folder())))
    if settings.figures and settings.only is None:
        report = json.loads(run.report.read_text())
        for doc in settings.figures:
            blocks.update(doc, {"verify": verify_block(report)})
    return run


def _add_profile(report: Path, profile: dict) -> None:
    data = json.loads(report.read_text())
    data["profile"] = profile
    write_atomic(report, json.dumps(data, indent=2, default=str))


class _Schedule:
    """The run's tasks over the workers, and what came back (see the module's docstring)."""

    def __init__(self, settings: VerifySettings, files, theorems, cache: Cache, progress, modules: dict):
        self.settings, self.cache, self.progress = settings, cache, progress
        self.selected = selected(theorems, settings.only)
        self.options = settings.options
        self.probe_options = Options(timeout=settings.tightness_timeout, budget=settings.probe_budget,
                                     memory_mb=settings.probe_memory_mb)
        self.texts = {str(f): Path(f).read_text(encoding="utf-8") for f in files}
        surface = {}
        if settings.tightness or settings.tightness_all:
            for f in files:  # the surface trees load_files parsed, else parsed here
                module = modules.get(str(f)) or parse_source(self.texts[str(f)], str(f))
                for t in module.theorems:
                    surface[t.id] = t
        self.surface = [surface.get(t.id) for t in self.selected]
        self.results: dict[int, list[CheckResult]] = {}
        self.rows: dict[int, list] = {}
        self.sites: dict[int, list[str]] = {}
        self.entries: dict[int, dict[int, dict]] = {}
        self.cvc5_answers: dict[str, tuple[str, str, float]] = {}
        self.cvc5_asked: set[str] = set()
        self.cvc5_owner: dict[str, int] = {}
        self.stats: dict[int, dict] = {i: {"id": t.id} for i, t in enumerate(self.selected)}
        self.checks_done = self.tightness_done = self.cvc5_done = 0
        self.tightness_total = 0
        self.workers: Workers | None = None

    # -- the run --------------------------------------------------------------------------

    def run(self) -> None:
        settings = self.settings
        if settings.second_solver:
            import checker.analyses.cvc5_check  # noqa: F401 - loaded once, before the workers fork
        _RUN.update(theorems=self.selected, options=self.options, necessity=settings.necessity,
                    surface=self.surface, probe_options=self.probe_options, recheck_unknown=settings.recheck_unknown,
                    cache=str(self.cache.root) if self.cache.enabled else None)
        try:
            self.workers = Workers(jobs_for(settings.jobs), memory_mb=settings.worker_memory_mb,
                                   recycle_mb=settings.worker_memory_mb * 0.75)
            for i in range(len(self.selected)):
                if not self._restore(i):
                    self.workers.submit(Task(("checks", i), _checks_task, (i,), priority=3.0))
            self.workers.run(self._done)
        finally:
            _RUN.clear()

    def _done(self, done: Done) -> None:
        kind = done.key[0]
        if kind == "checks":
            self._checks_done(done)
        elif kind == "site":
            self._site_done(done)
        else:
            self._cvc5_done(done)

    def _checks_done(self, done: Done) -> None:
        i = done.key[1]
        thm = self.selected[i]
        stats = self.stats[i]
        if done.error:
            reason = self._stopped_reason(done)
            results = [CheckResult(id=thm.id, title=thm.title, source=str(c.span), refs=list(thm.refs), check=c.kind,
                                   check_index=c.index, expected=Status(c.expect), status=Status.UNKNOWN,
                                   reason=reason) for c in thm.checks]
            rows: list = []
            stats.update(checks_cpu=done.cpu, necessity_cpu=0.0)
        else:
            results, rows, checks_cpu, necessity_cpu = done.value
            stats.update(checks_cpu=round(checks_cpu, 3), necessity_cpu=round(necessity_cpu, 3))
            self._store(i, results, rows, checks_cpu, necessity_cpu)
        stats.update(checks_peak_mb=round(done.peak_mb, 1), checks_wall=round(done.wall, 3), cached=False)
        self._decided(i, results, rows)

    def _decided(self, i: int, results: list[CheckResult], rows: list) -> None:
        """A theorem's checks are in: report it, and queue its cvc5 queries and tightness sites."""
        self.results[i], self.rows[i] = results, rows
        self.checks_done += 1
        thm = self.selected[i]
        if self.progress:
            verdicts = ", ".join(r.status.value + ("" if r.as_expected else f" (expected {r.expected.value})")
                                 for r in results)
            self.progress("checks", self.checks_done, len(self.selected),
                          f"{thm.id}: {verdicts} ({sum(r.seconds for r in results):.1f} s)")
        assert self.workers is not None
        if self.settings.second_solver and not any(r.status == Status.ERROR for r in results):
            self._queue_cvc5(i, results)
        surface = self.surface[i]
        if surface is not None and tightness_.eligible([r.status for r in results], [r.expected for r in results]):
            keys = [s.key for s in tightness_.chosen_sites(surface, everything=self.settings.tightness_all)]
            self.sites[i], self.entries[i] = keys, {}
            self.tightness_total += 1
            # A probe is decided by the same checks as the theorem: its cost is about theirs.
            cost = self.stats[i].get("checks_cpu", 0.0) or sum(r.seconds for r in results)
            for k, key in enumerate(keys):
                self.workers.submit(Task(("site", i, k), _site_task, (i, key), priority=2.0 + min(cost, 900) / 1000))
            if not keys:
                self._tightness_theorem_done(i)

    def _queue_cvc5(self, i: int, results: list[CheckResult]) -> None:
        from checker.analyses.cvc5_check import CVC5_OPTIONS, query_text
        assert self.workers is not None
        timeout = self.settings.second_solver_timeout
        options = {"timeout_s": timeout, "cvc5_options": CVC5_OPTIONS}
        for r in results:
            for path in r.smt2:
                try:
                    query = query_text(Path(path).read_text())
                except OSError:
                    continue  # the re-check reports the file it cannot read
                if query in self.cvc5_asked:
                    continue
                self.cvc5_asked.add(query)
                self.cvc5_owner[query] = i
                hit = self.cache.peek("cvc5", query, options) if self.cache.enabled else None
                if isinstance(hit, list) and hit and hit[0] in ("sat", "unsat"):
                    continue  # the re-check reads it from the cache
                earlier = self.cache.peek("cvc5-unknown", query, {"cvc5_options": CVC5_OPTIONS}) \
                    if self.cache.enabled and not self.settings.recheck_unknown else None
                if isinstance(earlier, list) and len(earlier) == 2 and earlier[1] == timeout:
                    continue  # unknown at this limit in an earlier run: the re-check says so
                self.workers.submit(Task(("cvc5", query), _cvc5_task, (query, timeout), priority=2.5,
                                         seconds=3 * timeout + 2))

    def _site_done(self, done: Done) -> None:
        _, i, k = done.key
        stats = self.stats[i]
        if done.error:
            site_key = self.sites[i][k]
            surface = self.surface[i]
            site = next(s for s in tightness_.sites(surface) if s.key == site_key)
            entry = tightness_.stopped_site(surface, site, self._stopped_reason(done)).to_json()
        else:
            entry, (hits, misses) = done.value
            self.cache.hits += hits
            self.cache.misses += misses
        self.entries[i][k] = entry
        stats["tightness_cpu"] = round(stats.get("tightness_cpu", 0.0) + done.cpu, 3)
        stats["tightness_peak_mb"] = round(max(stats.get("tightness_peak_mb", 0.0), done.peak_mb), 1)
        stats["sites"] = len(self.sites[i])
        if len(self.entries[i]) == len(self.sites[i]):
            self._tightness_theorem_done(i)

    def _tightness_theorem_done(self, i: int) -> None:
        self.tightness_done += 1
        if self.progress:
            self.progress("tightness", self.tightness_done, self.tightness_total,
                          f"{self.selected[i].id}: {len(self.sites[i])} sites")

    def _cvc5_done(self, done: Done) -> None:
        query = done.key[1]
        if done.error == "time":
            answer = ("unknown", f"cvc5 overran its limit and was stopped after {done.wall:.0f} s", done.wall)
        elif done.error:
            answer = ("unknown", f"cvc5 {self._stopped_reason(done)}", done.wall)
        else:
            answer = (done.value[0], done.value[1], done.wall)
        self.cvc5_answers[query] = answer
        stats = self.stats[self.cvc5_owner[query]]
        stats["cvc5_cpu"] = round(stats.get("cvc5_cpu", 0.0) + done.cpu, 3)
        stats["cvc5_wall"] = round(stats.get("cvc5_wall", 0.0) + done.wall, 3)
        stats["cvc5_peak_mb"] = round(max(stats.get("cvc5_peak_mb", 0.0), done.peak_mb), 1)
        stats["cvc5_queries"] = stats.get("cvc5_queries", 0) + 1
        self.cvc5_done += 1
        if self.progress and (self.cvc5_done == 1 or self.cvc5_done % 50 == 0):
            self.progress("cvc5", self.cvc5_done, len(self.cvc5_asked), "asked as the theorems are decided")

    def _stopped_reason(self, done: Done) -> str:
        if done.error == "memory":
            return (f"stopped: its worker grew past {self.settings.worker_memory_mb:g} MB of memory "
                    f"({done.wall:.1f} s in)")
        if done.error == "time":
            return f"stopped: past its time limit ({done.wall:.1f} s)"
        return done.error

    # -- the decisions' cache -------------------------------------------------------------

    def _cache_text(self, i: int) -> tuple[str, dict]:
        thm = self.selected[i]
        file = next((f for f in self.texts if any(str(c.span).startswith(f + ":") for c in thm.checks)), "")
        opts = self.options
        return (json.dumps({"file": file, "source": self.texts.get(file, ""), "theorem": thm.id}),
                {"timeout": opts.timeout, "budget": opts.budget, "memory_mb": opts.memory_mb, "drop": list(opts.drop),
                 "necessity": self.settings.necessity, "artifacts": opts.build_dir is not None})

    def _store(self, i: int, results: list[CheckResult], rows: list, checks_cpu: float, necessity_cpu: float) -> None:
        """Keep a theorem's decisions when every check and necessity row is decided: an unknown
        (a time limit, a loaded machine) is decided again next time, never kept."""
        if not self.cache.enabled or not results:
            return
        if any(not r.status.decided for r in results) or any(row.verdict == necessity_.Necessity.UNDECIDED
                                                               for row in rows):
            return
        build = self.options.build_dir
        files = {}
        for r in results:
            for path in r.smt2 + ([r.counterexample["file"]] if r.counterexample and "file" in r.counterexample
                                  else []):
                if build is None:
                    continue
                try:
                    files[os.path.relpath(path, build)] = Path(path).read_text()
                except (OSError, ValueError):
                    return  # a file is missing: nothing is kept rather than half
        text, options = self._cache_text(i)
        self.cache.put("checks", text, {
            "results": [_result_json(r, build) for r in results], "necessity": [row.to_json() for row in rows],
            "files": files, "cpu": [checks_cpu, necessity_cpu]}, options)

    def _restore(self, i: int) -> bool:
        if not self.cache.enabled:
            return False
        text, options = self._cache_text(i)
        value = self.cache.get("checks", text, options)
        try:
            results = [_result_from_json(r, self.options.build_dir) for r in value["results"]]
            rows = [necessity_.NecessityRow(**{**row, "verdict": necessity_.Necessity(row["verdict"])})
                    for row in value["necessity"]]
            build = self.options.build_dir
            if build is not None:
                for name, content in value["files"].items():
                    path = build / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(content)
        except (TypeError, KeyError, ValueError, AttributeError):
            return False  # a miss, or an entry this version cannot read: decided afresh
        self.stats[i].update(checks_cpu=0.0, necessity_cpu=0.0, cached=True)
        self._decided(i, results, rows)
        return True

    # -- what the run returns -------------------------------------------------------------

    def tightness_rows(self) -> list[dict]:
        rows = []
        for i in sorted(self.sites):
            surface = self.surface[i]
            assert surface is not None
            rows += [{"id": self.selected[i].id, "file": shown(Path(surface.span.file)), **self.entries[i][k]}
                     for k in range(len(self.sites[i]))]
        return rows

    def profile(self, seconds: float) -> dict:
        theorems = [self.stats[i] for i in range(len(self.selected))]
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        stages = {}
        for stage in ("checks", "necessity", "tightness", "cvc5"):
            stages[stage] = {"cpu": round(sum(t.get(f"{stage}_cpu", 0.0) for t in theorems), 3),
                             "peak_mb": round(max((t.get(f"{stage}_peak_mb", 0.0) for t in theorems), default=0.0), 1)}
        stages["necessity"]["peak_mb"] = stages["checks"]["peak_mb"]  # one task decides both
        workers = self.workers
        return {"seconds": round(seconds, 3), "jobs": jobs_for(self.settings.jobs),
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "cpu_parent": round(own.ru_utime + own.ru_stime, 3),
                "cpu_children": round(children.ru_utime + children.ru_stime, 3),
                "peak_mb_parent": round(own.ru_maxrss / 1024, 1),
                "peak_mb_child": round(children.ru_maxrss / 1024, 1),
                "peak_mb_tree_sampled": round(workers.peak_tree_mb, 1) if workers else 0.0,
                "stopped": list(workers.stopped) if workers else [],
                "cached_theorems": sum(bool(t.get("cached")) for t in theorems),
                "stages": stages, "theorems": theorems}


def _result_json(r: CheckResult, build: Path | None) -> dict:
    data = asdict(r)
    data["status"], data["expected"] = r.status.value, r.expected.value
    if build is not None:
        data["smt2"] = [os.path.relpath(p, build) for p in r.smt2]
        if r.counterexample and "file" in r.counterexample:
            data["counterexample"] = {**r.counterexample, "file": os.path.relpath(r.counterexample["file"], build)}
    return data


def _result_from_json(data: dict, build: Path | None) -> CheckResult:
    data = dict(data)
    if build is not None:
        data["smt2"] = [str(build / p) for p in data["smt2"]]
        if data.get("counterexample") and "file" in data["counterexample"]:
            data["counterexample"] = {**data["counterexample"], "file": str(build / data["counterexample"]["file"])}
    return CheckResult(**data)
