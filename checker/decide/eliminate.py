"""Eliminate exp and ln so that a query becomes polynomial real arithmetic.

Polynomial arithmetic over the reals is decidable (Z3's nlsat decides it), so once exp and
ln are gone a Z3 `unsat` is a proof for all real parameter values. The rewriting is exact,
not an approximation:

* A real variable x that occurs only inside exp(...) arguments and inside comparisons
  that are linear in variables and logarithms is replaced by s = e^(x/D) > 0, where D
  clears the denominators of x's coefficients. x ranges over all reals exactly when s
  ranges over the positive reals, so nothing is lost or added.
* exp of a linear combination becomes a product of powers: exp(a - b/3) = s_a^D / s_b^(D/3).
  exp distributes over max, min and if-then-else by monotonicity.
* A comparison  sum c_i x_i + sum d_j ln(t_j)  <op>  0  is exponentiated (exp is strictly
  increasing): it becomes  prod s_i^(...) * prod t_j^(...)  <op>  1, then both sides are
  cleared of negative powers. The t_j are positive wherever the comparison is defined,
  and the query only reads a comparison where it is defined (see `transform.definedness`).
* A fractional power t^(p/q) becomes r^p with a fresh r >= 0 and (t >= 0 => r^q = t).

* A ground transcendental constant (e^(1/2), cos 1, 100000^(-31/32)) becomes a variable
  between rational bounds that enclose it; proofs stay sound (they cover the whole
  interval) and counterexamples are still re-checked on the exact constant.

What cannot be rewritten (x both inside exp and outside, ln in a non-linear position)
raises `Unsupported` with the reason, and the check reports
unknown rather than guess.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from checker.errors import CheckerError
from checker.language import core as C

EXP_MARK = "exp⟨"
S_PREFIX = "s§"  # s§x stands for e^(x/D)
ENCLOSURE_BITS = 96  # precision of the rational intervals around transcendental constants


@dataclass
class LogLinear:
    """c0 + sum coeffs[x] * x + sum logs[t] * ln(t) + sum k * M (M max/min/ite)."""

    const: Fraction = Fraction(0)
    coeffs: dict[str, Fraction] = field(default_factory=dict)
    logs: dict[C.Term, Fraction] = field(default_factory=dict)
    opaque: list[tuple[Fraction, C.Op]] = field(default_factory=list)
    sorts: dict[str, str] = field(default_factory=dict)

    def scaled(self, k: Fraction) -> LogLinear:
        return LogLinear(self.const * k, {x: c * k for x, c in self.coeffs.items()},
                         {t: c * k for t, c in self.logs.items()},
                         [(c * k, m) for c, m in self.opaque], dict(self.sorts))

    def plus(self, other: LogLinear) -> LogLinear:
        out = LogLinear(self.const + other.const, dict(self.coeffs), dict(self.logs),
                        self.opaque + other.opaque, {**self.sorts, **other.sorts})
        for x, c in other.coeffs.items():
            out.coeffs[x] = out.coeffs.get(x, Fraction(0)) + c
        for t, c in other.logs.items():
            out.logs[t] = out.logs.get(t, Fraction(0)) + c
        out.coeffs = {x: c for x, c in out.coeffs.items() if c != 0}
        out.logs = {t: c for t, c in out.logs.items() if c != 0}
        return out


def loglinear(t: C.Term) -> LogLinear | None:
    if isinstance(t, C.Const) and not isinstance(t.value, bool):
        return LogLinear(const=Fraction(t.value))
    if isinstance(t, C.Var) and t.sort != C.BOOL:
        return LogLinear(coeffs={t.name: Fraction(1)}, sorts={t.name: t.sort})
    if not isinstance(t, C.Op):
        return None
    if t.op == "ln":
        return LogLinear(logs={t.args[0]: Fraction(1)})
    if t.op in ("max", "min", "ite"):
        return LogLinear(opaque=[(Fraction(1), t)])
    if t.op == "add":
        out = LogLinear()
        for a in t.args:
            part = loglinear(a)
            if part is None:
                return None
            out = out.plus(part)
        return out
    if t.op == "neg":
        part = loglinear(t.args[0])
        return part.scaled(Fraction(-1)) if part else None
    if t.op == "mul":
        consts = [a for a in t.args if isinstance(a, C.Const)]
        rest = [a for a in t.args if not isinstance(a, C.Const)]
        if len(rest) != 1:
            return None
        k = math.prod((Fraction(c.value) for c in consts), start=Fraction(1))
        part = loglinear(rest[0])
        return part.scaled(k) if part else None
    if t.op == "div" and isinstance(t.args[1], C.Const) and t.args[1].value != 0:
        part = loglinear(t.args[0])
        return part.scaled(1 / Fraction(t.args[1].value)) if part else None
    return None


def _has_exp_or_ln(t: C.Term) -> bool:
    return any(isinstance(x, C.Op) and x.op in ("exp", "ln", "sqrt", "cos", "sin") for x in C.walk(t))


def _atom_parts(t: C.Term):
    """The log-linear form of `l - r` for a numeric comparison, or None."""
    if not (isinstance(t, C.Op) and t.op in C.COMPARISONS and t.args[0].sort != C.BOOL):
        return None
    l, r = t.args
    return loglinear(C.mk("add", l, C.mk("neg", r)))


@dataclass
class Elimination:
    formula: C.Term
    side: list[C.Term]
    # eliminated x -> (name of s, D) with e^x = s^D
    exp_vars: dict[str, tuple[str, int]]
    roots: dict[str, tuple[C.Term, int]]
    # enclosed transcendental constant -> (variable, lower side constraint, upper side constraint)
    enclosures: dict[str, tuple[C.Term, C.Term]] = field(default_factory=dict)

    def at_corner(self, upper: bool) -> list[C.Term]:
        """The side constraints with every enclosed constant pinned to one end of its interval."""
        pinned = []
        for lower, higher in self.enclosures.values():  # lo <= v, v <= hi
            assert isinstance(lower, C.Op) and isinstance(higher, C.Op), (lower, higher)  # built by `enclose`
            pinned.append(C.mk("eq", higher.args[0], higher.args[1]) if upper
                          else C.mk("eq", lower.args[1], lower.args[0]))
        enclosure_terms = {t for pair in self.enclosures.values() for t in pair}
        return [s for s in self.side if s not in enclosure_terms] + pinned

    def back(self, model: Mapping[str | tuple[str, str], object]) -> dict[str, C.Term]:
        """Values of the eliminated variables as exact terms: x = D * ln(s)."""
        out: dict[str, C.Term] = {}
        for x, (s, d) in self.exp_vars.items():
            value = model.get(s)
            if value is None:
                continue
            if value == 1:
                out[x] = C.num(0, C.REAL)
            else:
                ln = C.mk("ln", C.num(value, C.REAL))
                out[x] = ln if d == 1 else C.mk("mul", C.num(d), ln)
        return out


class _Eliminator:
    def __init__(self, formula: C.Term, bound_ok: set[str]):
        self.formula = formula
        self.global_names = bound_ok
        self.exp_vars: set[str] = set()
        self.roots: dict[tuple[C.Term, int], C.Var] = {}
        self.constants: dict[C.Term, C.Var] = {}
        self.enclosures: dict[str, tuple[C.Term, C.Term]] = {}
        self.side: list[C.Term] = []

    # ---- which variables go
    def collect(self) -> None:
        changed = True
        while changed:
            changed = False
            for t in C.walk(self.formula):
                names: set[str] = set()
                if isinstance(t, C.Op) and t.op == "exp":
                    names = self._exp_arg_vars(t.args[0])
                else:
                    ll = _atom_parts(t)
                    if ll is not None and not ll.opaque and (ll.logs or set(ll.coeffs) & self.exp_vars):
                        names = set(ll.coeffs)
                new = names - self.exp_vars
                if new:
                    self.exp_vars |= new
                    changed = True
        for t in C.walk(self.formula):
            if isinstance(t, C.Var) and t.name in self.exp_vars and t.sort != C.REAL:
                raise C.Unsupported(f"'{t.display}' is an integer inside exp or a log-linear comparison")

    def _exp_arg_vars(self, u: C.Term) -> set[str]:
        ll = loglinear(u)
        if ll is None:
            return set()
        names = set(ll.coeffs)
        for _, m in ll.opaque:
            branches = m.args[1:] if m.op == "ite" else m.args
            for b in branches:
                names |= self._exp_arg_vars(b)
        return names

    # ---- rewriting
    def rw(self, t: C.Term) -> C.Term:
        if isinstance(t, C.Op) and t.op in C.COMPARISONS:
            ll = _atom_parts(t)
            if ll is not None and not ll.opaque and (ll.logs or set(ll.coeffs) & self.exp_vars):
                return self.exponentiate(t.op, ll)
        if isinstance(t, C.Op) and t.op == "exp":
            return self.expo(t.args[0], Fraction(1))
        if isinstance(t, C.Op) and t.op == "sqrt":
            return self._power(self.rw(t.args[0]), Fraction(1, 2))
        return C.map_children(t, self.rw)

    def expo(self, u: C.Term, scale: Fraction) -> C.Term:
        """exp(scale * u) as a product of powers."""
        ll = loglinear(u)
        if ll is None:
            raise C.Unsupported(f"exp of {C.term_to_text(u)}, which is not linear in variables and logarithms")
        ll = ll.scaled(scale)
        factors: list[C.Term] = [self.enclose(C.mk("exp", C.num(ll.const)))] if ll.const != 0 else []
        factors += [self._power(self._mark(x, ll.sorts[x]), c) for x, c in ll.coeffs.items()]
        factors += [self._power(self.rw(arg), c) for arg, c in ll.logs.items()]
        for k, m in ll.opaque:
            if m.op == "ite":
                factors.append(C.mk("ite", self.rw(m.args[0]), self.expo(m.args[1], k), self.expo(m.args[2], k)))
            else:
                op = m.op if k > 0 else ("min" if m.op == "max" else "max")
                factors.append(C.mk(op, *[self.expo(a, k) for a in m.args]))
        if not factors:
            return C.num(1)
        return factors[0] if len(factors) == 1 else C.mk("mul", *factors)

    def exponentiate(self, op: str, ll: LogLinear) -> C.Term:
        q = math.lcm(*(c.denominator for c in ll.logs.values())) if ll.logs else 1
        lhs: list[C.Term] = []
        rhs: list[C.Term] = []
        if ll.const != 0:  # e^(q c0) is transcendental: enclosed in a rational interval
            (lhs if ll.const > 0 else rhs).append(self.enclose(C.mk("exp", C.num(abs(ll.const) * q))))
        items: list[tuple[C.Term, Fraction]] = [(self._mark(x, ll.sorts[x]), c * q) for x, c in ll.coeffs.items()]
        items += [(self.rw(arg), c * q) for arg, c in ll.logs.items()]
        for base, e in items:
            (lhs if e > 0 else rhs).append(self._power(base, abs(e)))
        side = lambda fs: C.num(1) if not fs else (fs[0] if len(fs) == 1 else C.mk("mul", *fs))  # noqa: E731
        return C.mk(op, side(lhs), side(rhs))

    @staticmethod
    def _mark(name: str, sort: str) -> C.Var:
        return C.Var(C.REAL, EXP_MARK + name)

    @staticmethod
    def _power(base: C.Term, e: Fraction) -> C.Term:
        return base if e == 1 else C.mk("pow", base, C.num(e, C.INT if e.denominator == 1 else C.REAL))

    # ---- final pass: exp-marks become s-variables, fractional powers become roots
    def finish(self, t: C.Term, denominators: dict[str, int]) -> C.Term:
        if isinstance(t, C.Var) and t.name.startswith(EXP_MARK):
            t = C.mk("pow", t, C.num(1))
        if isinstance(t, C.Op) and t.op == "pow" and isinstance(t.args[0], C.Var) \
                and t.args[0].name.startswith(EXP_MARK) and isinstance(t.args[1], C.Const):
            # (e^x)^c = s^(c D): an integer power by the choice of D
            x = t.args[0].name[len(EXP_MARK):]
            k = Fraction(t.args[1].value) * denominators[x]
            assert k.denominator == 1, (x, k)
            return self._int_power(C.Var(C.REAL, S_PREFIX + x), int(k))
        if isinstance(t, C.Op) and t.op in ("exp", "ln", "cos", "sin", "sqrt") and not C.free_vars(t) \
                and not C.free_functions(t) and not any(isinstance(x, C.Bind) for x in C.walk(t)):
            return self.enclose(t)
        t = C.map_children(t, lambda c: self.finish(c, denominators))
        if isinstance(t, C.Op) and t.op == "pow" and isinstance(t.args[1], C.Const):
            base, e = t.args[0], Fraction(t.args[1].value)
            if e.denominator == 1:
                return self._int_power(base, int(e))
            if isinstance(base, C.Const):
                # A constant root such as 100000^(-31/32): an exact root would be a
                # degree-32 polynomial; a tight rational enclosure is enough and sound.
                return self.enclose(C.mk("pow", base, C.num(e, C.REAL)))
            root = self._root(base, e.denominator)
            return self._int_power(root, e.numerator)
        return t

    @staticmethod
    def _int_power(base: C.Term, k: int) -> C.Term:
        if k == 0:
            return C.num(1)
        pos = base if abs(k) == 1 else C.mk("pow", base, C.num(abs(k), C.INT))
        return pos if k > 0 else C.mk("div", C.num(1), pos)

    def enclose(self, t: C.Term) -> C.Var:
        """A ground transcendental constant becomes a variable between rational bounds.

        Sound for proofs (the claim is shown for every value in the interval, the true one
        among them); a counterexample is still re-checked on the exact constant.
        """
        if t not in self.constants:
            from mpmath import iv
            from mpmath.libmp import to_rational

            from checker.decide.evaluator import Env, evaluate
            saved = iv.prec
            iv.prec = ENCLOSURE_BITS
            try:
                value = evaluate(t, Env(), exact_fallback=False)
            except CheckerError as err:
                raise C.Unsupported(f"cannot enclose {C.term_to_text(t)}: {err}") from None
            finally:
                iv.prec = saved
            v = C.Var(C.REAL, f"⟦{C.term_to_text(t)}⟧")
            self.constants[t] = v
            if isinstance(value, Fraction):
                self.side.append(C.mk("eq", v, C.num(value, C.REAL)))
            else:
                lo = Fraction(*to_rational(value.a._mpi_[0]))
                hi = Fraction(*to_rational(value.b._mpi_[1]))
                bounds = (C.mk("le", C.num(lo, C.REAL), v), C.mk("le", v, C.num(hi, C.REAL)))
                self.side += list(bounds)
                self.enclosures[v.name] = bounds
        return self.constants[t]

    def _root(self, base: C.Term, q: int) -> C.Var:
        key = (base, q)
        if key not in self.roots:
            if not C.free_vars(base) <= self.global_names:
                raise C.Unsupported(f"fractional power of {C.term_to_text(base)}, which depends on a bound variable")
            r = C.Var(C.REAL, f"root#{len(self.roots) + 1}")  # "#" cannot occur in a user's name
            self.roots[key] = r
            self.side.append(C.mk("le", C.num(0), r))
            self.side.append(C.mk("implies", C.mk("le", C.num(0), base),
                                  C.mk("eq", C.mk("pow", r, C.num(q, C.INT)), base)))
        return self.roots[key]


def _collect_denominators(t: C.Term, out: dict[str, int]):
    for x in C.walk(t):
        if isinstance(x, C.Op) and x.op == "pow" and isinstance(x.args[0], C.Var) \
                and x.args[0].name.startswith(EXP_MARK) and isinstance(x.args[1], C.Const):
            name = x.args[0].name[len(EXP_MARK):]
            out[name] = math.lcm(out.get(name, 1), Fraction(x.args[1].value).denominator)
        elif isinstance(x, C.Var) and x.name.startswith(EXP_MARK):
            out.setdefault(x.name[len(EXP_MARK):], 1)


def eliminate(formula: C.Term, global_names: set[str] | None = None) -> Elimination:
    """Rewrite `formula` without exp and ln, or raise `Unsupported` saying why not."""
    has_fractional_power = any(isinstance(x, C.Op) and x.op == "pow" and isinstance(x.args[1], C.Const)
                               and Fraction(x.args[1].value).denominator != 1 for x in C.walk(formula))
    if not _has_exp_or_ln(formula) and not has_fractional_power:
        return Elimination(formula, [], {}, {})
    names = global_names if global_names is not None else C.free_vars(formula)
    el = _Eliminator(formula, set(names))
    el.collect()
    rewritten = el.rw(formula)
    denominators: dict[str, int] = {x: 1 for x in el.exp_vars}
    _collect_denominators(rewritten, denominators)
    result = el.finish(rewritten, denominators)
    for x in C.walk(result):
        if isinstance(x, C.Var) and x.name in el.exp_vars:
            raise C.Unsupported(f"'{x.display}' occurs both inside exp/ln comparisons and in a "
                                "polynomial position, so it cannot be replaced by e^x")
        if isinstance(x, C.Op) and x.op in ("exp", "ln", "cos", "sin"):
            raise C.Unsupported(f"{x.op}({C.term_to_text(x.args[0])}) is in a position the "
                                "rewriting cannot remove (not a log-linear comparison)")
    side = [C.mk("lt", C.num(0), C.Var(C.REAL, S_PREFIX + x)) for x in sorted(el.exp_vars)] + el.side
    return Elimination(result, side, {x: (S_PREFIX + x, denominators[x]) for x in el.exp_vars},
                       {r.name: (b, q) for (b, q), r in el.roots.items()}, dict(el.enclosures))
