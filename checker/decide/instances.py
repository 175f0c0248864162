"""The instances of a check: which parameter values a finite check ranges over.

A symbolic check has one instance (all parameter values). A finite check's bindings are
validated against the parameters' domains and expanded: bindings that fix sizes (bounds of
ranges, sums, function domains) are enumerated value by value, the others stay constraints
decided in one query. Function parameters bound to tables are checked point by point
against their domains and codomains. Every size is checked before it is built.
"""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

from checker.decide import budget as budget_
from checker.decide import evaluator as E
from checker.decide import transform as T
from checker.decide.outcome import CheckError, Instance, Options, as_term, value_text
from checker.errors import EvaluationError, Undecided
from checker.language import core as C
from checker.language.elaborate import CoreCheck, CoreTheorem

MAX_TABLE = 10_000


class RunnerState:
    """What a check's runner holds (set by `engine.CheckRunner.__init__`) and the views of an
    instance's assignment that its parts (instances, queries, counterexamples) share."""

    thm: CoreTheorem
    check: CoreCheck
    options: Options
    timeout: float
    query_timeout: float | None
    smt2_paths: list[str]
    query_count: int
    assumptions: list[tuple[str, C.Term]]
    function_sigs: dict[str, C.FunSig]    # the theorem's function parameters and their signatures
    # what a check's queries share (queries.py): hypotheses and definedness built once, unrolled
    # subterms, the environment and memo of the instance being evaluated, and whether the
    # evaluator gave up on this check
    _hypotheses: list[C.Term] | None
    _defined: dict[C.Term, C.Term]
    _unrolled: dict[C.Term, C.Term]
    _ground_env: tuple | None
    _ground_off: bool

    @staticmethod
    def _scalars(assignment) -> dict:
        return {k: v for k, v in assignment.items() if not isinstance(v, E.Table)}

    @staticmethod
    def _tables(assignment) -> dict:
        return {k: v for k, v in assignment.items() if isinstance(v, E.Table)}

    def _scalar_sort(self, name: str) -> str:
        sort = self.thm.param(name).sort
        assert isinstance(sort, str), name  # a scalar parameter, not a function
        return sort

    def sigs(self, assignment) -> dict[str, C.FunSig]:
        subst = {k: as_term(v, C.INT) for k, v in self._scalars(assignment).items()}
        out = {}
        for p in self.thm.params:
            if isinstance(p.sort, C.FunSig) and p.name not in self._tables(assignment):
                out[p.name] = C.FunSig(tuple((T.fold(C.substitute(lo, subst)), T.fold(C.substitute(hi, subst)))
                                             for lo, hi in p.sort.domains),
                                       (p.sort.codomain[0],) + tuple(T.fold(C.substitute(c, subst))
                                                                     for c in p.sort.codomain[1:]))
        return out


class Instances(RunnerState):
    """The part of a check's runner that expands its instances (see `engine.CheckRunner`)."""

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
                raise CheckError(span, f"the range of '{name}' needs integer bounds")
            if lo > hi:
                return
            # Every value of a range is checked against the domain, not just its ends, unless
            # the domain is convex (an interval): a set domain such as {1, 2, 4} has holes.
            ends = [Fraction(int(lo)), Fraction(int(hi))]
            convex = convex_domain(param, name)
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
                    raise CheckError(span, f"{name} = {value_text(value)} is not an integer, "
                                     f"but '{name}' is an int parameter")
                self._check_domain(param, value, assignment, span)
        if name in structural or kind == "value":  # a single value is simply substituted
            for value in choices:
                assignment[name] = value
                self._expand(i + 1, assignment, constraints, count, structural, out)
            del assignment[name]
            return
        var = C.Var(param.sort, name)
        constraint = C.mk("or", *[C.mk("eq", var, as_term(v, param.sort)) for v in choices])
        self._expand(i + 1, assignment, constraints + [constraint], count * len(choices), structural, out)

    def _table(self, param, entries, assignment, span) -> E.Table:
        """A function parameter bound point by point; every point once, values in range."""
        sig = self.sigs(assignment)[param.name]
        domains = []
        for lo, hi in sig.domains:
            if not (isinstance(lo, C.Const) and isinstance(hi, C.Const)):
                raise CheckError(span, f"bind the sizes of '{param.name}' before its table")
            domains.append((int(lo.value), int(hi.value)))
        if sig.codomain[0] == C.INT and len(sig.codomain) == 3 \
                and not all(isinstance(c, C.Const) for c in sig.codomain[1:]):
            raise CheckError(span, f"bind the bounds of the codomain of '{param.name}' before its table")
        budget_.require_size(f"the domain of '{param.name}'",
                             math.prod(max(0, hi - lo + 1) for lo, hi in domains), MAX_TABLE)
        values = {}
        for args, value in entries:
            point = tuple(int(self._binding_value(a, assignment, span)) for a in args)
            if point in values:
                raise CheckError(span, f"the table of '{param.name}' gives {point} twice")
            if not all(lo <= a <= hi for a, (lo, hi) in zip(point, domains)):
                raise CheckError(span, f"{point} lies outside the domain of '{param.name}'")
            values[point] = self._binding_value(value, assignment, span) \
                if value.sort != C.BOOL else self._truth_value(value, assignment, span)
            if sig.codomain[0] == C.INT:
                v = values[point]
                if not (isinstance(v, Fraction) and v.denominator == 1):
                    raise CheckError(span, f"{param.name}{_point_text(point)} = {value_text(v)} is not an "
                                     f"integer, but '{param.name}' returns integers")
                if len(sig.codomain) == 3:
                    c_lo, c_hi = int(sig.codomain[1].value), int(sig.codomain[2].value)
                    if not c_lo <= v <= c_hi:
                        raise CheckError(span, f"{param.name}{_point_text(point)} = {value_text(v)} "
                                         f"is outside [{c_lo}..{c_hi}]")
        points = list(itertools.product(*[range(lo, hi + 1) for lo, hi in domains]))
        missing = [p for p in points if p not in values]
        if missing:
            raise CheckError(span, f"the table of '{param.name}' has no value at {missing[0]}"
                             f"{f' and {len(missing) - 1} more points' if len(missing) > 1 else ''}")
        return E.Table(tuple(domains), values)

    def _truth_value(self, term: C.Term, assignment, span) -> bool:
        try:
            return bool(E.evaluate(term, E.Env(self._scalars(assignment))))
        except (EvaluationError, Undecided, C.Unsupported) as err:
            raise CheckError(span, f"cannot evaluate the table value {C.term_to_text(term)}: {err}") from None

    def _binding_value(self, term: C.Term, assignment, span):
        term = C.substitute(term, {k: as_term(v, C.REAL) for k, v in self._scalars(assignment).items()})
        try:
            value = E.evaluate(term, E.Env())
        except (EvaluationError, Undecided, C.Unsupported) as err:
            raise CheckError(span, f"cannot evaluate the binding value {C.term_to_text(term)}: {err}") from None
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
                raise CheckError(span, f"{param.name} = {value_text(value)} lies outside the domain "
                                 f"of '{param.name}' ({param.domain_text or C.term_to_text(c)})")


def _point_text(point: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, point)) + ")"


def convex_domain(param, name: str) -> bool:
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
