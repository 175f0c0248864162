"""Random well-typed statements for the soundness harness, weighted toward risky constructs.

Why this module exists: `checker/soundness.py` needs many small statements whose truth turns on
exactly the places where a decision procedure goes wrong: division and the domains of sqrt, ln
and powers, empty and reversed ranges, name capture in macros, limits that do not exist,
witnesses outside their codomain, floor/ceil near integers, huge and tiny magnitudes, and user
names that look like the checker's internal ones. Each template builds its statement as the
oracle's own AST (`checker.oracle`), never through the checker, together with

* `truth`: "true" / "false" when the template knows it by construction (None otherwise), used
  for statistics and to catch harness bugs (the oracle must never contradict it);
* `hints`: special parameter values (zeros of denominators, pi/2 for cos, N = -2 for a sum
  formula, ...) that the runner adds to the points it evaluates a proved claim at.

Templates come in pairs of a true form and a near miss (a perturbed constant, a dropped
hypothesis, a strict comparison where equality is reached). Most statements are polynomial or
exp/ln-linear so the checker can decide them. Generation is deterministic given (seed, index).
"""
from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from fractions import Fraction as F
from typing import Any

from checker.soundness import oracle as O

# Names that look like what a checker generates inside (root variables, exp-elimination
# variables, grounded function arguments, bound variables) or that end in digits.
RISKY_NAMES = ["root1", "root2", "s", "x_arg0", "f_arg0", "arg", "i", "j", "N", "h_arg0", "x1", "y2",
               "t0", "s1", "n2", "arg0", "x_1", "D", "e", "p'", "s_x", "k1"]
PLAIN_NAMES = ["x", "y", "z", "t", "u", "v", "w", "a", "b", "c", "p", "q", "r", "m", "n", "k", "d"]


def R(q) -> str:
    """A number as statement text."""
    return O.render(O.Num(F(q)))


@dataclass
class Generated:
    index: int
    cls: str
    statement: O.Statement
    text: str
    truth: str | None
    hints: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


class Gen:
    """The statement under construction and the helpers templates use."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()
        self.params: list = []
        self.meta: dict = {}
        self.lets: list = []
        self.assumptions: list = []
        self.claims: list = []
        self.witnesses: list = []
        self.hints: dict = {}
        self.truth: str | None = None
        self.finite_ok = True

    # ---- names
    def name(self, *prefer: str, risky: float = 0.3) -> str:
        pool = [n for n in prefer if n not in self.used]
        if not pool or self.rng.random() < risky:
            pool = [n for n in RISKY_NAMES if n not in self.used] or pool
        if not pool:
            pool = [n for n in PLAIN_NAMES if n not in self.used]
        name = self.rng.choice(pool)
        self.used.add(name)
        return name

    def bound(self, *prefer: str) -> str:
        """A bound variable's name (unused so far: templates that shadow say so explicitly)."""
        pool = [n for n in list(prefer) + ["j", "i", "k1", "x_arg0", "arg", "root1", "s"] if n not in self.used]
        name = self.rng.choice(pool)
        self.used.add(name)
        return name

    # ---- numbers
    def small(self, lo: int = -3, hi: int = 3, nonzero: bool = False) -> int:
        while True:
            v = self.rng.randint(lo, hi)
            if v or not nonzero:
                return v

    def rat(self, nonzero: bool = False) -> F:
        while True:
            v = self.rng.choice([F(self.small(-4, 4)), F(self.small(-7, 7), self.rng.choice([2, 3, 4, 5]))])
            if v or not nonzero:
                return v

    def pick(self, *options):
        return self.rng.choice(options)

    def coin(self, p: float = 0.5) -> bool:
        return self.rng.random() < p

    # ---- items
    def real(self, name: str, dom: str | None = None) -> str:
        return self._scalar(name, "real", dom)

    def int(self, name: str, dom: str | None = None) -> str:
        return self._scalar(name, "int", dom)

    def boolean(self, name: str) -> str:
        self.params.append(O.Param(name, O.ScalarType("bool")))
        self.meta[name] = {"kind": "bool"}
        return name

    def fun(self, name: str, ftype: str) -> str:
        t = O.parse_funtype(ftype)
        self.params.append(O.Param(name, t))
        self.meta[name] = {"kind": "fun"}
        return name

    def _scalar(self, name: str, base: str, dom: str | None) -> str:
        domain: O.Interval | O.SetDom | None = None
        meta: dict[str, Any] = {"kind": base, "lo": None, "hi": None, "lo_closed": True, "hi_closed": True,
                                "set": None}
        if dom:
            dom = dom.strip()
            if dom.startswith("{"):
                values = [O.parse(v) for v in _split(dom[1:-1])]
                domain = O.SetDom(tuple(values))
                meta["set"] = [_const(v) for v in values]
            else:
                lo_text, hi_text = _split(dom[1:-1])
                lo, hi = _bound(lo_text), _bound(hi_text)
                domain = O.Interval(lo, hi, dom[0] == "[", dom[-1] == "]")
                meta.update(lo=_const(lo), hi=_const(hi), lo_closed=dom[0] == "[", hi_closed=dom[-1] == "]")
        self.params.append(O.Param(name, O.ScalarType(base, domain)))
        self.meta[name] = meta
        return name

    def let(self, name: str, formals: tuple, text: str, **slots):
        self.lets.append(O.Let(name, tuple(formals), O.parse(text, **slots)))

    def assume(self, text: str, **slots):
        self.assumptions.append(O.parse(text, **slots))

    def claim(self, text: str, **slots):
        self.claims.append(O.parse(text, **slots))

    def witness(self, name: str, formals: tuple, text: str):
        self.witnesses.append(O.Witness(name, tuple(formals), O.parse(text)))

    def hint(self, name: str, *values):
        self.hints.setdefault(name, []).extend(values)

    def limit(self, var: str, point, body: str, known) -> O.Limit:
        """A limit whose value is known by construction: an expression text, or O.DNE."""
        point = point if isinstance(point, str) else F(point)
        return O.Limit(var, point, O.parse(body), known if known == O.DNE else O.parse(known))

    def either(self, true_form: str, false_form: str, **slots):
        """Claim the true form or its near miss; records the truth."""
        if self.coin():
            self.truth = "true"
            self.claim(true_form, **slots)
        else:
            self.truth = "false"
            self.claim(false_form, **slots)


def _split(text: str) -> list[str]:
    """Split at top-level commas."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return parts + [cur]


def _bound(text: str):
    text = text.strip()
    if text == "inf":
        return O.Inf(1)
    if text == "-inf":
        return O.Inf(-1)
    return O.parse(text)


def _const(e):
    if isinstance(e, O.Inf):
        return None
    v = O.evaluate_expr(e) if not _has_var(e) else None
    return v if isinstance(v, F) else None


def _has_var(e) -> bool:
    if isinstance(e, O.Var):
        return True
    return any(_has_var(c) for c in _children(e))


def _children(e):
    for v in vars(e).values() if hasattr(e, "__dict__") else ():
        if isinstance(v, O.Expr):
            yield v
        elif isinstance(v, tuple):
            for x in v:
                if isinstance(x, O.Expr):
                    yield x


def pi_times(q) -> O.Lin:
    return O.Lin(F(0), F(q), ())


# =============================================================================================
# Templates: each fills a Gen; the class name is the function name without "t_"
# =============================================================================================

def t_poly(g: Gen):
    """Polynomial identities and inequalities, and their near misses (mostly decidable by Z3)."""
    kind = g.pick("factor", "square", "two", "linear", "intonly", "amgm")
    base = g.pick("real", "real", "int")
    x = g.name("x", "t", "u")
    if kind == "factor":
        r1, r2 = g.rat(), g.rat()
        (g.int if base == "int" else g.real)(x, g.pick(None, None, "[0, inf)", f"({R(r1)}, {R(r1 + 5)}]"))
        lhs = f"({x} - {R(r1)}) * ({x} - {R(r2)})"
        rhs = f"{x}^2 - {R(r1 + r2)}*{x} + {R(r1 * r2)}"
        bad = f"{x}^2 - {R(r1 + r2 + g.pick(1, -1, F(1, 2)))}*{x} + {R(r1 * r2)}"
        g.either(f"{lhs} = {rhs}", f"{lhs} = {bad}")
    elif kind == "square":
        (g.int if base == "int" else g.real)(x)
        a, b = (F(g.small()) if base == "int" else g.rat()), g.rat()  # (x - 1/2)^2 > 0 holds on the integers
        g.hint(x, a)
        g.either(f"({x} - {R(a)})^2 + {R(b)} >= {R(b)}", f"({x} - {R(a)})^2 + {R(b)} > {R(b)}")
    elif kind == "two":
        y = g.name("y", "v")
        g.real(x)
        g.real(y)
        g.hint(x, F(1))
        g.hint(y, F(1))
        form = g.pick(("({x} + {y})^2 = {x}^2 + 2*{x}*{y} + {y}^2", "({x} + {y})^2 = {x}^2 + {x}*{y} + {y}^2"),
                      ("{x}^2 + {y}^2 >= 2*{x}*{y}", "{x}^2 + {y}^2 > 2*{x}*{y}"),
                      ("({x} + {y})^2 >= 4*{x}*{y}", "({x} + {y})^2 >= 5*{x}*{y}"),
                      ("({x} - {y})*({x} + {y}) = {x}^2 - {y}^2", "({x} - {y})*({x} + {y}) = {x}^2 + {y}^2"))
        g.either(form[0].format(x=x, y=y), form[1].format(x=x, y=y))
    elif kind == "linear":
        y = g.name("y", "v")
        a, b = g.rat(), (F(g.small()) if base == "int" else g.rat())  # y > 1/5 means y >= 1 for an int
        g.real(x)
        (g.int if base == "int" else g.real)(y)
        g.assume(f"{x} >= {R(a)}")
        g.assume(f"{y} > {R(b)}")
        g.hint(x, a, a + F(1, 1000))
        g.hint(y, b + F(1, 1000), b + 1)
        if g.coin():  # an int y > b is at least b + 1: the near miss sits exactly at the infimum
            gap = 1 if base == "int" else g.pick(1, F(1, 3))
            g.either(f"{x} + {y} > {R(a + b)}", f"{x} + {y} > {R(a + b + gap)}")
        else:
            ok = a >= 0 and b >= 0
            g.claim(f"{x} * {y} >= {R(a * b)}")
            g.truth = "true" if ok else None
    elif kind == "intonly":
        # true over the integers, false over the reals
        g.int(x) if g.coin() else g.real(x)
        g.hint(x, F(1, 2), F(-1, 2))
        g.claim(g.pick(f"{x}^2 >= {x}", f"{x}*({x} - 1)*({x} - 2) * ({x} - 3) >= 0", f"{x}^2 - 3*{x} + 2 >= 0"))
        g.truth = "true" if g.meta[x]["kind"] == "int" else "false"
        g.hint(x, F(3, 2), F(5, 2))
    else:
        y = g.name("y", "b")
        g.real(x, "[0, inf)")
        g.real(y, "[0, inf)")
        g.hint(x, F(1))
        g.hint(y, F(1))
        g.either(f"{x} * {y} <= (({x} + {y})/2)^2", f"{x} * {y} < (({x} + {y})/2)^2")


def t_explog(g: Gen):
    """exp/ln comparisons that are linear in logarithms (the exp/ln elimination's ground)."""
    kind = g.pick("tangent", "lnbound", "product", "lnrules", "softmax", "monotone", "threshold", "logistic")
    x = g.name("x", "Delta", "t")
    if kind == "tangent":
        g.real(x)
        g.hint(x, F(0), F(1, 10), F(-1, 10), F(1, 2))
        slope = R(g.pick(F(11, 10), F(9, 10), 2))
        g.either(f"exp({x}) >= 1 + {x}", g.pick(f"exp({x}) > 1 + {x}", f"exp({x}) >= 1 + {slope}*{x}"))
    elif kind == "lnbound":
        if g.coin():
            g.real(x, "(0, inf)")
            g.hint(x, F(1))
            g.either(f"ln({x}) <= {x} - 1", f"ln({x}) < {x} - 1")
        else:
            g.real(x, g.pick(None, "[0, inf)"))  # dropped hypothesis: ln is undefined at x <= 0
            g.hint(x, F(0), F(-1))
            g.claim(f"ln({x}) <= {x} - 1")
            g.truth = "false"
    elif kind == "product":
        g.real(x)
        a, b = g.rat(nonzero=True), g.rat()
        g.either(f"exp({R(a)}*{x}) * exp({R(b)}*{x}) = exp({R(a + b)}*{x})",
                 f"exp({R(a)}*{x}) * exp({R(b)}*{x}) = exp({R(a + b + 1)}*{x})")
    elif kind == "lnrules":
        y = g.name("y", "w")
        pos = g.coin(0.6)
        dom = "(0, inf)" if pos else g.pick(None, "[0, inf)")
        g.real(x, dom)
        g.real(y, "(0, inf)" if pos or g.coin() else None)
        g.hint(x, F(-1), F(0), F(2))
        g.hint(y, F(-1), F(3))
        g.claim(g.pick(f"ln({x}*{y}) = ln({x}) + ln({y})", f"ln({x}/{y}) = ln({x}) - ln({y})",
                       f"ln({x}^2) = 2*ln({x})", f"ln({x}^3 * {y}) = 3*ln({x}) + ln({y})"))
        g.truth = "true" if pos else "false"
    elif kind == "softmax":
        n, p = g.name("N", "n"), g.name("p", "q")
        lo = g.pick(2, 2, 1)
        g.int(n, f"[{lo}, inf)")
        g.real(p, "(0, 1)")
        g.real(x)
        g.hint(n, F(1), F(2))
        w = f"exp({x}) / (exp({x}) + {n} - 1)"
        if g.coin():
            g.claim(f"{w} >= {p} <=> {x} >= ln({p} * ({n} - 1) / (1 - {p}))")
            g.truth = "true" if lo == 2 else "false"
        else:
            g.assume(f"{x} >= ln({n}) / 2")
            g.claim(f"{w} >= {p}")
            g.truth = "false"
    elif kind == "monotone":
        y = g.name("y", "v")
        g.real(x)
        g.real(y)
        g.hint(x, F(0), F(-3))
        g.hint(y, F(1, 10 ** 6), F(-2))
        g.either(f"{x} < {y} => exp({x}) < exp({y})", f"{x} < {y} => exp({x}) + 1/1000 < exp({y})")
    elif kind == "threshold":
        c = g.pick(2, 3, F(1, 2), 5)
        g.real(x)
        g.hint(x, O.make_lin(F(0), F(0), {F(c): F(1)}))
        strict = g.coin()
        g.assume(f"{x} {'>' if strict else '>='} ln({R(c)})")
        g.claim(f"exp({x}) > {R(c)}")
        g.truth = "true" if strict else "false"
    else:
        g.real(x)
        g.either(g.pick(f"exp({x}) / (exp({x}) + 1) < 1", f"exp({x}) / (exp({x}) + 1) <= 1/2 <=> {x} <= 0"),
                 g.pick(f"exp({x}) / (exp({x}) + 1) < 1/2", f"exp({x}) / (exp({x}) + 1) < 1/2 <=> {x} <= 0"))


def t_division(g: Gen):
    """Denominators that vanish somewhere: x - c, cos(x), products of such factors."""
    x = g.name("x", "t")
    c = g.rat()
    kind = g.pick("cancel", "diffsq", "cos", "product", "shortcircuit", "recip", "intden")
    if kind == "intden":
        g.int(x, g.pick(None, "[2, inf)"))
        g.hint(x, F(1))
        g.claim(f"({x}^2 - 1)/({x} - 1) = {x} + 1")
        g.truth = "true" if g.meta[x]["lo"] == 2 else "false"
        return
    guarded = g.coin()
    if kind == "cos":
        g.real(x)
        g.hint(x, pi_times(F(1, 2)), pi_times(F(-1, 2)), pi_times(F(3, 2)))
        fn = g.pick("cos", "cos", "sin")
        if fn == "sin":
            g.hint(x, F(0), pi_times(1))
        if guarded:
            g.assume(f"{fn}({x}) != 0")
        g.claim(g.pick(f"{fn}({x})/{fn}({x}) = 1", f"{x}/{fn}({x}) * {fn}({x}) = {x}",
                       f"({fn}({x}) * {x}) / {fn}({x}) = {x}"))
        g.truth = "true" if guarded else "false"
        return
    g.real(x, g.pick(None, None, f"({R(c)}, inf)") if kind != "shortcircuit" else None)
    g.hint(x, c, F(0))
    excluded = guarded or g.meta[x]["lo"] is not None
    if guarded:
        g.assume(f"{x} != {R(c)}")
    if kind == "cancel":
        g.claim(g.pick(f"({x} - {R(c)})/({x} - {R(c)}) = 1", f"1/({x} - {R(c)}) * ({x} - {R(c)}) = 1"))
        g.truth = "true" if excluded else "false"
    elif kind == "diffsq":
        g.claim(f"({x}^2 - {R(c * c)})/({x} - {R(c)}) = {x} + {R(c)}")
        g.truth = "true" if excluded else "false"
    elif kind == "product":
        d = g.rat()
        g.hint(x, d)
        if guarded:
            g.assume(f"{x} != {R(d)}")
        g.claim(f"({x} - {R(c)})*({x} - {R(d)}) / (({x} - {R(c)})*({x} - {R(d)})) = 1")
        g.truth = "true" if guarded or (excluded and d <= c) else "false"
    elif kind == "shortcircuit":
        g.either(g.pick(f"{x} = {R(c)} or ({x} - {R(c)})/({x} - {R(c)}) = 1",
                        f"{x} != {R(c)} => 1/({x} - {R(c)})^2 > 0",
                        f"(if {x} = {R(c)} then 0 else 1/({x} - {R(c)})) * ({x} - {R(c)}) <= 1"),
                 g.pick(f"({x} - {R(c)})/({x} - {R(c)}) = 1 or {x} = {R(c)}",
                        f"1/({x} - {R(c)})^2 > 0 or {x} = {R(c)}",
                        f"1/({x} - {R(c)}) * ({x} - {R(c)}) <= 1"))
        if guarded:
            g.truth = "true"
    else:
        g.claim(f"1/({x} - {R(c)})^2 > 0")
        g.truth = "true" if excluded else "false"


def t_lnsqrt(g: Gen):
    """Domains of sqrt and ln: ln(x - c), sqrt(c - x), identities that need x >= 0."""
    x = g.name("x", "t")
    c = g.rat()
    kind = g.pick("sqsq", "sqabs", "sqrtc", "lnshift", "explnx", "lnexp", "sqrtprod", "amgm")
    if kind == "sqsq":
        pos = g.coin()
        g.real(x, "[0, inf)" if pos else None)
        g.hint(x, F(-1))
        g.claim(f"sqrt({x})^2 = {x}")
        g.truth = "true" if pos else "false"
    elif kind == "sqabs":
        g.real(x)
        g.hint(x, F(-2))
        g.either(f"sqrt({x}^2) = abs({x})", f"sqrt({x}^2) = {x}")
    elif kind == "sqrtc":
        g.real(x)
        g.hint(x, c, c + 1, c + F(1, 2))
        ok = g.coin()
        g.assume(f"{x} <= {R(c)}" if ok else f"{x} < {R(c + 1)}")
        g.claim(f"sqrt({R(c)} - {x})^2 = {R(c)} - {x}")
        g.truth = "true" if ok else "false"
    elif kind == "lnshift":
        ok = g.coin()
        g.real(x, f"({R(c)}, inf)" if ok else g.pick(None, f"[{R(c)}, inf)"))
        g.hint(x, c, c + 1)
        g.claim(f"ln({x} - {R(c)}) < {x} - {R(c)}")
        g.truth = "true" if ok else "false"
    elif kind == "explnx":
        ok = g.coin()
        g.real(x, "(0, inf)" if ok else "[0, inf)")
        g.hint(x, F(0))
        g.claim(f"exp(ln({x})) = {x}")
        g.truth = "true" if ok else "false"
    elif kind == "lnexp":
        g.real(x)
        g.either(f"ln(exp({x})) = {x}", f"ln(exp({x})) = {x} + 1/10^30")
    elif kind == "sqrtprod":
        y = g.name("y", "w")
        ok = g.coin()
        g.real(x, "[0, inf)" if ok else None)
        g.real(y, "[0, inf)" if ok else None)
        g.hint(x, F(-1))
        g.hint(y, F(-1))
        g.claim(f"sqrt({x}*{y}) = sqrt({x})*sqrt({y})")
        g.truth = "true" if ok else "false"
    else:
        g.real(x, "[0, inf)")
        g.hint(x, F(1))
        g.either(f"sqrt({x}) <= ({x} + 1)/2", f"sqrt({x}) < ({x} + 1)/2")


def t_power(g: Gen):
    """Powers: fractional and negative exponents, 0^0, (-8)^(1/3), 0^(-1)."""
    kind = g.pick("ground", "ground", "halfsqrt", "zeroexp", "negexp", "cuberoot", "shift", "cube", "threehalves",
                  "setdom")
    if kind == "ground":
        true_forms = ["0^0 = 1", "(-8)^3 = -512", "(-2)^(-2) = 1/4", "4^(-1/2) = 1/2", "0^(1/2) = 0",
                      "8^(2/3) = 4", "(-1)^(10^6) = 1", "(1/2)^(-3) = 8", "2^(1/2) > 1.4142", "27^(1/3) = 3"]
        false_forms = ["(-8)^(1/3) = -2", "0^(-1) = 0", "0^(-1) > 0", "(-1/8)^(1/3) < 0", "0^(-1/2) >= 0",
                       "(-4)^(1/2) = 2", "(-8)^(2/6) = -2", "0^0 = 0", "2^(1/2) > 1.4143", "(-1)^(1/2) = 0 or true"]
        g.finite_ok = False
        g.either(g.pick(*true_forms), g.pick(*false_forms))  # "undefined or true" is undefined
        return
    if kind == "setdom":
        k = g.name("k", "m", "n")
        dom, values = g.pick(("{1, 2, 4}", [1, 2, 4]), ("{0, 3}", [0, 3]), ("[1, 5)", [1, 2, 3, 4]))
        g.int(k, dom)
        g.hint(k, F(4), F(3))
        strict = g.coin()
        g.claim(f"2^{k} < 4*{k}" if strict else f"2^{k} <= 4*{k}")
        g.truth = "true" if all((2 ** v < 4 * v) if strict else (2 ** v <= 4 * v) for v in values) else "false"
        return
    x = g.name("x", "t")
    if kind == "halfsqrt":
        ok = g.coin()
        g.real(x, "[0, inf)" if ok else None)
        g.hint(x, F(-4), F(0))
        g.claim(f"{x}^(1/2) = sqrt({x})")
        g.truth = "true" if ok else "false"
    elif kind == "zeroexp":
        g.real(x)
        g.hint(x, F(0))
        g.claim(f"{x}^0 = 1")
        g.truth = "true"
    elif kind == "negexp":
        ok = g.coin()
        g.real(x)
        g.hint(x, F(0))
        if ok:
            g.assume(f"{x} != 0")
        g.claim(g.pick(f"{x}^(-1) = 1/{x}", f"{x}^(-2) * {x}^2 = 1"))
        g.truth = "true" if ok else "false"
    elif kind == "cuberoot":
        ok = g.coin()
        g.real(x, "(0, inf)" if ok else None)
        g.hint(x, F(-8), F(-1))
        g.claim(f"({x}^(1/3))^3 = {x}")
        g.truth = "true" if ok else "false"
    elif kind == "shift":
        g.real(x)
        b = g.pick(2, 3, F(1, 2))
        g.either(f"{R(b)}^({x} + 1) = {R(b)} * {R(b)}^{x}", f"{R(b)}^({x} + 1) = {R(b)}^{x} + {R(b)}")
    elif kind == "cube":
        ok = g.coin()
        if g.coin():
            g.int(x, "[0, inf)" if ok else None)
            g.hint(x, F(-1))
            g.claim(f"{x}^3 >= {x}^2")
        else:
            g.real(x, "[1, inf)" if ok else "[0, inf)")
            g.hint(x, F(1, 2))
            g.claim(f"{x}^3 >= {x}^2")
        g.truth = "true" if ok else "false"
    else:
        ok = g.coin()
        g.real(x, "[0, inf)" if ok else None)
        g.hint(x, F(-1))
        g.claim(f"{x}^(3/2) = {x} * sqrt({x})")
        g.truth = "true" if ok else "false"


def t_sum(g: Gen):
    """Sums, products and quantifiers with symbolic, empty and reversed ranges."""
    kind = g.pick("gauss", "odd", "prodpow", "count", "ground", "ground", "forall", "exists", "maxr", "const",
                  "squares", "shadow")
    n = g.name("N", "n", "m")
    j = g.bound("j", "i")
    if kind == "ground":
        g.finite_ok = False
        a = g.small(-3, 3)
        b = a - g.pick(1, 2, 4)
        naive = F(b * (b + 1), 2) - F((a - 1) * a, 2)  # the closed form, wrongly applied to a reversed range
        forms = [(f"sum({j} in {a}..{b}, {j}) = 0", f"sum({j} in {a}..{b}, {j}) = {R(naive or 1)}"),
                 (f"sum({j} in 1..-3, {j}) = 0", f"sum({j} in 1..-3, {j}) = 3"),
                 (f"prod({j} in {a}..{b}, {j}) = 1", f"prod({j} in {a}..{b}, {j}) = 0"),
                 (f"forall {j} in {a}..{b} : {j} > 100", f"exists {j} in {a}..{b} : {j} = {j}"),
                 (f"sum({j} in 1..0, 5) + prod({j} in 1..0, 5) = 1", f"max({j} in 1..0, {j}) = 0"),
                 (f"sum({j} in 1..4, {j}) = 10", f"sum({j} in 4..1, {j}) = 10")]
        g.either(*g.pick(*forms))  # ground claims are labelled by the oracle in generate()
        return
    lo = g.pick(None, 0, 0, 1, -1)
    g.int(n, None if lo is None else f"[{lo}, inf)")
    g.hint(n, F(-1), F(-2), F(-3), F(0))
    if kind == "gauss":
        g.claim(f"sum({j} in 1..{n}, {j}) = {n}*({n} + 1)/2")
        g.truth = "true" if lo is not None else "false"
    elif kind == "odd":
        g.claim(f"sum({j} in 1..{n}, 2*{j} - 1) = {n}^2")
        g.truth = "true" if lo is not None and lo >= 0 else "false"
    elif kind == "prodpow":
        g.claim(f"prod({j} in 1..{n}, 2) = 2^{n}")
        g.truth = "true" if lo is not None and lo >= 0 else "false"
    elif kind == "count":
        start = g.name("a", "m", "k")
        g.int(start, "[-3, 3]")
        g.claim(f"sum({j} in {start}..{n}, 1) = {n} - {start} + 1")
        g.truth = None
        if g.coin():
            g.assume(f"{n} >= {start} - 1")
            g.truth = "true"
    elif kind == "forall":
        g.either(f"forall {j} in 1..{n} : {j} <= {n}", f"forall {j} in 1..{n} : {j} < {n}")
    elif kind == "exists":
        g.claim(f"exists {j} in 1..{n} : {j} = {n}")
        g.truth = "true" if lo == 1 else "false"
    elif kind == "maxr":
        g.claim(f"max({j} in 1..{n}, {j}) = {n}")
        g.truth = "true" if lo == 1 else "false"
    elif kind == "const":
        x = g.name("x", "c")
        g.real(x)
        g.hint(x, F(1))
        g.claim(f"sum({j} in 1..{n}, {x}) = {n}*{x}")
        g.truth = "true" if lo is not None and lo >= 0 else "false"
    elif kind == "squares":
        g.claim(f"sum({j} in 1..{n}, {j}^2) = {n}*({n} + 1)*(2*{n} + 1)/6")
        g.truth = "true" if lo is not None else "false"
    else:
        # the bound variable has the parameter's name; the range uses the parameter
        g.claim(f"sum({n} in 1..{n}, {n}) = {n}*({n} + 1)/2")
        g.truth = "true" if lo is not None else "false"


def t_macro(g: Gen):
    """Macros and lets whose bodies bind names that the call site also uses (capture)."""
    kind = g.pick("sumcap", "forallcap", "letcap", "argnames", "formalname", "nested", "limitcap")
    if kind == "sumcap":
        i, n = g.name("i", risky=0), g.name("n", "N")
        g.int(i, "[1, 5]")
        g.int(n, "[0, 3]")
        g.let("g", ("y",), f"sum({i} in 1..{n}, y)")
        g.either(f"g({i}) = {n}*{i}", f"g({i}) = {n}*({n} + 1)/2")
        g.hint(n, F(2), F(3))
        g.hint(i, F(5))
    elif kind == "forallcap":
        j, n = g.name("j", risky=0), g.name("n", "N")
        g.int(j, "[0, 5]")
        g.int(n, "[0, 5]")
        g.let("g", ("y",), f"forall {j} in 1..{n} : y >= {j}")
        g.assume(f"{j} < {n}")
        g.either(f"not g({j})", f"g({j})")
    elif kind == "letcap":
        i = g.name("i", risky=0)
        g.int(i, "[0, 4]")
        g.let("w", (), f"2*{i}")
        g.either(f"sum({i} in 1..3, w) = 6*{i}", f"sum({i} in 1..3, w) = 12")
        g.hint(i, F(0), F(1))
    elif kind == "argnames":
        a, b = g.name("x_arg0", risky=0), g.name("arg", risky=0)
        g.real(a)
        g.real(b)
        g.let("f", ("x",), f"x^2 + {b}")
        g.either(f"f({a}) >= {b}", f"f({b}) >= {a}")
    elif kind == "formalname":
        n, m = g.name("n", "i"), g.name("m", "j")
        g.real(n)
        g.real(m)
        g.let("g", (n,), f"{n} + {m}")
        g.either(f"g({m}) = 2*{m}", f"g({m}) = {n} + {m}")
    elif kind == "nested":
        x = g.name("x", "y")
        g.real(x)
        g.let("sq", ("y",), "y*y")
        g.let("g", ("y",), "sq(y + 1) - sq(y)")
        g.either(f"g({x}) = 2*{x} + 1", f"g({x}) = 2*{x}")
    else:
        x = g.name("x", risky=0)
        g.real(x, "[-2, 2]")
        lim = g.limit(x, 0, f"(exp(a*{x}) - 1)/{x}", "a")
        g.lets.append(O.Let("L", ("a",), lim))
        g.either(f"L({x}) = {x}", f"L({x}) = 0")
        g.hint(x, F(1), F(2))


def t_limit(g: Gen):
    """Limits with values known by construction; two-sided limits that do not exist."""
    v = g.name("x", "h", "n", risky=0.2)
    kind = g.pick("sinc", "diffsq", "abs", "recip", "sqrt", "expa", "rational", "floor", "cos", "lnx", "neginf",
                  "euler", "blowup")
    good = g.coin()
    if kind == "sinc":
        lim = g.limit(v, 0, f"sin({v})/{v}", "1")
        g.claim("$L = 1" if good else "$L = 0", L=lim)
    elif kind == "diffsq":
        c = g.small(-3, 3, nonzero=True)
        lim = g.limit(v, c, f"({v}^2 - {c * c})/({v} - {R(c)})", R(2 * c))
        g.claim(f"$L = {R(2 * c)}" if good else f"$L = {R(c)}", L=lim)
    elif kind == "abs":
        lim = g.limit(v, 0, g.pick(f"abs({v})/{v}", f"{v}/abs({v})"), O.DNE)
        g.claim(g.pick("$L = 1", "$L = -1", "$L = 0", "$L >= -1"), L=lim)
        good = False
    elif kind == "recip":
        if good:
            g.claim("$L = 0", L=g.limit(v, "inf", f"1/{v}", "0"))
        else:
            g.claim(g.pick("$L = 0", "$L > 0"), L=g.limit(v, 0, g.pick(f"1/{v}", f"1/{v}^2"), O.DNE))
    elif kind == "sqrt":
        if good:
            g.claim("$L = 1", L=g.limit(v, 1, f"sqrt({v})", "1"))
        else:
            g.claim("$L = 0", L=g.limit(v, 0, g.pick(f"sqrt({v})", f"ln({v}) * {v}"), O.DNE))
    elif kind == "expa":
        a = g.name("a", "c")
        g.real(a, g.pick(None, "[1, 3]"))
        lim = g.limit(v, 0, f"(exp({a}*{v}) - 1)/{v}", a)
        g.claim(f"$L = {a}" if good else f"$L = 2*{a}", L=lim)
        g.hint(a, F(1), F(2))
    elif kind == "rational":
        p, r = g.small(1, 4), g.small(1, 4)
        q = g.small(-3, 3)
        lim = g.limit(v, "inf", f"({p}*{v}^2 + {R(q)})/({r}*{v}^2 + {v})", R(F(p, r)))
        g.claim(f"$L = {R(F(p, r))}" if good else f"$L = {R(F(p, r) + F(1, 10))}", L=lim)
    elif kind == "floor":
        if good:
            g.claim("$L = 0", L=g.limit(v, F(1, 2), f"floor({v})", "0"))
        else:
            g.claim("$L = 1", L=g.limit(v, 1, f"floor({v})", O.DNE))
    elif kind == "cos":
        lim = g.limit(v, 0, f"(1 - cos({v}))/{v}^2", "1/2")
        g.claim("$L = 1/2" if good else "$L = 1", L=lim)
    elif kind == "lnx":
        if good:
            g.claim("$L = 0", L=g.limit(v, "inf", f"ln({v})/{v}", "0"))
        else:
            g.claim("$L = 0", L=g.limit(v, "inf", f"{v}/ln({v})", O.DNE))
    elif kind == "neginf":
        lim = g.limit(v, "-inf", f"exp({v})", "0")
        g.claim("$L = 0" if good else "$L > 0", L=lim)
    elif kind == "euler":
        lim = g.limit(v, "inf", f"(1 + 1/{v})^{v}", "exp(1)")
        g.claim("$L > 2.71 and $L < 2.72" if good else "$L < 2.71", L=lim)
    else:
        lim = g.limit(v, 2, f"1/({v} - 2)^2", O.DNE)
        g.claim("$L > 0", L=lim)
        good = False
    g.truth = "true" if good else "false"
    g.finite_ok = bool(g.params)


def t_witness(g: Gen):
    """Function quantifiers with witnesses (inside and outside the codomain, under not) and shadowing."""
    n = g.name("n", "k", risky=0.2)
    g.int(n, g.pick("[1, 3]", "[1, 2]", "[0, 2]"))
    x = g.bound("x", "i")
    f = g.name("f", "g", risky=0.1)
    kind = g.pick("flip", "badwit", "outside", "halfwit", "notwit", "notwit2", "shadow", "allfun", "boolfun")
    if kind in ("flip", "badwit"):
        h = g.name("h", "q", risky=0.1)
        g.fun(h, f"[1..{n}] -> [0..1]")
        g.claim(f"exists {f} : [1..{n}] -> [0..1] : forall {x} in 1..{n} : {f}({x}) != {h}({x})")
        g.witness(f, ("y",), f"1 - {h}(y)" if kind == "flip" else f"{h}(y)")
        g.truth = "true"
    elif kind == "outside":
        g.claim(f"exists {f} : [1..{n}] -> [0..1] : forall {x} in 1..{n} : {f}({x}) = 2")
        g.witness(f, ("y",), "2")
        g.truth = "false"  # no f into [0..1] takes the value 2 (vacuously true only at n = 0)
    elif kind == "halfwit":
        g.claim(f"exists {f} : [1..{n}] -> [0..2] : forall {x} in 1..{n} : 2*{f}({x}) = 1")
        g.witness(f, ("y",), "1/2")
        g.truth = "false"
    elif kind == "notwit":
        g.claim(f"not (exists {f} : [1..{n}] -> [0..1] : forall {x} in 1..{n} : {f}({x}) = 0)")
        g.witness(f, ("y",), "1")
        g.truth = "false"
    elif kind == "notwit2":
        g.claim(f"not (exists {f} : [1..{n}] -> [0..1] : forall {x} in 1..{n} : {f}({x}) = 2)")
        g.witness(f, ("y",), "2")
        g.truth = "false" if g.meta[n]["lo"] == 0 else "true"
    elif kind == "shadow":
        g.fun(f, f"[1..{n}] -> [0..1]")
        g.either(f"exists {f} : [1..{n}] -> [0..1] : forall {x} in 1..{n} : {f}({x}) = 1",
                 f"forall {f} : [1..{n}] -> [0..1] : forall {x} in 1..{n} : {f}({x}) = 1")
    elif kind == "allfun":
        g.either(f"forall {f} : [1..2] -> [0..1] : {f}(1) + {f}(2) <= 2",
                 f"forall {f} : [1..2] -> [0..1] : {f}(1) + {f}(2) <= 1")
    else:
        g.either(f"exists {f} : [1..{n}] -> bool : forall {x} in 1..{n} : {f}({x})",
                 f"forall {f} : [1..{n}] -> bool : exists {x} in 1..{n} : {f}({x})")


def t_floorceil(g: Gen):
    """floor and ceil near integers, and their identities."""
    kind = g.pick("ground", "ground", "le", "eq", "gap", "halves", "shift")
    if kind == "ground":
        g.finite_ok = False
        g.either(*g.pick(("ceil(3 + exp(-50)) = 4", "ceil(3 + exp(-50)) = 3"),
                         ("floor(3 - exp(-40)) = 2", "floor(3 - exp(-40)) = 3"),
                         ("floor(10^20 + 1/2) = 10^20", "floor(10^20 + 1/2) = 10^20 + 1"),
                         ("floor(ln(2) * 10^6) = 693147", "floor(ln(2) * 10^6) = 693148"),
                         ("ceil(sqrt(2) * 10^10) = 14142135624", "ceil(sqrt(2) * 10^10) = 14142135623"),
                         ("floor(1 - 10^(-30)) = 0", "floor(1 - 10^(-30)) = 1"),
                         ("ceil(exp(1000)/(exp(1000) + 1)) = 1", "floor(exp(1000)/(exp(1000) + 1)) = 1")))
        return
    x = g.name("x", "t")
    if kind == "le":
        g.real(x)
        g.either(f"floor({x}) <= {x} and {x} < floor({x}) + 1", f"floor({x}) < {x}")
        g.hint(x, F(2))
    elif kind == "eq":
        isint = g.coin()
        (g.int if isint else g.real)(x)
        g.hint(x, F(1, 2))
        g.claim(f"floor({x}) = {x}")
        g.truth = "true" if isint else "false"
    elif kind == "gap":
        g.real(x)
        g.hint(x, F(1))
        g.either(f"ceil({x}) - floor({x}) <= 1", f"ceil({x}) - floor({x}) = 1")
    elif kind == "halves":
        isint = g.coin()
        (g.int if isint else g.real)(x)
        g.hint(x, F(1, 2))
        g.claim(f"floor({x}/2) + ceil({x}/2) = {x}")
        g.truth = "true" if isint else "false"
    else:
        g.real(x)
        c = g.pick(1, 2, -3, F(1, 2))
        g.hint(x, F(1, 2), F(0))
        g.claim(f"floor({x} + {R(c)}) = floor({x}) + {R(c)}")
        g.truth = "true" if F(c).denominator == 1 else "false"


def t_magnitude(g: Gen):
    """Numbers near 10^(+-300) and far beyond."""
    if g.coin(0.6):
        g.finite_ok = False
        g.either(*g.pick(("exp(1000)/(exp(1000) + 1) < 1", "exp(1000)/(exp(1000) + 1) = 1"),
                         ("10^400 > 10^399", "10^400 < 10^399"),
                         ("10^400 + 1 > 10^400", "10^400 + 1 = 10^400"),
                         ("10^(-400) > 0", "10^(-400) = 0"),
                         ("2^(10^6) > 10^300000", "2^(10^6) < 10^300000"),
                         ("exp(-1000) > 0", "exp(-1000) = 0"),
                         ("ln(10^400) > 921", "ln(10^400) > 922"),
                         ("(1 + 10^(-20))^(10^20) < 3", "(1 + 10^(-20))^(10^20) > 3"),
                         ("10^300 * 10^300 = 10^600", "10^300 * 10^300 = 10^599"),
                         ("exp(1000) - exp(1000) = 0", "exp(1000) - exp(999) < 1"),
                         ("1/(10^300 * 10^300) > 0", "1/(10^300 * 10^300) = 0"),
                         ("exp(-745) > 0 and exp(-746) > 0", "exp(-746) * exp(746) = 0")))
        return
    x = g.name("x", "t")
    kind = g.pick("huge", "tiny", "logistic")
    if kind == "huge":
        g.real(x, "[10^300, inf)")
        g.hint(x, F(10) ** 300, F(10) ** 302)
        g.either(f"{x}/({x} + 1) < 1", g.pick(f"{x}/({x} + 1) < 1 - 10^(-299)", f"{x}/({x} + 1) < 1 - 10^(-301)"))
    elif kind == "tiny":
        g.real(x, "(0, 10^(-300))")
        g.hint(x, F(1, 10 ** 300) - F(1, 10 ** 320), F(1, 10 ** 400))
        g.either(f"1/{x} > 10^300", f"1/{x} > 10^301")
    else:
        g.real(x)
        g.hint(x, F(1000), F(-1000), F(10) ** 6)
        g.either(f"exp({x})/(exp({x}) + 1) < 1", f"exp({x})/(exp({x}) + 1) < 1 - 10^(-300)")


def t_logic(g: Gen):
    """Short-circuit definedness, if-then-else, bool parameters and <=>."""
    kind = g.pick("bools", "shortcut", "shortcut", "ite", "iff", "notand")
    if kind == "bools":
        b, c = g.name("b", "P"), g.name("c", "Q")
        g.boolean(b)
        g.boolean(c)
        g.finite_ok = False
        g.either(g.pick(f"({b} => {c}) <=> (not {c} => not {b})", f"{b} or not {b}",
                        f"({b} = {c}) <=> (({b} and {c}) or (not {b} and not {c}))"),
                 g.pick(f"({b} => {c}) <=> ({c} => {b})", f"{b} and not {b}", f"{b} != {c}"))
        return
    x = g.name("x", "t")
    g.real(x)
    g.hint(x, F(0), F(-1))
    if kind == "shortcut":
        g.either(g.pick(f"{x} = 0 or 1/{x} != 0", f"{x} > 0 => ln({x}) <= {x} - 1",
                        f"{x} != 0 and 1/{x} > 0 <=> {x} > 0"),
                 g.pick(f"1/{x} != 0 or {x} = 0", f"ln({x}) <= {x} - 1 or {x} <= 0",
                        f"1/{x} > 0 and {x} != 0 <=> {x} > 0"))
    elif kind == "ite":
        g.either(f"(if {x} > 0 then ln({x}) else 0) <= abs({x})", f"(if {x} >= 0 then ln({x}) else 0) <= abs({x})")
    elif kind == "iff":
        g.either(f"({x} > 0) = (exp({x}) > 1)", f"({x} >= 0) = (exp({x}) > 1)")
    else:
        g.either(f"not ({x} >= 0 and sqrt({x}) < 0)", f"not ({x} < 0 and sqrt({x}) > 0)")


def t_funparam(g: Gen):
    """Function parameters with real, int and bounded codomains, decided on tables."""
    n = g.name("n", "N", risky=0.2)
    g.int(n, g.pick("[1, 3]", "[1, 4]", "[0, 3]"))
    j = g.bound("j", "i")
    kind = g.pick("mean", "squares", "bounded", "jensen", "boolcount")
    if kind == "boolcount":
        h = g.name("h", "b")
        g.fun(h, f"[1..{n}] -> bool")
        g.either(f"sum({j} in 1..{n}, if {h}({j}) then 1 else 0) <= {n}",
                 f"sum({j} in 1..{n}, if {h}({j}) then 1 else 0) < {n}")
        return
    z = g.name("z", "h_arg0", "f_arg0")
    if kind == "bounded":
        g.fun(z, f"[1..{n}] -> [0..2]")
        g.either(f"sum({j} in 1..{n}, {z}({j})) <= 2*{n}", f"sum({j} in 1..{n}, {z}({j})) <= 2*{n} - 1")
        return
    g.fun(z, f"[1..{n}] -> {g.pick('real', 'int')}")
    if kind == "mean":
        strict = g.coin()
        g.claim(f"max({j} in 1..{n}, {z}({j})) {'>' if strict else '>='} sum({j} in 1..{n}, {z}({j}))/{n}")
        g.truth = "false" if strict or g.meta[n]["lo"] == 0 else "true"
    elif kind == "squares":
        g.either(f"sum({j} in 1..{n}, {z}({j})^2) >= 0", f"sum({j} in 1..{n}, {z}({j})^2) > 0")
    else:
        g.assume(f"{n} >= 1")
        g.either(f"exp(sum({j} in 1..{n}, {z}({j}))/{n}) <= sum({j} in 1..{n}, exp({z}({j})))/{n}",
                 f"exp(sum({j} in 1..{n}, {z}({j}))/{n}) < sum({j} in 1..{n}, exp({z}({j})))/{n}")


def t_names(g: Gen):
    """Parameters named like the checker's internal variables, beside the constructs that make them."""
    kind = g.pick("root", "root", "roots", "s", "xarg")
    x = g.name("x", "t", risky=0)
    if kind == "root":
        r = g.name("root1", "root2", risky=0)
        g.real(x, "[0, inf)")
        g.real(r, "[0, inf)")
        g.hint(r, F(1), F(0))
        g.hint(x, F(0), F(1), F(4))
        g.either(g.pick(f"{x}^(1/2) * {x}^(1/2) = {x}", f"{x}^(1/2) + {r} >= {r}"),
                 g.pick(f"{x}^(1/2) = {r}", f"{x}^(1/3) <= {r}", f"{x}^(1/2) + {r} > {r}"))
    elif kind == "roots":
        r1, r2 = g.name("root1", risky=0), g.name("root2", risky=0)
        g.real(x, "(0, inf)")
        g.real(r1)
        g.real(r2)
        g.hint(r1, F(2), F(-1))
        g.hint(r2, F(2), F(-1))
        g.either(f"{x}^(1/2) + {x}^(1/3) > 0 and {r1} + {r2} = {r2} + {r1}",
                 f"{x}^(1/2) + {x}^(3/2) > {r1} * {r2}")
    elif kind == "s":
        sv = g.name("s", "s1", "s_x", risky=0)
        g.real(x)
        g.real(sv)
        g.hint(sv, F(2), F(1))
        g.either(f"exp({x}) * exp(-{x}) = 1 and exp({sv}) > 0", f"exp({x}) > {sv}")
    else:
        a = g.name("x_arg0", "arg", "arg0", risky=0)
        n = g.name("n", risky=0)
        g.int(n, "[1, 3]")
        h = g.name("h", "f", risky=0)
        g.fun(h, f"[1..{n}] -> [0..2]")
        g.int(a, "[0, 2]")
        g.hint(a, F(0), F(2))
        g.either(f"{h}(1) <= 2 and {a} <= 2", f"{h}(1) <= {a}")


def t_transcendental(g: Gen):
    """Univariate and bivariate exp/ln/sqrt/sin/cos inequalities over intervals, each a textbook
    bound or its near miss (the bound moved by a constant, false where the true one is tight):
    the ground of interval bisection (`decide/boxes.py`) and of the polynomial bounds
    (`decide/bounds.py`: poles at excluded ends, several exps of one argument)."""
    x = g.name("x", "t", "u")
    b = g.pick(F(1, 2), F(1), F(3, 2), F(2), F(3))
    eps = g.pick(F(1, 100), F(1, 1000), F(1, 10**6))
    kind = g.pick("sin", "cos", "ln1p", "expinv", "expsum", "amgm", "xlnx", "coscos", "sqrt1p", "explin",
                  "pade", "exphalf", "lnrecip")
    if kind == "pade":
        # a pole at the excluded end and a tight point at 0: the polynomial bounds' ground (bounds.py)
        g.real(x, "[0, 2)")
        g.hint(x, F(0))
        g.either(f"exp({x}) <= (2 + {x})/(2 - {x})", f"exp({x}) <= (2 + {x})/(2 - {x}) - {R(eps)}")
    elif kind == "exphalf":
        # two exps of one core, tight at the excluded end 0
        g.real(x, f"(0, {R(b + 1)}]")
        g.hint(x, F(1, 1000))
        g.either(f"{x} * exp({x}/2) < exp({x}) - 1", f"{x} * exp({x}/2) + {R(eps)} < exp({x}) - 1")
    elif kind == "lnrecip":
        # ln near its singular end 0 and tight at 1
        g.real(x, f"(0, {R(b + 1)}]")
        g.hint(x, F(1))
        g.either(f"ln({x}) <= {x} - 1", f"ln({x}) <= {x} - 1 - {R(eps)}")
    elif kind == "sin":
        g.real(x, f"[0, {R(b)}]")
        g.hint(x, F(0))
        g.either(f"sin({x}) <= {x}", f"sin({x}) <= {x} - {R(eps)}")
    elif kind == "cos":
        g.real(x, f"[{R(-b)}, {R(b)}]")
        g.hint(x, F(0))
        g.either(f"cos({x}) >= 1 - {x}^2/2", f"cos({x}) >= 1 - {x}^2/2 + {R(eps)}")
    elif kind == "ln1p":
        g.real(x, f"[0, {R(b)}]")
        g.hint(x, F(0))
        g.either(f"ln(1 + {x}) >= {x} - {x}^2/2", f"ln(1 + {x}) >= {x} - {x}^2/2 + {R(eps)}")
    elif kind == "expinv":
        g.real(x, f"[{R(-b)}, 9/10]")
        g.hint(x, F(0))
        g.either(f"exp({x}) <= 1/(1 - {x})", f"exp({x}) <= 1/(1 - {x}) - {R(eps)}")
    elif kind == "expsum":
        y = g.name("y", "w")
        g.real(x, f"[{R(-b)}, {R(b)}]")
        g.real(y, f"[{R(-b)}, {R(b)}]")
        g.hint(x, F(0))
        g.hint(y, F(0))
        g.either(f"exp({x}) * exp({y}) >= 1 + {x} + {y}", f"exp({x}) * exp({y}) >= 1 + {x} + {y} + {R(eps)}")
    elif kind == "amgm":
        y = g.name("y", "w")
        g.real(x, f"[0, {R(b)}]")
        g.real(y, f"[0, {R(b)}]")
        g.hint(x, F(1, 2))
        g.hint(y, F(1, 2))
        g.either(f"sqrt({x} * {y}) <= ({x} + {y})/2", f"sqrt({x} * {y}) <= ({x} + {y})/2 - {R(eps)}")
    elif kind == "xlnx":
        g.real(x, f"(0, {R(b + 1)}]")
        g.hint(x, F(1))
        g.either(f"{x} * ln({x}) >= {x} - 1", f"{x} * ln({x}) >= {x} - 1 + {R(eps)}")
    elif kind == "coscos":
        y = g.name("y", "w")
        g.real(x, f"[{R(-b)}, {R(b)}]")
        g.real(y, f"[{R(-b)}, {R(b)}]")
        g.hint(x, F(0))
        g.hint(y, F(0))
        g.either(f"cos({x}) * cos({y}) <= 1", f"cos({x}) * cos({y}) <= 1 - {R(eps)}")
    elif kind == "sqrt1p":
        g.real(x, f"[0, {R(b)}]")
        g.hint(x, F(0))
        g.either(f"sqrt(1 + {x}) <= 1 + {x}/2", f"sqrt(1 + {x}) <= 1 + {x}/2 - {R(eps)}")
    else:
        y = g.name("y", "w")
        g.real(x, f"[0, {R(b)}]")
        g.real(y, f"[0, {R(b)}]")
        g.hint(x, F(0))
        g.hint(y, F(0))
        g.either(f"exp({x} + {y}) >= 1 + {x} + {y} + {x}*{y}",
                 f"exp({x} + {y}) >= 1 + {x} + {y} + {x}*{y} + {R(eps)}")


def t_arith(g: Gen):
    """Random small arithmetic over one or two parameters (truth left to the oracle)."""
    x = g.name("x", "y", "t")
    g.real(x, g.pick(None, "(0, inf)", "[-2, 2]", "(1, 5]"))
    names = [x]
    if g.coin(0.4):
        y = g.name("y", "u")
        (g.int if g.coin(0.3) else g.real)(y, g.pick(None, "[0, 3]", "(0, inf)"))
        names.append(y)
    for v in names:
        g.hint(v, F(0), F(1), F(-1), F(2))
    left, right = _rand_expr(g, names, 2), _rand_expr(g, names, 1)
    op = g.pick("<", "<=", ">", ">=", "=", "!=")
    g.claim(f"({left}) {op} ({right})")
    g.truth = None


def _rand_expr(g: Gen, names: list, depth: int) -> str:
    if depth <= 0 or g.coin(0.25):
        return g.pick(*names, *names, R(g.rat()))
    a, b = _rand_expr(g, names, depth - 1), _rand_expr(g, names, depth - 1)
    form = g.pick("{a} + {b}", "{a} - {b}", "{a} * {b}", "{a} * {b}", "({a}) / ({b})", "({a})^2", "({a})^{k}",
                  "exp({a})", "ln({a})", "sqrt({a})", "abs({a})", "({a})^(1/2)", "min({a}, {b})", "floor({a})")
    return form.format(a=a, b=b, k=g.pick(2, 3, -1, 0))


TEMPLATES = {
    "poly": (t_poly, 14), "explog": (t_explog, 11), "division": (t_division, 10), "lnsqrt": (t_lnsqrt, 8),
    "power": (t_power, 8), "sum": (t_sum, 10), "macro": (t_macro, 6), "limit": (t_limit, 8),
    "witness": (t_witness, 7), "floorceil": (t_floorceil, 5), "magnitude": (t_magnitude, 5),
    "logic": (t_logic, 5), "funparam": (t_funparam, 4), "names": (t_names, 5), "arith": (t_arith, 4),
    "transcendental": (t_transcendental, 8),
}


# =============================================================================================
# Checks and the whole statement
# =============================================================================================

def _finite_bindings(g: Gen) -> list:
    """Bindings for a `check finite` line over a random subset of the parameters."""
    bindings: list[O.Binding] = []
    fixed: dict[str, F] = {}
    for p in g.params:
        m = g.meta[p.name]
        if m["kind"] == "bool" or g.coin(0.35):
            continue
        if m["kind"] == "fun":
            t = p.type
            try:
                env = {k: ("val", v) for k, v in fixed.items()}
                ev = O.Evaluator(53)
                domains = [(ev.integer(lo, env), ev.integer(hi, env)) for lo, hi in t.domains]
            except Exception:
                continue
            points = _product(domains)
            if len(points) > 12:
                continue
            entries = tuple((tuple(O.Num(F(a)) for a in pt), O.parse(_codomain_value(g, t, fixed))) for pt in points)
            if entries:
                bindings.append(O.Binding(p.name, "table", entries))
            continue
        if m["set"] is not None:
            members = [v for v in m["set"] if v is not None]
            if members:
                v = g.rng.choice(members)
                fixed[p.name] = v
                bindings.append(O.Binding(p.name, "value", (O.Num(v),)))
            continue
        lo = m["lo"] if m["lo"] is not None else F(-4)
        hi = m["hi"] if m["hi"] is not None else lo + 8
        candidates = [h for h in g.hints.get(p.name, []) if isinstance(h, F) and lo <= h <= hi
                      and (m["kind"] != "int" or h.denominator == 1)]
        if m["kind"] == "int":
            ilo = math.ceil(lo) if m["lo_closed"] else math.floor(lo) + 1
            ihi = math.floor(hi) if m["hi_closed"] else math.ceil(hi) - 1
            if ihi < ilo:
                continue
            a = g.rng.randint(ilo, min(ihi, ilo + 6))
            b = g.rng.randint(a, min(ihi, a + 6))
            choice = g.rng.random()
            if choice < 0.5:
                bindings.append(O.Binding(p.name, "range", (O.Num(F(a)), O.Num(F(b)))))
            elif choice < 0.8 or not candidates:
                fixed[p.name] = F(a)
                bindings.append(O.Binding(p.name, "value", (O.Num(F(a)),)))
            else:
                bindings.append(O.Binding(p.name, "set", tuple(O.Num(v) for v in sorted({F(a), *candidates[:2]}))))
        else:
            values = set(candidates[:2]) if g.coin() else set()
            while len(values) < g.rng.randint(1, 3):
                v = lo + (hi - lo) * F(g.rng.randint(1, 15), 16)
                values.add(v)
            values = {v for v in values if (lo < v or (m["lo_closed"] and m["lo"] is not None and v == lo))
                      and (v < hi or (m["hi_closed"] and v == hi))}
            if not values:
                continue
            if len(values) == 1 and g.coin():
                fixed[p.name] = next(iter(values))
                bindings.append(O.Binding(p.name, "value", (O.Num(next(iter(values))),)))
            else:
                bindings.append(O.Binding(p.name, "set", tuple(O.Num(v) for v in sorted(values))))
    return bindings


def _product(domains):
    return list(itertools.product(*[range(lo, hi + 1) for lo, hi in domains]))


def _codomain_value(g: Gen, t: O.FunType, fixed: dict) -> str:
    cod = t.codomain
    if cod[0] == "bool":
        return g.pick("true", "false")
    if cod[0] == "range":
        env = {k: ("val", v) for k, v in fixed.items()}
        lo, hi = O.Evaluator(53).integer(cod[1], env), O.Evaluator(53).integer(cod[2], env)
        return R(g.rng.randint(lo, hi))
    if cod[0] == "int":
        return R(g.small(-3, 3))
    return R(g.rat())


def generate(seed: int, index: int) -> Generated:
    """Statement number `index` of the stream `seed` (independent of every other index)."""
    rng = random.Random(f"limits-soundness:{seed}:{index}")
    names, weights = zip(*[(k, w) for k, (_, w) in TEMPLATES.items()])
    cls = rng.choices(names, weights)[0]
    g = Gen(rng)
    TEMPLATES[cls][0](g)
    checks = [O.Check("symbolic")]
    if g.finite_ok and g.params and g.coin(0.6):
        for _ in range(g.pick(1, 1, 2)):
            bindings = _finite_bindings(g)
            if bindings:
                checks.append(O.Check("finite", tuple(bindings)))
        if g.coin(0.3) and len(checks) > 1:
            checks = checks[1:]  # finite checks only
    statement = O.Statement(f"H-1.g{index:06d}", g.params, g.lets, g.assumptions, g.claims, g.witnesses, checks,
                            title=f"generated {cls}")
    meta: dict[str, Any] = {"params": dict(g.meta)}
    if not g.params:  # a ground claim: the oracle labels it, and must agree with the template
        outcome = O.evaluate_point(statement, {}).kind
        truth = {"true": "true", "false": "false", "undefined": "false"}.get(outcome)
        if g.truth and truth and truth != g.truth:
            meta["label_conflict"] = f"the template says {g.truth}, the oracle {outcome}"
        g.truth = truth or g.truth
    return Generated(index, cls, statement, O.render_statement(statement), g.truth, g.hints, meta)
