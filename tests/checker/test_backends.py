"""The backends, operator by operator: evaluator, Z3, SymPy, definedness; exp/ln elimination;
the exact evaluator's rationals, intervals and ties."""
from __future__ import annotations

from fractions import Fraction

import pytest
import sympy
import z3

from checker.decide import evaluator as E
from checker.decide import sympy_backend as SB
from checker.decide import transform as T
from checker.decide import z3_backend as Z
from checker.decide.eliminate import eliminate
from checker.errors import EvaluationError, Undecided
from checker.language import core as C

x, y = C.Var(C.REAL, "x"), C.Var(C.REAL, "y")
n, k = C.Var(C.INT, "n"), C.Var(C.INT, "k")
LOGIC = {"not", "and", "or", "implies", "iff"}
# The original operators that Z3 must translate (not just refuse with Unsupported).
Z3_NATIVE = {"add", "mul", "neg", "div", "pow", "abs", "min", "max", "lt", "le", "eq",
             "not", "and", "or", "implies", "iff", "ite"}
ELIMINATED_FIRST = {"exp", "ln", "sqrt"}
INT_ARGS = {"binom"}  # operators over integers


def sample(op: str) -> C.Term:
    """A small term applying `op` once."""
    arity = C.OPS[op]
    p, q = C.mk("lt", x, y), C.mk("le", y, C.num(3))
    if op == "not":
        return C.Op(C.BOOL, op, (p,))
    if op in LOGIC:
        return C.Op(C.BOOL, op, (p, q))
    if op == "ite":
        return C.mk("ite", p, x, y)
    if op == "pow":
        return C.mk("pow", x, C.num(2))
    if op in INT_ARGS:
        args = (n, k) if arity in (2, None) else (n,) * arity
        return C.mk(op, *args)
    if arity == 1:
        return C.mk(op, x)
    if arity is None or arity == 2:
        return C.mk(op, x, y)
    return C.mk(op, *([x, y, x][:arity]))


POINTS = [
    {"x": Fraction(1, 2), "y": Fraction(2), "n": Fraction(5), "k": Fraction(2)},
    {"x": Fraction(-1, 2), "y": Fraction(0), "n": Fraction(0), "k": Fraction(0)},
    {"x": Fraction(0), "y": Fraction(-3, 2), "n": Fraction(3), "k": Fraction(7)},
    {"x": Fraction(3), "y": Fraction(1, 3), "n": Fraction(-1), "k": Fraction(-1)},
]

ALL_OPS = sorted(C.OPS)


def _z3_value(expr, point):
    ctx = expr.ctx  # each translation has its own Z3 context
    subs = [(z3.Real("x", ctx), z3.RealVal(str(point["x"]), ctx)),
            (z3.Real("y", ctx), z3.RealVal(str(point["y"]), ctx)),
            (z3.Int("n", ctx), z3.IntVal(int(point["n"]), ctx)),
            (z3.Int("k", ctx), z3.IntVal(int(point["k"]), ctx))]
    v = z3.simplify(z3.substitute(expr, *subs))
    if z3.is_true(v):
        return True
    if z3.is_false(v):
        return False
    if z3.is_int_value(v):
        return Fraction(v.as_long())
    assert z3.is_rational_value(v), v
    return Fraction(v.numerator_as_long(), v.denominator_as_long())


def _sympy_matches(expr, value):
    if isinstance(value, bool):
        return bool(expr) == value
    if isinstance(value, Fraction):
        return sympy.nsimplify(expr) == sympy.Rational(value.numerator, value.denominator)
    f = float(sympy.N(expr, 30))
    return float(value.a) - 1e-12 <= f <= float(value.b) + 1e-12


# ---- (a) every operator has a handler everywhere -------------------------------------------

def test_ops_table_is_consistent():
    assert ELIMINATED_FIRST <= set(C.OPS)
    assert Z3_NATIVE <= set(C.OPS)
    assert C.COMPARISONS <= set(C.OPS)
    assert C.ARITH_OPS <= set(C.OPS)


@pytest.mark.parametrize("op", ALL_OPS)
def test_evaluator_has_a_handler(op):
    assert callable(getattr(E._Evaluator, "op_" + op, None)), f"evaluator lacks op_{op}"
    value = E.evaluate(sample(op), E.Env(dict(POINTS[0])))
    assert value is not None


@pytest.mark.parametrize("op", ALL_OPS)
def test_z3_translator_handles_or_refuses(op):
    term = sample(op)
    tr = Z.Translator({})
    if op in ELIMINATED_FIRST:
        with pytest.raises(C.Unsupported):
            tr.tr(term, {}, 1)
        return
    try:
        expr = tr.tr(term, {}, 1)
    except C.Unsupported:
        assert op not in Z3_NATIVE, f"Z3 must translate {op}"
        return
    assert isinstance(expr, z3.ExprRef)
    # The translation means what the evaluator says, wherever the evaluator has a value.
    for point in POINTS:
        try:
            expected = E.evaluate(term, E.Env(dict(point)))
        except EvaluationError:
            continue
        if not isinstance(expected, (bool, Fraction)):
            continue
        if op == "div" and point["y"] == 0:
            continue
        assert _z3_value(expr, point) == expected, (op, point)


@pytest.mark.parametrize("op", sorted(ELIMINATED_FIRST))
def test_z3_refuses_transcendental_ops_even_inside_other_terms(op):
    term = C.mk("lt", C.num(0), C.mk("add", C.num(1), C.mk(op, x)))
    with pytest.raises(C.Unsupported):
        Z.Translator({}).tr(term, {}, 1)
    with pytest.raises(C.Unsupported):
        Z.decide(term, [], {}, 1.0)


@pytest.mark.parametrize("op", ALL_OPS)
def test_sympy_translator_has_a_handler(op):
    term = sample(op)
    expr = SB.ToSympy({})(term)
    assert expr is not None
    for point in POINTS:
        try:
            expected = E.evaluate(term, E.Env(dict(point)))
        except (EvaluationError, Undecided):
            continue
        exact = SB.to_sympy_exact(term, dict(point))
        assert _sympy_matches(exact, expected), (op, point, exact, expected)


@pytest.mark.parametrize("op", ALL_OPS)
def test_definedness_handles_every_op_and_agrees_with_the_evaluator(op):
    term = sample(op)
    d = T.definedness(term, {})
    assert isinstance(d, C.Term) and d.sort == C.BOOL
    for point in POINTS:
        defined = E.evaluate(d, E.Env(dict(point)))
        try:
            E.evaluate(term, E.Env(dict(point)))
            evaluated = True
        except EvaluationError:
            evaluated = False
        assert defined == evaluated, (op, point, C.term_to_text(d))


def test_definedness_conditions_of_partial_ops():
    assert T.definedness(C.mk("div", x, y), {}) == C.mk("not", C.mk("eq", y, C.num(0)))
    assert T.definedness(C.mk("ln", x), {}) == C.mk("lt", C.num(0), x)
    assert T.definedness(C.mk("sqrt", x), {}) == C.mk("le", C.num(0), x)
    assert T.definedness(C.mk("pow", x, C.num(-1)), {}) == C.mk("not", C.mk("eq", x, C.num(0)))
    assert T.definedness(C.mk("add", x, y), {}) == C.TRUE


def test_definedness_short_circuits_like_the_evaluator():
    # x = 0 or 1/x > 0 is defined everywhere: the division is only read when x != 0
    t = C.mk("or", C.mk("eq", x, C.num(0)), C.mk("lt", C.num(0), C.mk("div", C.num(1), x)))
    d = T.definedness(t, {})
    for v in (Fraction(0), Fraction(1), Fraction(-1)):
        assert E.evaluate(d, E.Env({"x": v})) is True
        E.evaluate(t, E.Env({"x": v}))  # and indeed evaluates


def test_definedness_of_function_arguments():
    sig = C.FunSig(((C.num(1), n),), (C.REAL,))
    t = C.App(C.REAL, "h", (k,))
    d = T.definedness(t, {"h": sig})
    assert E.evaluate(d, E.Env({"n": Fraction(3), "k": Fraction(3)})) is True
    assert E.evaluate(d, E.Env({"n": Fraction(3), "k": Fraction(4)})) is False


# ---- (b) elimination of exp and ln ------------------------------------------------------------

def _no_transcendentals(t: C.Term) -> bool:
    return not any(isinstance(s, C.Op) and s.op in ("exp", "ln", "sqrt") for s in C.walk(t))


def test_delta_ge_ln_of_a_variable_becomes_polynomial():
    delta, c = C.Var(C.REAL, "Delta"), C.Var(C.REAL, "c")
    el = eliminate(C.mk("le", C.mk("ln", c), delta))  # Delta >= ln(c)
    assert _no_transcendentals(el.formula)
    assert "Delta" in el.exp_vars and "Delta" not in C.free_vars(el.formula)
    Z.Translator({}).tr(el.formula, {}, 1)  # Z3 takes it as it is
    # e^Delta = s, s > 0: with c = 2, Delta = 1 holds and Delta = 0 does not
    s_name, d = el.exp_vars["Delta"]
    assert d == 1
    assert any(s_name in C.free_vars(s) for s in el.side)
    env = lambda s: E.Env({"c": Fraction(2), s_name: s})  # noqa: E731
    assert E.evaluate(el.formula, env(Fraction(3))) is True    # 2 <= e^1 ~ 2.72 <= 3
    assert E.evaluate(el.formula, env(Fraction(1))) is False   # 2 <= e^0 = 1 fails


def test_delta_ge_ln_of_a_constant_becomes_polynomial():
    delta = C.Var(C.REAL, "Delta")
    el = eliminate(C.mk("le", C.mk("ln", C.num(3)), delta))
    assert _no_transcendentals(el.formula)
    Z.Translator({}).tr(el.formula, {}, 1)


def test_c3_threshold_is_decided_after_elimination():
    """Delta >= ln(p (N-1) / (1-p)) as an unsat query: the elimination is usable by Z3 end to end."""
    delta, p, N = C.Var(C.REAL, "Delta"), C.Var(C.REAL, "p"), C.Var(C.REAL, "N")
    threshold = C.mk("ln", C.mk("div", C.mk("mul", p, C.mk("add", N, C.num(-1))),
                                C.mk("add", C.num(1), C.mk("neg", p))))
    # not (Delta >= threshold  <=>  e^Delta >= threshold's argument) is unsat for 0<p<1, N>=2
    arg = C.mk("div", C.mk("mul", p, C.mk("add", N, C.num(-1))), C.mk("add", C.num(1), C.mk("neg", p)))
    claim = C.mk("iff", C.mk("le", threshold, delta), C.mk("le", arg, C.mk("exp", delta)))
    query = C.mk("and", C.mk("lt", C.num(0), p), C.mk("lt", p, C.num(1)), C.mk("le", C.num(2), N),
                 C.mk("not", claim))
    el = eliminate(query)
    assert _no_transcendentals(el.formula)
    assert Z.decide(el.formula, el.side, {}, 5.0).status == "unsat"


def test_exp_x_le_x_is_unsupported():
    with pytest.raises(C.Unsupported, match="x"):
        eliminate(C.mk("le", C.mk("exp", x), x))


def test_x_times_exp_x_is_unsupported():
    with pytest.raises(C.Unsupported):
        eliminate(C.mk("lt", C.num(0), C.mk("mul", x, C.mk("exp", x))))


@pytest.mark.parametrize("arg", [C.num(1), C.num(Fraction(-1, 2)), C.mk("add", x, C.num(1))])
def test_exp_of_a_nonzero_constant_is_unsupported_or_soundly_enclosed(arg):
    """e^c for a constant c != 0 is transcendental: no exact polynomial rewriting exists.

    The elimination may refuse it (Unsupported) or replace it by a variable confined to a
    rational interval around the true value; it must never assume a wrong value.
    """
    formula = C.mk("lt", C.num(0), C.mk("exp", arg))
    try:
        el = eliminate(formula)
    except C.Unsupported as err:
        assert "constant" in str(err) or "exp" in str(err)
        return
    assert _no_transcendentals(el.formula)
    constants = C.free_vars(el.formula) - {"x"} - {s for s, _ in el.exp_vars.values()}
    assert constants, "the constant e^c must become a variable, not a number"
    # The side constraints hold at the true value of e^c (c = 1, -1/2 or 1).
    c = Fraction(-1, 2) if arg == C.num(Fraction(-1, 2)) else Fraction(1)
    true_value = exp(C.num(c))
    for name in constants:
        for side in el.side:
            if C.free_vars(side) == {name}:
                assert E.evaluate(C.substitute(side, {name: true_value}), E.Env()) is True
        # and they are tight: the constant is pinned to a narrow interval
        bounds = [s for s in el.side if C.free_vars(s) == {name}]
        assert bounds, "an enclosed constant needs bounds"
        for offset in (Fraction(1, 1000), Fraction(-1, 1000)):
            moved = C.mk("add", true_value, C.num(offset))
            assert not all(E.evaluate(C.substitute(b, {name: moved}), E.Env()) for b in bounds)


def test_formulas_without_exp_or_ln_pass_through():
    f = C.mk("lt", C.mk("mul", x, x), C.num(1))
    el = eliminate(f)
    assert el.formula == f and el.side == [] and el.exp_vars == {}


def test_back_translation_gives_exact_terms():
    el = eliminate(C.mk("le", C.num(2), C.mk("exp", x)))
    s_name, _ = el.exp_vars["x"]
    back = el.back({s_name: Fraction(3)})
    assert back["x"] == C.mk("ln", C.num(3, C.REAL))
    assert el.back({s_name: Fraction(1)})["x"] == C.num(0, C.REAL)


# ---- (c) the exact evaluator ---------------------------------------------------------------

def ev(t: C.Term, **values):
    return E.evaluate(t, E.Env({k_: Fraction(v) for k_, v in values.items()}))


def ln(a): return C.mk("ln", a)            # noqa: E704
def exp(a): return C.mk("exp", a)          # noqa: E704
def q(a, b=1): return C.num(Fraction(a, b))  # noqa: E704


def test_exact_rational_arithmetic():
    v = ev(C.mk("add", q(1, 3), q(1, 6)))
    assert v == Fraction(1, 2) and type(v) is Fraction
    assert ev(C.mk("div", q(1), q(3))) == Fraction(1, 3)
    assert ev(C.mk("mul", q(2, 3), q(3, 4), q(4))) == Fraction(2)
    assert ev(C.mk("pow", q(2), q(-2))) == Fraction(1, 4)
    assert ev(C.mk("sqrt", q(4, 9))) == Fraction(2, 3)
    assert ev(C.mk("eq", C.mk("add", q(1, 10), q(2, 10)), q(3, 10))) is True  # no float rounding
    assert ev(C.mk("abs", q(-7, 3))) == Fraction(7, 3)
    assert ev(exp(q(0))) == 1 and ev(ln(q(1))) == 0


def test_zero_times_an_interval_is_exactly_zero():
    assert ev(C.mk("mul", q(0), exp(q(1)))) == 0
    assert ev(C.mk("eq", C.mk("mul", q(0), ln(q(2))), q(0))) is True


@pytest.mark.parametrize("term, expected", [
    (C.mk("lt", exp(q(1)), q(2719, 1000)), True),
    (C.mk("lt", q(2718, 1000), exp(q(1))), True),
    (C.mk("le", exp(q(1)), q(2718, 1000)), False),
    (C.mk("lt", ln(q(2)), q(7, 10)), True),
    (C.mk("lt", q(693, 1000), ln(q(2))), True),
    (C.mk("eq", exp(q(1)), q(2718281828, 1000000000)), False),
    (C.mk("lt", C.mk("sqrt", q(2)), q(1415, 1000)), True),
    (C.mk("lt", ln(q(10**30 + 1)), ln(q(10**30 + 2))), True),   # needs more than double precision
])
def test_interval_decisions(term, expected):
    assert ev(term) is expected


def test_interval_values_enclose_the_real_value():
    import mpmath
    for term, exact in ((exp(q(1)), lambda: mpmath.e), (ln(q(2)), lambda: mpmath.log(2)),
                        (C.mk("sqrt", q(2)), lambda: mpmath.sqrt(2))):
        v = ev(term)
        lo, hi = mpmath.mp.make_mpf(v._mpi_[0]), mpmath.mp.make_mpf(v._mpi_[1])
        with mpmath.workdps(60):
            assert lo <= exact() <= hi
            assert hi - lo < mpmath.mpf(10) ** -15


@pytest.mark.parametrize("op, expected", [("le", True), ("lt", False), ("eq", True)])
def test_tie_exp_2ln3_vs_9_is_settled_exactly(op, expected):
    """exp(2 ln 3) = 9 exactly; intervals cannot split it, so the tie is settled exactly."""
    t = C.mk(op, exp(C.mk("mul", q(2), ln(q(3)))), q(9))
    assert ev(t) is expected


@pytest.mark.parametrize("left, right", [
    (C.mk("mul", C.mk("sqrt", q(2)), C.mk("sqrt", q(2))), q(2)),
    (C.mk("pow", q(4), q(1, 2)), q(2)),
    (exp(ln(q(3))), q(3)),
    (ln(q(8)), C.mk("mul", q(3), ln(q(2)))),
])
def test_other_exact_ties_are_equal(left, right):
    assert ev(C.mk("eq", left, right)) is True
    assert ev(C.mk("le", left, right)) is True
    assert ev(C.mk("lt", left, right)) is False


def test_tie_without_the_exact_fallback_is_undecided():
    t = C.mk("le", exp(C.mk("mul", q(2), ln(q(3)))), q(9))
    with pytest.raises(Undecided):
        E.evaluate(t, E.Env(), exact_fallback=False)


@pytest.mark.parametrize("term", [
    ln(q(0)), ln(q(-1)), C.mk("div", q(1), q(0)), C.mk("div", x, C.mk("add", x, C.num(-1))),
    C.mk("sqrt", q(-1)), C.mk("pow", q(0), q(-1)),
])
def test_evaluation_errors(term):
    with pytest.raises(EvaluationError):
        ev(term, x=1)


def test_division_by_zero_message_names_the_term():
    with pytest.raises(EvaluationError, match="division by zero"):
        ev(C.mk("div", x, C.mk("add", x, C.num(-1))), x=1)
    with pytest.raises(EvaluationError, match="ln of 0"):
        ev(ln(x), x=0)


def test_short_circuit_avoids_undefined_parts():
    t = C.mk("or", C.mk("eq", x, C.num(0)), C.mk("lt", C.num(0), C.mk("div", C.num(1), x)))
    assert ev(t, x=0) is True
    t = C.mk("ite", C.mk("lt", C.num(0), x), ln(x), C.num(0))
    assert ev(t, x=0) == 0


def test_missing_value_is_not_undefinedness():
    # A counterexample missing a value must not read as "the claim is undefined there".
    with pytest.raises(C.Unsupported, match="no value for 'y'"):
        ev(C.mk("add", x, y), x=1)


def test_binders_and_function_tables():
    i = C.Var(C.INT, "i#1")
    h = C.App(C.INT, "h", (i,))
    sum_h = C.Bind(C.INT, "sum", i, C.num(1), n, h)
    table = E.Table(((1, 3),), {(1,): Fraction(2), (2,): Fraction(5), (3,): Fraction(1)})
    env = E.Env({"n": Fraction(3)}, {"h": table})
    assert E.evaluate(sum_h, env) == 8
    assert E.evaluate(C.Bind(C.INT, "max", i, C.num(1), n, h), env) == 5
    assert E.evaluate(C.Bind(C.INT, "min", i, C.num(1), n, h), env) == 1
    assert E.evaluate(C.Bind(C.INT, "prod", i, C.num(1), n, h), env) == 10
    assert E.evaluate(C.Bind(C.BOOL, "exists", i, C.num(1), n, C.mk("eq", h, C.num(5))), env) is True
    assert E.evaluate(C.Bind(C.BOOL, "forall", i, C.num(1), n, C.mk("le", h, C.num(4))), env) is False
    with pytest.raises(EvaluationError):
        E.evaluate(C.App(C.INT, "h", (C.num(4),)), env)
    with pytest.raises(EvaluationError):
        E.evaluate(C.Bind(C.INT, "max", i, C.num(1), C.num(0), h), env)


def test_function_quantifier_is_enumerated():
    # exists f : [1..2] -> [1..2] : f(1) != f(2)   and   forall f ... : f(1) = f(2) (false)
    sig = C.FunSig(((C.num(1), C.num(2)),), (C.INT, C.num(1), C.num(2)))
    f1, f2 = C.App(C.INT, "f", (C.num(1),)), C.App(C.INT, "f", (C.num(2),))
    assert E.evaluate(C.FunBind(C.BOOL, "exists", "f", sig, C.mk("not", C.mk("eq", f1, f2))), E.Env()) is True
    assert E.evaluate(C.FunBind(C.BOOL, "forall", "f", sig, C.mk("eq", f1, f2)), E.Env()) is False
