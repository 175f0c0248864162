"""Mutation testing of the statement corpus.

Each theorem is perturbed at the source level (a flipped comparison, a perturbed constant,
a swapped quantifier or connective, a dropped assumption, an off-by-one range bound) by
rewriting its frozen surface tree; the mutant is printed back with `theorem_to_source`,
loaded and decided again. A mutant is
- *killed* when some check's verdict differs from the original's;
- *flagged* when the verdicts agree but the mutant's tightness report (checker.tightness) warns
  at the mutated site where the original's does not: a stronger sibling of the mutant holds
  (the mutant is slack) or its hypotheses are vacuous, while the original's probe there fails
  or the original is already in the stronger form;
- *stillborn* when its text does not parse or elaborate;
- otherwise a survivor: *equivalent* when the checker proves original <=> mutant on the
  original's checks (or SymPy evaluates the limits and sums they differ in to the same values),
  *unchanged statement* when only a check range moved, else explained when the checker shows
  why the same verdict is right (a weakening of a true statement, a strengthening of a false
  one, a false mutant refuted on its own, a true stronger sibling that the original's tightness
  report shows holding), and listed as not explained otherwise. For a statement refuted on some
  checks and verified on others (a paper's defect with the checks that pin where it fails and
  where it holds) each side needs its own relation: the mutant holds where the original holds
  (a weakening or a true stronger statement there) and fails where it fails (a strengthening, or
  refuted on its own there).

kill rate = (killed + flagged) / (mutants - stillborn - equivalent - unchanged statement).

    python -m checker.mutation [--per-theorem N] [--timeout S] [--only IDS] [--out FILE] [PATHS]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field, fields, replace
from fractions import Fraction
from pathlib import Path

from . import syntax as S
from . import tightness as T
from .api import load_text, statement_files
from .cache import DEFAULT_ROOT as DEFAULT_CACHE, Cache
from .engine import Options, run_check
from .errors import SourceError
from .parser import parse_source
from .printer import expr_to_source, theorem_to_source

OPERATORS = ("flip-comparison", "perturb-constant", "swap-quantifier", "drop-assumption",
             "off-by-one", "swap-connective")
_FLIP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "=": "!=", "!=": "="}
_EXPR_SECTIONS = ("let", "assume", "claim")
TARGET = 0.95


@dataclass
class Mutant:
    theorem: str
    operator: str
    location: str          # line:col in the original file
    before: str
    after: str
    source: str            # the mutated theorem's text
    section: str           # "let" | "assume" | "claim" | "check"
    index: int = 0         # position among the theorem's mutants, before selection
    item: int = -1         # the mutated item (theorem.items index)
    path: tuple = ()       # the mutated node's path in that item's expression

    @property
    def description(self) -> str:
        return f"{self.operator} at {self.location}: {self.before} -> {self.after}"


@dataclass
class MutantResult:
    theorem: str
    file: str
    description: str
    operator: str
    outcome: str           # "killed" | "survived" | "stillborn"
    original: list[str] = field(default_factory=list)
    mutant: list[str] = field(default_factory=list)
    explanation: str = ""  # why killed, flagged, or surviving
    explained: bool = False
    category: str = ""     # killed: verdict; flagged: tightness;
                           # survived: equivalent | unchanged statement | explained | unexplained
    source: str = ""


# ---- tree rewriting -------------------------------------------------------------------------

def _loc(node) -> str:
    span = getattr(node, "span", None)
    if span is None or not getattr(span, "line", 0):
        return "?"
    return f"{span.line}:{span.column}"


def _plus(e: S.Expr, k: int = 1) -> S.Expr:
    if isinstance(e, S.Num):
        return S.Num(e.value + k)
    return S.Binary("+", e, S.Num(Fraction(k)))


def _num(value: Fraction) -> S.Num:
    return S.Num(value)


def _local(e: S.Expr):
    """(operator, node, replacement) rewrites of one node, not of its children."""
    out = []
    if isinstance(e, S.Compare):
        for i, op in enumerate(e.ops):
            ops = e.ops[:i] + (_FLIP[op],) + e.ops[i + 1:]
            out.append(("flip-comparison", replace(e, ops=ops)))
    elif isinstance(e, S.Num):
        if e.value.denominator == 1:
            out.append(("perturb-constant", _num(e.value + 1)))
            if e.value != 0:
                out.append(("perturb-constant", _num(e.value * 2)))
        else:
            out.append(("perturb-constant", _num(e.value + Fraction(1, 10))))
    elif isinstance(e, S.Binary):
        if e.op == "/" and isinstance(e.left, S.Num) and isinstance(e.right, S.Num) and e.right.value:
            out.append(("perturb-constant", _num(e.left.value / e.right.value + Fraction(1, 10))))
        if e.op in ("and", "or"):
            out.append(("swap-connective", replace(e, op="or" if e.op == "and" else "and")))
    elif isinstance(e, S.RangeQuant):
        out.append(("swap-quantifier", replace(e, kind="exists" if e.kind == "forall" else "forall")))
        out.append(("off-by-one", replace(e, hi=_plus(e.hi))))
        out.append(("off-by-one", replace(e, lo=_plus(e.lo))))
    elif isinstance(e, S.FunQuant):
        out.append(("swap-quantifier", replace(e, kind="exists" if e.kind == "forall" else "forall")))
    elif isinstance(e, S.Indexed):
        out.append(("off-by-one", replace(e, hi=_plus(e.hi))))
        out.append(("off-by-one", replace(e, lo=_plus(e.lo))))
    return out


def _rewrites(e: S.Expr, path: tuple = ()):
    """Every single-site rewrite of `e`: (operator, node, replacement, new whole expression,
    the node's path from `e`)."""
    for op, new in _local(e):
        yield op, e, new, new, path
    if isinstance(e, S.Binary) and e.op == "/" and isinstance(e.left, S.Num) and isinstance(e.right, S.Num):
        return  # a fraction literal is one constant
    for f in fields(e):
        if f.name == "span":
            continue
        value = getattr(e, f.name)
        if isinstance(value, S.Expr):
            for op, node, new, sub, p in _rewrites(value, path + ((f.name, None),)):
                yield op, node, new, replace(e, **{f.name: sub}), p
        elif isinstance(value, tuple) and value and all(isinstance(v, S.Expr) for v in value):
            for i, item in enumerate(value):
                for op, node, new, sub, p in _rewrites(item, path + ((f.name, i),)):
                    yield op, node, new, replace(e, **{f.name: value[:i] + (sub,) + value[i + 1:]}), p




def _all_mutants(thm: S.Theorem) -> list[Mutant]:
    out: list[Mutant] = []

    seen = {theorem_to_source(thm)}

    def add(op, node, before, after, items, section, item=-1, path=()):
        text = theorem_to_source(S.rebuild(thm, items))
        if text in seen:  # the same text by another rewrite (1 + 1 = 1 * 2), or no change
            return
        seen.add(text)
        out.append(Mutant(thm.id, op, _loc(node), before, after, text, section, len(out), item, path))

    items = thm.items
    for k, item in enumerate(items):
        if isinstance(item, (S.Let, S.Assume, S.Claim)):
            section = {S.Let: "let", S.Assume: "assume", S.Claim: "claim"}[type(item)]
            attr = "body" if isinstance(item, S.Let) else "expr"
            for op, node, new, whole, path in _rewrites(getattr(item, attr)):
                new_items = items[:k] + (replace(item, **{attr: whole}),) + items[k + 1:]
                add(op, node if getattr(node, "span", None) else item, expr_to_source(node),
                    expr_to_source(new), new_items, section, k, path)
            if isinstance(item, S.Assume):
                add("drop-assumption", item, "assume " + expr_to_source(item.expr), "(dropped)",
                    items[:k] + items[k + 1:], "assume", k)
        elif isinstance(item, S.Check):
            for b_i, b in enumerate(item.bindings):
                if b.kind != "range":
                    continue
                lo, hi = b.values
                for new_vals in ((lo, _plus(hi)), (_plus(lo), hi)):
                    nb = replace(b, values=new_vals)
                    check = replace(item, bindings=item.bindings[:b_i] + (nb,) + item.bindings[b_i + 1:])
                    add("off-by-one", b, f"{b.name} in {expr_to_source(lo)}..{expr_to_source(hi)}",
                        f"{b.name} in {expr_to_source(new_vals[0])}..{expr_to_source(new_vals[1])}",
                        items[:k] + (check,) + items[k + 1:], "check")
    return out


def _spread(all_mutants: list[Mutant], cap: int | None) -> list[Mutant]:
    """At most `cap` mutants, taken round-robin over the operators, each spread over the theorem."""
    if cap is None or len(all_mutants) <= cap:
        return all_mutants
    groups = {op: [m for m in all_mutants if m.operator == op] for op in OPERATORS}
    # Spread each group: alternate from the front and the back, so claims and assumptions
    # (often at different ends) both get sampled.
    orders = {}
    for op, group in groups.items():
        order, lo, hi = [], 0, len(group) - 1
        while lo <= hi:
            order.append(group[lo])
            if lo != hi:
                order.append(group[hi])
            lo, hi = lo + 1, hi - 1
        orders[op] = order
    chosen: list[Mutant] = []
    depth = 0
    while len(chosen) < cap:
        progressed = False
        for op in OPERATORS:
            if depth < len(orders[op]) and len(chosen) < cap:
                chosen.append(orders[op][depth])
                progressed = True
        if not progressed:
            break
        depth += 1
    return sorted(chosen, key=lambda m: m.index)


def mutants(theorem: S.Theorem, cap: int | None = None) -> list[Mutant]:
    """Source-level mutants of a theorem's lets, assumptions, claims and check ranges."""
    return _spread(_all_mutants(theorem), cap)


# ---- deciding -----------------------------------------------------------------------------

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
    original's checks, or on those whose indices are in `checks`."""
    kept = [c for n, c in enumerate(orig.checks) if checks is None or n in checks]
    items = tuple(i for i in orig.items
                  if not isinstance(i, S.Claim) and (keep_assumptions or not isinstance(i, S.Assume))
                  and (not isinstance(i, S.Check) or any(i is c for c in kept)))
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
    from .sympy_backend import _symbols_for, _ToSympy
    if orig.assumptions != mutant.assumptions or any(c.kind != "symbolic" for c in orig.checks):
        return None
    a, b = _statement(orig, False), _statement(mutant, False)
    if a == b or _blank_limits(a) != _blank_limits(b):
        return None
    try:
        (core_a,) = load_text(theorem_to_source(orig), "<original>")
        (core_b,) = load_text(theorem_to_source(mutant), "<mutant>")
        from . import core as C
        pick = lambda t: [x for x in C.walk(t) if isinstance(x, C.Limit)  # noqa: E731
                          or isinstance(x, C.Bind) and x.op in ("sum", "prod")]
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
            computed = [(_ToSympy(_symbols_for(core_a.params), {})(x), _ToSympy(_symbols_for(core_b.params), {})(y))
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
            options: Options, stronger_sibling: str | None = None) -> tuple[bool, str]:
    """Why a mutant survives, shown by the checker on the original's checks when it can.
    `stronger_sibling` names the original's tightness probe whose sibling is the mutant, when that
    probe holds (see `_stronger_sibling`)."""
    limits = limit_equivalence(orig, mutant)
    if limits:
        return True, limits
    if orig.assumptions == mutant.assumptions and orig.claims == mutant.claims and orig.lets == mutant.lets:
        return True, ("the statement is unchanged, only a check range moved; the shifted range "
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
            return True, (f"equivalent to the original: the original and mutated hypotheses are "
                          f"equivalent over the parameter domains ({statuses} on the original's checks)")
        if all(s in ("proved", "verified") for s in original_statuses):
            return True, ("not equivalent, but the changed hypothesis is not needed on the checked "
                          f"range (hypotheses <=> came out {statuses}): the mutant statement is itself "
                          "true, as its own checks show, so the same verdict is right")
    # Under the original assumptions compare the claims; otherwise compare the whole implications.
    a = _statement(orig, not same_assumptions)
    b = _statement(mutant, not same_assumptions)
    where = "under the original's assumptions" if same_assumptions else "as whole statements (assumptions => claim)"
    ok, statuses = _holds(_relation_theorem(orig, S.Binary("<=>", a, b), same_assumptions), options)
    if ok:
        return True, f"equivalent to the original: original <=> mutant {where} is {statuses} on the original's checks"
    truthy = all(s in ("proved", "verified") for s in original_statuses)
    falsy = all(s == "refuted" for s in original_statuses)
    if truthy:
        why = _true_side(orig, a, b, same_assumptions, None, options, where)
        if why:
            return True, f"{why} (not equivalent: original <=> mutant was {statuses})"
        if stronger_sibling:
            return True, (f"a stronger statement that is true as well: the mutant is the original's "
                          f"{stronger_sibling}, stronger by construction, and the original's tightness report "
                          "shows that sibling holding (slack), so the same verdict is right (the relations "
                          f"between original and mutant came out {statuses})")
    if falsy:
        why = _false_side(orig, mutant, a, b, same_assumptions, None, options, where)
        if why:
            return True, f"{why} (original <=> mutant {where} came out {statuses})"
    if not truthy and not falsy and all(s in ("proved", "verified", "refuted") for s in original_statuses):
        # Checks on which the original holds and checks on which it fails (the paper's defect and
        # where it bites): the mutant must be explained on each side by its own relation.
        held = {n for n, s in enumerate(original_statuses) if s != "refuted"}
        failed = {n for n, s in enumerate(original_statuses) if s == "refuted"}
        why_true = _true_side(orig, a, b, same_assumptions, held, options, where)
        why_false = _false_side(orig, mutant, a, b, same_assumptions, failed, options, where)
        if why_true and why_false:
            return True, (f"on the checks where the original holds ({_numbers(held)}): {why_true}; on the checks "
                          f"where it fails ({_numbers(failed)}): {why_false} (original <=> mutant {where} came "
                          f"out {statuses})")
    return False, (f"not explained: original <=> mutant {where} came out {statuses}; the check "
                   "ranges do not distinguish the mutant from the original")


def _statuses_cached(text: str, options: Options, cache) -> list[str]:
    """The verdicts of a theorem's checks, through the cache of checker.tightness."""
    statuses = T._cached_statuses(text, options, cache)
    if statuses == ["error"]:
        load_text(text, "<mutant>")  # raise the SourceError for a stillborn mutant
    return statuses


def _stronger_sibling(orig: "_Original", m: Mutant) -> str | None:
    """The original's tightness probe whose stronger sibling is exactly the mutant, when that probe
    holds: `<=` made strict in a claim, `<` made non-strict in a hypothesis, `exists` made `forall`
    in a claim, ... (checker.tightness builds only stronger siblings at sites of one polarity)."""
    for key in _site_keys(orig.thm, m):
        site = orig.sites.get(key)
        if site is None or site.kind not in ("comparison", "quantifier", "connective") or site.polarity == "±":
            continue
        for label, sibling in T.probes(orig.thm, site)[1]:
            if theorem_to_source(sibling) != m.source:
                continue
            entry = orig.entry(key)
            if any(p["label"] == label and p["outcome"] == "holds" for p in entry.probes):
                return f"{label} sibling at {site.location} ({site.kind} `{site.text}`)"
    return None


def _site_keys(thm: S.Theorem, m: Mutant) -> list[str]:
    keys = [s.key for s in T.sites(thm) if s.item == m.item and s.path == m.path]
    if m.section in ("assume", "let") and thm.assumptions:
        keys.append("theorem:vacuity")
    return keys


def _difference(a, b) -> str | None:
    """A warning the mutant's tightness report gives at a site and the original's does not, or
    None. A probe that holds is the warning (slack: a stronger sibling also holds; vacuous: the
    hypotheses admit no value). It counts only where the original's probe of that label was
    decided and fails, or where the original has no probe of that label (its form admits no
    stronger sibling there). A warning the original has and the mutant lacks is no flag: that
    mutant is the stronger sibling the original's report already names. Undecided probes never
    count, and neither does a site that merely exists on one side only."""
    pa = {p["label"]: p["outcome"] for p in a.probes} if a else {}
    pb = {p["label"]: p["outcome"] for p in b.probes} if b else {}
    for label in sorted(pb):
        if pb[label] != "holds":
            continue
        if pa.get(label) == "fails":
            return (f"the mutant's report warns that its {label} sibling holds ({b.verdict}), where the "
                    f"original's {label} sibling fails ({a.verdict})")
        if a is not None and label not in pa:
            return (f"the mutant's report warns that its {label} sibling holds ({b.verdict}); the original "
                    f"is already in that stronger form ({a.verdict})")
    return None


class _Original:
    """The original theorem's verdicts and its tightness entries, computed site by site on demand."""

    def __init__(self, thm: S.Theorem, options: Options, cache):
        self.thm, self.options, self.cache = thm, options, cache
        self.sites = {s.key: s for s in T.sites(thm)}
        self.entries: dict = {}

    def entry(self, key: str):
        if key not in self.entries:
            site = self.sites.get(key)
            self.entries[key] = T.analyse_site(self.thm, site, self.options, self.cache) if site else None
        return self.entries[key]


def _flag(orig: _Original, original: list[str], mutant_tree: S.Theorem, m: Mutant, options: Options,
          cache) -> tuple[str, str] | None:
    """("tightness", why) when the mutant's report warns at the mutated site where the original's does not."""
    expected = [c.expect for c in orig.thm.checks]
    if not T.eligible(original, expected) or m.item < 0:
        return None
    mutant_sites = {s.key: s for s in T.sites(mutant_tree)}
    for key in _site_keys(orig.thm, m):
        a = orig.entry(key)
        site_b = mutant_sites.get(key)
        b = T.analyse_site(mutant_tree, site_b, options, cache) if site_b else None
        why = _difference(a, b)
        if why:
            where = a or b
            return "tightness", f"tightness at {where.location} ({where.kind} `{where.text}`): {why}"
    return None


def mutate_theorem(thm: S.Theorem, file: str, options: Options, per_theorem: int | None,
                   explain_survivors: bool = True, cache=None) -> list[MutantResult]:
    original_text = theorem_to_source(thm)
    try:
        original = _statuses_cached(original_text, options, cache)
    except SourceError:
        return []
    orig = _Original(thm, options, cache)
    results = []
    for m in mutants(thm, per_theorem):
        r = MutantResult(thm.id, file, m.description, m.operator, "stillborn", original, source=m.source)
        try:
            mutant_tree = parse_source(m.source, "<mutant>").theorems[0]
            r.mutant = _statuses_cached(m.source, options, cache)
        except (SourceError, RecursionError) as err:
            r.explanation = str(err).splitlines()[0] if str(err) else type(err).__name__
            results.append(r)
            continue
        if r.mutant != original:
            r.outcome, r.category = "killed", "verdict"
            r.explanation = f"verdicts {', '.join(original)} -> {', '.join(r.mutant)}"
        elif (flag := _flag(orig, original, mutant_tree, m, options, cache)) is not None:
            r.outcome, (r.category, r.explanation) = "flagged", flag
        else:
            r.outcome = "survived"
            if explain_survivors:
                r.explained, r.explanation = explain(thm, mutant_tree, original, options,
                                                     _stronger_sibling(orig, m))
                r.category = ("unchanged statement" if r.explanation.startswith("the statement is unchanged")
                              else "equivalent" if r.explanation.startswith("equivalent")
                              else "explained" if r.explained else "unexplained")
        results.append(r)
    return results


def _work(args):
    path, per_theorem, timeout, only, cache_root = args
    text = Path(path).read_text(encoding="utf-8")
    module = parse_source(text, str(path))
    options = Options(timeout=timeout)
    cache = Cache(cache_root) if cache_root else None
    out = []
    for thm in module.theorems:
        if only and thm.id not in only:
            continue
        out += [asdict(r) for r in mutate_theorem(thm, str(path), options, per_theorem, cache=cache)]
    return out


FORMULA = ("kill rate = (killed + flagged) / (mutants - stillborn - equivalent - unchanged statement); "
           "killed: a check's verdict changes; flagged: the verdicts are the same but the mutant's tightness "
           "report warns at the mutated site (a stronger sibling of the mutant holds, or its hypotheses are "
           "vacuous) where the original's probe of that label fails or the original has no probe of that "
           "label (it is already in the stronger form); equivalent: the checker proves original <=> mutant on "
           "the original's checks; unchanged statement: only a check range moved, with the same verdict")


def run_mutation(paths, timeout: float = 2.0, per_theorem: int | None = 8, jobs: int = 1,
                 only: set[str] | None = None, cache_root: str | None = str(DEFAULT_CACHE)) -> dict:
    started = time.perf_counter()
    files = [str(f) for f in statement_files(list(paths))]
    tasks = [(f, per_theorem, timeout, only, cache_root) for f in files]
    rows: list[dict] = []
    if jobs > 1 and len(tasks) > 1:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for part in pool.map(_work, tasks):
                rows += part
    else:
        for t in tasks:
            rows += _work(t)
    count = lambda outcome, category=None: sum(  # noqa: E731
        r["outcome"] == outcome and (category is None or r["category"] == category) for r in rows)
    killed, flagged, stillborn = count("killed"), count("flagged"), count("stillborn")
    equivalent, unchanged = count("survived", "equivalent"), count("survived", "unchanged statement")
    explained, unexplained = count("survived", "explained"), count("survived", "unexplained")
    denominator = len(rows) - stillborn - equivalent - unchanged
    by_op = {}
    for op in OPERATORS:
        ops = [r for r in rows if r["operator"] == op]
        by_op[op] = {o: sum(r["outcome"] == o for r in ops) for o in ("killed", "flagged", "survived", "stillborn")}
        by_op[op]["mutants"] = len(ops)
        by_op[op]["equivalent"] = sum(r["category"] in ("equivalent", "unchanged statement") for r in ops)
    return {
        "files": files, "timeout": timeout, "per_theorem": per_theorem, "only": sorted(only) if only else None,
        "theorems": len({(r["file"], r["theorem"]) for r in rows}),
        "mutants": len(rows), "stillborn": stillborn, "killed": killed, "flagged": flagged,
        "flagged_by_necessity": count("flagged", "necessity"), "flagged_by_tightness": count("flagged", "tightness"),
        "survived": count("survived"), "survived_equivalent": equivalent, "survived_unchanged_statement": unchanged,
        "survived_explained_other": explained, "survived_unexplained": unexplained,
        "formula": FORMULA, "denominator": denominator,
        "kill_rate": ((killed + flagged) / denominator) if denominator else 1.0,
        "verdict_kill_rate": (killed / (len(rows) - stillborn)) if len(rows) > stillborn else 1.0,
        "target": TARGET,
        "by_operator": by_op,
        "seconds": round(time.perf_counter() - started, 1),
        "survivors": [{k: r[k] for k in ("theorem", "file", "description", "original", "category", "explained",
                                         "explanation")} for r in rows if r["outcome"] == "survived"],
        "flagged_mutants": [{k: r[k] for k in ("theorem", "description", "category", "explanation")}
                            for r in rows if r["outcome"] == "flagged"],
        "stillborn_mutants": [{k: r[k] for k in ("theorem", "description", "explanation")}
                              for r in rows if r["outcome"] == "stillborn"],
    }


def meets_target(summary: dict) -> bool:
    return summary["kill_rate"] >= TARGET and summary["survived_unexplained"] == 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m checker.mutation", description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=["proofs"])
    ap.add_argument("--per-theorem", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", metavar="IDS", help="comma-separated theorem ids")
    ap.add_argument("--cache", default=str(DEFAULT_CACHE), metavar="DIR")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--out", default="build/reliability/mutation.json")
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    summary = run_mutation(args.paths, args.timeout, args.per_theorem or None, args.jobs, only,
                           None if args.no_cache else args.cache)
    print(f"{'operator':<18} {'mutants':>7} {'killed':>7} {'flagged':>8} {'equiv.':>7} {'survived':>8} {'stillborn':>9}")
    for op, c in summary["by_operator"].items():
        print(f"{op:<18} {c['mutants']:>7} {c['killed']:>7} {c['flagged']:>8} {c['equivalent']:>7} "
              f"{c['survived'] - c['equivalent']:>8} {c['stillborn']:>9}")
    for s in summary["survivors"]:
        if s["category"] in ("equivalent", "unchanged statement"):
            continue
        mark = "explained" if s["explained"] else "NOT EXPLAINED"
        print(f"  [{mark}] {s['theorem']}: {s['description']}\n      {s['explanation']}")
    print(f"mutants {summary['mutants']}: {summary['stillborn']} stillborn, {summary['killed']} killed by a verdict, "
          f"{summary['flagged']} flagged ({summary['flagged_by_necessity']} by necessity, "
          f"{summary['flagged_by_tightness']} by tightness), {summary['survived_equivalent']} equivalent, "
          f"{summary['survived_unchanged_statement']} with the statement unchanged, "
          f"{summary['survived_explained_other']} other survivors explained, "
          f"{summary['survived_unexplained']} not explained; {summary['seconds']} s")
    ok = meets_target(summary)
    print(f"mutation kill rate {summary['kill_rate']:.1%} = ({summary['killed']} + {summary['flagged']}) / "
          f"{summary['denominator']} (target {TARGET:.0%}, every survivor explained): {'met' if ok else 'NOT MET'}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, default=str))
    print(f"wrote {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
