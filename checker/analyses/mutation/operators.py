"""The mutation operators: each rewrites one site of a theorem's surface tree (a flipped
comparison, a perturbed constant, a swapped quantifier or connective, a dropped assumption,
an off-by-one range bound), spread over the operators so each theorem gets a few of each kind."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from fractions import Fraction

from checker.language import syntax as S
from checker.language.printer import expr_to_source, theorem_to_source

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
    item: int = -1         # the mutated item (theorem.items index)
    path: tuple = ()       # the mutated node's path in that item's expression

    @property
    def description(self) -> str:
        return f"{self.operator} at {self.location}: {self.before} -> {self.after}"


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
    out: list[tuple[str, S.Expr]] = []
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
