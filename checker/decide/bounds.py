"""Polynomial bounds of exp, ln, sin and cos: a transcendental query made polynomial for Z3.

MetiTarski's idea, in the small: every occurrence of exp(a), ln(a), sin(a), cos(a) whose
argument mentions a variable becomes a fresh real variable v, and the query gains
constraints  lower(a) <= v <= upper(a)  where each bound is a theorem about the true value
(guarded by the range where it holds). Every model of the original query, with v at the
true value, is a model of the bounded one, so Z3's `unsat` on the bounded query is a proof;
its `sat` means nothing (v may take a value the function cannot), and is never read.

The bounds, for a real argument a (T_n(a) = sum_{k<=n} a^k/k!, the Taylor polynomial of
exp; each follows from Taylor's theorem with the Lagrange remainder, whose sign is known):

* exp, n odd:   e^a >= T_n(a) for every a (the remainder e^xi a^(n+1)/(n+1)! is >= 0);
                e^a * T_n(-a) <= 1 wherever T_n(-a) > 0 (the same bound at -a, inverted);
                e^a <= T_(n-1)(a) for a <= 0 (the remainder has the sign of a^n).
  Occurrences exp(k + c*b) with a common core b are tied exactly: with w = e^(q*b),
  e^(k + c*b) = e^k * w^(c/q) (an integer power), e^k a ground constant the elimination
  encloses; and w = w_1^2 = w_2^4 = ... with w_j = e^(q*b/2^j), bounded as above, which
  keeps the bounds tight on a wide range of the argument (argument reduction).
* ln, for a > 0, with s = (a-1)/(a+1) (|s| < 1) and ln a = 2 artanh s = 2 sum s^(2k+1)/(2k+1):
  for a >= 1 (s >= 0) the partial sum P_K of the first K terms is a lower bound and
  P_K + 2 s^(2K+1)/((2K+1)(1-s^2)) an upper one (the tail is below a geometric series);
  for a <= 1 the two swap (the series is odd in s). At level 3 the same bounds are also
  taken around 2^j (ln a = ln(a/2^j) + j ln 2, ln 2 a constant the elimination encloses).
  Always: ln a <= a - 1 and a ln a >= a - 1.
* sin, cos: the alternating partial sums: for a >= 0, S_(4k+3)(a) <= sin a <= S_(4k+1)(a)
  (reversed for a <= 0); C_(4k+2)(a) <= cos a <= C_(4k)(a) for every a; |sin a|, |cos a| <= 1,
  and sin^2 a + cos^2 a = 1 where both occur with one argument.

`bounded(query, level)` returns the polynomial query and a description of every bound used;
the levels raise the degrees (exp 3/5/7, ln 2/3/4 terms, sin and cos 5/9/13) and the number
of squarings (0/2/4).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from checker.language import core as C

PREFIX = "bnd#"   # internal names contain "#", which a user's name cannot
FUNCTIONS = ("exp", "ln", "sin", "cos")
LEVELS = (1, 2, 3)
EXP_DEGREE = {1: 3, 2: 5, 3: 7}
EXP_SQUARINGS = {1: 0, 2: 2, 3: 4}
LN_TERMS = {1: 2, 2: 3, 3: 4}
TRIG_DEGREE = {1: 5, 2: 9, 3: 13}
LN_CENTRES = {1: (0,), 2: (0,), 3: (-3, 0, 2, 4)}   # ln around 2^j
MAX_POWER = 8      # e^(c*b) as a power of e^(q*b) only up to this exponent


@dataclass
class Bounded:
    formula: C.Term
    used: list[str] = field(default_factory=list)
    terms: int = 0
    facts: list[C.Term] = field(default_factory=list)
    meaning: dict[str, C.Term] = field(default_factory=dict)   # fresh variable -> the term it stands for

    def step(self, level: int) -> str:
        return (f"{self.terms} transcendental terms replaced by variables between polynomial bounds "
                f"(level {level}: {'; '.join(self.used)}); Z3 finds the bounded query unsatisfiable")


def num(q) -> C.Const:
    return C.num(Fraction(q))


def add(*xs: C.Term) -> C.Term:
    return C.mk("add", *xs)


def mul(*xs: C.Term) -> C.Term:
    return C.mk("mul", *xs)


def power(a: C.Term, k: int) -> C.Term:
    return ONE if k == 0 else a if k == 1 else C.mk("pow", a, C.num(k))


def le(a: C.Term, b: C.Term) -> C.Term:
    return C.mk("le", a, b)


def lt(a: C.Term, b: C.Term) -> C.Term:
    return C.mk("lt", a, b)


def implies(p: C.Term, q: C.Term) -> C.Term:
    return C.mk("implies", p, q)


ZERO, ONE = num(0), num(1)


def taylor_exp(a: C.Term, n: int) -> C.Term:
    """T_n(a) = sum_{k<=n} a^k / k!"""
    return add(*[mul(num(Fraction(1, math.factorial(k))), power(a, k)) if k else ONE for k in range(n + 1)])


def taylor_sin(a: C.Term, n: int) -> C.Term:
    return add(*[mul(num(Fraction((-1) ** (k // 2), math.factorial(k))), power(a, k)) for k in range(1, n + 1, 2)])


def taylor_cos(a: C.Term, n: int) -> C.Term:
    return add(*[mul(num(Fraction((-1) ** (k // 2), math.factorial(k))), power(a, k)) if k else ONE
                 for k in range(0, n + 1, 2)])


# ---- exp: cores, powers and squarings -------------------------------------------------

def split_argument(a: C.Term) -> tuple[Fraction, Fraction, C.Term]:
    """a = k + c * b with constants k, c and a core b that is not a constant multiple of
    anything (read off the term's shape; b is a itself when nothing splits off)."""
    k = Fraction(0)
    if isinstance(a, C.Op) and a.op == "add":
        consts = [x for x in a.args if isinstance(x, C.Const)]
        rest = [x for x in a.args if not isinstance(x, C.Const)]
        if consts and rest:
            k = sum((Fraction(x.value) for x in consts), Fraction(0))
            a = rest[0] if len(rest) == 1 else C.Op(a.sort, "add", tuple(rest))
    c = Fraction(1)
    while True:
        if isinstance(a, C.Op) and a.op == "neg":
            c, a = -c, a.args[0]
        elif isinstance(a, C.Op) and a.op == "mul" and len(a.args) == 2 and isinstance(a.args[0], C.Const):
            c, a = c * Fraction(a.args[0].value), a.args[1]
        elif isinstance(a, C.Op) and a.op == "mul" and len(a.args) == 2 and isinstance(a.args[1], C.Const):
            c, a = c * Fraction(a.args[1].value), a.args[0]
        elif isinstance(a, C.Op) and a.op == "div" and isinstance(a.args[1], C.Const) and a.args[1].value != 0:
            c, a = c / Fraction(a.args[1].value), a.args[0]
        else:
            return k, c, a


class _Bounder:
    def __init__(self, level: int):
        self.level = level
        self.names: dict[C.Term, C.Var] = {}
        self.facts: list[C.Term] = []
        self.used: list[str] = []
        self.exp_cores: dict[C.Term, list[tuple[Fraction, Fraction]]] = {}   # core -> (k, c) seen
        self.exp_base: dict[C.Term, tuple[Fraction, C.Var]] = {}
        self.trig: dict[tuple[str, C.Term], C.Var] = {}
        self.count = 0
        self.meaning: dict[str, C.Term] = {}   # each fresh variable's true value, as a term

    def fresh(self, meaning: C.Term) -> C.Var:
        self.count += 1
        v = C.Var(C.REAL, f"{PREFIX}{self.count}")
        self.meaning[v.name] = meaning
        return v

    def note(self, text: str) -> None:
        if text not in self.used:
            self.used.append(text)

    # first pass: the coefficients of every exp core, so that one base serves them all
    def survey(self, t: C.Term) -> None:
        for x in C.walk(t):
            if isinstance(x, C.Op) and x.op == "exp" and C.free_vars(x):
                k, c, b = split_argument(x.args[0])
                self.exp_cores.setdefault(b, []).append((k, c))

    def rewrite(self, t: C.Term) -> C.Term:
        if isinstance(t, C.Op) and t.op in FUNCTIONS and C.free_vars(t) and self.plain(t):
            if t in self.names:
                return self.names[t]
            arg = self.rewrite(t.args[0])
            v = self.exp(t, arg) if t.op == "exp" else self.other(t.op, arg)
            self.names[t] = v
            return v
        return C.map_children(t, self.rewrite)

    @staticmethod
    def plain(t: C.Term) -> bool:
        return not any(isinstance(x, (C.Bind, C.FunBind, C.App, C.Limit)) for x in C.walk(t))

    def exp(self, t: C.Op, arg: C.Term) -> C.Var:
        _, _, original_core = split_argument(t.args[0])
        k, c, core = split_argument(arg)
        seen = set(self.exp_cores.get(original_core, [(k, c)]))
        if len(seen) == 1:
            return self.exp_bounds(arg)   # the only exp of its core: bounded around its own argument
        q = min((c for _, c in seen), key=abs)
        ratio = c / q if q else Fraction(1, 2)
        v = self.fresh(t)
        if ratio.denominator != 1 or abs(ratio) > MAX_POWER:
            w = self.exp_bounds(mul(num(c), core) if c != 1 else core)
            ratio_int = 1
        else:
            w = self.base(core, q)
            ratio_int = int(ratio)
        scale: C.Term = C.mk("exp", num(k)) if k else ONE
        if ratio_int >= 0:
            self.facts.append(C.mk("eq", v, mul(scale, power(w, ratio_int))))
        else:
            self.facts.append(C.mk("eq", mul(v, power(w, -ratio_int)), scale))
        self.facts.append(lt(ZERO, v))
        return v

    def base(self, core: C.Term, q: Fraction) -> C.Var:
        if core not in self.exp_base:
            self.exp_base[core] = (q, self.exp_bounds(mul(num(q), core) if q != 1 else core))
        return self.exp_base[core][1]

    def exp_bounds(self, a: C.Term) -> C.Var:
        """A variable w = e^a, through squarings w = w_1^2, w_1 = w_2^2, ... and the Taylor
        bounds on the last one."""
        n, squarings = EXP_DEGREE[self.level], EXP_SQUARINGS[self.level]
        w = self.fresh(C.mk("exp", a))
        self.facts.append(lt(ZERO, w))
        top = w
        for j in range(1, squarings + 1):
            nxt = self.fresh(C.mk("exp", mul(num(Fraction(1, 2 ** j)), a)))
            self.facts += [lt(ZERO, nxt), C.mk("eq", top, power(nxt, 2))]
            top = nxt
        b = mul(num(Fraction(1, 2 ** squarings)), a) if squarings else a
        low, minus = taylor_exp(b, n), taylor_exp(C.mk("neg", b), n)
        self.facts += [le(low, top), implies(lt(ZERO, minus), le(mul(top, minus), ONE)),
                       implies(le(b, ZERO), le(top, taylor_exp(b, n - 1)))]
        self.facts.append(le(add(ONE, a), w))   # e^a >= 1 + a on the whole range
        where = f" of a/{2 ** squarings}, squared {squarings} times" if squarings else ""
        self.note(f"e^a >= T_{n}(a), e^a <= 1/T_{n}(-a) where T_{n}(-a) > 0, e^a <= T_{n - 1}(a) for a <= 0"
                  f"{where}")
        return w

    def other(self, op: str, a: C.Term) -> C.Var:
        v = self.fresh(C.mk(op, a))
        if op == "ln":
            self.ln_bounds(v, a)
        else:
            self.trig_bounds(op, v, a)
        return v

    def ln_bounds(self, v: C.Var, a: C.Term) -> None:
        positive = lt(ZERO, a)
        K = LN_TERMS[self.level]
        self.facts += [implies(positive, le(v, add(a, num(-1)))),
                       implies(positive, le(add(a, num(-1)), mul(a, v)))]
        for j in LN_CENTRES[self.level]:
            x = mul(num(Fraction(1, 2) ** j), a) if j else a        # a / 2^j
            shift = mul(num(j), C.mk("ln", num(2))) if j else ZERO  # + j ln 2
            s = C.mk("div", add(x, num(-1)), add(x, ONE))
            partial = mul(num(2), add(*[mul(num(Fraction(1, 2 * i + 1)), power(s, 2 * i + 1)) for i in range(K)]))
            tail = C.mk("div", mul(num(Fraction(2, 2 * K + 1)), power(s, 2 * K + 1)),
                        add(ONE, C.mk("neg", power(s, 2))))
            lower_hi, upper_hi = add(partial, shift), add(partial, tail, shift)
            above, below = le(ONE, x), le(x, ONE)
            self.facts += [implies(C.mk("and", positive, above), le(lower_hi, v)),
                           implies(C.mk("and", positive, above), le(v, upper_hi)),
                           implies(C.mk("and", positive, below), le(v, lower_hi)),
                           implies(C.mk("and", positive, below), le(upper_hi, v))]
        centres = ", ".join(f"2^{j}" for j in LN_CENTRES[self.level])
        self.note(f"ln a <= a - 1, a ln a >= a - 1, and ln a = 2 artanh((a-1)/(a+1)) to {K} terms with the "
                  f"geometric tail bound, around {centres}")

    def trig_bounds(self, op: str, v: C.Var, a: C.Term) -> None:
        n = TRIG_DEGREE[self.level]
        self.facts += [le(num(-1), v), le(v, ONE)]
        if op == "sin":
            hi_n, lo_n = (n if n % 4 == 1 else n - 2), (n if n % 4 == 3 else n - 2)
            upper, lower = taylor_sin(a, hi_n), taylor_sin(a, lo_n)
            self.facts += [implies(le(ZERO, a), le(lower, v)), implies(le(ZERO, a), le(v, upper)),
                           implies(le(a, ZERO), le(upper, v)), implies(le(a, ZERO), le(v, lower))]
            self.note(f"S_{lo_n}(a) <= sin a <= S_{hi_n}(a) for a >= 0, reversed for a <= 0")
        else:
            m = n - 1
            hi_n, lo_n = (m if m % 4 == 0 else m - 2), (m if m % 4 == 2 else m - 2)
            self.facts += [le(taylor_cos(a, lo_n), v), le(v, taylor_cos(a, hi_n))]
            self.note(f"C_{lo_n}(a) <= cos a <= C_{hi_n}(a)")
        other = ("cos" if op == "sin" else "sin", a)
        if other in self.trig:
            self.facts.append(C.mk("eq", add(power(v, 2), power(self.trig[other], 2)), ONE))
            self.note("sin^2 a + cos^2 a = 1")
        self.trig[(op, a)] = v


def bounded(query: C.Term, level: int) -> Bounded | None:
    """The query with exp, ln, sin, cos of non-constant arguments replaced by bounded
    variables, or None when it has none."""
    if level not in LEVELS:
        raise ValueError(f"no bounds level {level}")
    b = _Bounder(level)
    b.survey(query)
    formula = b.rewrite(query)
    if not b.names:
        return None
    return Bounded(C.mk("and", formula, *b.facts), b.used, len(b.names), b.facts, b.meaning)
