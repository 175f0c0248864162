"""The checker's subcommands: verify, check, soundness, mutation, reliability.

`register(subparsers)` adds them to a parser (the `limits` entry point adds the empirical and
benchmark subcommands beside them); `main` is `python -m checker`, the same subcommands on
their own. Exit status: 0 when every verdict is the one its statement expects, 1 otherwise, 2
for a usage error or a statement file with errors.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from checker import paths
from checker.analyses.cache import DEFAULT_ROOT as DEFAULT_CACHE
from checker.decide.budget import DEFAULT_MEMORY_MB
from checker.decide.budget import DEFAULT_SECONDS as DEFAULT_BUDGET
from checker.decide.engine import DEFAULT_TIMEOUT, Options
from checker.errors import Diagnostic, SourceError, UsageError
from checker.reports.progress import Progress
from checker.reports.report import necessity_table, table


def register(sub) -> None:
    for name, help_text in (("verify", "decide every check of the given files or folders"),
                            ("check", "decide one file and show the steps of each proof")):
        p = sub.add_parser(name, help=help_text, description=help_text)
        _verify_arguments(p, name)
        p.set_defaults(run=run_verify)
    p = sub.add_parser("soundness", help="hold generated statements against an independent oracle",
                       description="Generate statements, decide them, and check every verdict against the oracle "
                                   "(checker/soundness).")
    from checker.soundness.harness import add_arguments as soundness_arguments
    soundness_arguments(p)
    p.set_defaults(run=_run_soundness)
    p = sub.add_parser("mutation", help="mutation testing of the statement corpus",
                       description="Mutate every statement and score the mutants (killed, flagged, survivors "
                                   "explained).")
    _mutation_arguments(p)
    p.set_defaults(run=run_mutation)
    p = sub.add_parser("reliability", help="soundness, fuzzing, cvc5 agreement and mutation kill rate, each "
                                           "against its target")
    from checker.reliability import add_arguments as reliability_arguments
    reliability_arguments(p)
    p.set_defaults(run=_run_reliability)


def _verify_arguments(p: argparse.ArgumentParser, name: str) -> None:
    if name == "verify":
        p.add_argument("paths", nargs="*", default=[paths.shown(paths.proofs())],
                       help="files or folders (default: the project's proofs/)")
    else:
        p.add_argument("paths", nargs=1, metavar="FILE", help="a .lim file")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help=f"seconds per solver query (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET, metavar="S",
                   help=f"wall time per check, all its work included (default {DEFAULT_BUDGET:g}); past it the "
                        "verdict is unknown")
    p.add_argument("--memory", type=float, default=DEFAULT_MEMORY_MB, metavar="MB",
                   help=f"memory a check may add (default {DEFAULT_MEMORY_MB:g} MB); past it the verdict is unknown")
    p.add_argument("--build", default=paths.shown(paths.build()),
                   help="artifact folder (default: the project's build/)")
    p.add_argument("--only", metavar="ID", help="only this theorem id (and its .variants); the report goes to "
                                                "BUILD/verify/only-ID/, apart from the full run's")
    p.add_argument("-v", "--verbose", action="store_true", help="show methods and steps")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.add_argument("--json", action="store_true",
                   help="print the report (report.json's content) on standard output instead of the tables; "
                        "errors too are JSON there; progress stays on standard error")
    p.add_argument("--jobs", type=int, default=0, metavar="N",
                   help="worker processes, one theorem at a time each (default: one per core, at most 8)")
    p.add_argument("--necessity", action="store_true",
                   help="drop each assumption in turn and report whether the claim then fails")
    p.add_argument("--catalogue", metavar="PATH", help="write the Markdown catalogue (docs/THEOREMS.md)")
    p.add_argument("--figures", metavar="DOC", action="append", default=[],
                   help="write the run's figures into the `verify` block of this document (README.md); repeatable")
    p.add_argument("--second-solver", action="store_true",
                   help="re-check every SMT-LIB query with cvc5; a disagreement with Z3 fails the run")
    p.add_argument("--second-solver-timeout", type=float, default=2.0, metavar="S",
                   help="seconds per cvc5 query (default 2); a cvc5 timeout is reported as unknown")
    p.add_argument("--recheck-unknown", action="store_true",
                   help="ask cvc5 again the queries an earlier run left unknown at the same limit, and decide again "
                        "the tightness probes it left undecided (by default both stay as they were)")
    p.add_argument("--tightness", action="store_true",
                   help="probe each comparison, quantifier and connective of claims and assumptions with "
                        "a stronger sibling, and the hypotheses for vacuity")
    p.add_argument("--tightness-all", action="store_true",
                   help="with --tightness: also probe lets, every constant and every range bound")
    p.add_argument("--tightness-timeout", type=float, default=2.0, metavar="S",
                   help="seconds per solver query of a tightness probe (default 2)")
    p.add_argument("--cache", default=str(DEFAULT_CACHE), metavar="DIR",
                   help=f"cache of cvc5 answers and tightness probes, keyed by the exact text and the tool "
                        f"versions (default {DEFAULT_CACHE})")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")


def run_verify(args) -> int:
    from checker.pipeline import VerifySettings, verify_run
    try:
        if not 0 < args.timeout <= 86_400:
            raise UsageError("--timeout must be positive and at most 86400 seconds")
        if not 0 < args.budget <= 86_400 or not args.memory > 0:
            raise UsageError("--budget must be positive and at most 86400 seconds, --memory positive")
        build = Path(args.build) / args.command
        if args.only:  # a partial run keeps its report apart from the full run's
            build = build / ("only-" + "".join(c if c.isalnum() or c in "-._" else "_" for c in args.only))
        settings = VerifySettings(
            paths=args.paths, build=build, only=args.only, jobs=args.jobs,
            options=Options(timeout=args.timeout, build_dir=build, budget=args.budget, memory_mb=args.memory),
            necessity=args.necessity, tightness=args.tightness, tightness_all=args.tightness_all,
            tightness_timeout=args.tightness_timeout, second_solver=args.second_solver,
            second_solver_timeout=args.second_solver_timeout, recheck_unknown=args.recheck_unknown,
            cache=None if args.no_cache else args.cache,
            catalogue=Path(args.catalogue) if args.catalogue else None, figures=[Path(d) for d in args.figures])

        run = verify_run(settings, None if args.quiet else Progress())
    except UsageError as err:
        if args.json:
            print(json.dumps({"ok": False, "errors": [{"message": str(err)}]}, indent=2))
        print(f"error: {err}", file=sys.stderr)
        return 2
    except SourceError as err:
        if args.json:
            print(json.dumps({"ok": False, "errors": [d.to_json() for d in err.diagnostics]}, indent=2))
        print(err.render(), file=sys.stderr)
        return 2
    if args.json:
        return _print_json(run)
    print(table(run.results, verbose=args.verbose or args.command == "check"))
    if args.necessity:
        print(necessity_table(run.necessity))
    if run.tightness:
        print(tightness_table(run.tightness))
    if settings.catalogue and not run.errors:
        print(f"catalogue: {settings.catalogue}")
    print(f"report: {run.report}  ({run.seconds:.1f} s)")
    if run.errors:
        sources = {str(f): Path(f).read_text(encoding="utf-8") for f in run.files}
        for r in run.errors:
            diagnostic = Diagnostic.from_json(r.diagnostic) if r.diagnostic else None
            print(diagnostic.render(sources) if diagnostic else f"{r.source}: error: {r.reason}", file=sys.stderr)
        return 2  # a check that cannot run as written is bad input, like a parse error
    if run.second_solver is not None:
        from checker.analyses.cvc5_check import summary_line
        print(summary_line(run.second_solver))
        for entry in run.second_solver["disagreements"]:
            print(f"  DISAGREE {entry['file']}: z3 {entry['z3']}, cvc5 {entry['cvc5']}", file=sys.stderr)
        for entry in run.second_solver["unknowns"]:
            print(f"  unknown {entry['file']}: z3 {entry['z3']}, cvc5 {entry['cvc5']} ({entry.get('reason', '')})")
    cache = run.cache
    if cache is not None and cache.enabled and (cache.hits or cache.misses):
        print(cache.summary())
    for path in (cache.corrupt if cache is not None else []):
        print(f"warning: corrupt cache file ignored: {path}", file=sys.stderr)
    return 0 if run.ok else 1


def _print_json(run) -> int:
    """The report on standard output, with `ok` and the run's errors (as located diagnostics)."""
    report = json.loads(run.report.read_text()) if run.report and run.report.exists() else {}
    errors = [r.diagnostic or {"file": r.source, "message": r.reason} for r in run.errors]
    print(json.dumps({"ok": run.ok and not errors, "report_file": str(run.report), "errors": errors, **report},
                     indent=2, default=str))
    return 2 if errors else (0 if run.ok else 1)


def tightness_table(rows: list[dict]) -> str:
    from checker.analyses.tightness import Reading
    counts: dict[str, int] = {}
    for r in rows:
        word = r["reading"] or "not probed"
        counts[word] = counts.get(word, 0) + 1
    lines = ["\ntightness (each site probed with a stronger sibling): "
             + ", ".join(f"{n} {w}" for w, n in sorted(counts.items()))]
    for r in rows:
        if Reading(r["reading"]).warns:
            where = f"{r['file']}:{r['location']}" if r.get("file") else r["location"]
            lines.append(f"  {r['id']} {where} {r['kind']} `{_clip(r['text'], 60)}`: {r['verdict']}")
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _run_soundness(args) -> int:
    from checker.soundness.harness import run_cli
    return run_cli(args)


def _run_reliability(args) -> int:
    from checker.reliability import run
    return run(args)


def _mutation_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("paths", nargs="*", default=[paths.shown(paths.proofs())])
    ap.add_argument("--per-theorem", type=int, default=8, help="mutants per theorem (default 8; 0: all)")
    ap.add_argument("--timeout", type=float, default=2.0, help="seconds per solver query (default 2)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", metavar="IDS", help="comma-separated theorem ids")
    ap.add_argument("--cache", default=str(DEFAULT_CACHE), metavar="DIR")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    ap.add_argument("--out", default=paths.shown(paths.build() / "reliability" / "mutation.json"))


def run_mutation(args) -> int:
    from checker.analyses.mutation import TARGET, meets_target
    from checker.analyses.mutation import run_mutation as mutate
    only = set(args.only.split(",")) if args.only else None
    summary = mutate(args.paths, args.timeout, args.per_theorem or None, args.jobs, only,
                     None if args.no_cache else args.cache, None if args.quiet else Progress())
    print(f"{'operator':<18} {'mutants':>7} {'killed':>7} {'flagged':>8} {'equiv.':>7} {'survived':>8} "
          f"{'stillborn':>9}")
    for op, c in summary["by_operator"].items():
        print(f"{op:<18} {c['mutants']:>7} {c['killed']:>7} {c['flagged']:>8} {c['equivalent']:>7} "
              f"{c['survived'] - c['equivalent']:>8} {c['stillborn']:>9}")
    for s in summary["survivors"]:
        if s["category"] in ("equivalent", "unchanged statement"):
            continue
        mark = "explained" if s["explained"] else "NOT EXPLAINED"
        print(f"  [{mark}] {s['theorem']}: {s['description']}\n      {s['explanation']}")
    print(f"mutants {summary['mutants']}: {summary['stillborn']} stillborn, {summary['killed']} killed by a verdict, "
          f"{summary['flagged']} flagged ({summary['flagged_by_necessity']} by necessity, "
          f"{summary['flagged_by_tightness']} by tightness), {summary['survived_equivalent']} equivalent, "
          f"{summary['survived_unchanged_statement']} with the statement unchanged, "
          f"{summary['survived_explained_other']} other survivors explained, "
          f"{summary['survived_unexplained']} not explained; {summary['seconds']} s")
    ok = meets_target(summary)
    print(f"mutation kill rate {summary['kill_rate']:.1%} = ({summary['killed']} + {summary['flagged']}) / "
          f"{summary['denominator']} (target {TARGET:.0%}, every survivor explained): {'met' if ok else 'NOT MET'}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, default=str))
    print(f"wrote {out}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """`python -m checker SUBCOMMAND`: the checker's subcommands of the `limits` entry point."""
    parser = argparse.ArgumentParser(prog="python -m checker", description="Decide statements about the limits "
                                     "of LLMs (the checker's subcommands of `limits`).")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return 2 if exit_.code not in (0, None) else 0
    return args.run(args)
