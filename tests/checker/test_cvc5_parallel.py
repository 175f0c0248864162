"""cvc5 re-checks run several at a time give the answers of one-at-a-time runs, in order."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("cvc5")

from checker.analyses.cache import Cache  # noqa: E402
from checker.analyses.cvc5_check import recheck, recheck_many, recheck_report  # noqa: E402

SAT = "(set-logic QF_LRA)\n(declare-fun x () Real)\n(assert (> x 1.0))\n(check-sat)\n"
UNSAT = "(set-logic QF_LRA)\n(declare-fun x () Real)\n(assert (> x 1.0))\n(assert (< x 0.0))\n(check-sat)\n"
NONLINEAR = ("(set-logic QF_NRA)\n(declare-fun x () Real)\n(declare-fun y () Real)\n"
             "(assert (= (* x x) 2.0))\n(assert (> x 0.0))\n(assert (= y (* x x x)))\n(check-sat)\n")


def test_recheck_many_keeps_the_order_and_the_answers():
    texts = [SAT, UNSAT, NONLINEAR, UNSAT, SAT]
    assert [a for a, _ in recheck_many(texts, 5, jobs=2)] == [recheck(t, 5)[0] for t in texts] \
        == ["sat", "unsat", "sat", "unsat", "sat"]


def test_a_parallel_report_recheck_equals_the_sequential_one_and_fills_the_cache(tmp_path):
    files = []
    for i, (text, z3) in enumerate([(SAT, "sat"), (UNSAT, "unsat"), (NONLINEAR, "sat")]):
        path = tmp_path / f"q{i}.smt2"
        path.write_text(text + f"; z3 answer: {z3}\n")
        files.append(str(path))
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"checks": [{"id": "C-3", "check_index": 0, "smt2": files}]}))
    cache = Cache(tmp_path / "cache")
    parallel = recheck_report(report, 5, cache, jobs=2)
    sequential = recheck_report(report, 5, None, jobs=1)
    assert (parallel["agree"], parallel["disagree"], parallel["files"]) == \
        (sequential["agree"], sequential["disagree"], sequential["files"]) == (3, 0, 3)
    again = recheck_report(report, 5, Cache(tmp_path / "cache"), jobs=2)
    assert again["from_cache"] == 3 and again["agree"] == 3
