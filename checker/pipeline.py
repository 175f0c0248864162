"""One verify run, as a library call: decide, analyse, re-check, report.

`verify_run` is what `limits verify` and `limits reliability` both do: load the statement
files, decide every check (over worker processes), run the requested analyses (necessity,
tightness, the cvc5 re-check), and write `report.json` and the catalogue. It returns the data;
printing is the command line's business.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from checker.analyses import necessity as necessity_
from checker.analyses import tightness as tightness_
from checker.analyses.cache import Cache
from checker.api import load_files, statement_files, verify_parallel
from checker.decide.engine import Options
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
from checker.verdict import CheckResult


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
    second_solver: bool = False
    second_solver_timeout: float = 2.0
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

    @property
    def errors(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "error"]

    @property
    def ok(self) -> bool:
        """Every verdict as expected, and no disagreement between the two solvers."""
        return all(r.as_expected for r in self.results) and not (self.second_solver or {}).get("disagree")


def jobs_for(requested: int) -> int:
    return requested or min(os.cpu_count() or 1, 8)


def verify_run(settings: VerifySettings, progress=None) -> VerifyRun:
    """Raises UsageError / SourceError for bad paths or statement files, before any work.

    `progress(phase, done, total, text)`, when given, hears of each finished unit of work: a
    theorem in the phases "checks" and "tightness" (text: the theorem id and its verdicts), a
    query in the phase "cvc5"."""
    files = statement_files(settings.paths)
    theorems = load_files(files)
    started = time.perf_counter()
    options = settings.options
    jobs = jobs_for(settings.jobs)
    per_theorem = necessity_.analyse if settings.necessity else None

    def theorem_done(done, total, theorem, results):
        if progress:
            verdicts = ", ".join(r.status.value + ("" if r.as_expected else f" (expected {r.expected.value})")
                                 for r in results)
            progress("checks", done, total, f"{theorem.id}: {verdicts} ({sum(r.seconds for r in results):.1f} s)")

    results, rows = verify_parallel(theorems, options, only=settings.only, per_theorem=per_theorem, jobs=jobs,
                                    progress=theorem_done)
    cache = Cache(settings.cache)
    run = VerifyRun(files, theorems, results, rows, cache=cache)
    if settings.tightness or settings.tightness_all:
        run.tightness = tightness_rows(files, theorems, results, settings, cache, progress)
    run.seconds = time.perf_counter() - started
    run.report = settings.build / "report.json"
    write_json(results, run.report, run.seconds, rows, run.tightness)
    if run.errors:
        return run
    if settings.second_solver:
        from checker.analyses.cvc5_check import add_to_report, recheck_report
        run.second_solver = recheck_report(run.report, settings.second_solver_timeout,
                                           cache if cache.enabled else None, jobs=jobs,
                                           progress=(lambda done, total: progress("cvc5", done, total, ""))
                                           if progress else None)
        add_to_report(run.report, run.second_solver)
    if settings.catalogue:
        write_atomic(Path(settings.catalogue), render(theorems, results, rows, run.tightness,
                                                      load_measurements(results_folder())))
    if settings.figures and settings.only is None:
        report = json.loads(run.report.read_text())
        for doc in settings.figures:
            blocks.update(doc, {"verify": verify_block(report)})
    return run


def tightness_rows(files, theorems, results, settings: VerifySettings, cache, progress=None) -> list[dict]:
    """Tightness entries (as JSON rows with the theorem id) for each theorem decided as expected."""
    surface = {}
    for f in files:
        for t in parse_source(Path(f).read_text(encoding="utf-8"), str(f)).theorems:
            surface[t.id] = t
    by_id: dict[str, list] = {}
    for r in results:
        by_id.setdefault(r.id, []).append(r)
    options = Options(timeout=settings.tightness_timeout)
    rows = []
    todo = [core for core in theorems if by_id.get(core.id) and core.id in surface
            and tightness_.eligible([r.status for r in by_id[core.id]], [r.expected for r in by_id[core.id]])]
    for done, core in enumerate(todo, 1):
        entries = tightness_.analyse(surface[core.id], options, cache, everything=settings.tightness_all)
        rows += [{"id": core.id, "file": shown(Path(surface[core.id].span.file)),
                  **entry.to_json()} for entry in entries]
        if progress:
            progress("tightness", done, len(todo), f"{core.id}: {len(entries)} sites")
    return rows
