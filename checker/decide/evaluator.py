"""The exact evaluator: an independent second semantics of the core.

It shares no code with the solver backends. Rational arithmetic is exact (`Fraction`);
exp, ln, sqrt and fractional powers are enclosed in mpmath intervals whose precision is
raised until every comparison is decided, and a comparison that intervals cannot split
(an exact tie such as exp(2 ln 3) = 9) is settled by SymPy's exact simplification. Every
counterexample a solver proposes is re-checked here before it is shown; on small
instances the tests compare this evaluator with Z3.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from mpmath import iv

from checker.decide import budget
from checker.errors import EvaluationError, Undecided
from checker.language import core as C

# Bits of precision tried in turn. Relative precision: telling exp(1000) + 1 from exp(1000)
# needs more than 1443 bits, hence the long tail.
PRECISIONS = (64, 160, 400, 1000, 2500, 6000)
MAX_FUNCTIONS = 1 << 16  # function spaces larger than this are not enumerated


@dataclass
class Table:
    """A concrete value of a function-valued parameter: argument tuple -> value."""

    sig_domains: tuple[tuple[int, int], ...]
    values: dict[tuple[int, ...], Any]

    def __call__(self, args: tuple[int, ...]):
        for a, (lo, hi) in zip(args, self.sig_domains):
            if not lo <= a <= hi:
                raise EvaluationError(f"argument {a} outside the domain [{lo}..{hi}]")
        return self.values[args]


@dataclass
class Env:
    values: dict[str, Any] = field(default_factory=dict)
    functions: dict[str, Any] = field(default_factory=dict)


def _is_interval(v) -> bool:
    return isinstance(v, iv.mpf)


def _to_interval(v):
    if _is_interval(v):
        return v
    v = Fraction(v)
    return iv.mpf(v.numerator) / iv.mpf(v.denominator)


class _Evaluator:
    def __init__(self, env: Env, exact_fallback: bool):
        self.env = env
        self.exact_fallback = exact_fallback
        # Transcendental functions of exact rationals recur (the same frequency in every
        # term of a rotary sum): compute each once per precision.
        self.memo: dict[tuple | C.Term, Any] = {}
        self._scope: dict[C.Term, tuple[frozenset[str], bool]] = {}

    def run(self, t: C.Term):
        return self.ev(t, self.env.values)

    def ev(self, t: C.Term, values: dict):
        if isinstance(t, C.Const):
            return t.value
        if isinstance(t, C.Var):
            if t.name not in values:
                raise C.Unsupported(f"no value for '{t.display}'")  # a missing value is not undefinedness
            value = values[t.name]
            # An irrational counterexample value is an exact term such as 2*ln(3/2).
            return self.ev(value, {}) if isinstance(value, C.Term) else value
        if isinstance(t, C.Op):
            if values is self.env.values:
                # Outside binders the same subterm has one value: the claim and its
                # definedness condition share most of their subterms.
                key = t
                if key in self.memo:
                    return self.memo[key]
                out = self.memo[key] = getattr(self, "op_" + t.op)(t, values)
                return out
            return self._bound(t, values, lambda: getattr(self, "op_" + t.op)(t, values))
        if isinstance(t, C.App):
            fn = self.env.functions.get(t.fn)
            if fn is None:
                raise C.Unsupported(f"no value for function '{t.fn}'")
            args = tuple(self.integer(a, values) for a in t.args)
            value = fn(args)
            return self.ev(value, {}) if isinstance(value, C.Term) else value
        if isinstance(t, C.Bind):
            return self._bound(t, values, lambda: self.bind(t, values)) if values is not self.env.values \
                else self.bind(t, values)
        if isinstance(t, C.FunBind):
            return self.fun_bind(t, values)
        raise C.Unsupported(f"the exact evaluator cannot evaluate {type(t).__name__}")

    def _bound(self, t: C.Term, values: dict, compute):
        """A subterm under binders has one value per value of the bound variables it mentions:
        c(k) inside sum(j in 0..m, sum(k in 0..j, c(k))) is computed once per k, not once per
        (j, k). Terms that apply a function are not kept (a function quantifier rebinds it), nor
        those whose variables hold values that cannot be keys."""
        scope = self._scope.get(t)
        if scope is None:
            scope = self._scope[t] = (frozenset(C.free_vars(t)),
                                      not any(isinstance(x, (C.App, C.FunBind)) for x in C.walk(t)))
        names, keep = scope
        if not keep:
            return compute()
        try:
            key = (t, tuple(sorted((n, values[n]) for n in names)))
            if key in self.memo:
                return self.memo[key]
        except (KeyError, TypeError):
            return compute()  # a name without a value (the evaluation reports it), or an interval
        out = self.memo[key] = compute()
        return out

    def integer(self, t: C.Term, values) -> int:
        v = self.ev(t, values)
        if _is_interval(v) or isinstance(v, bool) or Fraction(v).denominator != 1:
            raise EvaluationError(f"expected an integer, got {v}")
        return int(v)

    # ---- arithmetic
    def op_add(self, t, values):
        return _fold([Fraction(0)] + [self.ev(a, values) for a in t.args], _plus)

    def op_mul(self, t, values):
        vals = [self.ev(a, values) for a in t.args]
        if any(not _is_interval(v) and v == 0 for v in vals):
            return Fraction(0)  # exact zero, even beside an interval
        return _fold([Fraction(1)] + vals, _times)

    def op_neg(self, t, values):
        return -self.ev(t.args[0], values)

    def op_div(self, t, values):
        a, b = (self.ev(x, values) for x in t.args)
        if _is_interval(b):
            if b.a <= 0 <= b.b:
                if self._exactly(t.args[1], values, Fraction(0)):
                    raise EvaluationError(f"division by zero in {C.term_to_text(t)}")
                raise Undecided("divisor encloses 0")
            return _to_interval(a) / b
        if b == 0:
            raise EvaluationError(f"division by zero in {C.term_to_text(t)}")
        return _to_interval(a) / _to_interval(b) if _is_interval(a) else Fraction(a) / b

    def op_pow(self, t, values):
        base, exponent = (self.ev(x, values) for x in t.args)
        if _is_interval(base) and base.a <= 0 <= base.b and self._exactly(t.args[0], values, Fraction(0)):
            base = Fraction(0)
        if not _is_interval(exponent) and Fraction(exponent).denominator == 1:
            k = int(exponent)
            if not _is_interval(base):
                base = Fraction(base)
                if base == 0 and k < 0:
                    raise EvaluationError(f"0 raised to a negative power in {C.term_to_text(t)}")
                if abs(base) not in (0, 1):
                    bits = abs(k) * max(base.numerator.bit_length(), base.denominator.bit_length())
                    budget.require_bits(C.term_to_text(t), bits)
                return base ** k
            if k < 0 and base.a <= 0 <= base.b:
                raise Undecided("base encloses 0")
            return base ** k
        b = _to_interval(base)
        if _is_interval(exponent) and (_is_interval(base) and base.a <= 0 or not _is_interval(base) and base <= 0):
            # A power of a non-positive base is defined for an integer exponent only, and an
            # enclosure cannot tell an integer from a number next to it.
            if _is_interval(base) and base.b <= 0 or not _is_interval(base) and base < 0:
                if not _contains_integer(exponent):
                    raise EvaluationError(f"negative base with a fractional exponent in {C.term_to_text(t)}")
            raise Undecided("a power of a base that may be non-positive, with an exponent known only by its enclosure")
        if not _is_interval(base):
            if base < 0:
                raise EvaluationError(f"negative base {base} with a fractional exponent")
            if base == 0:
                if exponent > 0:
                    return Fraction(0)
                raise EvaluationError("0 raised to a non-positive fractional power")
        elif b.a <= 0:
            raise Undecided("base of a fractional power encloses 0")
        if not _is_interval(base) and not _is_interval(exponent):
            return self._memo(("pow", base, exponent), lambda: iv.exp(_to_interval(exponent) * iv.log(b)))
        return iv.exp(_to_interval(exponent) * iv.log(b))

    def _exactly(self, t: C.Term, values, target: Fraction) -> bool:
        """At the last precision only: whether SymPy shows `t` exactly equal to `target`
        (so 0 enclosed by a divisor is a true 0, not a small number)."""
        if not self.exact_fallback:
            return False
        import sympy

        from checker.decide.sympy_backend import to_sympy_exact
        try:
            expr = to_sympy_exact(t, values, self.env)
        except (C.Unsupported, TypeError, ValueError):
            return False
        return _exactly_zero(sympy, expr - sympy.Rational(target.numerator, target.denominator))

    def _memo(self, key, compute):
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def op_exp(self, t, values):
        v = self.ev(t.args[0], values)
        if not _is_interval(v):
            return Fraction(1) if v == 0 else self._memo(("exp", v), lambda: iv.exp(_to_interval(v)))
        return iv.exp(v)

    def op_ln(self, t, values):
        v = self.ev(t.args[0], values)
        if not _is_interval(v):
            if v <= 0:
                raise EvaluationError(f"ln of {v}, which is not positive, in {C.term_to_text(t)}")
            if v == 1:
                return Fraction(0)
            return iv.log(_to_interval(v))
        if v.b <= 0:
            raise EvaluationError(f"ln of a non-positive value in {C.term_to_text(t)}")
        if v.a <= 0:
            if self._exactly(t.args[0], values, Fraction(0)):
                raise EvaluationError(f"ln of 0 in {C.term_to_text(t)}")
            raise Undecided("ln argument encloses 0")
        return iv.log(v)

    def op_sqrt(self, t, values):
        v = self.ev(t.args[0], values)
        if not _is_interval(v):
            if v < 0:
                raise EvaluationError(f"sqrt of the negative number {v}")
            v = Fraction(v)
            num, den = _isqrt_exact(v.numerator), _isqrt_exact(v.denominator)
            if num is not None and den is not None:
                return Fraction(num, den)
            return iv.sqrt(_to_interval(v))
        if v.b < 0:
            raise EvaluationError("sqrt of a negative value")
        if v.a < 0:
            if self._exactly(t.args[0], values, Fraction(0)):
                return Fraction(0)
            raise Undecided("sqrt argument encloses 0")
        return iv.sqrt(v)

    def op_cos(self, t, values):
        v = self.ev(t.args[0], values)
        return Fraction(1) if not _is_interval(v) and v == 0 else iv.cos(_to_interval(v))

    def op_sin(self, t, values):
        v = self.ev(t.args[0], values)
        return Fraction(0) if not _is_interval(v) and v == 0 else iv.sin(_to_interval(v))

    def _rounded(self, t, values, up: bool):
        v = self.ev(t.args[0], values)
        if not _is_interval(v):
            return Fraction(math.ceil(v) if up else math.floor(v))
        # Exactly, from the enclosure's rational end points: never through a float.
        ends = [_mpf_fraction(x) for x in v._mpi_]
        lo, hi = (math.ceil(x) if up else math.floor(x) for x in ends)
        if lo != hi:
            # the enclosure holds one integer n (and its neighbourhood): exactly n, or undecided
            n = Fraction(math.ceil(ends[0]))
            if n == math.floor(ends[1]) and self._exactly(t.args[0], values, n):
                return n
            raise Undecided(f"{t.op} of an interval that straddles an integer")
        return Fraction(int(lo))

    def op_floor(self, t, values):
        return self._rounded(t, values, False)

    def op_ceil(self, t, values):
        return self._rounded(t, values, True)

    def op_binom(self, t, values):
        n, k = (self.integer(a, values) for a in t.args)
        if n < 0:
            raise EvaluationError(f"binom({n}, {k}) with a negative n")
        if not 0 <= k <= n:
            return Fraction(0)
        budget.require_bits(f"binom({n}, {k})", binom_bits(n, k))
        return Fraction(math.comb(n, k))

    def op_abs(self, t, values):
        v = self.ev(t.args[0], values)
        return abs(v)

    def _extremum(self, vals, pick_max: bool):
        if not any(_is_interval(v) for v in vals):
            return max(vals) if pick_max else min(vals)
        # The enclosure of a min (max) is the min (max) of the endpoints: no comparison
        # needs deciding, so equal irrational arguments are no obstacle.
        ivs = [_to_interval(v) for v in vals]
        pick = max if pick_max else min
        lo = pick((x.a for x in ivs), key=lambda e: e.a)
        hi = pick((x.b for x in ivs), key=lambda e: e.b)
        return iv.mpf([lo.a, hi.b])

    def op_min(self, t, values):
        return self._extremum([self.ev(a, values) for a in t.args], False)

    def op_max(self, t, values):
        return self._extremum([self.ev(a, values) for a in t.args], True)

    # ---- logic
    def compare(self, a, b, op, ta, tb, values=None):
        if not _is_interval(a) and not _is_interval(b):
            return {"lt": a < b, "le": a <= b, "eq": a == b}[op]
        x, y = _to_interval(a), _to_interval(b)
        # Decide only what the enclosures settle: x < y for certain when x's upper end lies
        # below y's lower end, and so on; overlapping enclosures leave the question open.
        result = None
        if op == "lt":
            result = True if x.b < y.a else (False if x.a >= y.b else None)
        elif op == "le":
            result = True if x.b <= y.a else (False if x.a > y.b else None)
        elif x.b < y.a or y.b < x.a:
            result = False
        elif x.a == x.b == y.a == y.b:
            result = True
        if result is None:
            raise Undecided(f"cannot split {C.term_to_text(ta) if ta else a} "
                            f"and {C.term_to_text(tb) if tb else b}", ta, tb, op)
        return bool(result)

    def _cmp(self, t, values):
        a, b = (self.ev(x, values) for x in t.args)
        try:
            return self.compare(a, b, t.op, t.args[0], t.args[1])
        except Undecided:
            if not self.exact_fallback:
                raise
            return _exact_compare(t, values, self.env)

    op_lt = op_le = op_eq = _cmp

    def op_not(self, t, values):
        return not self.ev(t.args[0], values)

    def op_and(self, t, values):
        return all(self.ev(a, values) for a in t.args)

    def op_or(self, t, values):
        return any(self.ev(a, values) for a in t.args)

    def op_implies(self, t, values):
        return (not self.ev(t.args[0], values)) or self.ev(t.args[1], values)

    def op_iff(self, t, values):
        return self.ev(t.args[0], values) == self.ev(t.args[1], values)

    def op_ite(self, t, values):
        return self.ev(t.args[1], values) if self.ev(t.args[0], values) else self.ev(t.args[2], values)

    # ---- binders
    def bind(self, t: C.Bind, values):
        lo, hi = self.integer(t.lo, values), self.integer(t.hi, values)
        budget.require_size(f"the range {lo}..{hi} of {t.op}", hi - lo + 1)
        items = (self._ticked(self.ev(t.body, {**values, t.var.name: Fraction(i)})) for i in range(lo, hi + 1))
        if t.op == "forall":
            return all(items)
        if t.op == "exists":
            return any(items)
        vals = list(items)
        if t.op == "sum":
            return _fold([Fraction(0)] + vals, _plus)
        if t.op == "prod":
            return _fold([Fraction(1)] + vals, _times)
        if not vals:
            raise EvaluationError(f"{t.op} over the empty range {lo}..{hi}")
        return self._extremum(vals, t.op == "max")

    @staticmethod
    def _ticked(value):
        budget.tick()
        return value

    def fun_bind(self, t: C.FunBind, values):
        domains = [(self.integer(lo, values), self.integer(hi, values)) for lo, hi in t.sig.domains]
        budget.require_size(f"the domain of '{t.display}'",
                            math.prod(max(0, hi - lo + 1) for lo, hi in domains), MAX_FUNCTIONS)
        points = list(itertools.product(*[range(lo, hi + 1) for lo, hi in domains]))
        outputs: list[bool] | list[Fraction]
        if t.sig.codomain[0] == C.BOOL:
            outputs = [False, True]
        elif t.sig.codomain[0] == C.INT and len(t.sig.codomain) == 3:
            lo, hi = self.integer(t.sig.codomain[1], values), self.integer(t.sig.codomain[2], values)
            budget.require_size(f"the codomain of '{t.display}'", hi - lo + 1, MAX_FUNCTIONS)
            outputs = [Fraction(v) for v in range(lo, hi + 1)]
        else:
            raise C.Unsupported(f"cannot enumerate functions into {t.sig.codomain[0]}")
        if len(outputs) ** len(points) > MAX_FUNCTIONS:
            raise C.Unsupported(f"{len(outputs)}^{len(points)} functions are too many to enumerate")
        saved = self.env.functions.get(t.var)
        try:
            for choice in itertools.product(outputs, repeat=len(points)):
                budget.tick()
                self.env.functions[t.var] = Table(tuple(domains), dict(zip(points, choice)))
                # A fresh dict: the memo of subterm values must not outlive this function.
                if bool(self.ev(t.body, dict(values))) == (t.kind == "exists"):
                    return t.kind == "exists"
            return t.kind != "exists"
        finally:
            if saved is None:
                self.env.functions.pop(t.var, None)
            else:
                self.env.functions[t.var] = saved


def _plus(x, y):
    if _is_interval(x) or _is_interval(y):
        return _to_interval(x) + _to_interval(y)
    return x + y


def _times(x, y):
    if _is_interval(x) or _is_interval(y):
        return _to_interval(x) * _to_interval(y)
    return x * y


def _fold(vals, f):
    out = vals[0]
    for v in vals[1:]:
        out = f(out, v)
    return out


def _isqrt_exact(n: int):
    import math
    if n < 0:
        return None
    r = math.isqrt(n)
    return r if r * r == n else None


def _mpf_fraction(raw) -> Fraction:
    """The exact rational value of an mpmath end point (a raw mpf tuple)."""
    from mpmath.libmp import to_rational
    sign, man, exp, bc = raw
    if man == 0 and exp != 0:
        raise Undecided("an enclosure reaches infinity")
    if exp + bc > budget.MAX_BITS:
        raise Undecided("a value too large to round exactly")
    return Fraction(*to_rational(raw))


def _contains_integer(x) -> bool:
    lo, hi = (_mpf_fraction(e) for e in x._mpi_)
    return math.floor(hi) >= math.ceil(lo)


def binom_bits(n: int, k: int) -> float:
    """An upper estimate of the bits of binom(n, k), from log-gamma, before computing it."""
    k = min(k, n - k)
    if k <= 0:
        return 1
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(2) + 64


def _exact_compare(t: C.Op, values: dict, env: Env) -> bool:
    """Settle a comparison that enclosures could not split, at any precision: by showing the
    two sides exactly equal. Only equality is ever concluded here; a difference that is not
    shown to be zero leaves the comparison undecided (a sign is never guessed).

    Both sides are defined real numbers here (the evaluator has checked every domain on the
    way), so SymPy's principal branches agree with the real functions on them. Zero is shown
    by simplification of the difference; for a difference of logarithms, by simplifying
    exp(difference) to 1; for an algebraic difference, by its minimal polynomial being x."""
    import sympy

    from checker.decide.sympy_backend import to_sympy_exact
    try:
        a = to_sympy_exact(t.args[0], values, env)
        b = to_sympy_exact(t.args[1], values, env)
    except (C.Unsupported, TypeError, ValueError) as err:
        raise Undecided(f"cannot compare {C.term_to_text(t.args[0])} and {C.term_to_text(t.args[1])} exactly: "
                        f"{err}") from None
    if _exactly_zero(sympy, a - b):
        return t.op in ("le", "eq")
    raise Undecided(f"cannot tell {C.term_to_text(t.args[0])} and {C.term_to_text(t.args[1])} apart "
                    "at the highest precision, nor show them equal")


def _exactly_zero(sympy, diff) -> bool:
    if diff == 0 or sympy.simplify(diff) == 0:
        return True
    if diff.has(sympy.log):
        ratio = sympy.simplify(sympy.exp(diff))
        if ratio == 1 or _algebraic_zero(sympy, ratio - 1):
            return True
    return _algebraic_zero(sympy, diff)


def _algebraic_zero(sympy, value) -> bool:
    if not value.is_algebraic_expr() or value.free_symbols:
        return False
    x = sympy.Symbol("x")
    try:
        return sympy.minimal_polynomial(value, x) == x
    except (NotImplementedError, ValueError, sympy.PolynomialError):
        return False


def evaluate(t: C.Term, env: Env, exact_fallback: bool = True, memos: dict | None = None):
    """Evaluate a term; comparisons of irrational values are decided with rising precision.
    `memos` (precision -> values of subterms) may be passed again with the same `env`, unchanged,
    to evaluate another term that shares subterms with this one."""
    last: Exception | None = None
    saved = iv.prec
    try:
        for prec in PRECISIONS:
            iv.prec = prec
            try:
                evaluator = _Evaluator(env, exact_fallback and prec == PRECISIONS[-1])
                if memos is not None:
                    evaluator.memo, evaluator._scope = memos.setdefault(prec, ({}, {}))
                return evaluator.run(t)
            except Undecided as err:
                last = err
        raise last  # type: ignore[misc]
    finally:
        iv.prec = saved
