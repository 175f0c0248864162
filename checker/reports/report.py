"""The terminal table and `build/verify/report.json`."""
from __future__ import annotations

import json
import platform
from pathlib import Path

from checker.files import write_atomic
from checker.verdict import CheckResult

_MARK = {"proved": "PROVED", "verified": "VERIFIED", "refuted": "REFUTED", "unknown": "UNKNOWN",
         "error": "ERROR"}


def table(results: list[CheckResult], verbose: bool = False) -> str:
    rows = [("id", "check", "verdict", "expected", "range / counterexample", "time")]
    for r in results:
        detail = (r.counterexample_text if r.status == "refuted"
                  else (r.reason if r.status in ("unknown", "error") else r.range))
        if r.status == "verified":
            detail = f"{r.range} ({r.instances} instances)"
        flag = "" if r.as_expected else "  <-- expected " + r.expected
        rows.append((r.id, r.check, _MARK[r.status] + flag, r.expected, _clip(detail, 90), f"{r.seconds:.2f}s"))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    widths[4] = min(widths[4], 90)
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    for r in results:  # the reasons the table had to cut, in full, with what may help
        if r.status in ("unknown", "error") and (len(r.reason) > 90 or r.suggestion):
            lines.append(f"\n{r.id} check {r.check_index + 1} ({r.check}, {r.source}): {r.status.value}: {r.reason}")
            if r.suggestion:
                lines.append(f"  suggestion: {r.suggestion}")
    if verbose:
        for r in results:
            if r.steps or r.method:
                lines.append(f"\n{r.id} check {r.check_index + 1}: {r.method}")
                lines += [f"  {s}" for s in r.steps]
    ok = sum(r.as_expected for r in results)
    lines.append(f"\n{ok} of {len(results)} checks as expected"
                 + ("" if ok == len(results) else f"; {len(results) - ok} NOT as expected"))
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def necessity_table(rows) -> str:
    if not rows:
        return "\nno theorem with assumptions among those checked"
    width = max(len(f"{r.id} {r.assumption}") for r in rows)
    lines = ["\nnecessity of hypotheses (each dropped in turn):"]
    for r in rows:
        lines.append(f"  {(r.id + ' ' + r.assumption).ljust(width)}  {r.verdict}: {_clip(r.evidence, 80)}")
    return "\n".join(lines)


def write_json(results: list[CheckResult], path: Path, seconds: float, necessity=(), tightness=()) -> None:
    import lark
    import sympy
    import z3
    data = {
        "tool": "limits-checker",
        "versions": {"python": platform.python_version(), "z3": z3.get_version_string(),
                     "sympy": sympy.__version__, "lark": lark.__version__},
        "seconds": round(seconds, 3),
        "summary": {status: sum(r.status == status for r in results)
                    for status in ("proved", "verified", "refuted", "unknown", "error")},
        "all_as_expected": all(r.as_expected for r in results),
        "checks": [r.to_json() for r in results],
        "necessity": [row.to_json() for row in necessity],
        "tightness": list(tightness),
    }
    write_atomic(path, json.dumps(data, indent=2, default=str))
