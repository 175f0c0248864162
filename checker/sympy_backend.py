"""SymPy: identities, limits and asymptotics, with the steps it used.

SymPy decides what Z3 cannot state: limits such as Delta*(N, p) / ln N -> 1, and
identities between transcendental expressions. A result counts only if SymPy returns
a definite answer; the parameters' domains become SymPy assumptions where they can, and a
symbolic limit is re-computed at sample points inside the domain as a cross-check. What
SymPy leaves open is reported as unknown with its reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import sympy

from . import core as C


@dataclass
class SympyResult:
    status: str  # "proved" | "refuted" | "unknown"
    steps: list[str] = field(default_factory=list)
    reason: str = ""


class _ToSympy:
    def __init__(self, symbols: dict[str, sympy.Symbol], values: dict | None = None, env=None):
        self.symbols = symbols
        self.values = values or {}
        self.env = env

    def __call__(self, t: C.Term):
        if isinstance(t, C.Const):
            if isinstance(t.value, bool):
                return sympy.true if t.value else sympy.false
            return sympy.Rational(t.value.numerator, t.value.denominator)
        if isinstance(t, C.Var):
            if t.name in self.values:
                v = self.values[t.name]
                if isinstance(v, C.Term):
                    return self(v)
                if isinstance(v, bool):
                    return sympy.true if v else sympy.false
                v = Fraction(v)
                return sympy.Rational(v.numerator, v.denominator)
            if t.name not in self.symbols:
                kw = {"integer": True} if t.sort == C.INT else {"real": True}
                self.symbols[t.name] = sympy.Symbol(t.display, **kw)
            return self.symbols[t.name]
        if isinstance(t, C.Op):
            a = [self(x) for x in t.args]
            table = {
                "add": lambda: sympy.Add(*a), "mul": lambda: sympy.Mul(*a), "neg": lambda: -a[0],
                "div": lambda: a[0] / a[1], "pow": lambda: a[0] ** a[1], "exp": lambda: sympy.exp(a[0]),
                "ln": lambda: sympy.log(a[0]), "sqrt": lambda: sympy.sqrt(a[0]),
                "abs": lambda: sympy.Abs(a[0]), "cos": lambda: sympy.cos(a[0]),
                "sin": lambda: sympy.sin(a[0]), "floor": lambda: sympy.floor(a[0]),
                "ceil": lambda: sympy.ceiling(a[0]), "binom": lambda: sympy.binomial(a[0], a[1]), "min": lambda: sympy.Min(*a), "max": lambda: sympy.Max(*a),
                "lt": lambda: sympy.Lt(a[0], a[1]), "le": lambda: sympy.Le(a[0], a[1]),
                "eq": lambda: sympy.Eq(a[0], a[1]), "not": lambda: sympy.Not(a[0]),
                "and": lambda: sympy.And(*a), "or": lambda: sympy.Or(*a),
                "implies": lambda: sympy.Implies(a[0], a[1]), "iff": lambda: sympy.Equivalent(a[0], a[1]),
                "ite": lambda: sympy.Piecewise((a[1], a[0]), (a[2], True)),
            }
            return table[t.op]()
        if isinstance(t, C.App) and self.env is not None and t.fn in self.env.functions:
            args = tuple(int(self(a)) for a in t.args)
            v = self.env.functions[t.fn](args)
            if isinstance(v, C.Term):
                return self(v)
            return sympy.Rational(Fraction(v).numerator, Fraction(v).denominator) if not isinstance(v, bool) else v
        if isinstance(t, C.Bind) and t.op in ("sum", "prod"):
            var = sympy.Symbol(t.var.display, integer=True)
            self.symbols[t.var.name] = var
            body = self(t.body)
            fn = sympy.Sum if t.op == "sum" else sympy.Product
            return fn(body, (var, self(t.lo), self(t.hi))).doit()
        if isinstance(t, C.Limit):
            var = sympy.Symbol(t.var.display, real=True)
            self.symbols[t.var.name] = var
            point = {"inf": sympy.oo, "-inf": -sympy.oo}.get(t.point) if isinstance(t.point, str) \
                else sympy.Rational(t.point.numerator, t.point.denominator)
            return sympy.limit(self(t.body), var, point)
        raise C.Unsupported(f"SymPy translation of {type(t).__name__} is not supported")


def to_sympy_exact(t: C.Term, values: dict, env=None):
    """An exact SymPy expression for `t` with the given values substituted."""
    return _ToSympy({}, values, env)(t)


def _symbols_for(params) -> dict[str, sympy.Symbol]:
    """Symbols carrying what the domains say: integer, positive, nonnegative."""
    symbols = {}
    for p in params:
        if isinstance(p.sort, C.FunSig) or p.sort == C.BOOL:
            continue
        kw = {"integer": True} if p.sort == C.INT else {"real": True}
        lower = None
        for c in p.constraints:
            if isinstance(c, C.Op) and c.op in ("lt", "le") and c.args[1] == C.Var(p.sort, p.name) \
                    and isinstance(c.args[0], C.Const):
                lower = (c.args[0].value, c.op)
        if lower is not None and (lower[0] > 0 or (lower[0] == 0 and lower[1] == "lt")):
            kw["positive"] = True
        elif lower is not None and lower[0] >= 0:
            kw["nonnegative"] = True
        symbols[p.name] = sympy.Symbol(p.name, **kw)
    return symbols


def _limits(t: C.Term) -> list[C.Limit]:
    return [x for x in C.walk(t) if isinstance(x, C.Limit)]


def _atoms(claim: C.Term) -> list[C.Term] | None:
    if isinstance(claim, C.Op) and claim.op == "and":
        out = []
        for a in claim.args:
            part = _atoms(a)
            if part is None:
                return None
            out += part
        return out
    if isinstance(claim, C.Op) and claim.op in C.COMPARISONS:
        return [claim]
    return None


def prove(claim: C.Term, params, samples: list[dict[str, Fraction]]) -> SympyResult:
    """Decide a conjunction of comparisons by simplification and limits."""
    atoms = _atoms(claim)
    if atoms is None:
        return SympyResult("unknown", reason="SymPy decides conjunctions of (in)equalities only")
    symbols = _symbols_for(params)
    steps: list[str] = []
    for atom in atoms:
        conv = _ToSympy(dict(symbols))
        try:
            lhs, rhs = conv(atom.args[0]), conv(atom.args[1])
        except (C.Unsupported, NotImplementedError, ValueError) as err:
            return SympyResult("unknown", steps, f"SymPy: {err}")
        for lim in _limits(atom):
            steps.append(f"sympy.limit: {C.term_to_text(lim)} = {conv(lim)}")
        if any(isinstance(x, sympy.Limit) or x.has(sympy.zoo, sympy.nan) for x in (lhs, rhs)):
            return SympyResult("unknown", steps, "SymPy returned the limit unevaluated or undefined")
        diff = sympy.simplify(lhs - rhs)
        steps.append(f"sympy.simplify({lhs} - ({rhs})) = {diff}")
        if atom.op == "eq":
            verdict = True if diff == 0 else (False if diff.is_zero is False and not diff.free_symbols else None)
        elif atom.op == "le":
            verdict = True if diff.is_nonpositive else (False if diff.is_positive else None)
        else:
            verdict = True if diff.is_negative else (False if diff.is_nonnegative else None)
        if verdict is None:
            return SympyResult("unknown", steps, f"SymPy cannot decide the sign of {diff}")
        if verdict is False:
            return SympyResult("refuted", steps, f"{C.term_to_text(atom)} fails: difference {diff}")
        if _limits(atom) and samples:
            # The symbolic limit is computed once for all parameters; recompute it at
            # points of the domain so an assumption SymPy made silently cannot slip by.
            for values in samples:
                concrete = _ToSympy({}, values)
                d = sympy.simplify(concrete(atom.args[0]) - concrete(atom.args[1]))
                ok = (d == 0) if atom.op == "eq" else (d.is_nonpositive if atom.op == "le" else d.is_negative)
                steps.append(f"cross-check at {_fmt(values)}: difference {d}")
                if not ok:
                    return SympyResult("unknown", steps, f"symbolic limit disagrees with the limit at {_fmt(values)}")
    return SympyResult("proved", steps)


def _fmt(values: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in values.items())
