"""The checker's figures as document blocks, rendered from the runs' own JSON.

`verify_block` is written by `limits verify --figures DOC`, `reliability_block` by
`limits reliability`; both render only what the run determines (counts and verdicts, not
wall-clock times, which belong to `make bench`).
"""
from __future__ import annotations

from collections import Counter


def verify_block(report: dict) -> str:
    checks = report["checks"]
    theorems = len({c["id"] for c in checks})
    counts = Counter(c["status"] for c in checks)
    expected = sum(bool(c["as_expected"]) for c in checks)
    literal = sum(1 for c in checks if c["status"] == "refuted")
    # cvc5's agreement depends on its time limit and the machine's load: it is a reliability
    # figure (the `reliability` block), not part of what a verify run determines.
    methods = Counter(m for c in checks for m in c.get("methods", []) if m != "cvc5")
    lines = [
        f"`make verify` decides {theorems} theorem blocks with {len(checks)} checks: "
        f"{counts['proved']} proved for all parameter values, {counts['verified']} verified on stated ranges, "
        f"{literal} refuted with a counterexample the exact evaluator re-checked, {counts['unknown']} unknown and "
        f"{counts['error']} errors; {expected} of {len(checks)} come out as their statements expect.",
        "",
        "| what a verdict rests on | checks |",
        "|---|---|",
    ]
    for method, n in sorted(methods.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"| `{method}` | {n} |")
    return "\n".join(lines) + "\n"


def reliability_block(summary: dict) -> str:
    lines = ["| figure | measured | target | met |", "|---|---|---|---|"]
    s = summary.get("soundness")
    if s:
        verdicts = ", ".join(f"{n:,} {v}" for v, n in sorted(s["verdicts"].items(), key=lambda kv: -kv[1]))
        lines.append(f"| soundness against the independent oracle | {s['statements']:,} generated statements, "
                     f"{s['checks']:,} checks ({verdicts}): {s['failures']} failures | {s['target']} | "
                     f"{'yes' if s['met'] else 'NO'} |")
    f = summary.get("fuzzing")
    if f:
        lines.append(f"| fuzzing the front end | {f['inputs']:,} mutated inputs, {f['failures']} failures | "
                     f"{f['target']} | {'yes' if f['met'] else 'NO'} |")
    c = summary.get("second_solver")
    if c:
        rate = "n/a" if c.get("agreement_rate") is None else f"{c['agreement_rate']:.1%}"
        coverage = "n/a" if c.get("coverage") is None else f"{c['coverage']:.1%}"
        lines.append(f"| second solver ({c['solver']}) | {c['files']} queries: {c['agree']} agree, "
                     f"{c['disagree']} disagree, {c['unknown']} unknown (agreement {rate} of those both decided, "
                     f"coverage {coverage}) | {c['target']} | {'yes' if c['met'] else 'NO'} |")
    m = summary.get("mutation")
    if m:
        lines.append(f"| mutation testing | {m['killed'] + m['flagged']} of {m['denominator']} non-equivalent "
                     f"mutants killed or flagged ({m['kill_rate']:.1%}); {m['survived_unexplained']} survivors "
                     f"unexplained | {m['target']} | {'yes' if m['met'] else 'NO'} |")
    return "\n".join(lines) + "\n"
