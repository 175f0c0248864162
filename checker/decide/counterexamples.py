"""Counterexamples: read back from a solver model, completed, confirmed, described.

A model becomes a counterexample only once the exact evaluator confirms it on the original
statement: inside the domains, the assumptions and the check's own range, with the claim
false or undefined there. Sampling tries the claim at points of the domain, to re-check a
SymPy proof or to find a counterexample where the solvers gave up.
"""
from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

from checker.decide import budget as budget_
from checker.decide import evaluator as E
from checker.decide import transform as T
from checker.decide import z3_backend
from checker.decide.instances import MAX_TABLE, RunnerState
from checker.decide.outcome import Instance, Outcome, as_term, value_text
from checker.errors import EvaluationError, Undecided
from checker.language import core as C
from checker.language.elaborate import CoreTheorem


class Counterexamples(RunnerState):
    """The part of a check's runner that handles counterexamples (see `engine.CheckRunner`)."""

    def counterexample(self, inst: Instance, result: z3_backend.Z3Result, elimination) -> tuple[dict, E.Env]:
        values: dict[str, object] = self._scalars(inst.assignment)
        functions = dict(self._tables(inst.assignment))
        back = elimination.back(result.model)
        model = {**result.model, **back}
        for p in self.thm.params:
            if p.name in values:
                continue
            if isinstance(p.sort, C.FunSig):
                continue
            if p.name in back:
                values[p.name] = back[p.name]
            elif p.name in result.model:
                values[p.name] = result.model[p.name]
            else:
                values[p.name] = Fraction(0) if p.sort != C.BOOL else False  # unconstrained
        subst = {k: as_term(v, self._scalar_sort(k)) for k, v in values.items()}
        for p in self.thm.params:
            if not isinstance(p.sort, C.FunSig) or p.name in functions:
                continue
            domains = []
            for lo, hi in p.sort.domains:
                lo_v = E.evaluate(C.substitute(lo, subst), E.Env())
                hi_v = E.evaluate(C.substitute(hi, subst), E.Env())
                domains.append((int(lo_v), int(hi_v)))
            count = math.prod(max(0, hi - lo + 1) for lo, hi in domains)
            if count > MAX_TABLE:
                raise C.Unsupported(f"the counterexample's {p.name} has {count} points: too many to tabulate")
            points = list(itertools.product(*[range(lo, hi + 1) for lo, hi in domains]))
            table = {}
            for point in points:
                key = T.ground_name(p.name, point)
                if key in model:
                    table[point] = model[key]
                elif ("fun", p.name) in result.model:
                    table[point] = z3_backend.read_function(result.model[("fun", p.name)], [point])[point]
                else:
                    # A point the query never reads: any value in the codomain will do.
                    table[point] = _default_value(p.sort, subst)
            functions[p.name] = E.Table(tuple(domains), table)
        return values, E.Env(dict(values), functions)

    def confirm(self, env: E.Env, inst: Instance | None = None) -> tuple[bool, str]:
        """Re-check a counterexample on the original statement with the exact evaluator: it
        lies in the domains, meets the assumptions and the check's own bindings, and the
        claim is false or undefined there."""
        try:
            for p in self.thm.params:
                for c in p.constraints:
                    if not E.evaluate(c, env):
                        return False, f"violates the domain of {p.name}"
            for c in (inst.constraints if inst is not None else []):
                if not E.evaluate(c, env):
                    return False, f"lies outside the check's range ({C.term_to_text(c)})"
            for label, a in self.assumptions:
                if not E.evaluate(a, env):
                    return False, f"violates assumption {label}"
        except (EvaluationError, Undecided, C.Unsupported) as err:
            return False, f"the hypotheses cannot be evaluated there: {err}"
        try:
            holds = E.evaluate(self.thm.claim, env)
        except EvaluationError as err:
            return True, f"the claim is undefined there: {err}"
        except (Undecided, C.Unsupported) as err:
            return False, f"the exact evaluator cannot decide the claim there: {err}"
        return (not holds), ("the claim is false there" if not holds else "the claim holds there")

    def describe(self, values: dict, env: E.Env) -> tuple[dict, str]:
        """The counterexample as data and as bindings that `check finite` accepts verbatim."""
        scalars = {k: value_text(v) for k, v in values.items()}
        tables = {name: {",".join(map(str, k)): value_text(v) for k, v in t.values.items()}
                  for name, t in env.functions.items()}
        parts = []
        for p in self.thm.params:  # declaration order: sizes come before the tables they size
            if p.name in scalars:
                parts.append(f"{p.name} = {scalars[p.name]}")
            elif p.name in tables:
                entries = ", ".join(f"({k.replace(',', ', ')}): {v}" for k, v in tables[p.name].items())
                parts.append(f"{p.name} = {{{entries}}}")
        text = ", ".join(parts)
        replay = f"check finite {text} expect refuted"
        return {"scalars": scalars, "functions": tables, "replay": replay}, text

    def completions(self, inst: Instance):
        """The instance's values, with values for the scalar parameters it leaves free: those
        its range constraints name first, then points of the domains."""
        fixed = self._scalars(inst.assignment)
        missing = [p for p in self.thm.params if p.name not in fixed and not isinstance(p.sort, C.FunSig)]
        if not missing:
            yield dict(fixed)
            return
        named: dict[str, list] = {}
        for c in inst.constraints:
            for x in C.walk(c):
                if isinstance(x, C.Op) and x.op in ("eq", "le") and isinstance(x.args[0], C.Var) \
                        and isinstance(x.args[1], C.Const):
                    named.setdefault(x.args[0].name, []).append(x.args[1].value)
                if isinstance(x, C.Op) and x.op == "le" and isinstance(x.args[1], C.Var) \
                        and isinstance(x.args[0], C.Const):
                    named.setdefault(x.args[1].name, []).append(x.args[0].value)
        first = dict(fixed)
        for p in missing:
            first[p.name] = (named.get(p.name) or [Fraction(0) if p.sort != C.BOOL else False])[0]
        yield first
        yield from sample_points(self.thm, fixed)

    def sample(self, inst: Instance) -> Outcome:
        """The claim at points of the domain (bounds, small integers, fractions, far values)
        that satisfy the hypotheses: `fails` with a confirmed counterexample, else `holds`
        with the number of points where it held (in `reason`)."""
        held = 0
        tables = self._tables(inst.assignment)
        if any(isinstance(p.sort, C.FunSig) and p.name not in tables for p in self.thm.params):
            return Outcome("holds", "sampling", "0 sample points (a function parameter has no value)")
        for values in sample_points(self.thm, self._scalars(inst.assignment)):
            budget_.tick()
            env = E.Env(dict(values), dict(self._tables(inst.assignment)))
            ok, why = self.confirm(env, inst)
            if ok:
                cex, text = self.describe(values, env)
                return Outcome("fails", "sampling, re-checked by the exact evaluator", why, cex, text,
                               basis={"evaluator", "sampling"})
            if why == "the claim holds there":
                held += 1
        return Outcome("holds", "sampling", f"{held} sample points", basis={"sampling"})


def _default_value(sig: C.FunSig, subst: dict):
    if sig.codomain[0] == C.BOOL:
        return False
    if sig.codomain[0] == C.INT and len(sig.codomain) == 3:
        return E.evaluate(C.substitute(sig.codomain[1], subst), E.Env())
    return Fraction(0)


def samples_for_limits(thm: CoreTheorem) -> list[dict[str, Fraction]]:
    """A few points inside the parameters' interval domains, for cross-checks."""
    choices: dict[str, list[Fraction]] = {}
    for p in thm.params:
        if isinstance(p.sort, C.FunSig) or p.sort == C.BOOL:
            continue
        lo = hi = None
        for c in p.constraints:
            if isinstance(c, C.Op) and c.op in ("lt", "le"):
                if c.args[1] == C.Var(p.sort, p.name) and isinstance(c.args[0], C.Const):
                    lo = Fraction(c.args[0].value)
                if c.args[0] == C.Var(p.sort, p.name) and isinstance(c.args[1], C.Const):
                    hi = Fraction(c.args[1].value)
        if lo is not None and hi is not None:
            picks = [lo + (hi - lo) * f for f in (Fraction(1, 3), Fraction(1, 2), Fraction(9, 10))]
        elif lo is not None:
            picks = [lo + 1, lo + 7]
        elif hi is not None:
            picks = [hi - 1, hi - 7]
        else:
            picks = [Fraction(-2), Fraction(1, 2), Fraction(3)]
        if p.sort == C.INT:
            picks = [Fraction(int(x)) for x in picks]
        # Rotate per parameter so that two parameters with one domain get different values.
        shift = len(choices) % len(picks)
        choices[p.name] = picks[shift:] + picks[:shift]
    if not choices:
        return []
    return [dict(zip(choices, combo)) for combo in zip(*choices.values())]


SAMPLE_POINTS = 48


def sample_points(thm: CoreTheorem, fixed: dict) -> list[dict]:
    """Deterministic points for confirming a SymPy proof: for each free scalar parameter its
    constant domain bounds and values just inside them, integers around 0, simple fractions
    and far values, combined by a fixed stride, plus seeded random rationals."""
    rng = random.Random(20261201)
    candidates: dict[str, list] = {}
    for p in thm.params:
        if p.name in fixed or isinstance(p.sort, C.FunSig):
            continue
        if p.sort == C.BOOL:
            candidates[p.name] = [False, True]
            continue
        values = [Fraction(v) for v in (0, 1, -1, 2, -2, 3, -3, 10, -10, 1000, -1000)]
        values += [Fraction(1, 2), Fraction(-1, 2), Fraction(1, 3), Fraction(7, 5), Fraction(1, 1000)]
        for c in p.constraints:
            for arg in (c.args if isinstance(c, C.Op) else ()):
                if isinstance(arg, C.Const) and not isinstance(arg.value, bool):
                    b = Fraction(arg.value)
                    values += [b, b + 1, b - 1, b + Fraction(1, 1000), b - Fraction(1, 1000)]
        values += [Fraction(rng.randint(-10**6, 10**6), rng.randint(1, 1000)) for _ in range(8)]
        if p.sort == C.INT:
            values = [v for v in values if v.denominator == 1]
        values = [v for v in dict.fromkeys(values) if _in_own_domain(p, v)]
        candidates[p.name] = values or [Fraction(0)]
    if not candidates:
        return [dict(fixed)]
    names = list(candidates)
    points = []
    for k in range(SAMPLE_POINTS):
        point = dict(fixed)
        for i, name in enumerate(names):
            options = candidates[name]
            point[name] = options[(k * (2 * i + 1) + i) % len(options)]
        points.append(point)
    return points


def _in_own_domain(param, value) -> bool:
    """Whether `value` meets the constraints of the parameter's domain that mention no other
    parameter (those that do are checked with the whole point)."""
    for c in param.constraints:
        if C.free_vars(c) - {param.name}:
            continue
        try:
            if not E.evaluate(c, E.Env({param.name: value})):
                return False
        except (EvaluationError, Undecided, C.Unsupported):
            return False
    return True
