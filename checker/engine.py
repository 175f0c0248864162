"""Decide one check of one theorem: build the queries, run the backends, judge the evidence.

A claim is proved by refuting its negation: the query is
    domains  and  assumptions  and  (claim undefined  or  not claim)
and `unsat` means the claim holds (and is defined) wherever the hypotheses hold. `sat`
yields a model, which becomes a counterexample only after the exact evaluator confirms
it on the original statement. A solver `unknown`, a timeout or an unsupported construct
gives `unknown` with the reason, never `proved`.
"""
from __future__ import annotations

import itertools
import math
import json
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from . import core as C
from . import evaluator as E
from . import transform as T
from . import budget as budget_
from . import z3_backend
from .abstract import abstract
from .eliminate import eliminate
from .elaborate import CoreCheck, CoreTheorem
from .errors import EvaluationError, Undecided
from .sympy_backend import prove as sympy_prove
from .verdict import CheckResult, Status

DEFAULT_TIMEOUT = 10.0
MAX_TABLE = 10_000
QUANTIFIED_FIRST = 1_000   # function points above which a witness is first tried with quantifiers kept
ENUMERATION_LIMIT = 20_000  # values of a finite check tried one by one when one query fails
AUXILIARY_TIMEOUT = 2.0     # seconds for a query whose failure only costs a fallback


@dataclass
class Options:
    timeout: float = DEFAULT_TIMEOUT
    build_dir: Path | None = None  # where SMT-LIB queries and counterexamples go
    drop: tuple[str, ...] = ()     # assumption labels to leave out (necessity analysis)
    budget: float = budget_.DEFAULT_SECONDS      # wall time of one check, all its work included
    memory_mb: float = budget_.DEFAULT_MEMORY_MB  # growth of resident memory during one check


@dataclass
class Instance:
    assignment: dict[str, object]            # enumerated parameter -> value
    constraints: list[C.Term]                 # bindings kept symbolic (ranges, sets)
    count: int


@dataclass
class Outcome:
    status: str
    method: str = ""
    reason: str = ""
    counterexample: dict | None = None
    counterexample_text: str = ""
    smt2: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    # What the verdict rests on: z3, sympy, evaluator, folding, witness, sampling (see README).
    basis: set[str] = field(default_factory=set)


class CheckError(Exception):
    """A check that cannot be run as written (a binding outside its parameter's domain)."""


def _value_text(v) -> str:
    if isinstance(v, C.Term):
        return C.term_to_text(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    v = Fraction(v)
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def _as_term(v, sort: str) -> C.Term:
    if isinstance(v, C.Term):
        return v
    if isinstance(v, bool):
        return C.TRUE if v else C.FALSE
    return C.num(v, sort if sort != C.INT or Fraction(v).denominator == 1 else C.REAL)


class CheckRunner:
    def __init__(self, theorem: CoreTheorem, check: CoreCheck, options: Options):
        self.thm = theorem
        self.check = check
        self.options = options
        self.timeout = check.timeout or options.timeout
        self.query_timeout: float | None = None  # a shorter limit for auxiliary queries, when set
        self.smt2_paths: list[str] = []
        self.query_count = 0
        self.assumptions = [(label, a) for label, a, _ in theorem.assumptions if label not in options.drop]

    # ---- instances
    def instances(self, enumerate_all: bool = False) -> tuple[list[Instance], str]:
        """The instances of a check. Bindings that fix sizes are enumerated; the others stay
        constraints decided in one query, unless `enumerate_all` asks for every value."""
        if self.check.kind == "symbolic":
            return [Instance({}, [], 1)], "all parameter values"
        structural = set(self.thm.is_structural)
        if enumerate_all:
            structural |= {b[0] for b in self.check.bindings}
        for _, kind, values, _ in self.check.bindings:
            for v in values:
                if kind == "table":
                    args, value = v
                    for term in args + (value,):
                        structural |= C.free_vars(term)
                else:
                    structural |= C.free_vars(v)
        out: list[Instance] = []
        self._expand(0, {}, [], 1, structural, out)
        parts = []
        for name, kind, values, _ in self.check.bindings:
            text_of = lambda t: C.term_to_text(T.fold(t))  # noqa: E731
            if kind == "range":
                parts.append(f"{name} in {text_of(values[0])}..{text_of(values[1])}")
            elif kind == "set":
                parts.append(f"{name} in {{{', '.join(text_of(v) for v in values)}}}")
            elif kind == "table":
                parts.append(f"{name} = a table of {len(values)} entries")
            else:
                parts.append(f"{name} = {text_of(values[0])}")
        free = [p.name for p in self.thm.params if p.name not in {b[0] for b in self.check.bindings}]
        text = ", ".join(parts)
        if free:
            text += f"; for all {', '.join(free)}"
        return out, text

    def _expand(self, i, assignment, constraints, count, structural, out):
        if i == len(self.check.bindings):
            budget_.tick()
            budget_.require_size("the number of instances to enumerate", len(out) + 1)
            out.append(Instance(dict(assignment), list(constraints), count))
            return
        name, kind, values, span = self.check.bindings[i]
        param = self.thm.param(name)
        if kind == "table":
            assignment[name] = self._table(param, values, assignment, span)
            self._expand(i + 1, assignment, constraints, count, structural, out)
            del assignment[name]
            return
        evaluated = [self._binding_value(v, assignment, span) for v in values]
        if kind == "range":
            lo, hi = evaluated
            if Fraction(lo).denominator != 1 or Fraction(hi).denominator != 1:
                raise CheckError(f"{span}: error: the range of '{name}' needs integer bounds")
            if lo > hi:
                return
            # Every value of a range is checked against the domain, not just its ends, unless
            # the domain is convex (an interval): a set domain such as {1, 2, 4} has holes.
            ends = [Fraction(int(lo)), Fraction(int(hi))]
            convex = _convex(param, name)
            if not convex or name in structural:
                budget_.require_size(f"the range of '{name}'", hi - lo + 1)
            checked = ends if convex else (Fraction(x) for x in range(int(lo), int(hi) + 1))
            for value in checked:
                budget_.tick()
                self._check_domain(param, value, assignment, span)
            if name not in structural:       # one constraint for the whole range
                var = C.Var(param.sort, name)
                constraint = C.mk("and", C.mk("le", C.num(ends[0]), var), C.mk("le", var, C.num(ends[1])))
                self._expand(i + 1, assignment, constraints + [constraint], count * int(hi - lo + 1),
                             structural, out)
                return
            choices = [Fraction(x) for x in range(int(lo), int(hi) + 1)]
        else:
            choices = evaluated
            if not choices:
                return
            for value in choices:
                if param.sort == C.INT and not (isinstance(value, Fraction) and value.denominator == 1):
                    raise CheckError(f"{span}: error: {name} = {_value_text(value)} is not an integer, "
                                     f"but '{name}' is an int parameter")
                self._check_domain(param, value, assignment, span)
        if name in structural or kind == "value":  # a single value is simply substituted
            for value in choices:
                assignment[name] = value
                self._expand(i + 1, assignment, constraints, count, structural, out)
            del assignment[name]
            return
        var = C.Var(param.sort, name)
        constraint = C.mk("or", *[C.mk("eq", var, _as_term(v, param.sort)) for v in choices])
        self._expand(i + 1, assignment, constraints + [constraint], count * len(choices), structural, out)

    def _table(self, param, entries, assignment, span) -> E.Table:
        """A function parameter bound point by point; every point once, values in range."""
        sig = self.sigs(assignment)[param.name]
        domains = []
        for lo, hi in sig.domains:
            if not (isinstance(lo, C.Const) and isinstance(hi, C.Const)):
                raise CheckError(f"{span}: error: bind the sizes of '{param.name}' before its table")
            domains.append((int(lo.value), int(hi.value)))
        if sig.codomain[0] == C.INT and len(sig.codomain) == 3 \
                and not all(isinstance(c, C.Const) for c in sig.codomain[1:]):
            raise CheckError(f"{span}: error: bind the bounds of the codomain of '{param.name}' before its table")
        budget_.require_size(f"the domain of '{param.name}'",
                             math.prod(max(0, hi - lo + 1) for lo, hi in domains), MAX_TABLE)
        values = {}
        for args, value in entries:
            point = tuple(int(self._binding_value(a, assignment, span)) for a in args)
            if point in values:
                raise CheckError(f"{span}: error: the table of '{param.name}' gives {point} twice")
            if not all(lo <= a <= hi for a, (lo, hi) in zip(point, domains)):
                raise CheckError(f"{span}: error: {point} lies outside the domain of '{param.name}'")
            values[point] = self._binding_value(value, assignment, span) \
                if value.sort != C.BOOL else self._truth_value(value, assignment, span)
            if sig.codomain[0] == C.INT:
                v = values[point]
                if not (isinstance(v, Fraction) and v.denominator == 1):
                    raise CheckError(f"{span}: error: {param.name}{_point_text(point)} = {_value_text(v)} is not an "
                                     f"integer, but '{param.name}' returns integers")
                if len(sig.codomain) == 3:
                    lo, hi = int(sig.codomain[1].value), int(sig.codomain[2].value)
                    if not lo <= v <= hi:
                        raise CheckError(f"{span}: error: {param.name}{_point_text(point)} = {_value_text(v)} "
                                         f"is outside [{lo}..{hi}]")
        points = list(itertools.product(*[range(lo, hi + 1) for lo, hi in domains]))
        missing = [p for p in points if p not in values]
        if missing:
            raise CheckError(f"{span}: error: the table of '{param.name}' has no value at {missing[0]}"
                             f"{f' and {len(missing) - 1} more points' if len(missing) > 1 else ''}")
        return E.Table(tuple(domains), values)

    def _truth_value(self, term: C.Term, assignment, span) -> bool:
        try:
            return bool(E.evaluate(term, E.Env(self._scalars(assignment))))
        except (EvaluationError, Undecided, C.Unsupported) as err:
            raise CheckError(f"{span}: error: cannot evaluate the table value {C.term_to_text(term)}: {err}") from None

    @staticmethod
    def _scalars(assignment) -> dict:
        return {k: v for k, v in assignment.items() if not isinstance(v, E.Table)}

    @staticmethod
    def _tables(assignment) -> dict:
        return {k: v for k, v in assignment.items() if isinstance(v, E.Table)}

    def _binding_value(self, term: C.Term, assignment, span):
        term = C.substitute(term, {k: _as_term(v, C.REAL) for k, v in self._scalars(assignment).items()})
        try:
            value = E.evaluate(term, E.Env())
        except (EvaluationError, Undecided, C.Unsupported) as err:
            raise CheckError(f"{span}: error: cannot evaluate the binding value {C.term_to_text(term)}: {err}") from None
        if isinstance(value, Fraction):
            return value
        return term  # irrational: keep the exact term, e.g. ln(3/2)

    def _check_domain(self, param, value, assignment, span):
        env = E.Env({**assignment, param.name: value})
        for c in param.constraints:
            try:
                ok = E.evaluate(c, env)
            except (EvaluationError, Undecided, C.Unsupported):
                continue
            if not ok:
                raise CheckError(f"{span}: error: {param.name} = {_value_text(value)} lies outside the domain "
                                 f"of '{param.name}' ({param.domain_text or C.term_to_text(c)})")

    # ---- queries
    def sigs(self, assignment) -> dict[str, C.FunSig]:
        subst = {k: _as_term(v, C.INT) for k, v in self._scalars(assignment).items()}
        out = {}
        for p in self.thm.params:
            if isinstance(p.sort, C.FunSig) and p.name not in self._tables(assignment):
                out[p.name] = C.FunSig(tuple((T.fold(C.substitute(lo, subst)), T.fold(C.substitute(hi, subst)))
                                             for lo, hi in p.sort.domains),
                                       (p.sort.codomain[0],) + tuple(T.fold(C.substitute(c, subst))
                                                                     for c in p.sort.codomain[1:]))
        return out

    def hypotheses(self, inst: Instance) -> list[C.Term]:
        parts = []
        for p in self.thm.params:
            for c in p.constraints:
                parts += [T.definedness(c, {}), c]
        sigs = {p.name: p.sort for p in self.thm.params if isinstance(p.sort, C.FunSig)}
        for _, a in self.assumptions:
            parts += [T.definedness(a, sigs), a]
        return parts + inst.constraints

    def build_query(self, inst: Instance, claim: C.Term, part: str, unroll: bool = True):
        """hypotheses and not defined(claim)  |  hypotheses and defined(claim) and not claim.
        With unroll=False bounded quantifiers stay quantifiers and function parameters stay
        uninterpreted (with their range axioms), as in a symbolic check."""
        subst = {k: _as_term(v, self.thm.param(k).sort) for k, v in self._scalars(inst.assignment).items()}
        sigs_all = {p.name: p.sort for p in self.thm.params if isinstance(p.sort, C.FunSig)}
        defined = T.definedness(claim, sigs_all)
        goal = C.mk("not", defined) if part == "undefined" else C.mk("and", defined, C.mk("not", claim))
        query = C.substitute(C.mk("and", *self.hypotheses(inst), goal), subst)
        for name, table in self._tables(inst.assignment).items():
            points = list(table.values)
            lam = T.table_lambda(self.thm.param(name).sort, points,
                                 [_as_term(table.values[p], C.REAL) for p in points])
            query = C.substitute_function(query, name, lam)
        sigs = self.sigs(inst.assignment)
        if not unroll:
            return T.fold(T.expand_functions(T.fold(query))), sigs, []
        query = self.prepare(query)
        side: list[C.Term] = []
        # Function parameters over numeric domains become one variable per point.
        grounded = {}
        for name, sig in sigs.items():
            bounds_known = all(isinstance(lo, C.Const) and isinstance(hi, C.Const) for lo, hi in sig.domains)
            if not bounds_known:
                continue
            sizes = [max(0, int(hi.value) - int(lo.value) + 1) for lo, hi in sig.domains]
            if math.prod(sizes) > MAX_TABLE:
                continue
            points = list(itertools.product(*[range(int(lo.value), int(hi.value) + 1) for lo, hi in sig.domains]))
            grounded[name] = sig
            for point in points:
                v = C.Var(sig.result_sort, T.ground_name(name, point))
                if sig.codomain[0] == C.INT and len(sig.codomain) == 3:
                    side += [C.mk("le", sig.codomain[1], v), C.mk("le", v, sig.codomain[2])]
        if grounded:
            query = T.fold(T.ground_functions(query, grounded))
        remaining = {k: v for k, v in sigs.items() if k not in grounded}
        return query, remaining, side

    @staticmethod
    def prepare(t: C.Term) -> C.Term:
        t = T.fold(t)
        t = T.unroll(t)
        t = T.expand_functions(t)
        return T.fold(t)

    def solve(self, query: C.Term, sigs, side, label: str, auxiliary: bool = False) -> tuple[z3_backend.Z3Result, object]:
        """Decide a query exactly (exp/ln eliminated) or, failing that, with its transcendental
        terms bounded by facts. An auxiliary query (whose failure only costs a fallback) runs
        under a short timeout."""
        saved = self.query_timeout
        if auxiliary:
            self.query_timeout = AUXILIARY_TIMEOUT
        try:
            try:
                elimination = eliminate(query, C.free_vars(query))
                return self.solve_eliminated(query, elimination, sigs, side, label)
            except C.Unsupported as err:
                if self.check.kind != "symbolic":
                    raise  # a finite check falls back to deciding its values one by one, exactly
                return self.solve_abstracted(query, sigs, side, label, err)
        finally:
            self.query_timeout = saved

    def solve_abstracted(self, query, sigs, side, label, err: C.Unsupported):
        """Where exact elimination fails: bound the terms in the way (cos, sin, b^e, then exp
        and ln too) by true facts and ask again. Only `unsat` is taken from such a query;
        anything else re-raises the elimination's reason."""
        saved = self.query_timeout
        self.query_timeout = min(self.query_timeout or AUXILIARY_TIMEOUT, AUXILIARY_TIMEOUT)
        try:
            return self._solve_abstracted(query, sigs, side, label, err)
        finally:
            self.query_timeout = saved

    def _solve_abstracted(self, query, sigs, side, label, err: C.Unsupported):
        previous = None
        for everything in (False, True):
            formula, facts, count = abstract(query, everything)
            if not count or formula == previous:
                continue
            previous = formula
            formula = C.mk("and", formula, *facts)  # the facts go through the elimination too
            try:
                elimination = eliminate(formula, C.free_vars(formula))
                result, elimination = self.solve_eliminated(formula, elimination, sigs, side,
                                                            f"{label}, {count} terms bounded by facts")
            except C.Unsupported:
                continue
            if result.status == "unsat":
                result.abstracted = count
                return result, elimination
        raise err

    def solve_eliminated(self, query, elimination, sigs, side, label):
        formula = elimination.formula
        all_side = side + elimination.side
        has_ints = any(isinstance(x, C.Var) and x.sort == C.INT for x in C.walk(formula))
        quantifier_free = not any(isinstance(x, (C.Bind, C.FunBind, C.App)) for x in C.walk(formula))
        header = f"{self.thm.id} \"{self.thm.title}\", check {self.check.index + 1} ({self.check.kind}), {label}"
        if has_ints and quantifier_free:
            relaxed = self._decide(formula, all_side, sigs, header + ", integers relaxed to reals", True)
            if relaxed.status == "unsat":
                return relaxed, elimination
            exact = self._decide(formula, all_side, sigs, header, False)
            if exact.status == "unknown" and relaxed.status == "unknown":
                exact.reason = f"{exact.reason}; relaxed to reals: {relaxed.reason}"
            return exact, elimination
        return self._decide(formula, all_side, sigs, header, False), elimination

    def _decide(self, formula, side, sigs, header, relax) -> z3_backend.Z3Result:
        timeout = budget_.remaining(min(self.timeout, self.query_timeout or self.timeout))
        result = z3_backend.decide(formula, side, sigs, timeout, relax_ints=relax, header=header)
        self.query_count += 1
        if self.options.build_dir is not None:
            directory = self.options.build_dir / "smt2" / _safe(self.thm.id)
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"check{self.check.index + 1}-q{self.query_count}{'-relaxed' if relax else ''}.smt2"
            path.write_text(result.smt2 + f"; z3 answer: {result.status}\n")
            self.smt2_paths.append(str(path))
        return result

    # ---- counterexamples
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
        subst = {k: _as_term(v, self.thm.param(k).sort) for k, v in values.items()}
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
        scalars = {k: _value_text(v) for k, v in values.items()}
        tables = {name: {",".join(map(str, k)): _value_text(v) for k, v in t.values.items()}
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

    # ---- one instance
    def run_instance(self, inst: Instance) -> Outcome:
        claim = self.thm.claim
        if any(isinstance(x, C.Limit) for x in C.walk(claim)):
            return self.run_limits(inst)
        witnessed, has_witness = T.apply_witness(
            claim, {p.name: p.sort for p in self.thm.params if isinstance(p.sort, C.FunSig)})
        notes = []
        if has_witness and self._function_points(inst) > QUANTIFIED_FIRST:
            # A large instance: unrolling the quantifiers and grounding the functions grows with
            # the product of the sizes, while the witness often settles the claim with the
            # quantifiers kept, as a symbolic check would. Only "holds" is taken from this query.
            outcome = self.decide(inst, witnessed, "with the witness, quantifiers kept", confirm=False, unroll=False)
            if outcome.status == "holds":
                return Outcome("holds", "z3, with the stated witness, quantifiers kept",
                               basis=outcome.basis | {"witness"})
        if has_witness:
            outcome = self.decide(inst, witnessed, "with the witness", confirm=False)
            if outcome.status == "holds":
                return Outcome("holds", "z3, with the stated witness", basis=outcome.basis | {"witness"})
            notes.append("the witness does not work everywhere" if outcome.status == "fails"
                         else f"the witness query is undecided ({outcome.reason})")
        outcome = self.decide(inst, claim, "claim")
        if outcome.status == "unknown" and notes:
            outcome.reason = "; ".join(notes + [outcome.reason])
        elif outcome.status == "holds" and notes:
            outcome.method += " (after the witness failed)"
        return outcome

    def _function_points(self, inst: Instance) -> int:
        """How many points the instance's unbound function parameters have in all."""
        total = 0
        for sig in self.sigs(inst.assignment).values():
            if all(isinstance(lo, C.Const) and isinstance(hi, C.Const) for lo, hi in sig.domains):
                total += math.prod(max(0, int(hi.value) - int(lo.value) + 1) for lo, hi in sig.domains)
        return total

    def decide(self, inst: Instance, claim: C.Term, label: str, confirm: bool = True,
               unroll: bool = True, parts: tuple[str, ...] = ("undefined", "false")) -> Outcome:
        """Two queries: can the claim be undefined, and can it be false where defined?"""
        basis: set[str] = set()
        method = "simplification"
        for part in parts:
            try:
                query, sigs, side = self.build_query(inst, claim, part, unroll)
            except C.Unsupported as err:
                return Outcome("unknown", "query construction", str(err))
            if query == C.FALSE:
                basis.add("folding")  # the query folded to false: nothing is left to solve
                continue
            outcome = self.decide_query(inst, query, sigs, side, f"{label}, {part}", confirm, part)
            if outcome.status != "holds":
                return outcome
            basis |= outcome.basis
            method = outcome.method
        return Outcome("holds", method, basis=basis)

    def decide_query(self, inst, query, sigs, side, label, confirm, part="false") -> Outcome:
        ground = not C.free_vars(query) and not C.free_functions(query) and not side
        if ground and any(isinstance(x, (C.Bind, C.FunBind)) for x in C.walk(query)):
            # A ground query whose binders were too large to unroll: Z3 may settle the
            # quantifiers at once where evaluating them one value at a time would not end.
            try:
                result, _ = self.solve(query, sigs, side, label, auxiliary=True)
                if result.status == "unsat":
                    return Outcome("holds", "z3", basis={"z3"} | ({"facts"} if result.abstracted else set()))
            except C.Unsupported:
                pass
        if ground:
            try:
                value = E.evaluate(query, E.Env())
            except (EvaluationError, Undecided, C.Unsupported) as err:
                return Outcome("unknown", "exact evaluation", f"cannot evaluate the ground query: {err}")
            if not value:
                return Outcome("holds", "exact evaluation", basis={"evaluator"})
            if not confirm:
                return Outcome("fails", "exact evaluation", basis={"evaluator"})
            # The query no longer mentions the parameters the check leaves free: any values in
            # their domains (and in the check's range) complete the counterexample.
            why = "no completion of the counterexample meets the hypotheses"
            for values in self.completions(inst):
                env = E.Env(dict(values), dict(self._tables(inst.assignment)))
                ok, why = self.confirm(env, inst)
                if ok:
                    cex, text = self.describe(values, env)
                    return Outcome("fails", "exact evaluation", why, cex, text, basis={"evaluator"})
            return Outcome("unknown", "exact evaluation", f"inconsistent evaluation: {why}")
        try:
            result, elimination = self.solve(query, sigs, side, label)
        except C.Unsupported as err:
            # SymPy may decide whether the claim is true, never whether it is defined: the
            # "undefined" query must have been answered by Z3 or the evaluator already.
            if not (self.check.kind == "symbolic" and confirm):
                return Outcome("unknown", "z3", str(err))
            reason, steps = str(err), []
            if part == "false":
                fallback = self.run_sympy(inst)
                if fallback.status in ("holds", "fails"):
                    return fallback
                reason, steps = f"{err}; {fallback.reason}", fallback.steps
            # Undecided by the solvers: a sample point where the claim is false or undefined,
            # confirmed by the exact evaluator, still refutes it.
            sampled = self.sample(inst)
            if sampled.status == "fails":
                return sampled
            return Outcome("unknown", "z3", reason, steps=steps)
        if result.status == "unsat":
            if result.abstracted:
                return Outcome("holds", f"z3, {result.abstracted} transcendental terms bounded by facts",
                               basis={"z3", "facts"})
            return Outcome("holds", "z3", basis={"z3"})
        if result.status == "unknown":
            return Outcome("unknown", "z3", result.reason)
        if not confirm:
            return Outcome("fails", "z3", basis={"z3"})
        try:
            values, env = self.counterexample(inst, result, elimination)
        except (C.Unsupported, EvaluationError, Undecided) as err:
            return Outcome("unknown", "z3", f"cannot read the counterexample: {err}")
        ok, why = self.confirm(env, inst)
        cex, text = self.describe(values, env)
        if not ok and elimination.enclosures:
            # The model may sit at a value of an enclosed constant (e, cos 1, ...) other than
            # the true one: pin the constants to either end of their intervals and try again.
            for upper in (False, True):
                retry = self._decide(elimination.formula, side + elimination.at_corner(upper), sigs,
                                     f"{label}, constants at the {'upper' if upper else 'lower'} ends", False)
                if retry.status != "sat":
                    continue
                try:
                    values2, env2 = self.counterexample(inst, retry, elimination)
                except (C.Unsupported, EvaluationError, Undecided):
                    continue
                ok2, why2 = self.confirm(env2, inst)
                if ok2:
                    cex, text = self.describe(values2, env2)
                    return Outcome("fails", "z3, re-checked by the exact evaluator", why2, cex, text,
                                   basis={"z3", "evaluator"})
        if not ok:
            return Outcome("unknown", "z3", f"the solver's counterexample ({text}) was not confirmed "
                           f"by the exact evaluator: {why}")
        return Outcome("fails", "z3, re-checked by the exact evaluator", why, cex, text, basis={"z3", "evaluator"})

    def run_limits(self, inst: Instance) -> Outcome:
        """A claim with limits: Z3 shows the claim defined wherever each limit has a value
        (a limit is an unconstrained number there), SymPy shows each limit exists (two-sided,
        finite, its body defined near the point) and the claim true."""
        if self.check.kind != "symbolic":
            return Outcome("unknown", "sympy", "limits are decided symbolically only")
        opaque, counter = {}, itertools.count(1)

        def hide(t: C.Term) -> C.Term:
            if isinstance(t, C.Limit):
                if t not in opaque:
                    opaque[t] = C.Var(C.REAL, f"limit#{next(counter)}")
                return opaque[t]
            return C.map_children(t, hide)

        defined = self.decide(inst, hide(self.thm.claim), "claim with its limits as unknowns",
                              confirm=False, parts=("undefined",))
        if defined.status != "holds":
            reason = "the claim may be undefined for some value of its limits" if defined.status == "fails" \
                else defined.reason
            return Outcome("unknown", "z3", f"cannot show the claim defined: {reason}")
        near = frozenset(lim for lim in opaque if self.defined_near(inst, lim))
        outcome = self.run_sympy(inst, sample=False, defined_near=near)
        outcome.basis |= defined.basis | ({"z3"} if near else set())
        return outcome

    def defined_near(self, inst: Instance, lim: C.Limit) -> bool:
        """Whether Z3 shows the limit's body defined, for every parameter value the hypotheses
        allow, on a ray (at +-inf: all values from 2, or from 1000) or on a punctured
        interval around a finite point (of radius 1, or 1/1000). Otherwise SymPy must show it
        from one-sided limits (sympy_backend)."""
        var = lim.var
        sigs_all = {p.name: p.sort for p in self.thm.params if isinstance(p.sort, C.FunSig)}
        condition = T.definedness(lim.body, sigs_all)
        if condition == C.TRUE:
            return True
        if isinstance(lim.point, str):
            sign = 1 if lim.point == "inf" else -1
            regions = [C.mk("le", C.num(k), C.mk("mul", C.num(sign), var)) for k in (2, 1000)]
        else:
            a = C.num(lim.point)
            regions = [C.mk("and", C.mk("lt", C.mk("add", a, C.num(-r)), var), C.mk("lt", var, C.mk("add", a, C.num(r))),
                            C.mk("not", C.mk("eq", var, a))) for r in (Fraction(1), Fraction(1, 1000))]
        subst = {k: _as_term(v, self.thm.param(k).sort) for k, v in self._scalars(inst.assignment).items()}
        for region in regions:
            query = C.substitute(C.mk("and", *self.hypotheses(inst), region, C.mk("not", condition)), subst)
            try:
                result, _ = self.solve(self.prepare(query), self.sigs(inst.assignment), [],
                                       f"the body of {C.term_to_text(lim)} near its point", auxiliary=True)
            except C.Unsupported:
                continue
            if result.status == "unsat":
                return True
        return False

    def run_sympy(self, inst: Instance, sample: bool = True, defined_near: frozenset = frozenset()) -> Outcome:
        """SymPy on the claim; a proof is then tried at sample points by the exact evaluator,
        which confirms it there or finds a counterexample that refutes it."""
        if self.check.kind != "symbolic":
            return Outcome("unknown", "sympy", "SymPy decides symbolic checks only")
        samples = _samples(self.thm)
        result = sympy_prove(self.thm.claim, self.thm.params, samples, defined_near)
        if result.status == "proved":
            if not sample:
                return Outcome("holds", "sympy", steps=result.steps, basis={"sympy"})
            sampled = self.sample(inst)
            if sampled.status == "fails":
                sampled.reason += " (SymPy's proof was wrong here)"
                return sampled
            if sampled.reason.startswith("0 "):
                return Outcome("holds", "sympy (the exact evaluator could not confirm it at any sample point)",
                               steps=result.steps, basis={"sympy"})
            return Outcome("holds", f"sympy, confirmed by the exact evaluator at {sampled.reason}",
                           steps=result.steps, basis={"sympy", "sampling"})
        reason = result.reason
        if result.status == "refuted":
            sampled = self.sample(inst)
            if sampled.status == "fails":
                return sampled
            reason = (f"SymPy finds it false ({result.reason}), but no sample point confirms it, "
                      "so no counterexample is claimed")
        return Outcome("unknown", "sympy", reason, steps=result.steps)

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
        yield from _sample_points(self.thm, fixed)

    def sample(self, inst: Instance) -> Outcome:
        """The claim at points of the domain (bounds, small integers, fractions, far values)
        that satisfy the hypotheses: `fails` with a confirmed counterexample, else `holds`
        with the number of points where it held (in `reason`)."""
        held = 0
        tables = self._tables(inst.assignment)
        if any(isinstance(p.sort, C.FunSig) and p.name not in tables for p in self.thm.params):
            return Outcome("holds", "sampling", "0 sample points (a function parameter has no value)")
        for values in _sample_points(self.thm, self._scalars(inst.assignment)):
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


def _point_text(point: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, point)) + ")"


def _convex(param, name: str) -> bool:
    """Whether the parameter's domain is an interval: every constraint bounds the variable on
    one side by a term free of it. Then a range lies inside the domain when both ends do."""
    for c in param.constraints:
        if not (isinstance(c, C.Op) and c.op in ("le", "lt", "ge", "gt") and len(c.args) == 2):
            return False
        a, b = c.args
        var_a = isinstance(a, C.Var) and a.name == name
        var_b = isinstance(b, C.Var) and b.name == name
        other = b if var_a else a
        if var_a == var_b or name in C.free_vars(other):
            return False
    return True


def _default_value(sig: C.FunSig, subst: dict):
    if sig.codomain[0] == C.BOOL:
        return False
    if sig.codomain[0] == C.INT and len(sig.codomain) == 3:
        return E.evaluate(C.substitute(sig.codomain[1], subst), E.Env())
    return Fraction(0)


def _samples(thm: CoreTheorem) -> list[dict[str, Fraction]]:
    """A few points inside the parameters' interval domains, for cross-checks."""
    choices = {}
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


def _sample_points(thm: CoreTheorem, fixed: dict) -> list[dict]:
    """Deterministic points for confirming a SymPy proof: for each free scalar parameter its
    constant domain bounds and values just inside them, integers around 0, simple fractions
    and far values, combined by a fixed stride, plus seeded random rationals."""
    import random
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


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def _run_instances(runner: CheckRunner, instances: list[Instance], result: CheckResult, basis: set[str]):
    methods, unknown_reasons, steps = [], [], []
    status = "holds"
    for inst in instances:
        budget_.tick()
        try:
            outcome = runner.run_instance(inst)
        except RecursionError:
            # a formula nested too deeply for the passes (a huge instance): undecided, never a crash
            outcome = Outcome("unknown", "query construction", "the instance's formula is nested too deeply "
                              "to build; try a smaller range or a witness")
        steps += outcome.steps
        if outcome.status in ("holds", "fails"):
            basis |= outcome.basis
        if outcome.method and outcome.method not in methods:
            methods.append(outcome.method)
        if outcome.status == "fails":
            status = "fails"
            result.counterexample = outcome.counterexample
            result.counterexample_text = outcome.counterexample_text
            result.reason = outcome.reason
            break
        if outcome.status == "unknown":
            status = "unknown"
            where = ", ".join(f"{k} = {_value_text(v)}" for k, v in inst.assignment.items()
                              if not isinstance(v, E.Table))
            unknown_reasons.append(f"{where + ': ' if where else ''}{outcome.reason}")
            break
    return status, methods, unknown_reasons, steps


def run_check(theorem: CoreTheorem, check: CoreCheck, options: Options) -> CheckResult:
    """Decide one check within its budget of wall time and memory (`Options.budget`,
    `Options.memory_mb`): past either, and for any value too large to build, the verdict is
    unknown with the reason."""
    started = time.perf_counter()
    result = CheckResult(
        id=theorem.id, title=theorem.title, source=str(check.span), refs=list(theorem.refs),
        check=check.kind, check_index=check.index, expected=check.expect, status=Status.UNKNOWN.value)
    runner = CheckRunner(theorem, check, options)
    try:
        with budget_.running(budget_.Budget(options.budget, options.memory_mb)), budget_.alarm(options.budget):
            _decide_check(runner, theorem, check, options, result)
    except (budget_.BudgetExceeded, MemoryError, RecursionError) as err:
        reason = str(err) if isinstance(err, budget_.BudgetExceeded) else (
            f"the check ran out of memory" if isinstance(err, MemoryError) else
            "a formula is nested too deeply to build")
        result.status, result.reason, result.methods = Status.UNKNOWN.value, reason, []
        result.counterexample, result.counterexample_text = None, ""
    result.smt2 = runner.smt2_paths
    result.seconds = time.perf_counter() - started
    if result.counterexample is not None and options.build_dir is not None:
        directory = options.build_dir / "counterexamples"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{_safe(theorem.id)}-check{check.index + 1}.json"
        path.write_text(json.dumps({"id": theorem.id, "title": theorem.title, "source": result.source,
                                    "counterexample": result.counterexample,
                                    "text": result.counterexample_text,
                                    "confirmed_by": "exact evaluator", "why": result.reason}, indent=2))
        result.counterexample["file"] = str(path)
    return result


def _decide_check(runner: CheckRunner, theorem: CoreTheorem, check: CoreCheck, options: Options,
                  result: CheckResult) -> None:
    try:
        instances, range_text = runner.instances()
    except (CheckError, EvaluationError, Undecided) as err:
        result.status, result.reason = Status.ERROR.value, str(err)
        return
    result.range = range_text
    result.instances = sum(i.count for i in instances)
    if not instances:
        result.status = Status.ERROR.value
        result.reason = f"{check.span}: error: the check has no instances (every range is empty)"
        return
    basis: set[str] = set()
    status, methods, unknown_reasons, steps = _run_instances(runner, instances, result, basis)
    if status == "unknown" and check.kind == "finite" and len(instances) < result.instances <= ENUMERATION_LIMIT:
        # One query over a whole range could not be decided (e.g. cos, or exp of a constant):
        # decide the values one by one instead, where each becomes a ground evaluation.
        enumerated, _ = runner.instances(enumerate_all=True)
        basis2: set[str] = set()
        status2, methods2, unknown2, steps2 = _run_instances(runner, enumerated, result, basis2)
        if status2 != "unknown":
            status, methods, unknown_reasons, steps, basis = status2, methods2, unknown2, steps2, basis2
            methods.append(f"each of the {result.instances} values separately")
    if status == "fails":
        result.status = Status.REFUTED.value
    elif status == "unknown":
        result.status = Status.UNKNOWN.value
        result.reason = "; ".join(unknown_reasons)
    else:
        result.status = (Status.PROVED if check.kind == "symbolic" else Status.VERIFIED).value
    result.method = "; ".join(methods)
    result.methods = sorted(basis) if status != "unknown" else []
    result.steps = steps
