"""Bound what cannot be translated: transcendental terms become variables with true facts.

The exp/ln elimination (`eliminate.py`) is exact but applies only where a variable occurs
inside exp or in log-linear comparisons. Where it fails, a query may still be unsatisfiable
for reasons that need only coarse facts: cos(x) lies in [-1, 1], b^e > 0 for b > 0,
exp(a) >= 1 + a. This pass replaces each such term (free of bound variables) by a fresh
variable and adds facts that hold for the term's true value wherever the term is defined.

Sound for proofs only: every model of the original query, with the true values of the
terms, is a model of the abstracted one, so `unsat` carries over. A model of the abstracted
query says nothing (the variable may take a value the term cannot), so the engine never
reads a counterexample from it.
"""
from __future__ import annotations

from typing import TypeGuard

from checker.language import core as C

# internal names contain "#", which a user's name cannot
PREFIX = "abs#"
TRANSCENDENTAL = ("exp", "ln")
ALWAYS = ("cos", "sin", "pow", "binom")


class Abstraction:
    def __init__(self, global_names: set[str], everything: bool):
        self.global_names = global_names
        self.everything = everything  # also exp and ln, not only cos, sin, b^e and binom
        self.terms: dict[C.Term, C.Var] = {}
        self.facts: list[C.Term] = []

    def applies(self, t: C.Term) -> TypeGuard[C.Op]:
        if not isinstance(t, C.Op):
            return False
        if t.op == "pow":
            if isinstance(t.args[1], C.Const) and (not self.everything or t.args[1].value.denominator == 1):
                return False  # a constant exponent: polynomial, or a root eliminate handles (first pass)
        elif t.op not in ALWAYS and not (self.everything and t.op in TRANSCENDENTAL):
            return False
        names = C.free_vars(t)
        if not names or not names <= self.global_names:
            return False  # ground constants are enclosed by eliminate; bound variables stay
        return not any(isinstance(x, (C.Bind, C.FunBind, C.App, C.Limit)) for x in C.walk(t))

    def rewrite(self, t: C.Term) -> C.Term:
        if self.applies(t):
            return self.variable(t)
        if self.everything and isinstance(t, C.Op) and t.op in C.COMPARISONS and self.opaque_atom(t):
            # A comparison Z3 cannot read at all (a sum over a symbolic range, a limit): a free
            # truth value, which any model of the original query can take too.
            if t not in self.terms:
                self.terms[t] = C.Var(C.BOOL, f"{PREFIX}{len(self.terms) + 1}")
            return self.terms[t]
        return C.map_children(t, self.rewrite)

    def opaque_atom(self, t: C.Term) -> bool:
        names = C.free_vars(t)
        if not names <= self.global_names:
            return False
        return any(isinstance(x, C.Limit) or isinstance(x, C.Bind) and x.op in ("sum", "prod", "max", "min")
                   and not (isinstance(x.lo, C.Const) and isinstance(x.hi, C.Const)) for x in C.walk(t))

    def variable(self, t: C.Op) -> C.Var:
        if t in self.terms:
            return self.terms[t]
        args = [self.rewrite(a) for a in t.args]
        v = C.Var(C.REAL, f"{PREFIX}{len(self.terms) + 1}")
        self.terms[t] = v
        self.facts += _facts(t.op, v, args)
        return v


def _facts(op: str, v: C.Var, args: list[C.Term]) -> list[C.Term]:
    zero, one = C.num(0), C.num(1)
    if op in ("cos", "sin"):
        return [C.mk("le", C.num(-1), v), C.mk("le", v, one)]
    if op == "exp":
        (a,) = args
        return [C.mk("lt", zero, v), C.mk("le", C.mk("add", one, a), v)]   # e^a >= 1 + a
    if op == "ln":
        (a,) = args
        positive = C.mk("lt", zero, a)
        # ln a <= a - 1 and a ln a >= a - 1 (that is ln a >= 1 - 1/a), for a > 0
        return [C.mk("implies", positive, C.mk("le", v, C.mk("add", a, C.num(-1)))),
                C.mk("implies", positive, C.mk("le", C.mk("add", a, C.num(-1)), C.mk("mul", a, v))),
                C.mk("implies", C.mk("eq", a, one), C.mk("eq", v, zero))]
    if op == "binom":
        return [C.mk("le", zero, v)]
    assert op == "pow", op
    b, e = args
    positive = C.mk("lt", zero, b)
    return [
        C.mk("implies", positive, C.mk("lt", zero, v)),
        C.mk("implies", C.mk("eq", b, one), C.mk("eq", v, one)),
        C.mk("implies", C.mk("and", C.mk("lt", zero, b), C.mk("eq", e, zero)), C.mk("eq", v, one)),
        # monotone in the exponent around 1: b > 1 and e > 0 give v > 1; b > 1 and e < 0 give v < 1
        C.mk("implies", C.mk("and", C.mk("lt", one, b), C.mk("lt", zero, e)), C.mk("lt", one, v)),
        C.mk("implies", C.mk("and", C.mk("lt", one, b), C.mk("lt", e, zero)), C.mk("lt", v, one)),
        C.mk("implies", C.mk("and", positive, C.mk("lt", b, one), C.mk("lt", zero, e)), C.mk("lt", v, one)),
        C.mk("implies", C.mk("and", positive, C.mk("lt", b, one), C.mk("lt", e, zero)), C.mk("lt", one, v)),
    ]


def abstract(formula: C.Term, everything: bool) -> tuple[C.Term, list[C.Term], int]:
    """The formula with its untranslatable terms replaced, the facts, and how many terms."""
    a = Abstraction(C.free_vars(formula), everything)
    out = a.rewrite(formula)
    return out, a.facts, len(a.terms)

