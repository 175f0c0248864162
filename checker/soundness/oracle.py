"""An independent oracle for the statement language: its own AST, parser, printer and evaluator.

Why this module exists: the soundness harness (`checker/soundness.py`) holds every verdict of
the checker against a second, independent reading of the same statement. To be a real second
opinion the oracle shares no code with the checker's decision paths (core, elaborate, evaluator,
engine, transform, eliminate, z3_backend, sympy_backend): statements are built as its own plain
dataclasses (`checker/oracle_syntax.py`, re-exported here), printed to statement-language text
for the checker, and evaluated here with Fractions, a small exact field of log-linear numbers
and mpmath interval arithmetic.

The semantics implemented here is the specification of the language:

* Arithmetic is exact real arithmetic. `/` by zero, `ln(t)` for t <= 0, `sqrt(t)` for t < 0,
  `0 ^ e` for e < 0, `b ^ e` for b < 0 and non-integer e, `binom(n, k)` for n < 0, `max`/`min`
  over an empty range and a limit that does not exist are UNDEFINED (`Undefined` is raised).
* `and`, `or`, `=>` and `if` short-circuit left to right for definedness; everything else is
  strict (an undefined operand makes the whole undefined). A claim holds only where it is
  defined and true; a point where a hypothesis is false or undefined lies outside the statement.
* `sum`/`prod` over an empty range are 0/1, `forall`/`exists` over one are true/false. When the
  body of a quantifier is undefined at some instance, the readings of the quantifier (strict,
  left to right, Kleene) can disagree; the oracle then refuses to decide (`Ambiguous`).
* Names are lexically scoped; `let` definitions and macro arguments are closures evaluated by
  name in their own environment, so macros are capture-free by construction.
* `limit(x -> a, e)` exists only if e is defined on a punctured neighbourhood on BOTH sides of a
  finite a (so `limit(x -> 0, sqrt(x))` does not exist), both one-sided limits exist, agree and
  are finite. At `inf` / `-inf` the samples are integers, so sequence and function limits agree
  for the tame bodies the generator builds. The oracle estimates a limit numerically from samples
  approaching the point (a heuristic that decides only when the samples converge geometrically
  or clearly diverge); a limit built by the generator carries its value by construction
  (`Limit.known`), which the oracle uses after checking that the numbers do not contradict it.
* A `witness` item is only a hint and plays no part in the truth of the claim.

Numbers are `Fraction` where exact, `Lin` (r + c pi + sum c_i ln p_i, exact; zero only when
visibly zero, by Baker's theorem) for logarithms and multiples of pi, and mpmath intervals
otherwise. `evaluate_point` retries at rising precision until every comparison is decided;
an interval comparison that cannot be decided at the highest precision gives "undecided".
"""
from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from fractions import Fraction

import mpmath
from mpmath import iv
from mpmath.libmp import finf, fninf, mpf_le, mpf_lt, mpf_sign, to_int, to_rational

from checker.soundness.syntax import (  # noqa: F401  (the AST is part of the oracle's interface)
    DNE,
    Big,
    Bin,
    Binding,
    Bool,
    Call,
    Check,
    Cmp,
    Expr,
    FunQuant,
    FunType,
    Inf,
    Interval,
    Ite,
    Let,
    Limit,
    Logic,
    Neg,
    Not,
    Num,
    Param,
    ParseError,
    Quant,
    ScalarType,
    SetDom,
    Statement,
    Var,
    Witness,
    parse,
    parse_funtype,
    render,
    render_binding,
    render_funtype,
    render_statement,
    render_type,
)

PRECISIONS = (53, 120, 300, 1000, 3000)
MAX_BITS = 1 << 21          # largest exact Fraction kept (numerator + denominator bits)
MAX_RANGE = 5_000           # most instances of one sum, product or bounded quantifier
MAX_FUNCTIONS = 4_096       # most functions a function quantifier enumerates
MAX_EXP_ARG = 10 ** 1000    # exp of anything larger is refused
MAX_ROOT = 64               # exact rational roots are tried up to this index
LIMIT_STEPS = (12, 24, 48, 96, 192, 384, 768)  # samples at a +- 2^-k, or at +-10^k for inf


class Undefined(Exception):
    """The expression has no value here (division by 0, ln of a non-positive number, ...)."""


class Undecided(Exception):
    """The value or a comparison cannot be decided at the current precision."""

    final = False  # True: raising the precision will not help


class Refused(Undecided):
    """Too large to evaluate (a range, a number, a function space): never decided."""

    final = True


class Ambiguous(Undecided):
    """A quantifier over an undefined instance, whose readings disagree."""

    final = True


class OracleBug(Exception):
    """The generator's by-construction knowledge contradicts the numbers (a harness bug)."""


# =============================================================================================
# Numbers: Fraction, Lin (exact log-linear), mpmath intervals
# =============================================================================================

def _bits(q: Fraction) -> int:
    return q.numerator.bit_length() + q.denominator.bit_length()


@dataclass(frozen=True)
class Lin:
    """r + pi * c + sum(c_i ln p_i): exact, never zero unless it is a plain Fraction.

    Canonical: bases p_i > 1 and distinct, coefficients nonzero, the logarithmic part not
    visibly zero (prod p_i^c_i != 1) and the whole not rational. By Baker's theorem such a
    number is irrational, hence nonzero and never an integer."""

    r: Fraction
    pi: Fraction
    logs: tuple = ()

    def __repr__(self) -> str:
        """As statement text where possible (pi is not in the language: shown as `pi`)."""
        parts = ([str(self.r)] if self.r else []) + ([f"{self.pi}*pi"] if self.pi else [])
        parts += [f"ln({p})" if c == 1 else f"{c}*ln({p})" for p, c in self.logs]
        return " + ".join(parts).replace("+ -", "- ")


def _log_product(logs: dict) -> Fraction | None:
    """prod p^(c D) for the common denominator D of the coefficients, or None when too large."""
    if not logs:
        return Fraction(1)
    d = 1
    for c in logs.values():
        d = d * c.denominator // math.gcd(d, c.denominator)
    if sum(abs(c * d) * _bits(p) for p, c in logs.items()) > 200_000:
        return None
    q = Fraction(1)
    for p, c in logs.items():
        q *= p ** int(c * d)
    return q


def make_lin(r: Fraction, pi: Fraction = Fraction(0), logs: dict | None = None):
    merged: dict = {}
    for p, c in (logs or {}).items():
        if p < 1:
            p, c = 1 / p, -c
        if p != 1 and c != 0:
            merged[p] = merged.get(p, 0) + c
    merged = {p: c for p, c in merged.items() if c != 0}
    if merged and _log_product(merged) == 1:
        merged = {}
    if not merged and pi == 0:
        return r
    return Lin(r, pi, tuple(sorted(merged.items())))


def _lin_parts(v):
    if isinstance(v, Fraction):
        return v, Fraction(0), {}
    return v.r, v.pi, dict(v.logs)


def _is_exact(v) -> bool:
    return isinstance(v, (Fraction, Lin))


def _exact(q: Fraction):
    return q if _bits(q) <= MAX_BITS else to_iv(q)


def to_iv(v):
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return iv.mpf(v.numerator)
        return iv.mpf(v.numerator) / iv.mpf(v.denominator)
    if isinstance(v, Lin):
        out = to_iv(v.r)
        if v.pi:
            out = out + to_iv(v.pi) * iv.pi
        for p, c in v.logs:
            out = out + to_iv(c) * iv.log(to_iv(p))
        return out
    if isinstance(v, bool):
        raise TypeError("a truth value where a number is needed")
    return v


def _endpoints(x):
    a, b = x._mpi_
    if a in (finf, fninf) or b in (finf, fninf) or a == mpmath.libmp.fnan or b == mpmath.libmp.fnan:
        raise Undecided("an interval is unbounded")
    return a, b


def _norm(x):
    """A degenerate interval is an exact value: return it as a Fraction when small."""
    a, b = _endpoints(x)
    if a == b and abs(a[2]) < 4096:
        p, q = to_rational(a)
        return Fraction(p, q)
    return x


def sign(v) -> int:
    if isinstance(v, Fraction):
        return (v > 0) - (v < 0)
    if isinstance(v, Lin):
        if v.r == 0 and v.pi == 0:
            q = _log_product(dict(v.logs))
            if q is not None:
                return 1 if q > 1 else -1
        x = to_iv(v)  # nonzero (canonical Lin): more precision decides
        a, b = _endpoints(x)
        if mpf_sign(a) > 0:
            return 1
        if mpf_sign(b) < 0:
            return -1
        raise Undecided(f"the sign of {v!r}")
    a, b = _endpoints(v)
    if mpf_sign(a) > 0:
        return 1
    if mpf_sign(b) < 0:
        return -1
    if mpf_sign(a) == 0 and mpf_sign(b) == 0:
        return 0
    raise Undecided("an interval contains 0")


# One evaluation's memo of operations on intervals: the same operation on the same operands gives
# the same object, so `min(sqrt(t), t) < sqrt(t)` compares an interval with itself and decides the
# tie exactly (two enclosures of one real number are only known equal when they are one object).
_MEMO: dict = {}


def _key(v):
    return v if isinstance(v, (Fraction, Lin, bool)) else ("iv", id(v))


def _memo(fn):
    name = fn.__name__

    def wrapped(*args):
        key = (name,) + tuple(_key(a) for a in args)
        hit = _MEMO.get(key)
        if hit is not None:
            return hit[0]
        result = fn(*args)
        if not _is_exact(result):
            _MEMO[key] = (result, args)  # the operands stay alive, so their ids stay theirs
        return result
    wrapped.__name__ = name
    wrapped.__doc__ = fn.__doc__
    return wrapped


def reset_memo():
    _MEMO.clear()


@_memo
def add(a, b):
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return _exact(a + b)
    if isinstance(b, Fraction) and b == 0:  # x + 0 is x itself (its identity decides ties)
        return a
    if isinstance(a, Fraction) and a == 0:
        return b
    if _is_exact(a) and _is_exact(b):
        (r1, p1, l1), (r2, p2, l2) = _lin_parts(a), _lin_parts(b)
        logs = dict(l1)
        for p, c in l2.items():
            logs[p] = logs.get(p, 0) + c
        return make_lin(r1 + r2, p1 + p2, logs)
    return _norm(to_iv(a) + to_iv(b))


@_memo
def neg(a):
    if isinstance(a, Fraction):
        return -a
    if isinstance(a, Lin):
        return scale(a, Fraction(-1))
    return -a


def scale(a, q: Fraction):
    r, p, logs = _lin_parts(a)
    return make_lin(r * q, p * q, {b: c * q for b, c in logs.items()})


@_memo
def mul(a, b):
    if isinstance(a, Fraction) and a == 0 or isinstance(b, Fraction) and b == 0:
        return Fraction(0)
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return _exact(a * b)
    if isinstance(b, Fraction) and b == 1:
        return a
    if isinstance(a, Fraction) and a == 1:
        return b
    if isinstance(a, Fraction) and isinstance(b, Lin):
        return scale(b, a)
    if isinstance(b, Fraction) and isinstance(a, Lin):
        return scale(a, b)
    return _norm(to_iv(a) * to_iv(b))


@_memo
def div(a, b):
    if sign(b) == 0:  # Undecided when b is an interval around 0
        raise Undefined("division by 0")
    if isinstance(b, Fraction) and b == 1:
        return a
    if isinstance(b, Fraction):
        if isinstance(a, Fraction):
            return _exact(a / b)
        if isinstance(a, Lin):
            return scale(a, 1 / b)
    return _norm(to_iv(a) / to_iv(b))


def _iroot(n: int, k: int) -> int | None:
    """The exact k-th root of n >= 0, or None."""
    if n < 2:
        return n
    x = 1 << ((n.bit_length() + k - 1) // k)
    while True:
        y = ((k - 1) * x + n // x ** (k - 1)) // k
        if y >= x:
            break
        x = y
    return x if x ** k == n else None


def _int_pow(base: Fraction, n: int):
    if base == 0:
        if n < 0:
            raise Undefined("0 to a negative power")
        return Fraction(1) if n == 0 else Fraction(0)
    if abs(n) * max(_bits(base), 1) <= MAX_BITS:
        return base ** n
    return _norm(to_iv(base) ** n) if n > 0 else _norm(1 / to_iv(base) ** (-n))


def _iv_pow(x, e):
    return _norm(iv.exp(to_iv(e) * iv.log(to_iv(x))))


@_memo
def power(base, e):
    """base ^ e: integer e, defined unless base = 0 and e < 0; otherwise base > 0, or 0 with e > 0."""
    if isinstance(e, Fraction) and e.denominator == 1:
        n = int(e)
        if n == 0:
            return Fraction(1)
        if n == 1:
            return base
        if isinstance(base, Fraction):
            return _int_pow(base, n)
        if n < 0 and sign(base) == 0:
            raise Undefined("0 to a negative power")
        x = to_iv(base)
        return _norm(x ** n if n > 0 else 1 / x ** (-n))
    # a non-integer exponent (a Lin or a non-integer Fraction), or an interval
    if isinstance(e, Fraction) or isinstance(e, Lin):
        s = sign(base)
        if s < 0:
            raise Undefined("a negative number to a non-integer power")
        if s == 0:
            if sign(e) > 0:
                return Fraction(0)
            raise Undefined("0 to a non-positive non-integer power")
        if isinstance(e, Fraction) and isinstance(base, Fraction):
            exact = _rational_power(base, e)
            if exact is not None:
                return exact
        return _iv_pow(base, e)
    # e is an interval: integer or not is unknown unless the sign of the base settles it
    s = sign(base)
    if s > 0:
        return _iv_pow(base, e)
    if s == 0:
        if sign(e) > 0:
            return Fraction(0)
        if sign(e) < 0:
            raise Undefined("0 to a negative power")
    a, b = _endpoints(e)
    if s < 0 and to_int(a, "c") > to_int(b, "f"):  # no integer in the exponent's interval
        raise Undefined("a negative number to a non-integer power")
    raise Undecided("whether an irrational-looking exponent is an integer")


def _rational_power(base: Fraction, e: Fraction):
    """base^e exactly when the result is rational and not too large, else None."""
    k = e.denominator
    if k > MAX_ROOT or abs(e.numerator) * _bits(base) // k > MAX_BITS:
        return None
    num, den = _iroot(base.numerator, k), _iroot(base.denominator, k)
    if num is None or den is None:
        return None
    return _int_pow(Fraction(num, den), e.numerator)


@_memo
def exp_(v):
    if isinstance(v, Fraction):
        if v == 0:
            return Fraction(1)
        if abs(v) > MAX_EXP_ARG:
            raise Refused("exp of a huge number")
        return _norm(iv.exp(to_iv(v)))
    if isinstance(v, Lin):
        if v.r == 0 and v.pi == 0:
            out = Fraction(1)
            for p, c in v.logs:
                out = mul(out, power(p, c))
            return out
        return _norm(iv.exp(to_iv(v)))
    a, b = _endpoints(v)
    if to_int(b, "c") > MAX_EXP_ARG or to_int(a, "f") < -MAX_EXP_ARG:
        raise Refused("exp of a huge number")
    return _norm(iv.exp(v))


@_memo
def ln_(v):
    s = sign(v)
    if s <= 0:
        raise Undefined("ln of a non-positive number")
    if isinstance(v, Fraction):
        return make_lin(Fraction(0), Fraction(0), {v: Fraction(1)})
    return _norm(iv.log(_positive_part(to_iv(v))))


@_memo
def sqrt_(v):
    s = sign(v)
    if s < 0:
        raise Undefined("sqrt of a negative number")
    if s == 0:
        return Fraction(0)
    if isinstance(v, Fraction):
        exact = _rational_power(v, Fraction(1, 2))
        if exact is not None:
            return exact
    return _norm(iv.sqrt(_positive_part(to_iv(v))))


def _positive_part(x):
    """An enclosure of a value whose sign is known to be positive, cut at 0: an exact number
    (ln D near D = 1) can be enclosed at the working precision by an interval reaching below 0."""
    if x.a < 0:
        if x.b <= 0:
            raise Undecided("a positive value's enclosure lies below 0")
        return iv.mpf([iv.mpf(0).a, x.b])
    return x


_COS_EXACT: dict[Fraction, int | Fraction] = {
    Fraction(0): 1, Fraction(1, 2): 0, Fraction(1): -1, Fraction(3, 2): 0, Fraction(1, 3): Fraction(1, 2),
    Fraction(2, 3): Fraction(-1, 2), Fraction(4, 3): Fraction(-1, 2), Fraction(5, 3): Fraction(1, 2)}


@_memo
def cos_(v, shift: Fraction = Fraction(0)):
    """cos(v - shift * pi); exact at rational multiples of pi where the value is rational (Niven)."""
    if isinstance(v, Fraction) and v == 0 and shift == 0:
        return Fraction(1)
    r, p, logs = _lin_parts(v)
    if r == 0 and not logs:
        q = (p - shift) % 2
        if q in _COS_EXACT:
            return Fraction(_COS_EXACT[q])
    x = to_iv(v) - to_iv(shift) * iv.pi if shift else to_iv(v)
    return _norm(iv.cos(x))


@_memo
def sin_(v):
    if isinstance(v, Fraction) and v == 0:
        return Fraction(0)
    return cos_(v, Fraction(1, 2))  # sin(v) = cos(v - pi/2)


def floor_(v, ceil: bool = False):
    if isinstance(v, Fraction):
        return Fraction(math.ceil(v) if ceil else math.floor(v))
    a, b = _endpoints(to_iv(v))
    mode = "c" if ceil else "f"
    lo, hi = to_int(a, mode), to_int(b, mode)
    if lo == hi:
        return Fraction(lo)
    raise Undecided("floor or ceil of an interval around an integer")


@_memo
def abs_(v):
    if not _is_exact(v):
        return _norm(abs(to_iv(v)))
    return v if sign(v) >= 0 else neg(v)


def compare(op: str, a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        if not (isinstance(a, bool) and isinstance(b, bool)) or op not in ("=", "!="):
            raise TypeError("comparing a truth value with a number")
        return (a == b) == (op == "=")
    s = 0 if a is b else sign(add(a, neg(b)))
    return {"<": s < 0, "<=": s <= 0, ">": s > 0, ">=": s >= 0, "=": s == 0, "!=": s != 0}[op]


def as_int(v, what: str) -> int:
    if isinstance(v, Fraction) and v.denominator == 1:
        return int(v)
    if isinstance(v, Fraction) or isinstance(v, Lin):
        raise TypeError(f"{what} is not an integer: {v}")
    raise Refused(f"{what} is too large to be exact")


def value_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Fraction):
        return str(v)
    if isinstance(v, Lin):
        return repr(v)
    if isinstance(v, Table):
        return "{" + ", ".join(f"{k}: {value_text(x)}" for k, x in sorted(v.values.items())) + "}"
    return f"interval{v}"


# =============================================================================================
# The evaluator
# =============================================================================================

@dataclass
class Table:
    """A function's value: argument tuple -> value, over the product of integer ranges."""

    domains: tuple
    values: dict


class Evaluator:
    """Evaluates expressions at the interval precision set by `evaluate_point`."""

    def __init__(self, prec: int):
        self.prec = prec

    def eval(self, e: Expr, env: dict):
        return getattr(self, "_" + type(e).__name__)(e, env)

    def number(self, e: Expr, env: dict):
        v = self.eval(e, env)
        if isinstance(v, bool):
            raise TypeError(f"a truth value where a number is needed: {render(e)}")
        return v

    def truth(self, e: Expr, env: dict) -> bool:
        v = self.eval(e, env)
        if not isinstance(v, bool):
            raise TypeError(f"a number where a truth value is needed: {render(e)}")
        return v

    def integer(self, e: Expr, env: dict) -> int:
        return as_int(self.number(e, env), render(e))

    def _Num(self, e, env):
        return e.value

    def _Bool(self, e, env):
        return e.value

    def _Inf(self, e, env):
        raise TypeError("'inf' outside a domain bound or limit point")

    def _Var(self, e, env):
        entry = env.get(e.name)
        if entry is None:
            raise NameError(f"unknown name {e.name!r}")
        if entry[0] == "val":
            return entry[1]
        if entry[0] == "thunk":
            return self.eval(entry[1], entry[2])
        raise TypeError(f"{e.name!r} is a function")

    def _Neg(self, e, env):
        return neg(self.number(e.arg, env))

    def _Bin(self, e, env):
        a, b = self.number(e.left, env), self.number(e.right, env)
        if e.op == "+":
            return add(a, b)
        if e.op == "-":
            return add(a, neg(b))
        if e.op == "*":
            return mul(a, b)
        if e.op == "/":
            return div(a, b)
        return power(a, b)

    def _Call(self, e, env):
        entry = env.get(e.fn)
        if entry is not None and entry[0] == "fun":
            table = entry[1]
            args = tuple(self.integer(a, env) for a in e.args)
            for x, (lo, hi) in zip(args, table.domains):
                if not lo <= x <= hi:
                    raise Undefined(f"{e.fn}{args}: argument outside the domain")
            return table.values[args]
        if entry is not None and entry[0] == "macro":
            _, formals, body, def_env = entry
            inner = dict(def_env)
            for f, a in zip(formals, e.args):
                inner[f] = ("thunk", a, env)  # call by name in the caller's scope: capture-free
            return self.eval(body, inner)
        if entry is not None:
            raise TypeError(f"{e.fn!r} is not a function")
        fn = e.fn
        if fn in ("min", "max"):
            values = [self.number(a, env) for a in e.args]
            best = values[0]
            for v in values[1:]:
                if compare("<" if fn == "min" else ">", v, best):
                    best = v
            return best
        if fn == "binom":
            n, k = (self.integer(a, env) for a in e.args)
            if n < 0:
                raise Undefined("binom(n, k) with n < 0")
            if k < 0 or k > n:
                return Fraction(0)
            if n > 200_000:
                raise Refused("binom of a huge number")
            return Fraction(math.comb(n, k))
        (arg,) = e.args
        if fn == "ln" and isinstance(arg, Call) and arg.fn == "exp" and env.get("exp") is None \
                and len(arg.args) == 1:
            # ln(exp(u)) = u for every real u, and exp(u) is defined wherever u is: exact, where
            # the interval of exp(u) would leave a tie such as ln(exp(35/32)) != 35/32 undecided
            return self.number(arg.args[0], env)
        v = self.number(arg, env)
        if fn == "exp":
            return exp_(v)
        if fn == "ln":
            return ln_(v)
        if fn == "sqrt":
            return sqrt_(v)
        if fn == "abs":
            return abs_(v)
        if fn == "cos":
            return cos_(v)
        if fn == "sin":
            return sin_(v)
        if fn == "floor":
            return floor_(v)
        if fn == "ceil":
            return floor_(v, ceil=True)
        raise NameError(f"unknown function {fn!r}")

    def _Cmp(self, e, env):
        return compare(e.op, self.eval(e.left, env), self.eval(e.right, env))

    def _Not(self, e, env):
        return not self.truth(e.arg, env)

    def _Logic(self, e, env):
        a = self.truth(e.left, env)
        if e.op == "and":
            return a and self.truth(e.right, env)
        if e.op == "or":
            return a or self.truth(e.right, env)
        if e.op == "=>":
            return (not a) or self.truth(e.right, env)
        return a == self.truth(e.right, env)

    def _Ite(self, e, env):
        return self.eval(e.then if self.truth(e.cond, env) else e.other, env)

    def _range(self, e, env):
        lo, hi = self.integer(e.lo, env), self.integer(e.hi, env)
        if hi - lo + 1 > MAX_RANGE:
            raise Refused(f"a range of {hi - lo + 1} values")
        return range(lo, hi + 1)

    def _Big(self, e, env):
        values = [self.number(e.body, {**env, e.var: ("val", Fraction(i))}) for i in self._range(e, env)]
        if e.op in ("max", "min"):
            if not values:
                raise Undefined(f"{e.op} over an empty range")
            best = values[0]
            for v in values[1:]:
                if compare("<" if e.op == "min" else ">", v, best):
                    best = v
            return best
        out = Fraction(0) if e.op == "sum" else Fraction(1)
        for v in values:
            out = add(out, v) if e.op == "sum" else mul(out, v)
        return out

    def _instances(self, kind: str, body: Expr, envs) -> bool:
        """A quantifier over instances, each true, false or undefined (U)."""
        outcomes: list[bool | None] = []
        for inner in envs:
            try:
                outcomes.append(self.truth(body, inner))
            except Undefined:
                outcomes.append(None)
        if None not in outcomes:
            return all(outcomes) if kind == "forall" else any(outcomes)
        unit, zero = (True, False) if kind == "forall" else (False, True)
        strict = None
        ltr = next((o for o in outcomes if o is not unit), unit)
        kleene = zero if zero in outcomes else None
        if strict == ltr == kleene:
            raise Undefined(f"{kind} over an undefined instance")
        raise Ambiguous(f"{kind} over an undefined instance: the readings disagree")

    def _Quant(self, e, env):
        return self._instances(e.kind, e.body, ({**env, e.var: ("val", Fraction(i))} for i in self._range(e, env)))

    def _FunQuant(self, e, env):
        domains = tuple((self.integer(lo, env), self.integer(hi, env)) for lo, hi in e.ftype.domains)
        points = list(itertools.product(*[range(lo, hi + 1) for lo, hi in domains]))
        codomain = self.codomain(e.ftype, env)
        if codomain is None:
            raise Refused("a function quantifier over an infinite codomain")
        if len(points) > 64 or len(codomain) ** len(points) > MAX_FUNCTIONS:
            raise Refused("a function space too large to enumerate")
        envs = ({**env, e.name: ("fun", Table(domains, dict(zip(points, values))))}
                for values in itertools.product(codomain, repeat=len(points)))
        return self._instances(e.kind, e.body, envs)

    def codomain(self, ftype: FunType, env: dict):
        cod = ftype.codomain
        if cod[0] == "bool":
            return [False, True]
        if cod[0] == "range":
            lo, hi = self.integer(cod[1], env), self.integer(cod[2], env)
            if hi - lo + 1 > MAX_RANGE:
                raise Refused("a codomain too large")
            return [Fraction(v) for v in range(lo, hi + 1)]
        return None

    # ---- limits
    def _Limit(self, e, env):
        numeric = self.limit_numeric(e, env)
        if e.known is None:
            if numeric[0] == "value":
                return numeric[1]
            if numeric[0] == "dne":
                raise Undefined(f"the limit does not exist: {numeric[1]}")
            raise Undecided(f"the limit: {numeric[1]}")
        if e.known == DNE:
            if numeric[0] == "value":
                raise OracleBug(f"{render(e)} is said not to exist, but the samples converge to {numeric[1]}")
            raise Undefined("the limit does not exist (by construction)")
        value = self.number(e.known, env)
        if numeric[0] == "dne":
            conflict = f"{render(e)} is said to be {render(e.known)}, but {numeric[1]}"
        elif numeric[0] == "value":
            try:
                apart = not _overlap(to_iv(value), to_iv(numeric[1]))
            except Undecided:
                apart = False
            conflict = apart and f"{render(e)} is said to be {value_text(value)}, but the samples give {numeric[1]}"
        else:
            conflict = ""
        if conflict:
            if _moderate(env):
                raise OracleBug(conflict)
            raise Refused(f"the samples cannot follow the limit at these extreme values: {conflict}")
        return value

    def limit_numeric(self, e: Limit, env: dict):
        """("value", v) | ("dne", why) | ("unknown", why), from samples approaching the point."""
        if isinstance(e.point, str):
            s = 1 if e.point == "inf" else -1
            sides = [[(Fraction(s * 10 ** k), 4 * k) for k in LIMIT_STEPS]]
        else:
            sides = [[(e.point + sign_ * Fraction(1, 2 ** k), 3 * k) for k in LIMIT_STEPS]
                     for sign_ in (1, -1)]
        saved = iv.prec
        try:
            results = [self._side(e, env, xs) for xs in sides]
        except Undecided as err:
            return ("unknown", f"a sample is undecided ({err})")
        finally:
            iv.prec = saved
        for kind, _ in results:
            if kind == "dne":
                return next(r for r in results if r[0] == "dne")
        if any(kind == "unknown" for kind, _ in results):
            return next(r for r in results if r[0] == "unknown")
        values = [v for _, v in results]
        if all(isinstance(v, Fraction) for v in values) and len(set(values)) == 1:
            return ("value", values[0])
        if len(values) == 2:
            a, b = to_iv(values[0]), to_iv(values[1])
            if not _overlap(a, b):
                return ("dne", f"the one-sided limits differ ({values[0]} and {values[1]})")
            return ("value", _intersect(a, b))
        return ("value", values[0])

    def _side(self, e: Limit, env: dict, xs: list):
        """Samples from 5 points on, closer and closer, until the last 5 settle (or the steps run out)."""
        samples = []
        for count, (x, extra) in enumerate(xs, 1):
            iv.prec = self.prec + extra + 64
            try:
                samples.append(self.number(e.body, {**env, e.var: ("val", x)}))
            except Undefined:
                samples.append(None)
            if count >= 5:
                verdict = self._judge_side(samples[-5:])
                if verdict[0] == "value" or count == len(xs):
                    return verdict
        return verdict

    def _judge_side(self, samples: list):
        if all(v is None for v in samples):
            return ("dne", "the body is undefined on one side of the point")
        if any(v is None for v in samples):
            return ("unknown", "the body is undefined at some samples")
        if all(isinstance(v, Fraction) for v in samples[-3:]) and len(set(samples[-3:])) == 1:
            return ("value", samples[-1])
        with mpmath.workprec(iv.prec):
            mids = [_mid_rad(to_iv(v))[0] for v in samples]
            mags = [abs(m) for m in mids]
            if mags[-1] > 2 ** 20 * max(1, mags[-3]) and mags[-1] > mags[-2] > mags[-3]:
                return ("dne", "the body grows without bound")
            diffs = [abs(mids[i + 1] - mids[i]) for i in range(len(mids) - 1)]
            tol = mpmath.mpf(2) ** (-(self.prec + 40)) * max(1, mags[-1])
            converging = diffs[-1] <= diffs[-2] / 2 + tol and diffs[-2] <= diffs[-3] / 2 + tol
            if not converging:
                return ("unknown", "the samples do not settle")
            err = 2 * diffs[-1] + tol + _mid_rad(to_iv(samples[-1]))[1]
        last = to_iv(samples[-1])
        return ("value", last + iv.mpf([-err, err]))


def _moderate(env: dict) -> bool:
    """Whether every scalar in scope is 0 or between 10^-6 and 10^6 in magnitude."""
    for entry in env.values():
        if entry[0] == "val" and isinstance(entry[1], Fraction) and entry[1] != 0:
            if not Fraction(1, 10 ** 6) <= abs(entry[1]) <= 10 ** 6:
                return False
    return True


def _mid_rad(x):
    """Midpoint and radius of an interval as mpmath numbers (at the current working precision)."""
    a, b = _endpoints(x)
    lo, hi = mpmath.mp.make_mpf(a), mpmath.mp.make_mpf(b)
    return (lo + hi) / 2, (hi - lo) / 2 + abs(hi) * mpmath.mpf(2) ** (-mpmath.mp.prec + 2)


def _overlap(a, b) -> bool:
    (a0, a1), (b0, b1) = _endpoints(a), _endpoints(b)
    return mpf_le(a0, b1) and mpf_le(b0, a1)


def _intersect(a, b):
    (a0, a1), (b0, b1) = _endpoints(a), _endpoints(b)
    lo = b0 if mpf_lt(a0, b0) else a0
    hi = a1 if mpf_lt(a1, b1) else b1
    return iv.make_mpf((lo, hi))


# =============================================================================================
# A statement at a point
# =============================================================================================

@dataclass
class Outcome:
    kind: str               # outside, outside-check, true, false, undefined, undecided, bug
    detail: str = ""


def _check_value(ev: Evaluator, p: Param, value, env: dict) -> bool:
    """Whether `value` lies in p's declared type and domain (False also when a bound is undefined)."""
    t = p.type
    if isinstance(t, FunType):
        if not isinstance(value, Table):
            return False
        domains = tuple((ev.integer(lo, env), ev.integer(hi, env)) for lo, hi in t.domains)
        points = set(itertools.product(*[range(lo, hi + 1) for lo, hi in domains]))
        if tuple(value.domains) != domains or set(value.values) != points:
            return False
        cod = t.codomain
        for v in value.values.values():
            if cod[0] == "bool":
                if not isinstance(v, bool):
                    return False
            elif isinstance(v, bool):
                return False
            elif cod[0] in ("int", "range"):
                if not (isinstance(v, Fraction) and v.denominator == 1):
                    return False
                if cod[0] == "range" and not ev.integer(cod[1], env) <= v <= ev.integer(cod[2], env):
                    return False
        return True
    if t.base == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if t.base == "int" and not (isinstance(value, Fraction) and value.denominator == 1):
        return False
    d = t.domain
    if isinstance(d, SetDom):
        return any(compare("=", value, ev.number(v, env)) for v in d.values)
    if isinstance(d, Interval):
        for bound, closed, lower in ((d.lo, d.lo_closed, True), (d.hi, d.hi_closed, False)):
            if isinstance(bound, Inf) or isinstance(bound, Neg) and isinstance(bound.arg, Inf):
                continue
            b = ev.number(bound, env)
            op = ("<=" if closed else "<")
            if not (compare(op, b, value) if lower else compare(op, value, b)):
                return False
    return True


def _in_binding(ev: Evaluator, b: Binding, value, env: dict) -> bool:
    if b.kind == "range":
        lo, hi = ev.integer(b.values[0], env), ev.integer(b.values[1], env)
        return isinstance(value, Fraction) and value.denominator == 1 and lo <= value <= hi
    if b.kind in ("set", "value"):
        return any(compare("=", value, ev.number(v, env)) for v in b.values)
    table = {tuple(ev.integer(a, env) for a in args): ev.eval(v, env) for args, v in b.values}
    def same(a, b):
        return a == b if isinstance(b, bool) else compare("=", a, b)
    return (isinstance(value, Table) and len(table) == len(value.values)
            and all(k in table and same(v, table[k]) for k, v in value.values.items()))


def global_env(s: Statement, point: dict) -> dict:
    env: dict[str, tuple] = {}
    for p in s.params:
        v = point[p.name]
        env[p.name] = ("fun", v) if isinstance(v, Table) else ("val", v)
    for let in s.lets:
        snapshot = dict(env)
        env[let.name] = ("macro", let.formals, let.body, snapshot) if let.formals else ("thunk", let.body, snapshot)
    return env


def _resolve(ev: Evaluator, v):
    """A point's value at this precision: Exprs (counterexample texts) are evaluated here."""
    if isinstance(v, Expr):
        return ev.eval(v, {})
    if isinstance(v, Table):
        return Table(tuple(v.domains), {k: _resolve(ev, x) for k, x in v.values.items()})
    return v


def _evaluate_once(s: Statement, point: dict, check: Check | None, prec: int) -> Outcome:
    iv.prec = prec
    reset_memo()
    ev = Evaluator(prec)
    env: dict = {}
    resolved = {}
    for p in s.params:
        if p.name not in point:
            return Outcome("bug", f"no value for parameter {p.name}")
        try:
            v = resolved[p.name] = _resolve(ev, point[p.name])
        except Undefined as err:
            return Outcome("bug", f"the value of {p.name} is undefined: {err}")
        try:
            inside = _check_value(ev, p, v, env)
        except Undefined:
            inside = False
        if not inside:
            return Outcome("outside", f"{p.name} = {value_text(v)} is outside its domain")
        env[p.name] = ("fun", v) if isinstance(v, Table) else ("val", v)
    env = global_env(s, resolved)
    if check is not None:
        for b in check.bindings:
            try:
                inside = _in_binding(ev, b, resolved[b.name], env)
            except Undefined:
                inside = False
            if not inside:
                return Outcome("outside-check", f"{b.name} = {value_text(resolved[b.name])} is outside the check's "
                                                f"binding {render_binding(b)}")
    for i, a in enumerate(s.assumptions):
        try:
            if not ev.truth(a, env):
                return Outcome("outside", f"assumption {i + 1} is false")
        except Undefined as err:
            return Outcome("outside", f"assumption {i + 1} is undefined ({err})")
    for i, c in enumerate(s.claims):
        try:
            if not ev.truth(c, env):
                return Outcome("false", f"claim {i + 1} is false")
        except Undefined as err:
            return Outcome("undefined", f"claim {i + 1} is undefined: {err}")
    return Outcome("true")


def evaluate_point(s: Statement, point: dict, check: Check | None = None,
                   precisions=PRECISIONS, budget: float = 0.6) -> Outcome:
    """Where `point` (parameter -> value or Table) lies for statement `s` (and the check's bindings).

    The precision rises until everything is decided; a level is not started once `budget` seconds
    are spent (an interval tie such as exp(x) * exp(-x) = 1 at x = 10^300 never decides)."""
    saved = iv.prec
    last = "no precision tried"
    started = time.perf_counter()
    try:
        for prec in precisions:
            if time.perf_counter() - started > budget / 3 and prec != precisions[0]:
                last += f" (precision {prec} not tried: over the time budget)"
                break
            try:
                return _evaluate_once(s, point, check, prec)
            except Undecided as err:
                last = str(err)
                if err.final:
                    break
            except OracleBug as err:
                return Outcome("bug", str(err))
        return Outcome("undecided", last)
    finally:
        iv.prec = saved
        reset_memo()


def evaluate_expr(e: Expr, env: dict | None = None, precisions=PRECISIONS):
    """A closed (or `env`-bound) expression's value, or "undefined"/"undecided" as a string."""
    saved = iv.prec
    try:
        for prec in precisions:
            iv.prec = prec
            reset_memo()
            try:
                return Evaluator(prec).eval(e, env or {})
            except Undefined:
                return "undefined"
            except Undecided as err:
                if err.final:
                    break
        return "undecided"
    finally:
        iv.prec = saved
        reset_memo()


def closed_value(text: str):
    """A counterexample's value text (`3/2`, `(2 * ln(3/2))`, `true`) as a point value.

    Exact values come back as Fractions, Lins or bools; anything else stays an Expr, evaluated
    afresh at each precision by `evaluate_point`."""
    e = parse(text)
    v = evaluate_expr(e, precisions=(53,))
    if isinstance(v, (bool, Fraction, Lin)):
        return v
    if v == "undefined":
        raise ValueError(f"the value {text!r} is undefined")
    return e
