"""`python -m bench.transcendental [--fresh]`: the MetiTarski benchmark (make bench-transcendental).

Every problem of problems.lim (true, expected proved) and false.lim (false variants, expected
refuted) is decided by the checker with a budget of 10 s of wall time per check, one after the
other. Each verdict is appended to build/bench/transcendental.jsonl as it comes, keyed by the
statement's text and a hash of the checker's sources, so an interrupted run resumes where it
stopped. The figures go to bench/transcendental/results.json, to the `transcendental` block of
bench/RESULTS.md and README.md, and to the table in bench/transcendental/RESULTS.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

from checker.api import load_text, verify_theorems
from checker.decide.engine import Options
from checker.files import write_atomic
from checker.paths import project_root
from checker.reports import blocks

from .report import block, table

ROOT = project_root()
HERE = Path(__file__).parent
STATE = ROOT / "build" / "bench" / "transcendental.jsonl"
BUDGET = 10.0


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "checker").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _statements(path: Path) -> list[tuple[str, str]]:
    """(id, text) of every theorem block of a .lim file."""
    out, current = [], []
    for line in path.read_text().splitlines():
        if line.startswith("theorem "):
            current = [line]
        elif current:
            current.append(line)
            if line == "}":
                out.append((current[0].split()[1], "\n".join(current) + "\n"))
                current = []
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.transcendental")
    parser.add_argument("--fresh", action="store_true", help="decide every problem again")
    args = parser.parse_args(argv)
    fingerprint = _fingerprint()
    done: dict[str, dict] = {}
    if STATE.exists() and not args.fresh:
        for line in STATE.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue   # a line cut short by an interruption
            if record.get("fingerprint") == fingerprint:
                done[record["key"]] = record
    STATE.parent.mkdir(parents=True, exist_ok=True)
    records = []
    work = [(kind, ident, text) for kind, name in (("true", "problems.lim"), ("false", "false.lim"))
            for ident, text in _statements(HERE / name)]
    with STATE.open("a") as sink:
        for k, (kind, ident, text) in enumerate(work, 1):
            key = hashlib.sha256(text.encode()).hexdigest()[:16]
            if key in done:
                records.append(done[key])
                continue
            (thm,) = load_text(text, f"bench/transcendental/{ident}")
            started = time.perf_counter()
            (result,) = verify_theorems([thm], Options(timeout=5.0, budget=BUDGET))
            seconds = time.perf_counter() - started
            record = {"key": key, "fingerprint": fingerprint, "id": ident, "kind": kind,
                      "status": str(result.status), "expected": str(result.expected),
                      "seconds": round(seconds, 3), "methods": result.methods, "method": result.method,
                      "steps": result.steps, "counterexample": result.counterexample_text,
                      "reason": result.reason[:300]}
            sink.write(json.dumps(record) + "\n")
            sink.flush()
            records.append(record)
            print(f"[{k}/{len(work)}] {ident}: {record['status']} ({seconds:.1f} s)", flush=True)
    state = {"budget_seconds": BUDGET, "records": records}
    write_atomic(HERE / "results.json", json.dumps(state, indent=1) + "\n")
    write_atomic(HERE / "RESULTS.md", table(state))
    for doc in (ROOT / "README.md", ROOT / "bench" / "RESULTS.md"):
        try:
            blocks.update(doc, {"transcendental": block(state)})
        except blocks.MissingBlock:
            print(f"{doc.name} has no transcendental block")
    print(block(state))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
