"""`python -m checker verify [PATHS]` and `python -m checker check FILE`.

Exit status: 0 when every verdict is the one its statement expects, 1 otherwise,
2 for a usage error or a statement file with errors.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .api import load_files, statement_files, verify_parallel
from .cache import DEFAULT_ROOT as DEFAULT_CACHE, Cache
from .budget import DEFAULT_MEMORY_MB, DEFAULT_SECONDS as DEFAULT_BUDGET
from .engine import DEFAULT_TIMEOUT, Options
from .errors import SourceError, UsageError
from .catalogue import render
from .report import necessity_table, table, write_atomic, write_json


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m checker",
                                     description="Decide the statements of proofs/*.lim.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("verify", "decide every check of the given files or folders"),
                            ("check", "decide one file and show the steps of each proof")):
        p = sub.add_parser(name, help=help_text)
        if name == "verify":
            p.add_argument("paths", nargs="*", default=["proofs"], help="files or folders (default: proofs)")
        else:
            p.add_argument("paths", nargs=1, metavar="FILE", help="a .lim file")
        p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                       help=f"seconds per solver query (default {DEFAULT_TIMEOUT:g})")
        p.add_argument("--budget", type=float, default=DEFAULT_BUDGET, metavar="S",
                       help=f"wall time per check, all its work included (default {DEFAULT_BUDGET:g}); past it the "
                            "verdict is unknown")
        p.add_argument("--memory", type=float, default=DEFAULT_MEMORY_MB, metavar="MB",
                       help=f"memory a check may add (default {DEFAULT_MEMORY_MB:g} MB); past it the verdict is unknown")
        p.add_argument("--build", default="build", help="artifact folder (default: build)")
        p.add_argument("--only", metavar="ID", help="only this theorem id (and its .variants)")
        p.add_argument("-v", "--verbose", action="store_true", help="show methods and steps")
        p.add_argument("--jobs", type=int, default=0, metavar="N",
                       help="worker processes, one theorem at a time each (default: one per core, at most 8)")
        p.add_argument("--necessity", action="store_true",
                       help="drop each assumption in turn and report whether the claim then fails")
        p.add_argument("--catalogue", metavar="PATH", help="write the Markdown catalogue (docs/THEOREMS.md)")
        p.add_argument("--second-solver", action="store_true",
                       help="re-check every SMT-LIB query with cvc5; a disagreement with Z3 fails the run")
        p.add_argument("--second-solver-timeout", type=float, default=2.0, metavar="S",
                       help="seconds per cvc5 query (default 2); a cvc5 timeout is reported as unknown")
        p.add_argument("--tightness", action="store_true",
                       help="probe each comparison, quantifier and connective of claims and assumptions with "
                            "a stronger sibling, and the hypotheses for vacuity (checker/tightness.py)")
        p.add_argument("--tightness-all", action="store_true",
                       help="with --tightness: also probe lets, every constant and every range bound")
        p.add_argument("--tightness-timeout", type=float, default=2.0, metavar="S",
                       help="seconds per solver query of a tightness probe (default 2)")
        p.add_argument("--cache", default=str(DEFAULT_CACHE), metavar="DIR",
                       help=f"cache of cvc5 answers and tightness probes, keyed by the exact text and the tool "
                            f"versions (default {DEFAULT_CACHE})")
        p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    return parser


def tightness_rows(files, theorems, results, args, cache) -> list:
    """Tightness entries (as JSON rows with the theorem id) for each theorem decided as expected."""
    from . import tightness
    from .parser import parse_source
    surface = {}
    for f in files:
        for t in parse_source(Path(f).read_text(encoding="utf-8"), str(f)).theorems:
            surface[t.id] = t
    by_id: dict[str, list] = {}
    for r in results:
        by_id.setdefault(r.id, []).append(r)
    options = Options(timeout=args.tightness_timeout)
    rows = []
    for core in theorems:
        rs = by_id.get(core.id)
        if not rs or core.id not in surface:
            continue
        if not tightness.eligible([r.status for r in rs], [r.expected for r in rs]):
            continue
        for entry in tightness.analyse(surface[core.id], options, cache, everything=args.tightness_all):
            rows.append({"id": core.id, **entry.to_json()})
    return rows


def tightness_table(rows) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        word = r["verdict"].split(":")[0].split(",")[0]
        counts[word] = counts.get(word, 0) + 1
    lines = ["\ntightness (each site probed with a stronger sibling): "
             + ", ".join(f"{n} {w}" for w, n in sorted(counts.items()))]
    for r in rows:
        if r["verdict"].startswith(("slack", "VACUOUS", "undecided", "insensitive")):
            lines.append(f"  {r['id']} {r['location']} {r['kind']} `{_clip(r['text'], 60)}`: {r['verdict']}")
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return 2 if exit_.code not in (0, None) else 0
    try:
        if not 0 < args.timeout <= 86_400:
            raise UsageError("--timeout must be positive and at most 86400 seconds")
        if not 0 < args.budget <= 86_400 or not args.memory > 0:
            raise UsageError("--budget must be positive and at most 86400 seconds, --memory positive")
        files = statement_files(args.paths)
        theorems = load_files(files)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except SourceError as err:
        print(err.render(), file=sys.stderr)
        return 2
    build = Path(args.build) / args.command
    options = Options(timeout=args.timeout, build_dir=build, budget=args.budget, memory_mb=args.memory)
    started = time.perf_counter()

    def progress(result):
        if sys.stderr.isatty():
            print(f"  {result.id} check {result.check_index + 1}: {result.status}", file=sys.stderr)

    jobs = args.jobs or min(os.cpu_count() or 1, 8)
    results, rows = verify_parallel(theorems, options, only=args.only, necessity=args.necessity, jobs=jobs,
                                    progress=progress)
    cache = Cache(None if args.no_cache else args.cache)
    tight = []
    if args.tightness or args.tightness_all:
        tight = tightness_rows(files, theorems, results, args, cache)
    seconds = time.perf_counter() - started
    write_json(results, build / "report.json", seconds, rows, tight)
    print(table(results, verbose=args.verbose or args.command == "check"))
    if args.necessity:
        print(necessity_table(rows))
    if tight:
        print(tightness_table(tight))
    if args.catalogue:
        write_atomic(Path(args.catalogue), render(theorems, results, rows, tight))
        print(f"catalogue: {args.catalogue}")
    print(f"report: {build / 'report.json'}  ({seconds:.1f} s)")
    errors = [r for r in results if r.status == "error"]
    for r in errors:
        print(f"{r.reason}" if r.reason.startswith(r.source.split(":")[0]) else f"{r.source}: error: {r.reason}",
              file=sys.stderr)
    if errors:
        return 2  # a check that cannot run as written is bad input, like a parse error
    disagreements = 0
    if args.second_solver:
        from .cvc5_check import add_to_report, recheck_report, summary_line
        summary = recheck_report(build / "report.json", args.second_solver_timeout, cache if cache.enabled else None,
                                 jobs=jobs)
        add_to_report(build / "report.json", summary)
        print(summary_line(summary))
        for entry in summary["disagreements"]:
            print(f"  DISAGREE {entry['file']}: z3 {entry['z3']}, cvc5 {entry['cvc5']}", file=sys.stderr)
        disagreements = summary["disagree"]
        for entry in summary["unknowns"]:
            print(f"  unknown {entry['file']}: z3 {entry['z3']}, cvc5 {entry['cvc5']} ({entry.get('reason', '')})")
    if cache.enabled and (cache.hits or cache.misses):
        print(cache.summary())
    for path in cache.corrupt:
        print(f"warning: corrupt cache file ignored: {path}", file=sys.stderr)
    return 0 if all(r.as_expected for r in results) and not disagreements else 1
