"""Why a surviving mutant deserves its verdict: the checker decides the relation between the
original and the mutant (equivalent, a weakening of a true statement, a strengthening of a
false one), or SymPy shows the limits and sums they differ in to be equal."""
from __future__ import annotations

from dataclasses import fields, replace

from checker.analyses import tightness as T
from checker.api import load_text
from checker.decide.engine import Options, run_check
from checker.errors import SourceError
from checker.language import syntax as S
from checker.language.printer import theorem_to_source


def _statuses(text: str, options: Options) -> list[str]:
    (core,) = load_text(text, "<mutant>")
    return [run_check(core, check, options).status for check in core.checks]


def _inline(e: S.Expr, lets: dict) -> S.Expr:
    """Replace let names (and macro calls) by their bodies."""
    if isinstance(e, S.Name) and e.id in lets and not lets[e.id].formals:
        return _inline(lets[e.id].body, lets)
    if isinstance(e, S.Call) and e.fn in lets and lets[e.fn].formals:
        let = lets[e.fn]
        args = [_inline(a, lets) for a in e.args]
        sub = dict(zip(let.formals, args))
        return _inline(_subst(let.body, sub), lets)
    return _map_subexpressions(e, lambda x: _inline(x, lets))


def _subst(e: S.Expr, sub: dict) -> S.Expr:
    if isinstance(e, S.Name) and e.id in sub:
        return sub[e.id]
    return _map_subexpressions(e, lambda x: _subst(x, sub))


def _map_subexpressions(e: S.Expr, f) -> S.Expr:
    """Rebuild `e` with `f` applied to each direct sub-expression (spans untouched)."""
    changes = {}
    for field_ in fields(e):
        if field_.name == "span":
            continue
        value = getattr(e, field_.name)
        if isinstance(value, S.Expr):
            changes[field_.name] = f(value)
        elif isinstance(value, tuple) and value and all(isinstance(v, S.Expr) for v in value):
            changes[field_.name] = tuple(f(v) for v in value)
    return replace(e, **changes) if changes else e


def _conj(exprs) -> S.Expr:
    exprs = list(exprs)
    if not exprs:
        return S.BoolLit(True)
    out = exprs[0]
    for e in exprs[1:]:
        out = S.Binary("and", out, e)
    return out


def _statement(thm: S.Theorem, with_assumptions: bool) -> S.Expr:
    lets = {l.name: l for l in thm.lets}
    claim = _inline(_conj(c.expr for c in thm.claims), lets)
    if with_assumptions and thm.assumptions:
        return S.Binary("=>", _inline(_conj(a.expr for a in thm.assumptions), lets), claim)
    return claim


def _relation_theorem(orig: S.Theorem, claim: S.Expr, keep_assumptions: bool, checks=None) -> str:
    """The original theorem with `claim` as its only claim (and its assumptions when kept), on the
    original's checks, or on those whose indices are in `checks`.

    `exists f : T : A <=> exists f : T : B` with the same f and T follows from `A <=> B` for every
    f: the relation is then stated with f as a parameter of the theorem, which the checker
    decides where it could not decide a quantifier over functions on both sides of `<=>`."""
    extra: tuple = ()
    while (isinstance(claim, S.Binary) and claim.op == "<=>" and isinstance(claim.left, S.FunQuant)
           and isinstance(claim.right, S.FunQuant) and claim.left.kind == claim.right.kind == "exists"
           and claim.left.var == claim.right.var and claim.left.ftype == claim.right.ftype
           and claim.left.var not in {p.name for p in orig.params}):
        extra += (S.Param(claim.left.var, claim.left.ftype),)
        claim = S.Binary("<=>", claim.left.body, claim.right.body)
    kept = [c for n, c in enumerate(orig.checks) if checks is None or n in checks]
    bound = {p.name for p in extra}
    items = tuple(i for i in orig.items
                  if not isinstance(i, S.Claim) and (keep_assumptions or not isinstance(i, S.Assume))
                  and not (isinstance(i, S.Witness) and i.name in bound)
                  and (not isinstance(i, S.Check) or any(i is c for c in kept)))
    if extra:
        last_param = max((k for k, i in enumerate(items) if isinstance(i, S.Param)), default=-1)
        items = items[:last_param + 1] + extra + items[last_param + 1:]
    first_check = next((k for k, i in enumerate(items) if isinstance(i, S.Check)), len(items))
    items = items[:first_check] + (S.Claim(claim),) + items[first_check:]
    return theorem_to_source(S.rebuild(orig, items))


def _holds(text: str, options: Options) -> tuple[bool, str]:
    try:
        statuses = _statuses(text, options)
    except SourceError as err:
        return False, "the relation does not elaborate: " + str(err).splitlines()[0]
    ok = bool(statuses) and all(s in ("proved", "verified") for s in statuses)  # no check shows nothing
    return ok, ", ".join(statuses)


LIMIT_SECONDS = 10  # SymPy's time for the limits and sums of one mutant; past it: not shown


def _blank_limits(e: S.Expr) -> S.Expr:
    if isinstance(e, S.Limit) or isinstance(e, S.Indexed) and e.op in ("sum", "prod"):
        return S.Name("__limit__")
    return _map_subexpressions(e, _blank_limits)


def limit_equivalence(orig: S.Theorem, mutant: S.Theorem) -> str | None:
    """When two statements differ only inside limits: each limit's value by SymPy, with the
    parameters as symbols carrying their domains. Equal values (SymPy simplifies the difference
    to 0) make the claims the same statement. None when this does not apply or is not shown."""
    import sympy

    from checker.decide.sympy_backend import ToSympy, symbols_for
    if orig.assumptions != mutant.assumptions or any(c.kind != "symbolic" for c in orig.checks):
        return None
    a, b = _statement(orig, False), _statement(mutant, False)
    if a == b or _blank_limits(a) != _blank_limits(b):
        return None
    try:
        (core_a,) = load_text(theorem_to_source(orig), "<original>")
        (core_b,) = load_text(theorem_to_source(mutant), "<mutant>")
        from checker.language import core as C
        def pick(t):
            """The limits, and the sums and products outside limits (a sum inside a limit is
            compared as part of its limit: only large values of the limit variable matter)."""
            if isinstance(t, C.Limit) or isinstance(t, C.Bind) and t.op in ("sum", "prod"):
                return [t]
            return [x for c in C.children(t) for x in pick(c)]
        la, lb = pick(core_a.claim), pick(core_b.claim)
        if not la or len(la) != len(lb):
            return None
        values = []
        import signal

        def _give_up(*_):
            raise TimeoutError
        previous = signal.signal(signal.SIGALRM, _give_up)
        signal.alarm(LIMIT_SECONDS)
        try:
            pairs = list(zip(la, lb))
            computed = [(ToSympy(symbols_for(core_a.params), {}, values_only=True)(x),
                         ToSympy(symbols_for(core_b.params), {}, values_only=True)(y))
                        for x, y in pairs]
            same = [sympy.simplify(vx - vy) == 0 for vx, vy in computed]
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        for (vx, vy), equal in zip(computed, same):
            if any(v.has(sympy.Limit, sympy.nan, sympy.zoo) for v in (vx, vy)) or not equal:
                return None
            values.append(str(vx))
    except Exception:  # noqa: BLE001 - any failure means: not shown
        return None
    return ("equivalent to the original: the claims differ only inside limits or sums, and SymPy evaluates "
            f"each of them to the same value for both ({', '.join(values)}), so the claims say the same")


def _numbers(indices) -> str:
    return ", ".join(f"check {n + 1}" for n in sorted(indices))


def _true_side(orig, a, b, same_assumptions, checks, options, where) -> str | None:
    """Why the mutant holds wherever the original holds, on the given checks (None: all)."""
    ok, st = _holds(_relation_theorem(orig, S.Binary("=>", a, b), same_assumptions, checks), options)
    if ok:
        return (f"a weakening of a true statement: original => mutant {where} is {st}, so the mutant is true too "
                "and its verdict is right")
    ok, st = _holds(_relation_theorem(orig, S.Binary("=>", b, a), same_assumptions, checks), options)
    if ok:
        return (f"a stronger statement that is true as well: mutant => original {where} is {st} and the mutant's own "
                "checks prove it, so the original is slack here (a sharper claim holds, as the original's "
                "tightness report shows) and the same verdict is right")
    return None


def _false_side(orig, mutant, a, b, same_assumptions, checks, options, where) -> str | None:
    """Why the mutant fails wherever the original fails, on the given checks (None: all)."""
    ok, st = _holds(_relation_theorem(orig, S.Binary("=>", b, a), same_assumptions, checks), options)
    if ok:
        return (f"a strengthening of a false statement: mutant => original {where} is {st}, so the mutant is false "
                "too and its verdict is right")
    try:
        (core,) = load_text(theorem_to_source(mutant), "<mutant>")
        cex = [r.counterexample_text for n, r in enumerate(run_check(core, c, options) for c in core.checks)
               if r.status == "refuted" and (checks is None or n in checks)]
    except SourceError:
        cex = []
    if cex:
        return (f"another false statement: the mutant is refuted on its own, at {cex[0]}, a counterexample "
                "re-checked on the mutant by the exact evaluator, so the same verdict is right")
    return None


def explain(orig: S.Theorem, mutant: S.Theorem, original_statuses: list[str],
            options: Options, stronger_sibling: str | None = None) -> tuple[str, str]:
    """(category, why) for a surviving mutant, shown by the checker on the original's checks when
    it can: "equivalent", "unchanged statement", "explained" or "unexplained".
    `stronger_sibling` names the original's tightness probe whose sibling is the mutant, when that
    probe holds (see `_stronger_sibling`)."""
    limits = limit_equivalence(orig, mutant)
    if limits:
        return "equivalent", limits
    if orig.assumptions == mutant.assumptions and orig.claims == mutant.claims and orig.lets == mutant.lets:
        return "unchanged statement", ("the statement is unchanged, only a check range moved; the shifted range "
                      "gives the same verdict, so the verdict is correct there too")
    same_assumptions = orig.assumptions == mutant.assumptions and orig.lets == mutant.lets
    if orig.claims == mutant.claims and orig.lets == mutant.lets:
        # Only the hypotheses changed: compare them under the parameters' domains alone.
        ha = _conj(a.expr for a in orig.assumptions)
        hb = _conj(a.expr for a in mutant.assumptions)
        lets = {l.name: l for l in orig.lets}
        ok, statuses = _holds(_relation_theorem(orig, S.Binary("<=>", _inline(ha, lets), _inline(hb, lets)),
                                                False), options)
        if ok:
            return "equivalent", (f"equivalent to the original: the original and mutated hypotheses are "
                          f"equivalent over the parameter domains ({statuses} on the original's checks)")
        if all(s in ("proved", "verified") for s in original_statuses):
            return "explained", ("not equivalent, but the changed hypothesis is not needed on the checked "
                          f"range (hypotheses <=> came out {statuses}): the mutant statement is itself "
                          "true, as its own checks show, so the same verdict is right")
    # Under the original assumptions compare the claims; otherwise compare the whole implications.
    a = _statement(orig, not same_assumptions)
    b = _statement(mutant, not same_assumptions)
    where = "under the original's assumptions" if same_assumptions else "as whole statements (assumptions => claim)"
    ok, statuses = _holds(_relation_theorem(orig, S.Binary("<=>", a, b), same_assumptions), options)
    if ok:
        return "equivalent", (f"equivalent to the original: original <=> mutant {where} is {statuses} "
                              "on the original's checks")
    truthy = all(s in ("proved", "verified") for s in original_statuses)
    falsy = all(s == "refuted" for s in original_statuses)
    if truthy:
        why = _true_side(orig, a, b, same_assumptions, None, options, where)
        if why:
            return "explained", f"{why} (not equivalent: original <=> mutant was {statuses})"
        if stronger_sibling:
            return "explained", (f"a stronger statement that is true as well: the mutant is the original's "
                          f"{stronger_sibling}, stronger by construction, and the original's tightness report "
                          "shows that sibling holding (slack), so the same verdict is right (the relations "
                          f"between original and mutant came out {statuses})")
    if falsy:
        why = _false_side(orig, mutant, a, b, same_assumptions, None, options, where)
        if why:
            return "explained", f"{why} (original <=> mutant {where} came out {statuses})"
    if not truthy and not falsy and all(s in ("proved", "verified", "refuted") for s in original_statuses):
        # Checks on which the original holds and checks on which it fails (the paper's defect and
        # where it bites): the mutant must be explained on each side by its own relation.
        held = {n for n, s in enumerate(original_statuses) if s != "refuted"}
        failed = {n for n, s in enumerate(original_statuses) if s == "refuted"}
        why_true = _true_side(orig, a, b, same_assumptions, held, options, where)
        why_false = _false_side(orig, mutant, a, b, same_assumptions, failed, options, where)
        if why_true and why_false:
            return "explained", (f"on the checks where the original holds ({_numbers(held)}): {why_true}; "
                          f"on the checks where it fails ({_numbers(failed)}): {why_false} "
                          f"(original <=> mutant {where} came out {statuses})")
    return "unexplained", (f"not explained: original <=> mutant {where} came out {statuses}; the check "
                   "ranges do not distinguish the mutant from the original")


def statuses_cached(text: str, options: Options, cache) -> list[str]:
    """The verdicts of a theorem's checks, through the cache of checker.tightness."""
    statuses: list[str] = list(T.cached_statuses(text, options, cache))
    if statuses == ["error"]:
        load_text(text, "<mutant>")  # raise the SourceError for a stillborn mutant
    return statuses
