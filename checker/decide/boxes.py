"""Interval bisection over boxes: a query with exp, ln, sqrt, sin, cos decided without Z3.

The query (`hypotheses and not claim`, or `hypotheses and claim undefined`) is evaluated on a
box of its real variables with mpmath's interval arithmetic, which rounds outward, in
three-valued logic: an atom is certainly true, certainly false or open on the box. A box on
which the query is certainly false holds no counterexample; an open box is split in two, up
to a limit of boxes and time. Variables range over their bounds read from the query; an
unbounded side is split geometrically (0, 1, 2, 4, ... away from its finite end).

Where plain interval evaluation cannot close a box (a claim that is tight at a point, such as
e^x >= 1 + x at 0, never is), an atom `f >= 0` is settled by monotonicity: if the
partial derivative of f in one variable has a certain sign on the box (shown the same way, one
derivative further), f's smallest value lies on one face, and the atom is decided on that
face, one dimension down. A box reduced to a point is decided by the exact evaluator. The
derivative is taken symbolically on the core term and trusted only on boxes where f and its
derivative both evaluate, so f is continuously differentiable there.

Nothing here rests on floating point: every interval encloses the true value, and a point
where the query is certainly true is only proposed; the engine re-checks it with the exact
evaluator before it becomes a counterexample. Variables of integer sort, more than three
variables, and constructs other than arithmetic, exp, ln, sqrt, sin, cos, abs, constant
powers and the boolean connectives make the path inapplicable (`Unsupported`).
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction

from mpmath import iv

from checker.decide import budget as budget_
from checker.decide import evaluator as E
from checker.language import core as C

MAX_VARIABLES = 3
MAX_BOXES = 6000
MONOTONE_DEPTH = 3      # derivatives taken in turn when a box cannot be closed directly
UNBOUNDED_SPLITS = 40   # an unbounded side is split this many times at most
MIN_WIDTH = Fraction(1, 2**40)

Bound = Fraction | None
Box = tuple[tuple[Bound, Bound], ...]


class Undefined(Exception):
    """A term may be undefined somewhere on the box (ln of a possibly non-positive number)."""


@dataclass
class BoxResult:
    status: str                   # "unsat" (no counterexample anywhere), "sat" (a point), "unknown"
    boxes: int = 0
    monotone: int = 0             # boxes closed by a monotonicity argument
    point: dict[str, Fraction] | None = None
    reason: str = ""
    ranges: list[str] = field(default_factory=list)

    def step(self) -> str:
        where = ", ".join(self.ranges)
        return (f"interval bisection over {where}: {self.boxes} boxes, {self.monotone} of them closed "
                f"by a derivative's sign (mpmath intervals, outward rounding)")


def _interval(q: Fraction):
    return iv.mpf(q.numerator) / iv.mpf(q.denominator) if q.denominator != 1 else iv.mpf(q.numerator)


def _to_iv(lo: Bound, hi: Bound):
    a = _interval(lo).a if lo is not None else iv.mpf("-inf").a
    b = _interval(hi).b if hi is not None else iv.mpf("inf").b
    return iv.mpf([a, b])


# ---- interval evaluation of terms -------------------------------------------------------

def ev(t: C.Term, env: dict):
    if isinstance(t, C.Const):
        if isinstance(t.value, bool):
            raise C.Unsupported("a boolean constant in arithmetic")
        return _interval(Fraction(t.value))
    if isinstance(t, C.Var):
        return env[t.name]
    if not isinstance(t, C.Op):
        raise C.Unsupported(f"{type(t).__name__} in a box query")
    op = t.op
    if op == "add":
        out = ev(t.args[0], env)
        for a in t.args[1:]:
            out = out + ev(a, env)
        return out
    if op == "mul":
        if len(t.args) == 2 and t.args[0] == t.args[1]:
            return _square(ev(t.args[0], env))
        out = ev(t.args[0], env)
        for a in t.args[1:]:
            out = out * ev(a, env)
        return out
    if op == "neg":
        return -ev(t.args[0], env)
    if op == "div":
        num, den = ev(t.args[0], env), ev(t.args[1], env)
        if den.a <= 0 <= den.b:
            raise Undefined("a divisor may be 0")
        return num / den
    if op == "pow":
        base, exponent = t.args
        if not isinstance(exponent, C.Const) or isinstance(exponent.value, bool):
            raise C.Unsupported("a power with a variable exponent")
        e = Fraction(exponent.value)
        b = ev(base, env)
        if e.denominator == 1:
            n = int(e)
            if n < 0 and b.a <= 0 <= b.b:
                raise Undefined("a negative power of a number that may be 0")
            if abs(n) > 64:
                raise C.Unsupported("a power above 64")
            return _power(b, n)
        if not b.a > 0:
            raise Undefined("a fractional power of a number that may not be positive")
        return iv.exp(_interval(e) * iv.log(b))
    if op == "exp":
        return iv.exp(ev(t.args[0], env))
    if op == "ln":
        a = ev(t.args[0], env)
        if not a.a > 0:
            raise Undefined("ln of a number that may not be positive")
        return iv.log(a)
    if op == "sqrt":
        a = ev(t.args[0], env)
        if not a.a >= 0:
            raise Undefined("sqrt of a number that may be negative")
        return iv.sqrt(a)
    if op == "cos":
        return iv.cos(ev(t.args[0], env))
    if op == "sin":
        return iv.sin(ev(t.args[0], env))
    if op == "abs":
        a = ev(t.args[0], env)
        if a.a >= 0:
            return a
        if a.b <= 0:
            return -a
        return iv.mpf([0, max(-a.a, a.b)])
    raise C.Unsupported(f"'{op}' in a box query")


def _square(x):
    if x.a >= 0 or x.b <= 0:
        return x * x
    top = max(-x.a, x.b)
    return iv.mpf([0, (iv.mpf(top) * iv.mpf(top)).b])


def _power(b, n: int):
    if n < 0:
        return 1 / _power(b, -n)
    if n % 2 == 0 and n > 0:
        return _square(_power(b, n // 2)) if n > 2 else _square(b)
    out = iv.mpf(1)
    for _ in range(n):
        out = out * b
    return out


# ---- symbolic derivatives ---------------------------------------------------------------

ZERO, ONE = C.num(0), C.num(1)


def _add(*xs: C.Term) -> C.Term:
    xs = tuple(x for x in xs if x != ZERO)
    return ZERO if not xs else xs[0] if len(xs) == 1 else C.Op(C.REAL, "add", xs)


def _mul(*xs: C.Term) -> C.Term:
    if any(x == ZERO for x in xs):
        return ZERO
    xs = tuple(x for x in xs if x != ONE)
    return ONE if not xs else xs[0] if len(xs) == 1 else C.Op(C.REAL, "mul", xs)


def _op(op: str, *xs: C.Term) -> C.Term:
    return C.Op(C.REAL, op, xs)


def derivative(t: C.Term, x: str) -> C.Term:
    """d t / d x, valid wherever t is defined and differentiable (the caller checks both by
    evaluating t and the derivative on the box)."""
    if x not in C.free_vars(t):
        return ZERO
    if isinstance(t, C.Var):
        return ONE
    if not isinstance(t, C.Op):
        raise C.Unsupported(f"the derivative of {type(t).__name__}")
    a = t.args
    d = [derivative(u, x) for u in a] if t.op not in ("pow",) else []
    if t.op == "add":
        return _add(*d)
    if t.op == "neg":
        return _op("neg", d[0]) if d[0] != ZERO else ZERO
    if t.op == "mul":
        return _add(*[_mul(*(a[:i] + (d[i],) + a[i + 1:])) for i in range(len(a))])
    if t.op == "div":
        # (u/v)' = u'/v - u v' / v^2
        u, v = a
        return _add(_op("div", d[0], v) if d[0] != ZERO else ZERO,
                    _op("neg", _op("div", _mul(u, d[1]), _op("pow", v, C.num(2)))) if d[1] != ZERO else ZERO)
    if t.op == "pow":
        base, exponent = a
        if not isinstance(exponent, C.Const) or isinstance(exponent.value, bool):
            raise C.Unsupported("the derivative of a power with a variable exponent")
        e = Fraction(exponent.value)
        db = derivative(base, x)
        if e == 0:
            return ZERO
        lower = ONE if e == 1 else _op("pow", base, C.num(e - 1))
        return _mul(C.num(e), lower, db)
    if t.op == "exp":
        return _mul(t, d[0])
    if t.op == "ln":
        return _op("div", d[0], a[0])
    if t.op == "sqrt":
        return _op("div", d[0], _mul(C.num(2), t))
    if t.op == "sin":
        return _mul(_op("cos", a[0]), d[0])
    if t.op == "cos":
        return _op("neg", _mul(_op("sin", a[0]), d[0]))
    if t.op == "abs":
        # |u|' = u' u / |u|, where u != 0 (the division fails on a box where u may be 0)
        return _op("div", _mul(d[0], a[0]), t)
    raise C.Unsupported(f"the derivative of '{t.op}'")


# ---- three-valued evaluation of formulas ------------------------------------------------

class _Decider:
    def __init__(self, names: list[str], strict: tuple[tuple[Bound, Bound], ...] = ()):
        self.names = names
        self.strict = strict or tuple((None, None) for _ in names)   # excluded ends of the domain
        self.derivatives: dict[tuple[C.Term, str], C.Term] = {}
        self.monotone_used = False

    def env(self, box: Box) -> dict:
        return {n: _to_iv(lo, hi) for n, (lo, hi) in zip(self.names, box)}

    def formula(self, t: C.Term, box: Box, env: dict, refine: bool) -> bool | None:
        if isinstance(t, C.Const) and isinstance(t.value, bool):
            return t.value
        if not isinstance(t, C.Op):
            raise C.Unsupported(f"{type(t).__name__} as a formula in a box query")
        op = t.op
        if op == "not":
            v = self.formula(t.args[0], box, env, refine)
            return None if v is None else not v
        if op in ("and", "or"):
            stop = op == "or"   # the value that settles the connective
            seen_open = False
            for a in t.args:
                v = self.formula(a, box, env, refine)
                if v is stop:
                    return stop
                seen_open |= v is None
            return None if seen_open else not stop
        if op == "implies":
            return self.formula(C.Op(C.BOOL, "or", (C.Op(C.BOOL, "not", (t.args[0],)), t.args[1])),
                                box, env, refine)
        if op == "iff":
            p, q = (self.formula(a, box, env, refine) for a in t.args)
            return None if p is None or q is None else p == q
        if op in ("lt", "le", "eq"):
            if t.args[0].sort == C.BOOL:
                raise C.Unsupported("a comparison of truth values in a box query")
            v = self.atom(t, box, env)
            if v is None and refine:
                v = self.refine(t, box, MONOTONE_DEPTH)
            return v
        raise C.Unsupported(f"'{op}' as a formula in a box query")

    def atom(self, t: C.Op, box: Box, env: dict) -> bool | None:
        try:
            diff = ev(t.args[1], env) - ev(t.args[0], env)   # rhs - lhs
        except Undefined:
            return None
        if t.op == "le":
            return True if diff.a >= 0 else False if diff.b < 0 else None
        if t.op == "lt":
            return True if diff.a > 0 else False if diff.b <= 0 else None
        return False if diff.a > 0 or diff.b < 0 else None  # eq: true only at points, left to the evaluator

    def refine(self, t: C.Op, box: Box, depth: int) -> bool | None:
        """Decide the comparison on the whole box by the sign of a derivative of rhs - lhs."""
        if all(lo is not None and lo == hi for lo, hi in box):
            return self.at_point(t, box)
        if depth <= 0 or t.op == "eq":
            return None
        f = _add(t.args[1], _op("neg", t.args[0]))
        env = self.env(box)
        try:
            ev(f, env)           # f defined on the whole box
        except Undefined:
            return None
        for i, name in enumerate(self.names):
            lo, hi = box[i]
            if lo is not None and lo == hi:
                continue
            sign = self.sign(self._derivative(f, name), box, depth - 1)
            if sign is None:
                continue
            low_face = lo if sign > 0 else hi     # where f is smallest along this variable
            high_face = hi if sign > 0 else lo    # where f is largest
            excluded = low_face is not None and low_face == self.strict[i][0 if sign > 0 else 1]
            if low_face is not None and (t.op == "le" or not excluded):
                v = self._on_face(t, box, i, low_face, depth)
                if v is True:
                    self.monotone_used = True
                    return True
            elif low_face is not None:
                # f > 0 on a box whose face of smallest f lies outside the domain: f >= 0 on that
                # face and f strictly monotone away from it give f > 0 on the rest of the box
                weak = C.Op(C.BOOL, "le", t.args)
                if self._on_face(weak, box, i, low_face, depth) is True and \
                        self.strictly(self._derivative(f, name), sign, box, depth - 1):
                    self.monotone_used = True
                    return True
            if high_face is not None:
                v = self._on_face(t, box, i, high_face, depth)
                if v is False:
                    self.monotone_used = True
                    return False
            return None
        return None

    def _on_face(self, t: C.Op, box: Box, i: int, value: Fraction, depth: int) -> bool | None:
        face = box[:i] + ((value, value),) + box[i + 1:]
        v = self.atom(t, face, self.env(face))
        return v if v is not None else self.refine(t, face, depth)

    def sign(self, g: C.Term, box: Box, depth: int) -> int | None:
        """+1 if g >= 0 on the box, -1 if g <= 0, None if neither is shown."""
        try:
            value = ev(g, self.env(box))
        except Undefined:
            return None
        if value.a >= 0:
            return 1
        if value.b <= 0:
            return -1
        if depth <= 0:
            return None
        if self.refine(C.Op(C.BOOL, "le", (ZERO, g)), box, depth) is True:
            return 1
        if self.refine(C.Op(C.BOOL, "le", (g, ZERO)), box, depth) is True:
            return -1
        return None

    def strictly(self, g: C.Term, sign: int, box: Box, depth: int) -> bool:
        """Whether sign * g > 0 on the box, except perhaps on faces outside the domain."""
        try:
            value = ev(g, self.env(box))
        except Undefined:
            return False
        if (value.a > 0) if sign > 0 else (value.b < 0):
            return True
        atom = C.Op(C.BOOL, "lt", (ZERO, g) if sign > 0 else (g, ZERO))
        return depth > 0 and self.refine(atom, box, depth) is True

    def at_point(self, t: C.Op, box: Box) -> bool | None:
        point = {n: lo for n, (lo, _) in zip(self.names, box)}
        if any(abs(v) > 1000 for v in point.values() if v is not None):
            return None   # far points cost the exact evaluator thousands of bits; left open
        try:
            return bool(E.evaluate(t, E.Env(point)))
        except budget_.BudgetExceeded:
            raise
        except Exception:  # noqa: BLE001 - any failure of the exact evaluator (SymPy included) leaves the atom open
            return None

    def _derivative(self, f: C.Term, x: str) -> C.Term:
        key = (f, x)
        if key not in self.derivatives:
            self.derivatives[key] = derivative(f, x)
        return self.derivatives[key]


# ---- the search -------------------------------------------------------------------------

def variable_bounds(query: C.Term, names: list[str]) -> tuple[Box, tuple[tuple[Bound, Bound], ...], C.Term]:
    """Constant bounds of each variable, read from the query's top-level conjuncts; the ends
    that strict bounds exclude; and the query without those conjuncts, which the box (with
    its excluded ends) now expresses."""
    lows: dict[str, Fraction] = {}
    highs: dict[str, Fraction] = {}
    strict_lows: dict[str, set] = {}
    strict_highs: dict[str, set] = {}
    parts = query.args if isinstance(query, C.Op) and query.op == "and" else (query,)
    rest = []
    for c in parts:
        if not (isinstance(c, C.Op) and c.op in ("lt", "le", "eq")
                and (isinstance(c.args[0], C.Var) and isinstance(c.args[1], C.Const)
                     or isinstance(c.args[1], C.Var) and isinstance(c.args[0], C.Const))
                and c.args[0].sort != C.BOOL):
            rest.append(c)
            continue
        a, b = c.args
        pairs = []
        if isinstance(a, C.Var) and isinstance(b, C.Const):
            pairs.append((a.name, "high", Fraction(b.value)))
            if c.op == "eq":
                pairs.append((a.name, "low", Fraction(b.value)))
        if isinstance(b, C.Var) and isinstance(a, C.Const):
            pairs.append((b.name, "low", Fraction(a.value)))
            if c.op == "eq":
                pairs.append((b.name, "high", Fraction(a.value)))
        for name, side, value in pairs:
            if side == "low":
                lows[name] = max(lows.get(name, value), value)
                if c.op == "lt":
                    strict_lows.setdefault(name, set()).add(value)
            else:
                highs[name] = min(highs.get(name, value), value)
                if c.op == "lt":
                    strict_highs.setdefault(name, set()).add(value)
    box = tuple((lows.get(n), highs.get(n)) for n in names)
    strict = tuple((lows.get(n) if lows.get(n) in strict_lows.get(n, ()) else None,
                    highs.get(n) if highs.get(n) in strict_highs.get(n, ()) else None) for n in names)
    return box, strict, C.mk("and", *rest) if rest else C.TRUE


def _split(lo: Bound, hi: Bound) -> Fraction:
    if lo is not None and hi is not None:
        return (lo + hi) / 2
    if lo is None and hi is None:
        return Fraction(0)
    if hi is None:
        assert lo is not None
        return lo + max(Fraction(1), abs(lo))
    assert lo is None
    return hi - max(Fraction(1), abs(hi))


def _width(lo: Bound, hi: Bound) -> Fraction | None:
    return None if lo is None or hi is None else hi - lo


def _midpoint(box: Box) -> dict[int, Fraction]:
    return {i: _split(lo, hi) if lo is None or hi is None else (lo + hi) / 2 for i, (lo, hi) in enumerate(box)}


def _text(v: Bound, low: bool) -> str:
    if v is None:
        return "-inf" if low else "inf"
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def decide(query: C.Term, seconds: float, max_boxes: int = MAX_BOXES) -> BoxResult:
    """Search the query's variables' box for a point where it holds, or show there is none."""
    names = sorted(C.free_vars(query))
    variables = {x.name: x for x in C.walk(query) if isinstance(x, C.Var)}
    if not names:
        raise C.Unsupported("a ground query")
    if len(names) > MAX_VARIABLES:
        raise C.Unsupported(f"{len(names)} variables (interval bisection takes at most {MAX_VARIABLES})")
    if any(variables[n].sort != C.REAL for n in names):
        raise C.Unsupported("a variable that is not real")
    if any(isinstance(x, (C.Bind, C.FunBind, C.App, C.Limit)) for x in C.walk(query)):
        raise C.Unsupported("a binder or function in a box query")
    bounds, strict, query = variable_bounds(query, names)
    if any(lo is not None and hi is not None and (lo > hi or lo == hi and (a is not None or b is not None))
           for (lo, hi), (a, b) in zip(bounds, strict)):
        return BoxResult("unsat", reason="the bounds leave no point")
    decider = _Decider(names, strict)
    start = bounds
    result = BoxResult("unknown", ranges=[f"{n} in [{_text(lo, True)}, {_text(hi, False)}]"
                                          for n, (lo, hi) in zip(names, start)])
    deadline = time.monotonic() + seconds
    queue: deque[tuple[Box, int]] = deque([(start, 0)])
    while queue:
        budget_.tick()
        if time.monotonic() > deadline or result.boxes >= max_boxes:
            result.reason = (f"interval bisection left {len(queue)} boxes open after {result.boxes} "
                             f"({'time' if time.monotonic() > deadline else 'box limit'})")
            return result
        box, unbounded_splits = queue.popleft()
        result.boxes += 1
        env = decider.env(box)
        value = decider.formula(query, box, env, refine=False)
        if value is None:
            decider.monotone_used = False
            value = decider.formula(query, box, env, refine=True)
            if value is False and decider.monotone_used:
                result.monotone += 1
        if value is False:
            continue
        # open, or certainly true: propose the box's midpoint (a point where the query holds)
        mid = _midpoint(box)
        point_box = tuple((mid[i], mid[i]) for i in range(len(box)))
        if value is True or decider.formula(query, point_box, decider.env(point_box), refine=False) is True:
            result.status, result.point = "sat", {n: mid[i] for i, n in enumerate(names)}
            return result
        # split the widest side (an unbounded side first)
        widths = [_width(lo, hi) for lo, hi in box]
        unbounded = [i for i, w in enumerate(widths) if w is None]
        if unbounded:
            if unbounded_splits >= UNBOUNDED_SPLITS:
                result.reason = "an unbounded side stayed open after every split"
                return result
            i = unbounded[0]
            unbounded_splits += 1
        else:
            i = max(range(len(box)), key=lambda k: widths[k] or 0)
            if (widths[i] or 0) < MIN_WIDTH:
                result.reason = "a box shrank below 2^-40 without being decided (a tight point?)"
                return result
        lo, hi = box[i]
        m = _split(lo, hi)
        queue.append((box[:i] + ((lo, m),) + box[i + 1:], unbounded_splits))
        queue.append((box[:i] + ((m, hi),) + box[i + 1:], unbounded_splits))
    result.status = "unsat"
    return result

