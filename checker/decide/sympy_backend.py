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

from checker.decide import transform as T
from checker.language import core as C


@dataclass
class SympyResult:
    status: str  # "proved" | "refuted" | "unknown"
    steps: list[str] = field(default_factory=list)
    reason: str = ""


class ToSympy:
    def __init__(self, symbols: dict[str, sympy.Symbol], values: dict | None = None, env=None,
                 defined_near: frozenset = frozenset(), values_only: bool = False):
        self.symbols = symbols
        self.values = values or {}
        self.env = env
        # limits whose bodies the engine has shown defined near their points (by Z3)
        self.known_defined = defined_near
        # only the values of limits are wanted (comparing two statements), not a proof
        self.values_only = values_only

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
                # The full name: a bound variable `i#3` must never meet a parameter `i`.
                kw = {"integer": True} if t.sort == C.INT else {"real": True}
                self.symbols[t.name] = sympy.Symbol(t.name, **kw)
            return self.symbols[t.name]
        if isinstance(t, C.Op):
            a = [self(x) for x in t.args]
            table = {
                "add": lambda: sympy.Add(*a), "mul": lambda: sympy.Mul(*a), "neg": lambda: -a[0],
                "div": lambda: a[0] / a[1], "pow": lambda: a[0] ** a[1], "exp": lambda: sympy.exp(a[0]),
                "ln": lambda: sympy.log(a[0]), "sqrt": lambda: sympy.sqrt(a[0]),
                "abs": lambda: sympy.Abs(a[0]), "cos": lambda: sympy.cos(a[0]),
                "sin": lambda: sympy.sin(a[0]), "floor": lambda: sympy.floor(a[0]),
                "ceil": lambda: sympy.ceiling(a[0]), "binom": lambda: sympy.binomial(a[0], a[1]),
                "min": lambda: sympy.Min(*a), "max": lambda: sympy.Max(*a),
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
        if isinstance(t, C.Bind) and t.op in ("sum", "prod", "max", "min") and self.values:
            lo, hi = self(t.lo), self(t.hi)
            if lo.is_Integer and hi.is_Integer and int(hi) - int(lo) < 10_000:
                # exact values at a point: spell the sum out (its body may read a table)
                items = [ToSympy(self.symbols, {**self.values, t.var.name: Fraction(i)}, self.env,
                                  self.known_defined)(t.body) for i in range(int(lo), int(hi) + 1)]
                if t.op in ("max", "min") and not items:
                    raise C.Unsupported(f"{t.op} over an empty range")
                op = {"sum": sympy.Add, "prod": sympy.Mul, "max": sympy.Max, "min": sympy.Min}[t.op]
                return op(*items) if items else sympy.Integer(0 if t.op == "sum" else 1)
        if isinstance(t, C.Bind) and t.op in ("sum", "prod"):
            var = sympy.Symbol(t.var.name, integer=True)
            self.symbols[t.var.name] = var
            body = self(t.body)
            lo, hi = self(t.lo), self(t.hi)
            fn = sympy.Sum if t.op == "sum" else sympy.Product
            value = fn(body, (var, lo, hi)).doit()
            # The language makes a reversed range empty (0 and 1); SymPy follows Karr's
            # convention, which agrees only while hi >= lo - 1.
            empty = sympy.Integer(0 if t.op == "sum" else 1)
            return sympy.Piecewise((value, sympy.Ge(hi, lo - 1)), (empty, True))
        if isinstance(t, C.Limit):
            return self.limit(t)
        if isinstance(t, C.App):
            raise C.Unsupported(f"a function parameter applied to arguments ({C.term_to_text(t)}): SymPy cannot "
                                "reason about an unknown function")
        raise C.Unsupported(f"SymPy translation of {type(t).__name__} is not supported")

    def limit(self, t: C.Limit):
        """The limit, two-sided at a finite point, and finite; anything else is Unsupported."""
        # Only large values matter at +-inf: the sign lets SymPy settle which sums are empty.
        sign = {"inf": {"positive": True}, "-inf": {"negative": True}}.get(t.point, {}) \
            if isinstance(t.point, str) else {}
        var = sympy.Symbol(t.var.name, real=True, **sign)
        self.symbols[t.var.name] = var
        body = self(t.body)
        if t not in self.known_defined and not self.values_only:
            self.defined_near(t, var)
        if isinstance(t.point, str):
            point = sympy.oo if t.point == "inf" else -sympy.oo
            value = sympy.limit(body, var, point)
        else:
            point = sympy.Rational(t.point.numerator, t.point.denominator)
            try:
                value = sympy.limit(body, var, point, dir="+-")
            except ValueError as err:  # the one-sided limits differ
                raise C.Unsupported(f"SymPy: {err}") from None
        if not _finite(value):
            raise C.Unsupported(f"the limit {C.term_to_text(t)} is {value}, not a finite number")
        return value


    def defined_near(self, t: C.Limit, var) -> None:
        """Raise Unsupported unless the body is defined on a punctured neighbourhood of the
        point (on both sides of a finite point; for all large values at inf), for every value
        of the parameters. Each condition of the body's definedness must follow from its
        one-sided limits: t > 0 and t >= 0 from a positive limit, t != 0 from a non-zero
        limit or from t being a rational function whose numerator is not the zero polynomial
        for any parameter value (its zeros are then isolated)."""
        if any(isinstance(x, (C.App, C.FunBind)) for x in C.walk(t.body)):
            raise C.Unsupported("a limit over a function parameter is not supported")
        condition = T.fold(T.definedness(t.body, {}))
        if isinstance(t.point, str):
            sides = [(sympy.oo if t.point == "inf" else -sympy.oo, "+-")]
        else:
            point = sympy.Rational(t.point.numerator, t.point.denominator)
            sides = [(point, "+"), (point, "-")]
        failure = self._holds_near(condition, var, sides)
        if failure:
            raise C.Unsupported(f"cannot show that the body of {C.term_to_text(t)} is defined near the point: "
                                f"{failure}")

    def _holds_near(self, condition: C.Term, var, sides) -> str:
        """'' when the condition holds on a punctured neighbourhood, else why it is not shown.
        A conjunction needs each part; a disjunction one of them (which suffices)."""
        if condition == C.TRUE:
            return ""
        if isinstance(condition, C.Op) and condition.op == "and":
            for part in condition.args:
                failure = self._holds_near(part, var, sides)
                if failure:
                    return failure
            return ""
        if isinstance(condition, C.Op) and condition.op == "or":
            failures = [self._holds_near(part, var, sides) for part in condition.args]
            return "" if not all(failures) else failures[0]
        need, term = _requirement(condition)
        if need is None or term is None:  # both None together
            return f"cannot read the condition {C.term_to_text(condition)} near the point"
        expr = self(term)
        for point, direction in sides:
            value = sympy.limit(expr, var, point) if direction == "+-" else sympy.limit(expr, var, point, direction)
            if value == sympy.oo or (value.is_positive is True and _finite(value)):
                continue
            if need == "nonzero" and (value == -sympy.oo or value.is_nonzero is True):
                continue
            if need == "nonzero" and value == 0 and _isolated_zeros(expr, var):
                continue
            return (f"the one-sided limit of {C.term_to_text(term)} is {value}, which does not show "
                    f"{C.term_to_text(condition)} near the point")
        return ""


def _finite(value) -> bool:
    """A definite finite real number: not an infinity, nan, an interval of accumulation
    points or an unevaluated limit."""
    if not isinstance(value, sympy.Expr) or value.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        return False
    if value.has(sympy.Limit) or value.has(sympy.AccumBounds):
        return False
    return value.is_finite is True and value.is_real is True


def _requirement(atom: C.Term) -> tuple[str | None, C.Term | None]:
    """('positive', t) for 0 < t and 0 <= t (read strictly), ('nonzero', t) for t != 0."""
    zero = C.num(0)
    if isinstance(atom, C.Op) and atom.op in ("lt", "le") and atom.args[0] == zero:
        return "positive", atom.args[1]
    if isinstance(atom, C.Op) and atom.op == "not" and isinstance(atom.args[0], C.Op) \
            and atom.args[0].op == "eq" and atom.args[0].args[1] == zero:
        return "nonzero", atom.args[0].args[0]
    return None, None


def _isolated_zeros(expr, var) -> bool:
    """Whether expr is a rational function of var whose numerator has a non-zero constant
    coefficient: not the zero polynomial for any parameter value, so its zeros are finitely
    many and a punctured neighbourhood of any point (or a ray) avoids them."""
    numerator, _ = sympy.fraction(sympy.together(expr))
    try:
        poly = sympy.Poly(numerator, var)
    except sympy.PolynomialError:
        return False
    return any(c.is_number and c.is_nonzero is True for c in poly.all_coeffs())


def to_sympy_exact(t: C.Term, values: dict, env=None):
    """An exact SymPy expression for `t` with the given values substituted."""
    return ToSympy({}, values, env)(t)


def symbols_for(params) -> dict[str, sympy.Symbol]:
    """Symbols carrying what the domains say: integer, positive, nonnegative."""
    symbols = {}
    for p in params:
        if isinstance(p.sort, C.FunSig) or p.sort == C.BOOL:
            continue
        kw = {"integer": True} if p.sort == C.INT else {"real": True}
        lower = upper = None
        for c in p.constraints:
            if isinstance(c, C.Op) and c.op in ("lt", "le") and c.args[1] == C.Var(p.sort, p.name) \
                    and isinstance(c.args[0], C.Const):
                lower = (c.args[0].value, c.op)
            if isinstance(c, C.Op) and c.op in ("lt", "le") and c.args[0] == C.Var(p.sort, p.name) \
                    and isinstance(c.args[1], C.Const):
                upper = (c.args[1].value, c.op)
        if lower is not None and (lower[0] > 0 or (lower[0] == 0 and lower[1] == "lt")):
            kw["positive"] = True
        elif lower is not None and lower[0] >= 0:
            kw["nonnegative"] = True
        elif upper is not None and (upper[0] < 0 or (upper[0] == 0 and upper[1] == "lt")):
            kw["negative"] = True
        elif upper is not None and upper[0] <= 0:
            kw["nonpositive"] = True
        symbols[p.name] = sympy.Symbol(p.name, **kw)
    return symbols


def _limits(t: C.Term) -> list[C.Limit]:
    return [x for x in C.walk(t) if isinstance(x, C.Limit)]


def _atoms(claim: C.Term) -> list[C.Op] | None:
    if isinstance(claim, C.Op) and claim.op == "and":
        out: list[C.Op] = []
        for a in claim.args:
            part = _atoms(a)
            if part is None:
                return None
            out += part
        return out
    if isinstance(claim, C.Op) and claim.op in C.COMPARISONS:
        return [claim]
    return None


def prove(claim: C.Term, params, samples: list[dict[str, Fraction]],
          defined_near: frozenset = frozenset()) -> SympyResult:
    """Decide a conjunction of comparisons by simplification and limits.

    Only the truth of the claim is decided here: where it is defined is the caller's
    question (the engine asks Z3 first and never takes SymPy's word for definedness)."""
    atoms = _atoms(claim)
    if atoms is None:
        return SympyResult("unknown", reason="SymPy decides conjunctions of (in)equalities only")
    symbols = symbols_for(params)
    steps: list[str] = []
    for atom in atoms:
        try:
            outcome = _prove_atom(atom, symbols, samples, steps, defined_near)
        except C.Unsupported as err:
            return SympyResult("unknown", steps, str(err))
        except (NotImplementedError, ValueError, TypeError, ArithmeticError, RecursionError,
                sympy.PoleError) as err:
            return SympyResult("unknown", steps, f"SymPy: {type(err).__name__}: {err}")
        if outcome is not None:
            return outcome
    return SympyResult("proved", steps)


def _prove_atom(atom: C.Op, symbols, samples, steps: list[str], defined_near) -> SympyResult | None:
    """None when SymPy shows the atom true for all parameter values; else the result."""
    conv = ToSympy(dict(symbols), defined_near=defined_near)
    lhs, rhs = conv(atom.args[0]), conv(atom.args[1])
    for lim in _limits(atom):
        steps.append(f"sympy.limit: {C.term_to_text(lim)} = {ToSympy(dict(symbols), defined_near=defined_near)(lim)}")
    if any(x.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo) or x.has(sympy.Limit) for x in (lhs, rhs)):
        return SympyResult("unknown", steps, "SymPy returned a limit unevaluated, infinite or undefined")
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
            concrete = ToSympy({}, values, defined_near=defined_near)
            d = sympy.simplify(concrete(atom.args[0]) - concrete(atom.args[1]))
            ok = (d == 0) if atom.op == "eq" else (d.is_nonpositive if atom.op == "le" else d.is_negative)
            steps.append(f"cross-check at {_fmt(values)}: difference {d}")
            if not ok:
                return SympyResult("unknown", steps, f"symbolic limit disagrees with the limit at {_fmt(values)}")
    return None


def _fmt(values: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in values.items())
