"""Translate core formulas to Z3, decide them, and read models back as core values.

The translator accepts the core after `eliminate` (no exp, ln, sqrt or fractional
powers); anything else raises `Unsupported`. Applications of function parameters with
symbolic domains become uninterpreted functions with their range axioms; bounded
quantifiers with symbolic bounds become guarded Z3 quantifiers; a quantifier over a
function space that the goal lets us Skolemize becomes a fresh function symbol.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import z3

from checker.language import core as C

POWER_EXPANSION_LIMIT = 64


@dataclass
class Z3Result:
    status: str  # "sat" | "unsat" | "unknown"
    model: dict[str | tuple[str, str], object] = field(default_factory=dict)  # ("fun", f): read_function reads it
    reason: str = ""
    smt2: str = ""
    logic: str = ""
    approximate: bool = False  # the model had irrational algebraic numbers, rounded here
    abstracted: int = 0        # terms the engine replaced by variables bounded by facts (unsat only)


class Translator:
    def __init__(self, sigs: dict[str, C.FunSig], relax_ints: bool = False):
        # A context per query: Z3's answers then depend on the query alone, not on what
        # was asked before in the process, so reports and counterexamples are reproducible.
        self.ctx = z3.Context()
        self.sigs = sigs
        self.relax_ints = relax_ints
        self.vars: dict[str, z3.ExprRef] = {}
        self.sorts: dict[str, str] = {}
        self.funcs: dict[str, z3.FuncDeclRef] = {}
        self.axioms: list[z3.ExprRef] = []
        self.counter = 0
        self.features: set[str] = set()

    def conj(self, parts):
        return z3.And(parts) if parts else z3.BoolVal(True, self.ctx)

    def z3_sort(self, sort: str):
        if sort == C.BOOL:
            return z3.BoolSort(self.ctx)
        if sort == C.INT and not self.relax_ints:
            self.features.add("int")
            return z3.IntSort(self.ctx)
        self.features.add("real")
        return z3.RealSort(self.ctx)

    def var(self, name: str, sort: str) -> z3.ExprRef:
        if name not in self.vars:
            self.vars[name] = z3.Const(name, self.z3_sort(sort))
            self.sorts[name] = sort
        return self.vars[name]

    def function(self, name: str, sig: C.FunSig, env) -> z3.FuncDeclRef:
        if name not in self.funcs:
            self.features.add("uf")
            arg_sorts = [self.z3_sort(C.INT) for _ in sig.domains]
            f = z3.Function(name, *arg_sorts, self.z3_sort(sig.result_sort))
            self.funcs[name] = f
            if sig.codomain[0] == C.INT and len(sig.codomain) == 3:
                self.axioms.append(self._range_axiom(f, sig, env))
        return self.funcs[name]

    def _range_axiom(self, f, sig: C.FunSig, env):
        self.features.add("quant")
        xs = [z3.Const(f"{f.name()}#arg{i}", self.z3_sort(C.INT)) for i in range(len(sig.domains))]
        guard = self.conj([z3.And(self.tr(lo, env, 0) <= x, x <= self.tr(hi, env, 0))
                           for x, (lo, hi) in zip(xs, sig.domains)])
        value = f(*xs)
        in_range = z3.And(self.tr(sig.codomain[1], env, 0) <= value, value <= self.tr(sig.codomain[2], env, 0))
        return z3.ForAll(xs, z3.Implies(guard, in_range)) if xs else in_range

    # ---- terms
    def tr(self, t: C.Term, env: dict, pol: int) -> z3.ExprRef:
        if isinstance(t, C.Const):
            if isinstance(t.value, bool):
                return z3.BoolVal(t.value, self.ctx)
            v = Fraction(t.value)
            if t.sort == C.INT and v.denominator == 1 and not self.relax_ints:
                return z3.IntVal(v.numerator, self.ctx)
            return z3.RealVal(f"{v.numerator}/{v.denominator}", self.ctx)
        if isinstance(t, C.Var):
            if t.name in env:
                return env[t.name]
            return self.var(t.name, t.sort)
        if isinstance(t, C.App):
            sig = self.sigs.get(t.fn) or env.get(("fun", t.fn))
            if sig is None:
                raise C.Unsupported(f"unknown function {t.fn}")
            f = env.get(("z3fun", t.fn))
            if f is None:
                f = self.function(t.fn, sig, env)
            return f(*[self.tr(a, env, 0) for a in t.args])
        if isinstance(t, C.Op):
            return self.op(t, env, pol)
        if isinstance(t, C.Bind):
            return self.bind(t, env, pol)
        if isinstance(t, C.FunBind):
            return self.fun_bind(t, env, pol)
        raise C.Unsupported(f"Z3 cannot take a {type(t).__name__} ({C.term_to_text(t)})")

    def op(self, t: C.Op, env, pol):
        a = t.args
        r = lambda x, p=0: self.tr(x, env, p)  # noqa: E731
        if t.op == "add":
            return z3.Sum([r(x) for x in a])
        if t.op == "mul":
            factors = [r(x) for x in a]
            if sum(1 for x in a if not isinstance(x, C.Const)) > 1:
                self.features.add("nonlinear")
            return z3.Product(factors)
        if t.op == "neg":
            return -r(a[0])
        if t.op == "div":
            num, den = r(a[0]), r(a[1])
            if not isinstance(a[1], C.Const):
                self.features.add("nonlinear")
            return _real(num) / _real(den)
        if t.op == "pow":
            if not (isinstance(a[1], C.Const) and Fraction(a[1].value).denominator == 1):
                raise C.Unsupported(f"power with a non-integer exponent: {C.term_to_text(t)}")
            k = int(a[1].value)
            base = r(a[0])
            if abs(k) > POWER_EXPANSION_LIMIT:
                raise C.Unsupported(f"power {k} is too large to expand")
            if k == 0:
                return z3.RealVal(1, self.ctx) if not z3.is_int(base) else z3.IntVal(1, self.ctx)
            if abs(k) > 1 or k < 0:  # 1/x is as nonlinear as x*x
                self.features.add("nonlinear")
            # Z3's own power term: a product of k copies can time out where x^k decides at once.
            positive = base ** abs(k) if abs(k) > 1 else base
            return positive if k > 0 else 1 / _real(positive)
        if t.op == "abs":
            x = r(a[0])
            return z3.If(x >= 0, x, -x)
        if t.op == "floor":
            x = r(a[0])
            return x if z3.is_int(x) else z3.ToInt(x)
        if t.op == "ceil":
            x = r(a[0])
            return x if z3.is_int(x) else -z3.ToInt(-x)
        if t.op in ("min", "max"):
            out = r(a[0])
            for x in a[1:]:
                y = r(x)
                out = z3.If(y < out, y, out) if t.op == "min" else z3.If(y > out, y, out)
            return out
        if t.op == "lt":
            return r(a[0]) < r(a[1])
        if t.op == "le":
            return r(a[0]) <= r(a[1])
        if t.op == "eq":
            return r(a[0]) == r(a[1])
        if t.op == "not":
            return z3.Not(r(a[0], -pol))
        if t.op == "and":
            return self.conj([r(x, pol) for x in a])
        if t.op == "or":
            return z3.Or([r(x, pol) for x in a]) if a else z3.BoolVal(False, self.ctx)
        if t.op == "implies":
            return z3.Implies(r(a[0], -pol), r(a[1], pol))
        if t.op == "iff":
            return r(a[0]) == r(a[1])
        if t.op == "ite":
            return z3.If(r(a[0]), r(a[1], pol), r(a[2], pol))
        raise C.Unsupported(f"Z3 cannot take {t.op}({', '.join(C.term_to_text(x) for x in a)})")

    def bind(self, t: C.Bind, env, pol):
        if t.op not in ("forall", "exists"):
            raise C.Unsupported(f"{t.op} over the symbolic range {C.term_to_text(t.lo)}..{C.term_to_text(t.hi)}")
        self.features.add("quant")
        self.counter += 1
        v = z3.Const(f"{t.var.display}!{self.counter}", self.z3_sort(C.INT))
        inner = {**env, t.var.name: v}
        guard = z3.And(self.tr(t.lo, env, 0) <= v, v <= self.tr(t.hi, env, 0))
        body = self.tr(t.body, inner, 0)  # polarity is not tracked under binders
        if t.op == "forall":
            return z3.ForAll([v], z3.Implies(guard, body))
        return z3.Exists([v], z3.And(guard, body))

    def fun_bind(self, t: C.FunBind, env, pol):
        existential = (t.kind == "exists" and pol == 1) or (t.kind == "forall" and pol == -1)
        if not existential or any(isinstance(k, str) for k in env if not isinstance(k, tuple)):
            raise C.Unsupported(f"'{t.kind} {t.display}' over a function space that is neither small "
                                "enough to enumerate nor in a position to Skolemize")
        self.counter += 1
        name = f"{t.var}!{self.counter}"
        f = self.function(name, t.sig, env)
        inner = {**env, ("z3fun", t.var): f, ("fun", t.var): t.sig}
        return self.tr(t.body, inner, pol)


def _real(x: z3.ExprRef) -> z3.ExprRef:
    return z3.ToReal(x) if z3.is_int(x) else x


def logic_name(features: set[str]) -> str:
    arith = ("I" if "int" in features else "") + ("R" if "real" in features else "")
    if not arith:
        core = "UF"
    else:
        core = ("UF" if "uf" in features else "") + ("N" if "nonlinear" in features else "L") + arith + "A"
    return core if "quant" in features else "QF_" + core


def _value(v) -> tuple[object, bool]:
    """A Z3 model value as a Fraction or bool; the flag says it was rounded."""
    if z3.is_true(v):
        return True, False
    if z3.is_false(v):
        return False, False
    if z3.is_int_value(v):
        return Fraction(v.as_long()), False
    if z3.is_rational_value(v):
        return Fraction(v.numerator_as_long(), v.denominator_as_long()), False
    if z3.is_algebraic_value(v):
        return Fraction(v.approx(30).as_fraction()).limit_denominator(10**24), True
    raise C.Unsupported(f"cannot read the model value {v}")


def decide(formula: C.Term, side: list[C.Term], sigs: dict[str, C.FunSig], timeout_s: float,
           relax_ints: bool = False, header: str = "") -> Z3Result:
    """Is `formula` (with the side constraints) satisfiable? Returns the model if so."""
    tr = Translator(sigs, relax_ints)
    assertions = [tr.tr(s, {}, 1) for s in side] + [tr.tr(formula, {}, 1)]
    assertions = tr.axioms + assertions
    if relax_ints and tr.features & {"quant", "uf"}:
        # Relaxing a bound variable or a function's arguments to the reals would
        # strengthen the query and could hide a model: only free parameters may be relaxed.
        raise C.Unsupported("integer relaxation is only sound for quantifier-free queries")
    logic = logic_name(tr.features)
    try:
        solver = z3.SolverFor(logic, ctx=tr.ctx) if logic.startswith("QF_") and "UF" not in logic \
            else z3.Solver(ctx=tr.ctx)
    except z3.Z3Exception:
        solver = z3.Solver(ctx=tr.ctx)
    solver.set("timeout", max(1, int(timeout_s * 1000)))
    solver.add(*assertions)
    smt2 = (f"; {header}\n; solver: z3 {z3.get_version_string()}, timeout {timeout_s} s\n"
            f"(set-logic {logic})\n{solver.sexpr()}(check-sat)\n(get-model)\n")
    answer = solver.check()
    if answer == z3.unknown and "logic does not support" in solver.reason_unknown():
        # The logic guessed from the features was too narrow: let Z3 choose.
        solver = z3.Solver(ctx=tr.ctx)
        solver.set("timeout", max(1, int(timeout_s * 1000)))
        solver.add(*assertions)
        answer = solver.check()
    if answer == z3.unknown:
        return Z3Result("unknown", reason=f"z3: {solver.reason_unknown()}", smt2=smt2, logic=logic)
    if answer == z3.unsat:
        return Z3Result("unsat", smt2=smt2, logic=logic)
    model = solver.model()
    values: dict[str | tuple[str, str], object] = {}
    approximate = False
    for name, v in tr.vars.items():
        value, rounded = _value(model.eval(v, model_completion=True))
        approximate |= rounded
        values[name] = value
    for name, f in tr.funcs.items():
        values[("fun", name)] = (f, model)
    return Z3Result("sat", values, smt2=smt2, logic=logic, approximate=approximate)


def read_function(entry, points) -> dict[tuple[int, ...], object]:
    """Tabulate a model's function at the given argument tuples."""
    f, model = entry
    table = {}
    for p in points:
        value, _ = _value(model.eval(f(*[z3.IntVal(x, f.ctx) for x in p]), model_completion=True))
        table[p] = value
    return table
