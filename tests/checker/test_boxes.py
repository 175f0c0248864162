"""Interval bisection (decide/boxes.py): the interval evaluator, derivatives and the search."""
from __future__ import annotations

from fractions import Fraction

import pytest
from mpmath import iv

from checker.api import load_text
from checker.decide import boxes
from checker.decide import evaluator as E
from checker.language import core as C


def _query(text: str) -> C.Term:
    """hypotheses and not claim, for a one-theorem text."""
    (thm,) = load_text(text)
    hyps = [c for p in thm.params for c in p.constraints] + [a for _, a, _ in thm.assumptions]
    return C.mk("and", *hyps, C.mk("not", thm.claim))


def _thm(params: str, claim: str) -> str:
    lines = "\n".join(f"  param {p}" for p in params.split(";"))
    return f'theorem T-1 "t" {{\n{lines}\n  claim {claim}\n  check symbolic expect proved\n}}\n'


@pytest.mark.parametrize("params, claim", [
    ("x : real in [0, 3]", "sin(x) <= x"),
    ("x : real in [-2, 2]", "cos(x) >= 1 - x^2/2"),
    ("x : real in (0, 2]", "exp(x) > 1 + x"),
    ("x : real in [0, 1]; y : real in [0, 1]", "exp(x + y) >= 1 + x + y"),
])
def test_true_inequalities_have_no_counterexample_box(params, claim):
    result = boxes.decide(_query(_thm(params, claim)), seconds=20)
    assert result.status == "unsat", result.reason
    assert result.boxes >= 1 and "interval bisection over" in result.step()


@pytest.mark.parametrize("params, claim", [
    ("x : real in [0, 3]", "sin(x) <= x - 1/1000"),
    ("x : real in [1/2, 2]", "ln(x) >= x - 1"),
    ("x : real in [-1, 1]; y : real in [-1, 1]", "cos(x) * cos(y) <= 99/100"),
])
def test_false_inequalities_yield_a_point_the_exact_evaluator_confirms(params, claim):
    text = _thm(params, claim)
    result = boxes.decide(_query(text), seconds=20)
    assert result.status == "sat" and result.point is not None
    (thm,) = load_text(text)
    assert E.evaluate(thm.claim, E.Env(dict(result.point))) is False


def test_a_point_where_the_claim_is_undefined_is_never_closed():
    # ln(x) at x = 0 is undefined; [0, 1] includes it, so no box around 0 may be closed
    result = boxes.decide(_query(_thm("x : real in [0, 1]", "ln(x) <= x")), seconds=2)
    assert result.status != "unsat"


def test_interval_evaluation_encloses_and_refuses_undefined_arguments():
    x = C.Var(C.REAL, "x")
    env = {"x": iv.mpf([0.5, 2])}
    value = boxes.ev(C.mk("ln", x), env)
    assert value.a <= -0.6931 and value.b >= 0.6931
    with pytest.raises(boxes.Undefined):
        boxes.ev(C.mk("ln", C.mk("add", x, C.num(-1))), env)
    with pytest.raises(boxes.Undefined):
        boxes.ev(C.mk("div", C.num(1), C.mk("add", x, C.num(-1))), env)


def test_derivatives_agree_with_difference_quotients():
    x = C.Var(C.REAL, "x")
    f = C.mk("mul", C.mk("exp", C.mk("sin", x)), C.mk("sqrt", C.mk("add", x, C.num(1))))
    d = boxes.derivative(f, "x")
    at = Fraction(3, 10)
    h = Fraction(1, 10**8)
    value = lambda t, p: float(boxes.ev(t, {"x": iv.mpf(float(p))}).mid)  # noqa: E731
    quotient = (value(f, at + h) - value(f, at - h)) / (2 * float(h))
    assert abs(value(d, at) - quotient) < 1e-6
