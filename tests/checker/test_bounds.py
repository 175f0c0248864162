"""Polynomial bounds of exp, ln, sin, cos (decide/bounds.py): each bound is a theorem, checked
here by the exact evaluator at the true values, and the path proves what its bounds allow and
nothing false."""
from __future__ import annotations

from fractions import Fraction

import pytest

from checker.api import load_text, verify_theorems
from checker.decide import bounds
from checker.decide import evaluator as E
from checker.decide.engine import Options
from checker.language import core as C

X = C.Var(C.REAL, "x")


def _terms() -> list[C.Term]:
    two, half = C.num(2), C.num(Fraction(1, 2))
    return [C.mk("exp", X), C.mk("exp", C.mk("mul", two, X)), C.mk("exp", C.mk("neg", C.mk("mul", half, X))),
            C.mk("exp", C.mk("add", X, C.num(-1))), C.mk("exp", C.mk("mul", X, X)),
            C.mk("ln", C.mk("add", C.mk("mul", X, X), C.num(Fraction(1, 50)))),
            C.mk("ln", C.mk("add", C.mk("mul", C.num(7), X, X), C.num(3))),
            C.mk("sin", X), C.mk("cos", X),
            C.mk("sin", C.mk("mul", C.num(3), X)), C.mk("cos", C.mk("mul", C.num(3), X))]


def _true_values(b: bounds.Bounded) -> dict[str, C.Term]:
    """Each fresh variable's meaning, with the fresh variables inside it replaced in turn."""
    out = dict(b.meaning)
    for _ in range(len(out) + 1):
        out = {k: C.substitute(v, out) for k, v in out.items()}
    assert not any(n.startswith(bounds.PREFIX) for v in out.values() for n in C.free_vars(v))
    return out


POINTS = [Fraction(p) for p in ("-9", "-3", "-1", "-1/3", "0", "1/7", "1/2", "1", "3/2", "2", "9/2", "10", "30")]


@pytest.mark.parametrize("level", [1, pytest.param(2, marks=pytest.mark.slow), pytest.param(3, marks=pytest.mark.slow)])
def test_every_bound_holds_at_the_true_values(level):
    query = C.mk("and", *[C.mk("le", C.num(0), t) for t in _terms()])
    b = bounds.bounded(query, level)
    assert b is not None and b.terms == len(_terms()) and b.used
    values = _true_values(b)
    facts = [C.substitute(f, values) for f in b.facts]
    for x in POINTS:
        for fact in facts:
            assert E.evaluate(fact, E.Env({"x": x})) is True, (level, x, C.term_to_text(fact))


def test_exp_of_one_core_is_tied_by_exact_powers():
    # exp(x) and exp(x/2) share the base e^(x/2): e^x is its square, not a second unknown
    query = C.mk("lt", C.mk("exp", X), C.mk("exp", C.mk("mul", C.num(Fraction(1, 2)), X)))
    b = bounds.bounded(query, 1)
    assert b is not None
    squares = [f for f in b.facts if isinstance(f, C.Op) and f.op == "eq"
               and any(isinstance(x, C.Op) and x.op == "pow" for x in C.walk(f))]
    assert squares, [C.term_to_text(f) for f in b.facts]


def test_a_query_without_transcendental_terms_is_left_alone():
    assert bounds.bounded(C.mk("lt", X, C.num(1)), 1) is None
    with pytest.raises(ValueError):
        bounds.bounded(C.mk("lt", C.mk("exp", X), C.num(1)), 9)


def _decide(claim: str, assume: str = "", expect: str = "proved"):
    hyp = f"  assume h: {assume}\n" if assume else ""
    (thm,) = load_text(f'theorem B-1 "b" {{\n  param x : real\n{hyp}  claim {claim}\n'
                       f'  check symbolic expect {expect}\n}}\n')
    (result,) = verify_theorems([thm], Options(timeout=5.0, budget=20.0))
    return result


@pytest.mark.parametrize("assume, claim", [
    ("0 <= x and x < 2", "exp(x) <= (2 + x) / (2 - x)"),          # a pole at the excluded end
    ("0 < x", "x * exp(x / 2) < exp(x) - 1"),                      # unbounded, two exps of one core
    ("0 < x", "ln(x) <= (2*x^3 + 12*x^2 - 3*x - 11) / (6*x^2 + 15*x + 6)"),
    ("1 < x", "sin(1/x) * x <= 1"),
])
def test_bounds_prove_metitarski_style_claims(assume, claim):
    result = _decide(claim, assume)
    assert str(result.status) == "proved", result.reason
    assert "bounds" in result.methods and any("polynomial bounds" in s for s in result.steps)


@pytest.mark.parametrize("assume, claim", [
    ("0 <= x and x < 2", "exp(x) <= (2 + x) / (2 - x) - 1/1000"),
    ("0 < x", "ln(x) <= x / 3"),
])
def test_false_claims_are_not_proved(assume, claim):
    result = _decide(claim, assume, expect="refuted")
    assert str(result.status) != "proved"
    assert "bounds" not in result.methods
