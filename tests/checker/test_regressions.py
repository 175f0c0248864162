"""Statements that once got wrong verdicts (issue 12): each must now come out as it expects.

Every `tests/checker/regressions/soundness-*.lim` file holds one class of wrong verdicts with the
verdict each check must give; a check that comes out otherwise fails here. The inputs that
once crashed the front end are in `test_fuzz.py`.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from checker.api import load_text, verify_theorems
from checker.decide.engine import Options

HERE = Path(__file__).parent / "regressions"
SOUNDNESS = sorted(HERE.glob("soundness-*.lim"))


@pytest.mark.parametrize("path", SOUNDNESS, ids=lambda p: p.stem)
def test_every_check_comes_out_as_expected(path: Path):
    theorems = load_text(path.read_text(), str(path))
    results = verify_theorems(theorems, Options(timeout=5, budget=60))
    wrong = [f"{r.id} check {r.check_index + 1}: {r.status} (expected {r.expected}; {r.reason[:200]})"
             for r in results if not r.as_expected]
    assert not wrong, "\n".join(wrong)
    assert len(results) >= 2


def _one(text: str):
    (thm,) = load_text(text)
    (result,) = verify_theorems([thm], Options(timeout=5))
    return result


@pytest.mark.parametrize("value, message", [("1/2", "not an integer"), ("ln(2)", "not an integer"),
                                            ("3", "outside [0..1]")])
def test_table_values_are_checked_against_the_codomain(value, message):
    codomain = "[0..1]" if value == "3" else "int"
    result = _one(f'theorem H-1.t "t" {{\n  param h : [1..1] -> {codomain}\n  claim h(1) = h(1)\n'
                  f'  check finite h = {{(1): {value}}} expect verified\n}}\n')
    assert result.status == "error" and message in result.reason and result.diagnostic["line"] == 4


def test_every_verdict_names_what_it_rests_on():
    proved = _one('theorem H-1.t "t" {\n  param x : real\n  claim x^2 >= 0\n  check symbolic expect proved\n}\n')
    refuted = _one('theorem H-1.t "t" {\n  param x : real\n  claim x^2 > 0\n  check symbolic expect refuted\n}\n')
    sympy = _one('theorem H-1.t "t" {\n  claim limit(x -> 0, sin(x) / x) = 1\n  check symbolic expect proved\n}\n')
    assert proved.methods == ["folding", "z3"]   # defined everywhere by folding; true by Z3
    assert refuted.methods == ["evaluator", "z3"] and refuted.counterexample_text == "x = 0"
    assert "sympy" in sympy.methods and sympy.status == "proved"


def test_a_check_past_its_budget_is_unknown_with_the_reason():
    text = ('theorem H-1.t "t" {\n  param n : int in [1, 40]\n'
            '  claim sum(i in 1..n, sum(j in 1..n, sum(k in 1..n, i * j * k))) >= 0\n'
            '  check finite n in 1..40 expect verified\n}\n')
    (thm,) = load_text(text)
    (result,) = verify_theorems([thm], Options(timeout=5, budget=0.5))
    assert result.status == "unknown" and "budget of 0.5 s" in result.reason
    assert result.methods == [] and result.counterexample is None
