"""Decide one check of one theorem: the strategy that runs the backends and judges the evidence.

A claim is proved by refuting its negation: the query is
    domains  and  assumptions  and  (claim undefined  or  not claim)
and `unsat` means the claim holds (and is defined) wherever the hypotheses hold. `sat`
yields a model, which becomes a counterexample only after the exact evaluator confirms
it on the original statement. A solver `unknown`, a timeout or an unsupported construct
gives `unknown` with the reason, never `proved`. The runner's other jobs live in their own
modules: `instances.py` (what a check ranges over), `queries.py` (building and solving) and
`counterexamples.py` (reading back and confirming).
"""
from __future__ import annotations

import itertools
import json
import math
import time
from fractions import Fraction

from checker.decide import bounds, boxes
from checker.decide import budget as budget_
from checker.decide import evaluator as E
from checker.decide import transform as T
from checker.decide.counterexamples import Counterexamples, samples_for_limits
from checker.decide.eliminate import eliminate
from checker.decide.instances import Instances
from checker.decide.outcome import DEFAULT_TIMEOUT, CheckError, Instance, Options, Outcome, as_term, value_text  # noqa: F401
from checker.decide.queries import GROUND_FALSE, Queries, safe_name
from checker.decide.sympy_backend import prove as sympy_prove
from checker.errors import Diagnostic, EvaluationError, Undecided
from checker.language import core as C
from checker.language.elaborate import CoreCheck, CoreTheorem
from checker.verdict import CheckResult, Status

BOX_SECONDS = 8.0           # interval bisection's share of a check (at most the budget left)
BOUNDS_SECONDS = (1.0, 1.5, 2.0)   # Z3's time on the query with polynomial bounds, per level
BOUNDS_TOTAL = 4.0                 # and in all, before interval bisection takes over
QUANTIFIED_FIRST = 1_000   # function points above which a witness is first tried with quantifiers kept
ENUMERATION_LIMIT = 20_000  # values of a finite check tried one by one when one query fails


class CheckRunner(Instances, Queries, Counterexamples):
    """Decides one check: expands its instances and decides each, in the order that settles
    it soonest (a witness first, then the claim; Z3, then facts, then SymPy and sampling)."""

    def __init__(self, theorem: CoreTheorem, check: CoreCheck, options: Options):
        self.thm = theorem
        self.check = check
        self.options = options
        self.timeout = check.timeout or options.timeout
        self.query_timeout: float | None = None  # a shorter limit for auxiliary queries, when set
        self.smt2_paths: list[str] = []
        self.query_count = 0
        self.assumptions = [(label, a) for label, a, _ in theorem.assumptions if label not in options.drop]
        self.function_sigs = {p.name: p.sort for p in theorem.params if isinstance(p.sort, C.FunSig)}
        self._hypotheses, self._defined, self._unrolled = None, {}, {}
        self._ground_env, self._ground_off = None, False

    def run_instance(self, inst: Instance) -> Outcome:
        claim = self.thm.claim
        if any(isinstance(x, C.Limit) for x in C.walk(claim)):
            return self.run_limits(inst)
        witnessed, has_witness = T.apply_witness(
            claim, self.function_sigs)
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
            bounds = [(lo, hi) for lo, hi in sig.domains if isinstance(lo, C.Const) and isinstance(hi, C.Const)]
            if len(bounds) == len(sig.domains):
                total += math.prod(max(0, int(hi.value) - int(lo.value) + 1) for lo, hi in bounds)
        return total

    def decide(self, inst: Instance, claim: C.Term, label: str, confirm: bool = True,
               unroll: bool = True, parts: tuple[str, ...] = ("undefined", "false")) -> Outcome:
        """Two queries: can the claim be undefined, and can it be false where defined?"""
        basis: set[str] = set()
        method = "simplification"
        steps: list[str] = []
        for part in parts:
            try:
                query, sigs, side = self.build_query(inst, claim, part, unroll)
            except C.Unsupported as err:
                return Outcome("unknown", "query construction", str(err))
            if query is GROUND_FALSE:
                # the exact evaluator found the query false at the instance's values
                basis.add("evaluator")
                method = "exact evaluation"
                continue
            if query == C.FALSE:
                basis.add("folding")  # the query folded to false: nothing is left to solve
                continue
            outcome = self.decide_query(inst, query, sigs, side, f"{label}, {part}", confirm, part)
            if outcome.status != "holds":
                return outcome
            basis |= outcome.basis
            method = outcome.method
            steps += outcome.steps
        return Outcome("holds", method, basis=basis, steps=steps)

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
            bounded = self.decide_bounds(inst, query, sigs, side, label)
            if bounded is not None:
                return bounded
            boxed = self.decide_boxes(inst, query, side)
            if boxed is not None:
                return boxed
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
            boxed = (self.decide_bounds(inst, query, sigs, side, label) or self.decide_boxes(inst, query, side)) \
                if confirm else None
            return boxed or Outcome("unknown", "z3", result.reason)
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

    def decide_bounds(self, inst: Instance, query: C.Term, sigs, side: list, label: str) -> Outcome | None:
        """A symbolic check's query with exp, ln, sin, cos replaced by variables between
        polynomial bounds (`bounds.py`), at rising levels: `holds` when Z3 finds a bounded
        query unsatisfiable; `fails` when a model's point is confirmed by the exact evaluator
        on the original statement (any other model refutes nothing); None otherwise."""
        if self.check.kind != "symbolic" or C.free_functions(query):
            return None
        saved = self.query_timeout
        stop = time.monotonic() + BOUNDS_TOTAL
        try:
            for level, seconds in zip(bounds.LEVELS, BOUNDS_SECONDS):
                if level > 2 and len(C.free_vars(query)) > 1:
                    break   # the highest degrees are for one variable: nlsat may overrun its limit on more
                if time.monotonic() + seconds > stop:
                    break
                bounded = bounds.bounded(query, level)
                if bounded is None:
                    return None
                self.query_timeout = seconds
                try:
                    elimination = eliminate(bounded.formula, C.free_vars(bounded.formula))
                    result, _ = self.solve_eliminated(bounded.formula, elimination, sigs, side,
                                                      f"{label}, polynomial bounds (level {level})")
                except C.Unsupported:
                    return None
                if result.status == "unsat":
                    return Outcome("holds", f"z3, with polynomial bounds of level {level}",
                                   steps=[bounded.step(level)], basis={"z3", "bounds"})
                if result.status == "sat":
                    try:
                        values, env = self.counterexample(inst, result, elimination)
                        ok, why = self.confirm(env, inst)
                    except (C.Unsupported, EvaluationError, Undecided):
                        continue
                    if ok:
                        cex, text = self.describe(values, env)
                        return Outcome("fails", "z3 on polynomial bounds, re-checked by the exact evaluator", why,
                                       cex, text, basis={"z3", "evaluator"})
        finally:
            self.query_timeout = saved
        return None

    def decide_boxes(self, inst: Instance, query: C.Term, side: list) -> Outcome | None:
        """Interval bisection (`boxes.py`) on a symbolic check's query that Z3 could not decide:
        `holds` when every box is closed, `fails` when a point it proposes is confirmed by the
        exact evaluator on the original statement; None otherwise."""
        if self.check.kind != "symbolic" or side or C.free_functions(query):
            return None
        try:
            result = boxes.decide(query, budget_.remaining(BOX_SECONDS))
        except C.Unsupported:
            return None
        if result.status == "unsat":
            return Outcome("holds", "interval bisection", steps=[result.step()], basis={"boxes"})
        if result.status == "sat" and result.point is not None:
            values: dict[str, object] = dict(result.point)
            env = E.Env(dict(values), dict(self._tables(inst.assignment)))
            ok, why = self.confirm(env, inst)
            if ok:
                cex, text = self.describe(values, env)
                return Outcome("fails", "interval bisection, re-checked by the exact evaluator", why, cex, text,
                               steps=[result.step()], basis={"boxes", "evaluator"})
        return None

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
        condition = T.definedness(lim.body, self.function_sigs)
        if condition == C.TRUE:
            return True
        if isinstance(lim.point, str):
            sign = 1 if lim.point == "inf" else -1
            regions = [C.mk("le", C.num(k), C.mk("mul", C.num(sign), var)) for k in (2, 1000)]
        else:
            a = C.num(lim.point)
            regions = [C.mk("and", C.mk("lt", C.mk("add", a, C.num(-r)), var),
                            C.mk("lt", var, C.mk("add", a, C.num(r))),
                            C.mk("not", C.mk("eq", var, a))) for r in (Fraction(1), Fraction(1, 1000))]
        subst = {k: as_term(v, self._scalar_sort(k)) for k, v in self._scalars(inst.assignment).items()}
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
        samples = samples_for_limits(self.thm)
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
            where = ", ".join(f"{k} = {value_text(v)}" for k, v in inst.assignment.items()
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
        check=check.kind, check_index=check.index, expected=Status(check.expect), status=Status.UNKNOWN)
    runner = CheckRunner(theorem, check, options)
    try:
        with budget_.running(budget_.Budget(options.budget, options.memory_mb)), budget_.alarm(options.budget):
            _decide_check(runner, theorem, check, options, result)
    except (budget_.BudgetExceeded, MemoryError, RecursionError) as err:
        reason = str(err) if isinstance(err, budget_.BudgetExceeded) else (
            "the check ran out of memory" if isinstance(err, MemoryError) else
            "a formula is nested too deeply to build")
        result.status, result.reason, result.methods = Status.UNKNOWN, reason, []
        result.counterexample, result.counterexample_text = None, ""
    result.smt2 = runner.smt2_paths
    result.seconds = time.perf_counter() - started
    if result.counterexample is not None and options.build_dir is not None:
        directory = options.build_dir / "counterexamples"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{safe_name(theorem.id)}-check{check.index + 1}.json"
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
        if not instances:
            raise CheckError(check.span, "the check has no instances (every range is empty)")
    except CheckError as err:
        result.status, result.reason = Status.ERROR, err.diagnostic.message
        result.diagnostic = err.diagnostic.to_json()
        return
    except (EvaluationError, Undecided) as err:
        result.status, result.reason = Status.ERROR, str(err)
        result.diagnostic = Diagnostic(check.span, str(err)).to_json()
        return
    result.range = range_text
    result.instances = sum(i.count for i in instances)
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
        result.status = Status.REFUTED
    elif status == "unknown":
        result.status = Status.UNKNOWN
        result.reason = "; ".join(unknown_reasons)
    else:
        result.status = Status.PROVED if check.kind == "symbolic" else Status.VERIFIED
    result.method = "; ".join(methods)
    result.methods = sorted(basis) if status != "unknown" else []
    result.steps = steps
