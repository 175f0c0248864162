"""`python -m bench.transcendental [--fresh] [--part checker|cvc5|all]`: the transcendental
benchmark (make bench-transcendental, part of make bench).

Every problem of problems.lim (true, expected proved) and false.lim (false variants, expected
refuted) is decided by the checker with a budget of 10 s of wall time per check, one after the
other, and by cvc5 (`cvc5_peer.py`, exp, sin, cos kept as transcendental functions, 10 s).
Each verdict is appended as it comes to build/bench/transcendental.jsonl (keyed by the
statement's text and a hash of the checker's sources that decide verdicts, VERDICT_SOURCES)
or build/bench/transcendental-cvc5.jsonl (keyed by the text and cvc5's version), so an
interrupted run resumes where it stopped and the two parts may run apart (`--part`). The
figures go to bench/transcendental/results.json, to the `transcendental` block of
bench/RESULTS.md and README.md, and to the table in bench/transcendental/RESULTS.md; they are
written only when both parts are complete.
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

from . import cvc5_peer
from .report import block, table

ROOT = project_root()
HERE = Path(__file__).parent
STATE = ROOT / "build" / "bench" / "transcendental.jsonl"
PEER_STATE = ROOT / "build" / "bench" / "transcendental-cvc5.jsonl"
BUDGET = 10.0


# The sources a verdict depends on: the statement language, the decision procedures and the
# entry point between them. The analyses, reports, command line and pipeline are left out, so
# that a change there does not make the benchmark decide every problem again.
VERDICT_SOURCES = ("checker/decide", "checker/language", "checker/api.py", "checker/verdict.py")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    paths = [p for part in VERDICT_SOURCES
             for p in ([ROOT / part] if part.endswith(".py") else sorted((ROOT / part).rglob("*.py")))]
    for path in paths:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
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


def _load(path: Path, stamp: str) -> dict[str, dict]:
    done: dict[str, dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue   # a line cut short by an interruption
            if record.get("fingerprint") == stamp:
                done[record["key"]] = record
    return done


def _last_fingerprint() -> str:
    """The checker version of the last record written (a run's records share one)."""
    lines = STATE.read_text().splitlines() if STATE.exists() else []
    for line in reversed(lines):
        try:
            return str(json.loads(line)["fingerprint"])
        except (json.JSONDecodeError, KeyError):
            continue
    return _fingerprint()


def _checker(work, done: dict[str, dict], fingerprint: str) -> None:
    with STATE.open("a") as sink:
        for k, (kind, ident, text, key) in enumerate(work, 1):
            if key in done:
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
            done[key] = record
            print(f"[{k}/{len(work)}] {ident}: {record['status']} ({seconds:.1f} s)", flush=True)


def _peer(work, done: dict[str, dict], stamp: str, jobs: int) -> None:
    """cvc5 on every statement not yet answered, `jobs` child processes at a time (each under
    its own wall-clock limit)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(item):
        _, ident, text, key = item
        started = time.perf_counter()
        answer, reason = cvc5_peer.decide(text)
        return key, ident, answer, reason, time.perf_counter() - started

    todo = [item for item in work if item[3] not in done]
    with PEER_STATE.open("a") as sink, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for k, (key, ident, answer, reason, seconds) in enumerate(pool.map(one, todo), 1):
            record = {"key": key, "fingerprint": stamp, "id": ident, "answer": answer,
                      "seconds": round(seconds, 3), "reason": reason[:200]}
            sink.write(json.dumps(record) + "\n")
            sink.flush()
            done[key] = record
            print(f"[{k}/{len(todo)}] cvc5 {ident}: {answer} ({seconds:.1f} s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.transcendental")
    parser.add_argument("--fresh", action="store_true", help="decide every problem again")
    parser.add_argument("--part", choices=("checker", "cvc5", "all"), default="all",
                        help="which solver to run (the figures are written once both are complete)")
    parser.add_argument("--cvc5-jobs", type=int, default=1, help="cvc5 queries at a time (default 1)")
    parser.add_argument("--report", action="store_true",
                        help="only write the figures, from the last complete run of one checker version "
                             "(the sources of checker/ may have changed since; the figures name the version)")
    args = parser.parse_args(argv)
    fingerprint, stamp = _fingerprint(), f"cvc5 {cvc5_peer.version()} {cvc5_peer.LIMIT_SECONDS:g} s"
    if args.report:
        fingerprint = _last_fingerprint()
    done = {} if args.fresh else _load(STATE, fingerprint)
    peer = {} if args.fresh else _load(PEER_STATE, stamp)
    STATE.parent.mkdir(parents=True, exist_ok=True)
    work = [(kind, ident, text, hashlib.sha256(text.encode()).hexdigest()[:16])
            for kind, name in (("true", "problems.lim"), ("false", "false.lim"))
            for ident, text in _statements(HERE / name)]
    if args.part in ("checker", "all") and not args.report:
        _checker(work, done, fingerprint)
    if args.part in ("cvc5", "all") and not args.report:
        _peer(work, peer, stamp, args.cvc5_jobs)
    if not all(key in done and key in peer for *_, key in work):
        print("not every problem has both answers yet; the figures are written when they have")
        return 0
    records = []
    for *_, key in work:
        record = dict(done[key])
        record["cvc5"], record["cvc5_seconds"] = peer[key]["answer"], peer[key]["seconds"]
        records.append(record)
    state = {"budget_seconds": BUDGET, "checker": fingerprint, "cvc5": stamp, "records": records}
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
