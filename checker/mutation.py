"""Mutation testing of the statement corpus.

Each theorem is perturbed at the source level (a flipped comparison, a perturbed constant,
a swapped quantifier or connective, a dropped assumption, an off-by-one range bound) by
rewriting its frozen surface tree; the mutant is printed back with `theorem_to_source`,
loaded and decided again. A mutant is *killed* when some check's verdict differs from the
verdict of the original theorem's check, *stillborn* when its text does not parse or
elaborate. A surviving mutant is explained automatically when the checker itself can show
that it makes the same statement as the original on the original's checks (an equivalence
`original <=> mutant`), or that it is a consequence of a true original (a weakening) or a
strengthening of a false one; any other survivor is listed as not explained.

    python -m checker.mutation [--per-theorem N] [--timeout S] [--out FILE] [PATHS]
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
from .api import load_text, statement_files
from .engine import Options, run_check
from .errors import SourceError
from .parser import parse_source
from .printer import expr_to_source, theorem_to_source

OPERATORS = ("flip-comparison", "perturb-constant", "swap-quantifier", "drop-assumption",
             "off-by-one", "swap-connective")
_FLIP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "=": "!=", "!=": "="}
_EXPR_SECTIONS = ("let", "assume", "claim")


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
    explanation: str = ""  # for survivors
    explained: bool = False
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


def _rewrites(e: S.Expr):
    """Every single-site rewrite of `e`: (operator, node, replacement, new whole expression)."""
    for op, new in _local(e):
        yield op, e, new, new
    if isinstance(e, S.Binary) and e.op == "/" and isinstance(e.left, S.Num) and isinstance(e.right, S.Num):
        return  # a fraction literal is one constant
    for f in fields(e):
        if f.name == "span":
            continue
        value = getattr(e, f.name)
        if isinstance(value, S.Expr):
            for op, node, new, sub in _rewrites(value):
                yield op, node, new, replace(e, **{f.name: sub})
        elif isinstance(value, tuple) and value and all(isinstance(v, S.Expr) for v in value):
            for i, item in enumerate(value):
                for op, node, new, sub in _rewrites(item):
                    yield op, node, new, replace(e, **{f.name: value[:i] + (sub,) + value[i + 1:]})


def _rebuild(thm: S.Theorem, items: tuple) -> S.Theorem:
    return replace(
        thm, items=items,
        lets=tuple(i for i in items if isinstance(i, S.Let)),
        assumptions=tuple(i for i in items if isinstance(i, S.Assume)),
        claims=tuple(i for i in items if isinstance(i, S.Claim)),
        checks=tuple(i for i in items if isinstance(i, S.Check)))


def _all_mutants(thm: S.Theorem) -> list[Mutant]:
    out: list[Mutant] = []

    seen = {theorem_to_source(thm)}

    def add(op, node, before, after, items, section):
        text = theorem_to_source(_rebuild(thm, items))
        if text in seen:  # the same text by another rewrite (1 + 1 = 1 * 2), or no change
            return
        seen.add(text)
        out.append(Mutant(thm.id, op, _loc(node), before, after, text, section, len(out)))

    items = thm.items
    for k, item in enumerate(items):
        if isinstance(item, (S.Let, S.Assume, S.Claim)):
            section = {S.Let: "let", S.Assume: "assume", S.Claim: "claim"}[type(item)]
            attr = "body" if isinstance(item, S.Let) else "expr"
            for op, node, new, whole in _rewrites(getattr(item, attr)):
                new_items = items[:k] + (replace(item, **{attr: whole}),) + items[k + 1:]
                add(op, node if getattr(node, "span", None) else item, expr_to_source(node),
                    expr_to_source(new), new_items, section)
            if isinstance(item, S.Assume):
                add("drop-assumption", item, "assume " + expr_to_source(item.expr), "(dropped)",
                    items[:k] + items[k + 1:], "assume")
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


def _relation_theorem(orig: S.Theorem, claim: S.Expr, keep_assumptions: bool) -> str:
    items = tuple(i for i in orig.items
                  if not isinstance(i, S.Claim) and (keep_assumptions or not isinstance(i, S.Assume)))
    first_check = next((k for k, i in enumerate(items) if isinstance(i, S.Check)), len(items))
    items = items[:first_check] + (S.Claim(claim),) + items[first_check:]
    return theorem_to_source(_rebuild(orig, items))


def _holds(text: str, options: Options) -> tuple[bool, str]:
    try:
        statuses = _statuses(text, options)
    except SourceError as err:
        return False, "the relation does not elaborate: " + str(err).splitlines()[0]
    ok = all(s in ("proved", "verified") for s in statuses)
    return ok, ", ".join(statuses)


def explain(orig: S.Theorem, mutant: S.Theorem, original_statuses: list[str],
            options: Options) -> tuple[bool, str]:
    """Why a mutant survives, shown by the checker on the original's checks when it can."""
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
        ok2, st2 = _holds(_relation_theorem(orig, S.Binary("=>", a, b), same_assumptions), options)
        if ok2:
            return True, (f"a weakening of a true statement: original => mutant {where} is {st2}, "
                          "so the mutant is true too and its verdict is right (not equivalent: "
                          f"original <=> mutant was {statuses})")
    if falsy:
        ok2, st2 = _holds(_relation_theorem(orig, S.Binary("=>", b, a), same_assumptions), options)
        if ok2:
            return True, (f"a strengthening of a false statement: mutant => original {where} is {st2}, "
                          "so the mutant is false too and its verdict is right")
    return False, (f"not explained: original <=> mutant {where} came out {statuses}; the check "
                   "ranges do not distinguish the mutant from the original")


def mutate_theorem(thm: S.Theorem, file: str, options: Options, per_theorem: int | None,
                   explain_survivors: bool = True) -> list[MutantResult]:
    original_text = theorem_to_source(thm)
    try:
        original = _statuses(original_text, options)
    except SourceError:
        return []
    results = []
    for m in mutants(thm, per_theorem):
        r = MutantResult(thm.id, file, m.description, m.operator, "stillborn", original, source=m.source)
        try:
            mutant_tree = parse_source(m.source, "<mutant>").theorems[0]
            r.mutant = _statuses(m.source, options)
        except (SourceError, RecursionError) as err:
            r.explanation = str(err).splitlines()[0] if str(err) else type(err).__name__
            results.append(r)
            continue
        if r.mutant != original:
            r.outcome = "killed"
        else:
            r.outcome = "survived"
            if explain_survivors:
                r.explained, r.explanation = explain(thm, mutant_tree, original, options)
        results.append(r)
    return results


def _work(args):
    path, per_theorem, timeout = args
    text = Path(path).read_text(encoding="utf-8")
    module = parse_source(text, str(path))
    options = Options(timeout=timeout)
    out = []
    for thm in module.theorems:
        out += [asdict(r) for r in mutate_theorem(thm, str(path), options, per_theorem)]
    return out


def run_mutation(paths, timeout: float = 2.0, per_theorem: int | None = 8, jobs: int = 1) -> dict:
    started = time.perf_counter()
    files = [str(f) for f in statement_files(list(paths))]
    tasks = [(f, per_theorem, timeout) for f in files]
    rows: list[dict] = []
    if jobs > 1 and len(tasks) > 1:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for part in pool.map(_work, tasks):
                rows += part
    else:
        for t in tasks:
            rows += _work(t)
    killed = [r for r in rows if r["outcome"] == "killed"]
    survived = [r for r in rows if r["outcome"] == "survived"]
    stillborn = [r for r in rows if r["outcome"] == "stillborn"]
    explained = [r for r in survived if r["explained"]]
    equivalent = [r for r in explained if r["explanation"].startswith("equivalent")]
    decided = len(killed) + len(survived)
    by_op = {}
    for op in OPERATORS:
        ops = [r for r in rows if r["operator"] == op]
        by_op[op] = {"mutants": len(ops), "killed": sum(r["outcome"] == "killed" for r in ops),
                     "survived": sum(r["outcome"] == "survived" for r in ops),
                     "stillborn": sum(r["outcome"] == "stillborn" for r in ops)}
    return {
        "files": files, "timeout": timeout, "per_theorem": per_theorem,
        "theorems": len({(r["file"], r["theorem"]) for r in rows}),
        "mutants": len(rows), "stillborn": len(stillborn), "killed": len(killed),
        "survived": len(survived), "survived_equivalent": len(equivalent),
        "survived_explained_other": len(explained) - len(equivalent),
        "survived_unexplained": len(survived) - len(explained),
        "kill_rate": (len(killed) / decided) if decided else 1.0,
        "kill_or_explained_rate": ((len(killed) + len(explained)) / decided) if decided else 1.0,
        "by_operator": by_op,
        "seconds": round(time.perf_counter() - started, 1),
        "survivors": [{k: r[k] for k in ("theorem", "file", "description", "original", "explained",
                                         "explanation")} for r in survived],
        "stillborn_mutants": [{k: r[k] for k in ("theorem", "description", "explanation")} for r in stillborn],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m checker.mutation", description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=["proofs"])
    ap.add_argument("--per-theorem", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="build/reliability/mutation.json")
    args = ap.parse_args(argv)
    summary = run_mutation(args.paths, args.timeout, args.per_theorem or None, args.jobs)
    print(f"{'operator':<18} {'mutants':>7} {'killed':>7} {'survived':>8} {'stillborn':>9}")
    for op, c in summary["by_operator"].items():
        print(f"{op:<18} {c['mutants']:>7} {c['killed']:>7} {c['survived']:>8} {c['stillborn']:>9}")
    print(f"{'total':<18} {summary['mutants']:>7} {summary['killed']:>7} {summary['survived']:>8} "
          f"{summary['stillborn']:>9}")
    print(f"kill rate {summary['kill_rate']:.1%} (killed / (killed + survived)); "
          f"killed or explained {summary['kill_or_explained_rate']:.1%}; "
          f"survivors: {summary['survived_equivalent']} equivalent, "
          f"{summary['survived_explained_other']} otherwise explained, "
          f"{summary['survived_unexplained']} not explained; {summary['seconds']} s")
    for s in summary["survivors"]:
        mark = "explained" if s["explained"] else "NOT EXPLAINED"
        print(f"  [{mark}] {s['theorem']}: {s['description']}\n      {s['explanation']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, default=str))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
