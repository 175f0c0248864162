"""Queries: the formula whose unsatisfiability proves a claim, and its solving.

The query is `domains and assumptions and (claim undefined or not claim)`, with the
instance's bindings substituted, its finite quantifiers unrolled, and function parameters
over known domains grounded into one variable per point. It is solved by Z3 after exact
exp/ln elimination or, failing that, with transcendental terms bounded by facts
(`abstract.py`, `unsat` only). Every query is written out as SMT-LIB with Z3's answer.
"""
from __future__ import annotations

import itertools
import math

from checker.decide import budget as budget_
from checker.decide import evaluator as E
from checker.decide import transform as T
from checker.decide import z3_backend
from checker.decide.abstract import abstract
from checker.decide.eliminate import Elimination, eliminate
from checker.decide.instances import MAX_TABLE, RunnerState
from checker.decide.outcome import Instance, as_term
from checker.errors import EvaluationError, Undecided
from checker.language import core as C

AUXILIARY_TIMEOUT = 2.0     # seconds for a query whose failure only costs a fallback
UNROLL_MEMO = 200_000       # unrolled subterms a check keeps between its queries
GROUND_EVALUATION_S = 5.0   # seconds to evaluate a ground query before unrolling it instead


# The answers of a query the evaluator decided at the instance's values (`build_query`): told
# apart by identity from a query that folding reduced to false or true.
GROUND_FALSE = C.Const(C.BOOL, False)
GROUND_TRUE = C.Const(C.BOOL, True)


class Queries(RunnerState):
    """The part of a check's runner that builds and solves queries (see `engine.CheckRunner`)."""

    def hypotheses(self, inst: Instance) -> list[C.Term]:
        if self._hypotheses is None:  # the same for every instance of the check: built once
            fixed = []
            for p in self.thm.params:
                for c in p.constraints:
                    fixed += [T.definedness(c, {}), c]
            for _, a in self.assumptions:
                fixed += [T.definedness(a, self.function_sigs), a]
            self._hypotheses = fixed
        return self._hypotheses + inst.constraints

    def _definedness(self, claim: C.Term) -> C.Term:
        """definedness(claim), once per claim of the check (each instance and part asks again)."""
        if claim not in self._defined:
            self._defined[claim] = T.definedness(claim, self.function_sigs)
        return self._defined[claim]

    def build_query(self, inst: Instance, claim: C.Term, part: str, unroll: bool = True):
        """hypotheses and not defined(claim)  |  hypotheses and defined(claim) and not claim.
        With unroll=False bounded quantifiers stay quantifiers and function parameters stay
        uninterpreted (with their range axioms), as in a symbolic check."""
        scalars, tables = self._scalars(inst.assignment), self._tables(inst.assignment)
        defined = self._definedness(claim)
        goal = C.mk("not", defined) if part == "undefined" else C.mk("and", defined, C.mk("not", claim))
        raw = C.mk("and", *self.hypotheses(inst), goal)
        sigs = self.sigs(inst.assignment)
        if unroll and not sigs and not isinstance(raw, C.Const) and not self._ground_off \
                and C.free_vars(raw) <= scalars.keys() and C.free_functions(raw) <= tables.keys():
            # Every parameter has its value: the exact evaluator reads the query with its sums and
            # quantifiers as they stand and the values in its environment (the same formula, so
            # the same answer), where substituting them and unrolling the sums first costs more
            # than the evaluation (a sum of m partial sums is m^2 terms). Not with function
            # parameters left free: a counterexample must give them values, which the solver's
            # model does and a ground evaluation does not. The two queries of an instance
            # (undefined, false) share the hypotheses and the definedness condition: one
            # environment and one memo of subterm values serve both.
            if self._ground_env is None or self._ground_env[0] is not inst:
                self._ground_env = (inst, E.Env(dict(scalars), dict(tables)), {})
            value = self.ground_value(raw, self._ground_env[1], self._ground_env[2])
            if value is not None:
                return (GROUND_TRUE if value else GROUND_FALSE), {}, []
        subst = {k: as_term(v, self._scalar_sort(k)) for k, v in scalars.items()}
        query = C.substitute(raw, subst)
        for name, table in tables.items():
            points = list(table.values)
            sig = self.thm.param(name).sort
            assert isinstance(sig, C.FunSig), name  # only function parameters are bound to tables
            lam = T.table_lambda(sig, points,
                                 [as_term(table.values[p], C.REAL) for p in points])
            query = C.substitute_function(query, name, lam)
        if not unroll:
            return T.fold(T.expand_functions(T.fold(query))), sigs, []
        query = self.prepare(query)
        side: list[C.Term] = []
        # Function parameters over numeric domains become one variable per point.
        grounded = {}
        for name, sig in sigs.items():
            bounds = [(lo, hi) for lo, hi in sig.domains if isinstance(lo, C.Const) and isinstance(hi, C.Const)]
            if len(bounds) != len(sig.domains):  # not every bound is known
                continue
            sizes = [max(0, int(hi.value) - int(lo.value) + 1) for lo, hi in bounds]
            if math.prod(sizes) > MAX_TABLE:
                continue
            points = list(itertools.product(*[range(int(lo.value), int(hi.value) + 1) for lo, hi in bounds]))
            grounded[name] = sig
            for point in points:
                v = C.Var(sig.result_sort, T.ground_name(name, point))
                if sig.codomain[0] == C.INT and len(sig.codomain) == 3:
                    side += [C.mk("le", sig.codomain[1], v), C.mk("le", v, sig.codomain[2])]
        if grounded:
            query = T.fold(T.ground_functions(query, grounded))
        remaining = {k: v for k, v in sigs.items() if k not in grounded}
        return query, remaining, side

    def ground_value(self, query: C.Term, env: E.Env, memos: dict):
        """The exact value of a query whose every variable has its value in `env`, or None where
        the evaluator cannot give it within GROUND_EVALUATION_S (the caller then goes the way of
        any other query)."""
        try:
            with budget_.within(GROUND_EVALUATION_S):
                return bool(E.evaluate(query, env, memos=memos))
        except budget_.BudgetExceeded:
            # The instances of a check are alike: one that cannot be evaluated in time makes the
            # rest of the check go the other way at once, rather than spend the limit on each
            self._ground_off = True
        except (EvaluationError, Undecided, C.Unsupported, RecursionError):
            pass
        self._ground_env = None  # its memo may be large: not kept for the other way
        return None

    def prepare(self, t: C.Term) -> C.Term:
        t = T.fold(t)
        if len(self._unrolled) > UNROLL_MEMO:
            self._unrolled.clear()  # many instances: keep memory bounded, at the price of unrolling again
        t = T.unroll(t, memo=self._unrolled)
        t = T.expand_functions(t)
        return T.fold(t)

    def solve(self, query: C.Term, sigs, side, label: str,
              auxiliary: bool = False) -> tuple[z3_backend.Z3Result, Elimination]:
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
            directory = self.options.build_dir / "smt2" / safe_name(self.thm.id)
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"check{self.check.index + 1}-q{self.query_count}{'-relaxed' if relax else ''}.smt2"
            path.write_text(result.smt2 + f"; z3 answer: {result.status}\n")
            self.smt2_paths.append(str(path))
        return result


def safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)
