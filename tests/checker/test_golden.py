"""`python -m checker verify proofs` end to end: report.json, the SMT-LIB files, and the
golden verdicts in tests/checker/golden/verdicts.json.

Regenerate the golden file after an intended change of verdicts with

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/checker/test_golden.py
"""
from __future__ import annotations

import json
import os
import re
from fractions import Fraction
from pathlib import Path

import pytest

from checker.api import load_files, statement_files
from checker.decide import evaluator as E
from tests.checker.proofs_run import ROOT, verify_proofs

GOLDEN = Path(__file__).resolve().parent / "golden" / "verdicts.json"
FIELDS = ("id", "title", "source", "check", "status", "expected", "range", "counterexample", "smt2", "seconds")


def golden_key(record: dict) -> str:
    """`id#checkindex`, with the 0-based `check_index` of report.json."""
    return f"{record['id']}#{record['check_index']}"


def verdicts_of(report: dict) -> dict[str, str]:
    return {golden_key(r): r["status"] for r in report["checks"]}


def write_golden(verdicts: dict[str, str]) -> None:
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(dict(sorted(verdicts.items())), indent=2) + "\n")


@pytest.fixture(scope="module")
def run():
    """`checker.cli.main(["verify", "proofs", "--build", BUILD])` from the repository root."""
    result = verify_proofs()
    return result.code, result.report, result.build


def record(report: dict, tid: str, index: int) -> dict:
    matches = [r for r in report["checks"] if r["id"] == tid and r["check_index"] == index]
    assert len(matches) == 1, f"{tid} check {index}: {len(matches)} records"
    return matches[0]


def test_exit_code_zero(run):
    code, report, _ = run
    assert code == 0
    assert report is not None and report["all_as_expected"] is True


def test_a_record_for_every_check(run):
    _, report, _ = run
    theorems = load_files(statement_files([str(ROOT / "proofs")]))
    expected = {(t.id, c.index) for t in theorems for c in t.checks}
    got = [(r["id"], r["check_index"]) for r in report["checks"]]
    assert len(got) == len(set(got))
    assert set(got) == expected


def test_record_fields(run):
    _, report, _ = run
    for r in report["checks"]:
        for f in FIELDS:
            assert f in r, f"{golden_key(r)} lacks {f}"
        assert r["check"] in ("symbolic", "finite")
        assert r["status"] in ("proved", "verified", "refuted", "unknown", "error")
        assert r["expected"] in ("proved", "verified", "refuted", "unknown")
        assert isinstance(r["seconds"], (int, float)) and r["seconds"] >= 0
        assert isinstance(r["smt2"], list)
        assert isinstance(r["range"], str) and r["range"]
        assert (r["counterexample"] is not None) == (r["status"] == "refuted"), golden_key(r)


def test_sources_point_at_check_lines(run):
    _, report, _ = run
    for r in report["checks"]:
        m = re.fullmatch(r"(?P<file>proofs/[\w.-]+\.lim):(?P<line>\d+):(?P<col>\d+)", r["source"])
        assert m, r["source"]
        line = (ROOT / m.group("file")).read_text().splitlines()[int(m.group("line")) - 1]
        assert line[int(m.group("col")) - 1:].startswith("check " + r["check"])


def test_report_summary_counts(run):
    _, report, _ = run
    counts = {}
    for r in report["checks"]:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    for status, n in report["summary"].items():
        assert counts.get(status, 0) == n


def test_key_verdicts(run):
    _, report, _ = run
    assert record(report, "C-3", 0)["status"] == "proved"
    assert record(report, "C-3", 0)["check"] == "symbolic"
    assert record(report, "H-1", 0)["status"] == "proved"
    assert record(report, "H-1", 0)["check"] == "symbolic"
    for index in (0, 1):
        assert record(report, "C-3.half-log", index)["status"] == "refuted"
    assert record(report, "C-3", 1)["status"] == "verified"
    assert record(report, "C-3", 1)["instances"] == 4095 * 4


def test_h1_boundary_function_table_counterexample(run):
    _, report, _ = run
    r = record(report, "H-1.boundary", 0)
    assert r["status"] == "refuted"
    cex = r["counterexample"]
    scalars, table = cex["scalars"], cex["functions"]["h"]
    n, m, k = (int(scalars[v]) for v in ("n", "m", "k"))
    assert k == m ** n
    points = {tuple(int(a) for a in key.split(",")): Fraction(v) for key, v in table.items()}
    assert set(points) == {(i, x) for i in range(1, k + 1) for x in range(1, n + 1)}
    assert all(1 <= v <= m for v in points.values())
    # The models are all k = m^n functions, so no f differs from every one of them:
    rows = {tuple(points[(i, x)] for x in range(1, n + 1)) for i in range(1, k + 1)}
    assert len(rows) == m ** n
    # and the exact evaluator agrees that the claim is false there.
    theorems = load_files(statement_files([str(ROOT / "proofs")]))
    thm = next(t for t in theorems if t.id == "H-1.boundary")
    env = E.Env({"n": Fraction(n), "m": Fraction(m), "k": Fraction(k)},
                {"h": E.Table(((1, k), (1, n)), points)})
    assert E.evaluate(thm.claim, env) is False
    saved = Path(cex["file"])
    assert saved.exists() and json.loads(saved.read_text())["counterexample"]["functions"]["h"] == table


def test_smt2_files_exist_and_are_well_formed(run):
    _, report, build = run
    paths = [p for r in report["checks"] for p in r["smt2"]]
    assert paths, "no SMT-LIB queries were written"
    for p in paths:
        path = Path(p)
        assert path.exists(), p
        assert build in path.parents
        text = path.read_text()
        assert text.startswith(";"), p
        assert "(set-logic " in text, p
        assert "(check-sat)" in text, p


def test_golden_verdicts(run):
    _, report, _ = run
    verdicts = verdicts_of(report)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        write_golden(verdicts)
    assert GOLDEN.exists(), "no golden file: run with UPDATE_GOLDEN=1 to create it"
    golden = json.loads(GOLDEN.read_text())
    changed = {k: (golden[k], v) for k, v in verdicts.items() if k in golden and golden[k] != v}
    added = sorted(set(verdicts) - set(golden))
    removed = sorted(set(golden) - set(verdicts))
    assert not (changed or added or removed), (
        f"verdicts differ from {GOLDEN.name}: changed (golden, now) {changed}; new checks {added}; "
        f"missing checks {removed}. If the change is intended, regenerate with "
        "UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/checker/test_golden.py")


def test_golden_file_matches_the_expectations_in_the_statements():
    """The golden verdicts are the ones the statements expect (all checks as expected)."""
    golden = json.loads(GOLDEN.read_text())
    theorems = load_files(statement_files([str(ROOT / "proofs")]))
    expected = {f"{t.id}#{c.index}": c.expect for t in theorems for c in t.checks}
    assert golden == expected
