"""Core-to-core passes shared by the backends: definedness, folding, unrolling, grounding.

- `definedness(t)` is the condition under which `t` has a value (ln of a positive number,
  no division by zero, function arguments inside their domains), with the same
  short-circuit reading of `and`, `or`, `=>` and `if` that the exact evaluator uses.
- `fold(t)` evaluates ground integer and rational subterms.
- `unroll(t)` expands binders whose bounds are known numbers into finite conjunctions,
  sums, products; `expand_functions` replaces a quantifier over a small finite function
  space by the conjunction or disjunction over all its members.
- `ground_functions(t)` turns applications of function parameters with known arguments
  into plain variables named `h(1,2)`, so a finite instance is quantifier-free.
"""
from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Any, cast

from checker.decide import budget
from checker.language import core as C

UNROLL_LIMIT = 20_000
UNROLLED_NODES = 2_000_000  # the most nodes one unrolled binder may produce
FUNCTION_SPACE_LIMIT = 4096
FOLD_BITS = 1 << 16  # exact numbers larger than this are not built while folding


def definedness(t: C.Term, sigs: dict[str, C.FunSig]) -> C.Term:
    d = lambda x: definedness(x, sigs)  # noqa: E731
    if isinstance(t, (C.Const, C.Var)):
        return C.TRUE
    if isinstance(t, C.Limit):
        return C.TRUE
    if isinstance(t, C.App):
        parts = [d(a) for a in t.args]
        sig = sigs.get(t.fn)
        if sig is not None:
            for arg, (lo, hi) in zip(t.args, sig.domains):
                parts += [C.mk("le", lo, arg), C.mk("le", arg, hi)]
        return C.mk("and", *parts)
    if isinstance(t, C.Bind):
        body = d(t.body)
        parts = [d(t.lo), d(t.hi)]
        if body != C.TRUE:
            parts.append(C.Bind(C.BOOL, "forall", t.var, t.lo, t.hi, body))
        if t.op in ("max", "min"):
            parts.append(C.mk("le", t.lo, t.hi))
        return C.mk("and", *parts)
    if isinstance(t, C.FunBind):
        inner = {**sigs, t.var: t.sig}
        body = definedness(t.body, inner)
        if t.var in C.free_functions(body):
            raise C.Unsupported(f"definedness of the body of '{t.kind} {t.display}' depends on {t.display}")
        parts = [d(lo) for lo, _ in t.sig.domains] + [d(hi) for _, hi in t.sig.domains]
        return C.mk("and", *parts, body)
    assert isinstance(t, C.Op), t
    a = t.args
    guard: list[C.Term]
    if t.op == "and":
        parts, guard = [], []
        for x in a:
            parts.append(C.mk("implies", C.mk("and", *guard), d(x)) if guard else d(x))
            guard.append(x)
        return C.mk("and", *[p for p in parts if p != C.TRUE]) if parts else C.TRUE
    if t.op == "or":
        parts, guard = [], []
        for x in a:
            parts.append(C.mk("implies", C.mk("and", *[C.mk("not", g) for g in guard]), d(x)) if guard else d(x))
            guard.append(x)
        return C.mk("and", *[_simp_implies(p) for p in parts])
    if t.op == "implies":
        return C.mk("and", d(a[0]), _simp_implies(C.mk("implies", a[0], d(a[1]))))
    if t.op == "ite":
        return C.mk("and", d(a[0]), _simp_implies(C.mk("implies", a[0], d(a[1]))),
                    _simp_implies(C.mk("implies", C.mk("not", a[0]), d(a[2]))))
    parts = [d(x) for x in a]
    zero = C.num(0)
    if t.op == "div":
        parts.append(C.mk("not", C.mk("eq", a[1], zero)))
    elif t.op == "ln":
        parts.append(C.mk("lt", zero, a[0]))
    elif t.op == "sqrt":
        parts.append(C.mk("le", zero, a[0]))
    elif t.op == "binom":
        parts.append(C.mk("le", zero, a[0]))
    elif t.op == "pow":
        base, exponent = a[0], fold(a[1])
        if isinstance(exponent, C.Const):
            if exponent.value.denominator == 1:
                if exponent.value < 0:
                    parts.append(C.mk("not", C.mk("eq", base, zero)))
            else:
                parts.append(C.mk("le" if exponent.value > 0 else "lt", zero, base))
        else:
            # By value, as the evaluator reads it: an integer exponent needs only a base that is
            # not 0 under a negative exponent; any other needs a positive base (or 0 with e > 0).
            integral = C.TRUE if exponent.sort == C.INT else C.mk("eq", C.mk("floor", exponent), exponent)
            parts.append(C.mk("or",
                              C.mk("and", integral, C.mk("not", C.mk("and", C.mk("eq", base, zero),
                                                                     C.mk("lt", exponent, zero)))),
                              C.mk("lt", zero, base),
                              C.mk("and", C.mk("eq", base, zero), C.mk("lt", zero, exponent))))
    return C.mk("and", *parts)


def _simp_implies(t: C.Term) -> C.Term:
    if isinstance(t, C.Op) and t.op == "implies" and t.args[1] == C.TRUE:
        return C.TRUE
    return t


def fold(t: C.Term) -> C.Term:
    """Evaluate ground rational subterms; leave everything else as it is."""
    return _fold(t, {})


def _fold(t: C.Term, memo: dict[int, tuple[C.Term, C.Term]]) -> C.Term:
    # Each shared subtree (a let used twice is one object) is folded once per call: `memo` maps
    # a node's id to the node (kept alive) and its image.
    kind = type(t)
    if kind is C.Const or kind is C.Var:
        return t
    done = memo.get(id(t))
    if done is not None:
        return done[1]
    if kind is C.Op:  # the common node, rebuilt without a closure per node
        old = t.args  # type: ignore[attr-defined]
        args = tuple([_fold(a, memo) for a in old])
        node = t
        for new, was in zip(args, old):
            if new is not was:
                node = C.Op(t.sort, t.op, args)  # type: ignore[attr-defined]
                break
        out = fold_node(node)
    else:
        out = fold_node(C.map_children(t, lambda c: _fold(c, memo)))
    memo[id(t)] = (t, out)
    return out


def fold_node(t: C.Term) -> C.Term:
    """Fold the top node only, its children being folded already."""
    if not isinstance(t, C.Op):
        return t
    args = t.args
    v: list[Any]  # the values of constant arguments: truth values or numbers by the operator
    if t.op in ("and", "or", "not", "implies", "iff"):
        if t.op in ("and", "or"):
            return C.mk(t.op, *args)
        if all(isinstance(x, C.Const) for x in args):
            v = [x.value for x in args if isinstance(x, C.Const)]  # all of them
            return C.Const(C.BOOL, {"not": lambda: not v[0], "implies": lambda: (not v[0]) or v[1],
                                    "iff": lambda: v[0] == v[1]}[t.op]())
        if t.op == "implies" and args[0] == C.TRUE:
            return args[1]
        if t.op == "implies" and (args[0] == C.FALSE or args[1] == C.TRUE):
            return C.TRUE
        return t
    if t.op == "ite" and isinstance(args[0], C.Const):
        return args[1] if args[0].value else args[2]
    if not all(isinstance(x, C.Const) for x in args):
        return t
    v = [x.value for x in args if isinstance(x, C.Const)]  # all of them: numbers here
    try:
        if t.op == "add":
            out = sum(v, Fraction(0))
        elif t.op == "mul":
            out = Fraction(1)
            for x in v:
                out *= x
        elif t.op == "neg":
            out = -v[0]
        elif t.op == "div":
            if v[1] == 0:
                return t
            out = Fraction(v[0]) / v[1]
        elif t.op == "pow":
            if v[1].denominator != 1 or (v[0] == 0 and v[1] < 0) or abs(v[1]) > 4096:
                return t
            base = Fraction(v[0])
            if abs(v[1]) * max(base.numerator.bit_length(), base.denominator.bit_length()) > FOLD_BITS:
                return t  # left to the evaluator, which refuses what is too large with a reason
            out = base ** int(v[1])
        elif t.op == "abs":
            out = abs(v[0])
        elif t.op == "floor":
            out = Fraction(math.floor(v[0]))
        elif t.op == "ceil":
            out = Fraction(math.ceil(v[0]))
        elif t.op == "binom":
            if v[0] < 0 or v[0] > FOLD_BITS:
                return t
            out = Fraction(math.comb(int(v[0]), int(v[1]))) if 0 <= v[1] <= v[0] else Fraction(0)
        elif t.op in ("cos", "sin") and v[0] == 0:
            out = Fraction(1 if t.op == "cos" else 0)
        elif t.op == "min":
            out = min(v)
        elif t.op == "max":
            out = max(v)
        elif t.op == "lt":
            return C.Const(C.BOOL, v[0] < v[1])
        elif t.op == "le":
            return C.Const(C.BOOL, v[0] <= v[1])
        elif t.op == "eq":
            return C.Const(C.BOOL, v[0] == v[1])
        elif t.op == "exp" and v[0] == 0:
            out = Fraction(1)
        elif t.op == "ln" and v[0] == 1:
            out = Fraction(0)
        else:
            return t
    except (OverflowError, ZeroDivisionError):
        return t
    return C.Const(t.sort, out)


def unroll(t: C.Term, limit: int = UNROLL_LIMIT, memo: dict[C.Term, C.Term] | None = None) -> C.Term:
    """Expand binders with numeric bounds; leaves those with symbolic bounds alone. `memo`
    (term -> its expansion, a pure function of the term) may be shared between calls: the two
    queries of a claim (undefined, false) unroll the same definedness condition."""
    return _unroll(t, limit, {} if memo is None else memo)


def _unroll(t: C.Term, limit: int, memo: dict[C.Term, C.Term]) -> C.Term:
    # Each distinct subterm is unrolled once per call: a let used twice, or the same term built
    # again for another instance of a binder (sum(k in 0..j, c(k)) for each j holds c(0) again).
    if isinstance(t, (C.Const, C.Var)):
        return t
    done = memo.get(t)
    if done is None:
        done = memo[t] = _unroll_node(C.map_children(t, lambda c: _unroll(c, limit, memo)), limit, memo)
    return done


def _has_binder(t: C.Term, seen: set[int]) -> bool:
    """Whether a `Bind` occurs in `t`, each shared subtree looked at once."""
    stack = [t]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, C.Bind):
            return True
        stack.extend(C.children(x))
    return False


def _unroll_node(t: C.Term, limit: int, memo: dict[C.Term, C.Term]) -> C.Term:
    if isinstance(t, C.Op):
        return fold_node(t)  # a bound such as prod(...) - 1 becomes a number once prod is unrolled
    if not isinstance(t, C.Bind):
        return t
    if not (isinstance(t.lo, C.Const) and isinstance(t.hi, C.Const)):
        return t
    lo, hi = int(t.lo.value), int(t.hi.value)
    if hi - lo + 1 > limit or (hi - lo + 1) * _size(t.body, UNROLLED_NODES) > UNROLLED_NODES:
        return t  # too large to spell out: left as a quantifier (or unknown for a sum)
    items = []
    folded: dict[int, tuple[C.Term, C.Term]] = {}
    for i in range(lo, hi + 1):
        budget.tick()
        items.append(_fold(C.substitute(t.body, {t.var.name: C.num(i, C.INT)}), folded))
    seen: set[int] = set()
    if any(_has_binder(item, seen) for item in items):
        items = [_unroll(i, limit, memo) for i in items]
    if t.op == "forall":
        return C.mk("and", *items)
    if t.op == "exists":
        return C.mk("or", *items)
    if t.op == "sum":
        return fold_node(C.mk("add", *items)) if len(items) > 1 else (items[0] if items else C.num(0, t.sort))
    if t.op == "prod":
        return fold_node(C.mk("mul", *items)) if len(items) > 1 else (items[0] if items else C.num(1, t.sort))
    if not items:
        return t  # max/min of an empty range: left for definedness to reject
    return fold_node(C.mk(t.op, *items)) if len(items) > 1 else items[0]


def _size(t: C.Term, cap: int) -> int:
    """The number of nodes of `t`, counted up to `cap`."""
    count = 0
    stack = [t]
    while stack and count <= cap:
        x = stack.pop()
        count += 1
        stack.extend(C.children(x))
    return count


def function_space(sig: C.FunSig):
    """(points, outputs) of a function space with numeric bounds, or None."""
    bounds = [(lo, hi) for lo, hi in sig.domains if isinstance(lo, C.Const) and isinstance(hi, C.Const)]
    if len(bounds) != len(sig.domains):
        return None
    sizes = [max(0, int(hi.value) - int(lo.value) + 1) for lo, hi in bounds]
    if math.prod(sizes) > FUNCTION_SPACE_LIMIT:
        return None  # too many points to expand over (2^points functions at the least)
    if sig.codomain[0] == C.INT and len(sig.codomain) == 3 and all(isinstance(c, C.Const) for c in sig.codomain[1:]) \
            and sig.codomain[2].value - sig.codomain[1].value + 1 > FUNCTION_SPACE_LIMIT:
        return None
    points = list(itertools.product(*[range(int(lo.value), int(hi.value) + 1) for lo, hi in bounds]))
    if sig.codomain[0] == C.BOOL:
        outputs = [C.FALSE, C.TRUE]
    elif sig.codomain[0] == C.INT and len(sig.codomain) == 3 and all(isinstance(c, C.Const) for c in sig.codomain[1:]):
        outputs = [C.num(v, C.INT) for v in range(int(sig.codomain[1].value), int(sig.codomain[2].value) + 1)]
    else:
        return None
    return points, outputs


def table_lambda(sig: C.FunSig, points, values) -> C.Lambda:
    """A lambda returning `values[i]` at `points[i]`, as a chain of ifs."""
    formals = tuple(C.Var(C.INT, f"arg#{i}") for i in range(len(sig.domains)))
    if not points:  # the empty function: never applied inside its domain, any value will do
        return C.Lambda(formals, _any_value(sig.result_sort))
    body: C.Term = values[-1]
    for point, value in reversed(list(zip(points, values))[:-1]):
        cond = C.mk("and", *[C.mk("eq", f, C.num(p, C.INT)) for f, p in zip(formals, point)])
        body = C.mk("ite", cond, value, body)
    return C.Lambda(formals, body)


def _any_value(sort: str) -> C.Term:
    return C.FALSE if sort == C.BOOL else C.num(0, sort)


def expand_functions(t: C.Term, limit: int = FUNCTION_SPACE_LIMIT) -> C.Term:
    """Replace a quantifier over a small numeric function space by its finite expansion."""
    t = C.map_children(t, lambda c: expand_functions(c, limit))
    if not isinstance(t, C.FunBind):
        return t
    space = function_space(t.sig)
    if space is None:
        return t
    points, outputs = space
    if len(outputs) ** len(points) > limit:
        return t
    cases = []
    for choice in itertools.product(outputs, repeat=len(points)):
        budget.tick()
        lam = table_lambda(t.sig, points, list(choice))
        body = C.substitute_function(t.body, t.var, lam)
        cases.append(fold(unroll(fold(body))))
    return C.mk("and" if t.kind == "forall" else "or", *cases)


def ground_functions(t: C.Term, sigs: dict[str, C.FunSig]) -> C.Term:
    """h(1, 2) with numeric arguments becomes the variable `h(1,2)`; h(e) with a computed
    argument (say h(g(1))) becomes a choice among those variables by the value of e."""
    t = C.map_children(t, lambda c: ground_functions(c, sigs))
    if not (isinstance(t, C.App) and t.fn in sigs):
        return t
    if all(isinstance(a, C.Const) for a in t.args):
        return C.Var(t.sort, ground_name(t.fn, tuple(int(a.value) for a in t.args if isinstance(a, C.Const))))
    if C.free_vars(t) - _ground_names(t):
        return t  # depends on a bound variable of a binder left symbolic: keep the application
    sig = sigs[t.fn]
    # The caller (queries.build_query) grounds only signatures whose domain bounds are numbers.
    points = list(itertools.product(*[range(int(cast(C.Const, lo).value), int(cast(C.Const, hi).value) + 1)
                                      for lo, hi in sig.domains]))
    values = [C.Var(t.sort, ground_name(t.fn, p)) for p in points]
    if not values:  # an empty domain: every application is outside it, and so undefined
        return _any_value(t.sort)
    # Outside the domain the definedness condition already fails, so the last value is as good as any.
    body: C.Term = values[-1]
    for point, value in reversed(list(zip(points, values))[:-1]):
        cond = C.mk("and", *[C.mk("eq", a, C.num(p, C.INT)) for a, p in zip(t.args, point)])
        body = C.mk("ite", cond, value, body)
    return body


def _ground_names(t: C.Term) -> set[str]:
    return {x.name for x in C.walk(t) if isinstance(x, C.Var)} - _bound_names(t)


def _bound_names(t: C.Term) -> set[str]:
    return {x.var.name for x in C.walk(t) if isinstance(x, C.Bind)}


def ground_name(fn: str, args: tuple[int, ...]) -> str:
    return f"{fn}({','.join(str(a) for a in args)})"


def apply_witness(t: C.Term, sigs: dict[str, C.FunSig] | None = None) -> tuple[C.Term, bool]:
    """Replace `exists f ...` that carries a witness by the witnessed body, where the
    quantifier occurs positively.

    The replacement states that the witness is a function into f's codomain (defined at every
    point of the domain, integer-valued for an int codomain, inside its bounds) and satisfies
    the body: it implies the original, so proving the result proves the claim (the converse
    need not hold). Under a negation, on the left of `=>`, on either side of `<=>` or in a
    condition of `if` the implication would run the wrong way, so there the witness is not used.
    """
    used = False

    def go(x: C.Term, positive: bool) -> C.Term:
        nonlocal used
        if isinstance(x, C.Op) and x.op in ("and", "or"):
            return C.mk(x.op, *[go(a, positive) for a in x.args])
        if isinstance(x, C.Op) and x.op == "not":
            return C.mk("not", go(x.args[0], not positive))
        if isinstance(x, C.Op) and x.op == "implies":
            return C.mk("implies", go(x.args[0], not positive), go(x.args[1], positive))
        if isinstance(x, C.Bind) and x.op in ("forall", "exists"):
            return C.Bind(x.sort, x.op, x.var, x.lo, x.hi, go(x.body, positive))
        if isinstance(x, C.FunBind):
            body = go(x.body, positive)
            if not (positive and x.kind == "exists" and x.witness is not None):
                return C.FunBind(x.sort, x.kind, x.var, x.sig, body, x.witness)
            used = True
            return C.mk("and", witness_in_codomain(x.sig, x.witness, sigs or {}),
                        C.substitute_function(body, x.var, guarded_witness(x.sig, x.witness)))
        return x  # comparisons, iff, ite and terms: the witness is not used inside them

    return go(t, True), used


def guarded_witness(sig: C.FunSig, lam: C.Lambda) -> C.Lambda:
    """The witness as the quantified function reads it: undefined outside the domain. f(3) with
    f : [1..2] -> ... is undefined whatever f is; the witness's body alone may have a value
    there, and putting it in place of f would drop the domain condition that `definedness`
    attaches to an application of f (a claim undefined for every f would be proved). The
    other branch, 1/0 (under floor for an integer result), is undefined and keeps the sort."""
    conditions = []
    for formal, (lo, hi) in zip(lam.formals, sig.domains):
        conditions += [C.mk("le", lo, formal), C.mk("le", formal, hi)]
    if not conditions:
        return lam
    undefined = C.mk("div", C.num(1), C.num(0))
    if lam.body.sort == C.INT:
        undefined = C.mk("floor", undefined)
    return C.Lambda(lam.formals, C.mk("ite", C.mk("and", *conditions), lam.body, undefined))


def witness_in_codomain(sig: C.FunSig, lam: C.Lambda, sigs: dict[str, C.FunSig]) -> C.Term:
    """forall points of the domain: the witness is defined there and lies in the codomain."""
    value = lam.body
    parts = [definedness(value, sigs)]
    if sig.codomain[0] == C.INT:
        parts.append(C.mk("eq", C.mk("floor", value), value))
        if len(sig.codomain) == 3:
            parts += [C.mk("le", sig.codomain[1], value), C.mk("le", value, sig.codomain[2])]
    inner = C.mk("and", *parts)
    for formal, (lo, hi) in reversed(list(zip(lam.formals, sig.domains))):
        inner = C.Bind(C.BOOL, "forall", formal, lo, hi, inner)
    return inner
