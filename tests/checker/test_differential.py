"""The exact evaluator against Z3 on random small instances.

The evaluator (`checker/evaluator.py`) and the Z3 translation (`checker/z3_backend.py`)
share no code, so each checks the other:

* a ground formula is satisfiable exactly when the evaluator says it is true;
* for a formula in one free real variable x, a Z3 model makes it true in the evaluator,
  and `unsat` means it is false at every point we try;
* formulas with exp and ln go through `eliminate` first, and a model of the eliminated
  query, read back with `Elimination.back`, makes the ORIGINAL formula true.

Formulas may be undefined somewhere (x ^ -1 at 0); each query is conjoined with
`transform.definedness`, the condition the engine uses, and an undefined formula counts as
not true (the evaluator raises `EvaluationError`).
"""
from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from checker.api import load_text, verify_text
from checker.decide.eliminate import eliminate
from checker.decide.engine import Options
from checker.decide.evaluator import Env, evaluate
from checker.decide.transform import definedness
from checker.decide.z3_backend import decide
from checker.errors import EvaluationError, Undecided
from checker.language import core as C

X = C.Var(C.REAL, "x")
Y = C.Var(C.REAL, "y")

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                       HealthCheck.data_too_large])
Z3_TIMEOUT = 5


# ---- generators -------------------------------------------------------------------------

rationals = st.builds(Fraction, st.integers(-6, 6), st.integers(1, 4))
nonzero = rationals.filter(lambda v: v != 0)
constants = rationals.map(C.num)  # int sort when the value is an integer, real otherwise
exponents = st.sampled_from([0, 1, 2, 3, -1, -2])


def arith_terms(leaf: st.SearchStrategy[C.Term]) -> st.SearchStrategy[C.Term]:
    def extend(ch):
        return st.one_of(
            st.lists(ch, min_size=2, max_size=3).map(lambda a: C.mk("add", *a)),
            st.tuples(ch, ch).map(lambda a: C.mk("mul", *a)),
            ch.map(lambda a: C.mk("neg", a)),
            st.tuples(ch, nonzero.map(C.num)).map(lambda a: C.mk("div", *a)),
            st.tuples(ch, exponents).map(lambda a: C.mk("pow", a[0], C.num(a[1]))),
            st.tuples(st.sampled_from(["min", "max"]), st.lists(ch, min_size=2, max_size=3))
              .map(lambda a: C.mk(a[0], *a[1])),
            ch.map(lambda a: C.mk("abs", a)),
            st.tuples(st.sampled_from(["lt", "le", "eq"]), ch, ch, ch, ch)
              .map(lambda a: C.mk("ite", C.mk(a[0], a[1], a[2]), a[3], a[4])),
        )
    return st.recursive(leaf, extend, max_leaves=7)


def formulas(terms: st.SearchStrategy[C.Term]) -> st.SearchStrategy[C.Term]:
    atoms = st.one_of(
        st.tuples(st.sampled_from(["lt", "le", "eq"]), terms, terms).map(lambda a: C.mk(*a)),
        st.sampled_from([C.TRUE, C.FALSE]),
    )

    def extend(ch):
        return st.one_of(
            ch.map(lambda a: C.mk("not", a)),
            st.lists(ch, min_size=2, max_size=3).map(lambda a: C.mk("and", *a)),
            st.lists(ch, min_size=2, max_size=3).map(lambda a: C.mk("or", *a)),
            st.tuples(ch, ch).map(lambda a: C.mk("implies", *a)),
            st.tuples(ch, ch).map(lambda a: C.mk("iff", *a)),
            st.tuples(ch, ch, ch).map(lambda a: C.mk("ite", *a)),
        )
    return st.recursive(atoms, extend, max_leaves=4)


two_var_formulas = formulas(arith_terms(st.one_of(constants, st.just(X), st.just(Y))))
one_var_formulas = formulas(arith_terms(st.one_of(constants, st.just(X))))


def truth(formula: C.Term, values: dict) -> bool | None:
    """The evaluator's verdict; a formula with no value there is not true; None where the
    evaluator cannot decide it (a divisor it cannot tell from 0)."""
    try:
        return bool(evaluate(formula, Env(dict(values))))
    except EvaluationError:
        return False
    except Undecided:
        return None


def query(formula: C.Term) -> C.Term:
    return C.mk("and", definedness(formula, {}), formula)


def _assert_decided(result, what: str):
    # Small polynomial problems are decidable (nlsat); "unknown" is acceptable only when the
    # solver ran out of time.
    assert result.status != "unknown" or any(w in result.reason for w in ("timeout", "canceled")), \
        f"z3 gave up on {what}: {result.reason}\n{result.smt2}"


# ---- ground formulas: sat iff true ------------------------------------------------------

@settings(max_examples=250, **SETTINGS)
@given(two_var_formulas, rationals, rationals)
def test_ground_formula_is_sat_iff_the_evaluator_says_true(formula, xv, yv):
    ground = C.substitute(formula, {"x": C.num(xv, C.REAL), "y": C.num(yv, C.REAL)})
    assert not C.free_vars(ground)
    note(f"ground formula: {C.term_to_text(ground)}")
    expected = truth(ground, {})
    result = decide(query(ground), [], {}, Z3_TIMEOUT)
    assert result.status in ("sat", "unsat"), f"z3 on a ground formula: {result.status} {result.reason}"
    event(f"{result.status}")
    assert (result.status == "sat") == expected, (C.term_to_text(ground), result.status, expected)


# ---- one free variable: models are true, unsat means false everywhere we look -----------

SAMPLES = [Fraction(v) for v in (-3, -1, Fraction(-1, 2), 0, Fraction(1, 3), 1, 2, Fraction(7, 2))]


@settings(max_examples=300, **SETTINGS)
@given(one_var_formulas, rationals)
def test_z3_models_satisfy_the_formula_in_the_evaluator(formula, xv):
    note(f"formula: {C.term_to_text(formula)}")
    result = decide(query(formula), [], {}, Z3_TIMEOUT)
    _assert_decided(result, C.term_to_text(formula))
    event(result.status)
    if result.status == "sat":
        if result.approximate:
            event("irrational model: not checked")
            return
        value = result.model.get("x", Fraction(0))
        note(f"model: x = {value}")
        assert truth(formula, {"x": value}), f"z3 model x = {value} does not satisfy {C.term_to_text(formula)}"
    elif result.status == "unsat":
        for v in SAMPLES + [xv]:
            assert not truth(formula, {"x": v}), f"z3 says unsat, but x = {v} satisfies {C.term_to_text(formula)}"


# ---- exp and ln through `eliminate` -----------------------------------------------------

positive = st.builds(Fraction, st.integers(1, 12), st.integers(1, 4))
coefficients = st.sampled_from([Fraction(1), Fraction(2), Fraction(-1), Fraction(1, 2),
                                Fraction(-3, 2), Fraction(1, 3), Fraction(3)])
exp_vars = st.sampled_from([X, Y])
cmp_ops = st.sampled_from(["lt", "le", "eq"])


def _scaled(k: Fraction, v: C.Term) -> C.Term:
    return v if k == 1 else C.mk("mul", C.num(k), v)


def _exp(k, v):
    return C.mk("exp", _scaled(k, v))


def _ln(c):
    return C.mk("ln", C.num(c))


def _cmp(op, a, b, flip):
    return C.mk(op, b, a) if flip else C.mk(op, a, b)


exp_atoms = st.one_of(
    # exp(k x) <op> c
    st.builds(lambda op, k, v, c, f: _cmp(op, _exp(k, v), C.num(c), f),
              cmp_ops, coefficients, exp_vars, positive, st.booleans()),
    # k x <op> ln(c)
    st.builds(lambda op, k, v, c, f: _cmp(op, _scaled(k, v), _ln(c), f),
              cmp_ops, coefficients, exp_vars, positive, st.booleans()),
    # k x + j y <op> ln(c1) - ln(c2)
    st.builds(lambda op, k, j, c1, c2: C.mk(op, C.mk("add", _scaled(k, X), _scaled(j, Y)),
                                            C.mk("add", _ln(c1), C.mk("neg", _ln(c2)))),
              cmp_ops, coefficients, coefficients, positive, positive),
    # exp(k x) + exp(j x) <op> c
    st.builds(lambda op, k, j, v, c: C.mk(op, C.mk("add", _exp(k, v), _exp(j, v)), C.num(c)),
              cmp_ops, coefficients, coefficients, exp_vars, positive),
    # c * exp(k x) <op> exp(j y)
    st.builds(lambda op, c, k, j: C.mk(op, C.mk("mul", C.num(c), _exp(k, X)), _exp(j, Y)),
              cmp_ops, positive, coefficients, coefficients),
    # exp(k x) <op> c1 * exp(j x) + c2  (polynomial in s after the rewriting)
    st.builds(lambda op, k, j, c1, c2: C.mk(op, _exp(k, X), C.mk("add", C.mk("mul", C.num(c1), _exp(j, X)),
                                                                C.num(c2))),
              cmp_ops, coefficients, coefficients, rationals, rationals),
)

exp_formulas = st.recursive(
    exp_atoms,
    lambda ch: st.one_of(ch.map(lambda a: C.mk("not", a)),
                         st.lists(ch, min_size=2, max_size=3).map(lambda a: C.mk("and", *a)),
                         st.lists(ch, min_size=2, max_size=3).map(lambda a: C.mk("or", *a))),
    max_leaves=3)


@settings(max_examples=150, **SETTINGS)
@given(exp_formulas)
def test_eliminated_exp_ln_models_satisfy_the_original(formula):
    note(f"formula: {C.term_to_text(formula)}")
    el = eliminate(formula, C.free_vars(formula))
    note(f"eliminated: {C.term_to_text(el.formula)}; side: {[C.term_to_text(s) for s in el.side]}")
    assert not any(isinstance(t, C.Op) and t.op in ("exp", "ln") for t in C.walk(el.formula))
    # 2 s, not 5: some of these time out (see test_negative_powers_after_elimination_are_decided)
    result = decide(el.formula, el.side, {}, 2)
    _assert_decided(result, C.term_to_text(el.formula))
    event(result.status if result.status != "unknown" else f"unknown: {result.reason}")
    if result.status == "sat":
        if result.approximate:
            event("irrational model: not checked")
            return
        back = el.back(result.model)
        values = {name: back.get(name, result.model.get(name, Fraction(0))) for name in ("x", "y")}
        shown = {k: C.term_to_text(v) if isinstance(v, C.Term) else v for k, v in values.items()}
        note(f"model: {result.model}; back: {shown}")
        try:
            holds = evaluate(formula, Env(values))
        except Undecided as err:
            raise AssertionError(f"the evaluator cannot decide the original at the model: {err}") from None
        assert holds, f"the model of the eliminated query falsifies {C.term_to_text(formula)}"
    elif result.status == "unsat":
        for xv in SAMPLES[::2]:
            for yv in SAMPLES[1::3]:
                assert not evaluate(formula, Env({"x": xv, "y": yv})), \
                    f"unsat after elimination, but x = {xv}, y = {yv} satisfies {C.term_to_text(formula)}"


def test_exp_le_constant_roundtrip():
    """exp(x) <= 3 and x >= ln(2): the model read back is x = ln(s) with 2 <= s <= 3."""
    formula = C.mk("and", C.mk("le", C.mk("exp", X), C.num(3)), C.mk("le", C.mk("ln", C.num(2)), X))
    el = eliminate(formula, {"x"})
    result = decide(el.formula, el.side, {}, Z3_TIMEOUT)
    assert result.status == "sat"
    back = el.back(result.model)
    assert evaluate(formula, Env({"x": back.get("x", Fraction(0))}))
    # and x >= ln(4) together with exp(x) <= 3 is impossible
    formula = C.mk("and", C.mk("le", C.mk("exp", X), C.num(3)), C.mk("le", C.mk("ln", C.num(4)), X))
    el = eliminate(formula, {"x"})
    assert decide(el.formula, el.side, {}, Z3_TIMEOUT).status == "unsat"


# ---- what the differential tests found --------------------------------------------------

def test_negative_powers_after_elimination_are_decided():
    # exp(x/3) = 3/2 exp(-3x/2) - 5/2 becomes s^2 = 3/2 * (1 / s^9) - 5/2 with s = e^(x/6) > 0:
    # one univariate polynomial equation, with a positive root. The translation writes s^9
    # as the product s*s*...*s under a division, and Z3's nlsat times out on that shape (5 s),
    # while `s**2 == 3/2 / s**9 - 5/2`, or the equation with the denominator cleared,
    # is sat in milliseconds. Through the checker, the claim
    # `exp(x / 3) != 3/2 * exp(-3/2 * x) - 5/2` comes out unknown (timeout) instead of refuted.
    third, minus = C.mk("mul", C.num(Fraction(1, 3)), X), C.mk("mul", C.num(Fraction(-3, 2)), X)
    formula = C.mk("eq", C.mk("exp", third),
                   C.mk("add", C.mk("mul", C.num(Fraction(3, 2)), C.mk("exp", minus)), C.num(Fraction(-5, 2))))
    el = eliminate(formula, {"x"})
    result = decide(el.formula, el.side, {}, 3)
    assert result.status == "sat", (result.status, result.reason, C.term_to_text(el.formula))
    values = el.back(result.model)
    if not result.approximate:
        assert evaluate(formula, Env({"x": values["x"]}))


def test_negative_power_of_a_variable_is_decided():
    # x ^ -1 is translated as 1 / x, but the translator flags "nonlinear" only for |k| > 1,
    # so the query is posed in QF_LRA and Z3 answers unknown ("Benchmark contains
    # uninterpreted function symbols, but specified logic does not support them").
    formula = C.mk("and", C.mk("lt", C.num(0), X), C.mk("lt", C.mk("pow", X, C.num(-1)), C.num(-1)))
    result = decide(query(formula), [], {}, Z3_TIMEOUT)
    assert result.status == "unsat", (result.status, result.logic, result.reason)


def test_negative_power_claim_is_proved():
    # The same through the whole checker: the claim is true, but comes out unknown.
    text = ('theorem C-1 "t" {\n  param x : real in (0, inf)\n  claim x ^ -1 > 0\n'
            '  check symbolic expect proved\n}\n')
    (result,) = verify_text(text, Options(timeout=5))
    assert result.status == "proved", (result.status, result.reason)


# ---- the whole checker against the evaluator --------------------------------------------
# Random claims in the statement language over `x : real` and `n : int in [1, 3]`. When the
# checker says `proved` (for all values) or `verified` (for the listed values), the claim
# must be defined and true at every point we evaluate it; when it says `refuted`, its
# counterexample must falsify the claim (the engine re-checks this; here it is re-read).

_atoms = st.one_of(
    st.sampled_from(["x", "n", "1", "2", "3", "0.5", "(1/3)", "(-2)"]),
    st.sampled_from(["exp(x)", "exp(-x)", "exp(2 * x)", "ln(n)", "ln(2)", "ln(x ^ 2 + 1)", "sqrt(n)",
                     "n ^ (1/2)", "sqrt(x ^ 2)", "exp(x / 3)"]))


def _arith_text(ch):
    return st.one_of(
        st.tuples(ch, st.sampled_from(["+", "-", "*"]), ch).map(lambda a: f"({a[0]} {a[1]} {a[2]})"),
        st.tuples(ch, st.sampled_from(["2", "3", "4", "(1/2)", "7"])).map(lambda a: f"({a[0]} / {a[1]})"),
        st.tuples(ch, st.sampled_from(["2", "3", "-1"])).map(lambda a: f"({a[0]} ^ {a[1]})"),
        ch.map(lambda a: f"(-{a})"),
        ch.map(lambda a: f"abs({a})"),
        st.tuples(st.sampled_from(["min", "max"]), ch, ch).map(lambda a: f"{a[0]}({a[1]}, {a[2]})"),
    )


arith_text = st.recursive(_atoms, _arith_text, max_leaves=5)
_cmp_text = st.tuples(arith_text, st.sampled_from(["<", "<=", "=", "!=", ">", ">="]), arith_text) \
    .map(lambda a: f"{a[0]} {a[1]} {a[2]}")
claim_text = st.recursive(
    _cmp_text,
    lambda ch: st.one_of(
        ch.map(lambda a: f"not ({a})"),
        st.tuples(ch, st.sampled_from(["and", "or", "=>", "<=>"]), ch).map(lambda a: f"({a[0]}) {a[1]} ({a[2]})"),
    ),
    max_leaves=3)

_X_VALUES = [Fraction(-2), Fraction(-1, 2), Fraction(0), Fraction(1, 3), Fraction(1), Fraction(5, 2)]


@settings(max_examples=60, **SETTINGS)
@given(claim_text)
def test_checker_verdicts_agree_with_the_evaluator(claim):
    text = ('theorem C-1 "random" {\n  param x : real\n  param n : int in [1, 3]\n'
            f'  claim {claim}\n  check symbolic expect proved\n'
            '  check finite n in 1..3, x in {-2, -1/2, 0, 1/3, 1, 5/2} expect verified\n}\n')
    note(text)
    (thm,) = load_text(text)
    symbolic, finite = verify_text(text, Options(timeout=2))
    event(f"symbolic: {symbolic.status}; finite: {finite.status}")
    points = [{"x": xv, "n": Fraction(nv)} for nv in (1, 2, 3) for xv in _X_VALUES]
    truths = [truth(thm.claim, p) for p in points]
    if symbolic.status == "proved":
        assert False not in truths, f"proved, but false at {points[truths.index(False)]}"
    # the finite check covers exactly these points
    if finite.status == "verified":
        assert False not in truths, f"verified, but false at {points[truths.index(False)]}"
    if finite.status == "refuted":
        assert False in truths or None in truths, f"refuted ({finite.counterexample_text}), but true at all 18 points"
    assert symbolic.status != "error" and finite.status != "error", (symbolic.reason, finite.reason)


def test_min_and_max_of_equal_irrational_values():
    # Found by test_checker_verdicts_agree_with_the_evaluator: min/max compare their
    # arguments with intervals only (no exact fallback, unlike the comparisons), so
    # min(e, e) of an irrational e raises Undecided at every precision, though its value is e.
    e = C.mk("exp", C.num(Fraction(-2)))
    for op in ("min", "max"):
        assert evaluate(C.mk("lt", C.mk(op, e, e), C.num(1)), Env()) is True
        assert evaluate(C.mk("eq", C.mk(op, e, C.mk("exp", C.num(Fraction(-2)))), e), Env()) is True
