"""The statements API (checker/statements.py) and the numeric backend it evaluates in bulk.

The numeric backend is cross-checked against the exact evaluator operator by operator and on
sampled points, as Z3 is against the evaluator in test_differential.py.
"""
from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

np = pytest.importorskip("numpy")

from checker.decide import evaluator as E  # noqa: E402
from checker.decide.numeric import Numeric  # noqa: E402
from checker.language import core as C  # noqa: E402
from checker.statements import StatementError, load_statement, statement_ids  # noqa: E402

X, Y = C.Var(C.REAL, "x"), C.Var(C.REAL, "y")
N = C.Var(C.INT, "n")


def _exact(term: C.Term, **values):
    try:
        v = E.evaluate(term, E.Env({k: Fraction(v) for k, v in values.items()}))
    except Exception:  # noqa: BLE001 - undefined or undecided: no value to compare
        return None
    if isinstance(v, bool):
        return v
    return float(v) if isinstance(v, Fraction) else float(v.mid)


OPS = [
    C.mk("add", X, Y), C.mk("mul", X, Y), C.mk("neg", X), C.mk("div", X, Y), C.mk("pow", X, C.num(3)),
    C.mk("pow", X, C.num(Fraction(1, 2))), C.mk("pow", X, Y), C.mk("exp", X), C.mk("ln", X), C.mk("sqrt", X),
    C.mk("abs", X), C.mk("min", X, Y), C.mk("max", X, Y), C.mk("cos", X), C.mk("sin", X), C.mk("floor", X),
    C.mk("ceil", X), C.mk("lt", X, Y), C.mk("le", X, Y), C.mk("eq", X, Y), C.mk("not", C.mk("lt", X, Y)),
    C.mk("and", C.mk("lt", X, Y), C.mk("lt", Y, C.num(2))), C.mk("or", C.mk("lt", X, Y), C.mk("lt", Y, C.num(0))),
    C.mk("implies", C.mk("lt", X, Y), C.mk("lt", Y, C.num(0))), C.mk("iff", C.mk("lt", X, Y), C.mk("lt", Y, C.num(0))),
    C.mk("ite", C.mk("lt", X, Y), X, Y),
    C.Bind(C.REAL, "sum", C.Var(C.INT, "j#1"), C.num(1), N, C.mk("mul", C.Var(C.INT, "j#1"), X)),
    C.Bind(C.REAL, "prod", C.Var(C.INT, "j#1"), C.num(1), N,
           C.mk("add", C.num(1), C.mk("div", X, C.Var(C.INT, "j#1")))),
    C.Bind(C.REAL, "max", C.Var(C.INT, "j#1"), C.num(1), N, C.mk("cos", C.mk("mul", C.Var(C.INT, "j#1"), X))),
    C.Bind(C.BOOL, "forall", C.Var(C.INT, "j#1"), C.num(1), N,
           C.mk("lt", C.Var(C.INT, "j#1"), C.mk("add", X, C.num(5)))),
]


@pytest.mark.parametrize("term", OPS, ids=lambda t: C.term_to_text(t)[:40])
def test_numeric_agrees_with_the_exact_evaluator_operator_by_operator(term):
    rng = random.Random(7)
    points = [(Fraction(rng.randint(-40, 40), rng.randint(1, 8)), Fraction(rng.randint(-40, 40), rng.randint(1, 8)),
               rng.randint(-1, 6)) for _ in range(60)] + [(Fraction(0), Fraction(0), 0), (Fraction(2), Fraction(2), 3)]
    xs = np.array([float(p[0]) for p in points])
    ys = np.array([float(p[1]) for p in points])
    ns = np.array([float(p[2]) for p in points])
    bulk = Numeric({"x": xs, "y": ys, "n": ns})(term)
    bulk = np.broadcast_to(bulk, xs.shape)
    for i, (x, y, n) in enumerate(points):
        exact = _exact(term, x=x, y=y, n=n)
        got = bulk[i]
        if exact is None:
            # undefined for the exact evaluator: NaN numerically (a comparison with NaN is false)
            assert term.sort == C.BOOL or math.isnan(float(got)), (x, y, n, got)
        elif isinstance(exact, bool):
            assert bool(got) == exact, (x, y, n)
        else:
            assert float(got) == pytest.approx(exact, rel=1e-9, abs=1e-12), (x, y, n)


def test_a_statement_is_loaded_by_id_with_its_text_and_hash():
    stmt = load_statement("C-3.sandwich-measured")
    assert stmt.params == ["N", "Dmax", "Dmean", "Dlse", "wm"]
    assert "theorem C-3.sandwich-measured" in stmt.text and len(stmt.sha256) == 64
    assert "C-3" in statement_ids() and "M-1.segment" in statement_ids()
    with pytest.raises(StatementError, match="did you mean C-3.sandwich"):
        load_statement("C-3.sandwch")


def test_exact_evaluation_holds_fails_or_misses_its_hypotheses():
    stmt = load_statement("C-3.sandwich-measured")
    exact = 1 / (1 + 3 * math.exp(-0.5))
    holds = stmt.evaluate(N=4, Dmax=0.0, Dmean=1.0, Dlse=0.5, wm=exact)
    assert holds.status == "holds" and holds.margin > 0
    assert all(c.holds for c in holds.claims)
    unordered = stmt.evaluate(N=4, Dmax=1.0, Dmean=0.0, Dlse=0.5, wm=exact)
    assert unordered.status == "hypotheses not met" and "jensen" in unordered.reason
    unread = stmt.evaluate(N=4, Dmax=0.0, Dmean=1.0, Dlse=0.5, wm=0.9)
    assert unread.status == "hypotheses not met" and "read" in unread.reason
    with pytest.raises(StatementError, match="no parameter 'M'"):
        stmt.evaluate(M=3)
    with pytest.raises(StatementError, match="no value for"):
        stmt.evaluate(N=4)


def test_a_false_statement_fails_with_a_negative_margin():
    literal = load_statement("C-2.rotary-literal")
    at10 = literal.evaluate(base=100000, m=32, Delta=10)
    assert at10.status == "fails" and at10.margin < 0
    assert literal.term("literal", base=100000, m=32, Delta=10) == pytest.approx(0.2)
    assert literal.term("average", base=100000, m=32, Delta=10) == pytest.approx(0.722, abs=1e-3)


def test_bulk_and_exact_evaluation_agree_on_samples():
    rng = np.random.default_rng(3)
    stmt = load_statement("C-3.sandwich-measured")
    k = 200
    n = rng.integers(2, 50, k).astype(float)
    dmax = rng.normal(size=k)
    dlse = dmax + rng.exponential(size=k)
    dmean = dlse + rng.exponential(size=k)
    wm = 1 / (1 + (n - 1) * np.exp(-dlse)) * (1 + rng.normal(scale=1e-5, size=k))
    bulk = stmt.evaluate_many({"N": n, "Dmax": dmax, "Dmean": dmean, "Dlse": dlse, "wm": wm})
    for i in range(0, k, 7):
        one = stmt.evaluate(N=int(n[i]), Dmax=dmax[i], Dmean=dmean[i], Dlse=dlse[i], wm=wm[i])
        assert bool(bulk["hypotheses"][i]) == (one.status != "hypotheses not met")
        if one.status != "hypotheses not met":
            assert bool(bulk["holds"][i]) == one.holds
            assert float(np.minimum(*[m[i] for m in bulk["margins"]])) == pytest.approx(one.margin, rel=1e-6)


def test_functions_bind_as_arrays_and_tables():
    stmt = load_statement("C-3.sandwich")
    one = stmt.evaluate(N=4, s=2.0, z=[0.1, 0.3, -1.0])
    assert one.status == "holds"
    table = stmt.evaluate(N=4, s=2.0, z={1: 0.1, 2: 0.3, 3: -1.0})
    assert [c.margin for c in table.claims] == [c.margin for c in one.claims]
    bulk = stmt.evaluate_many({"N": 4, "s": np.array([2.0, 2.0]), "z": np.array([[0.1, 0.3, -1.0], [0.0, 0.0, 0.0]])})
    assert bulk["margins"][0][0] == pytest.approx(one.claims[0].margin, rel=1e-9)
