"""The small core every backend sees.

The elaborator (`elaborate.py`) rewrites all sugar into these few node kinds: constants,
variables, operator applications from the closed set `OPS`, applications of
function-valued parameters, bounded binders over integer ranges, quantifiers over finite
function spaces, and limits. Each backend handles exactly these and raises
`Unsupported` on anything else; a test asserts every operator has a handler everywhere.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

INT, REAL, BOOL = "int", "real", "bool"

# name -> arity (None: two or more)
OPS: dict[str, int | None] = {
    "add": None, "mul": None, "neg": 1, "div": 2, "pow": 2,
    "exp": 1, "ln": 1, "sqrt": 1, "abs": 1, "min": None, "max": None,
    "cos": 1, "sin": 1, "floor": 1, "ceil": 1, "binom": 2,
    "lt": 2, "le": 2, "eq": 2,
    "not": 1, "and": None, "or": None, "implies": 2, "iff": 2, "ite": 3,
}
ARITH_OPS = frozenset({"add", "mul", "neg", "div", "pow", "exp", "ln", "sqrt", "abs", "min", "max",
                       "cos", "sin", "floor", "ceil", "binom"})
COMPARISONS = frozenset({"lt", "le", "eq"})
BINDERS = ("forall", "exists", "sum", "prod", "max", "min")


class Unsupported(Exception):
    """A backend met a construct it cannot translate; the check becomes `unknown`."""


@dataclass(frozen=True)
class Term:
    sort: str

    def __hash__(self) -> int:
        # Terms are deep trees used as dictionary keys; hash each node once.
        try:
            return self.__dict__["_hash"]
        except KeyError:
            cls = type(self)
            fields_of = _COMPARED.get(cls)
            if fields_of is None:
                fields_of = _COMPARED[cls] = tuple(name for name, f in self.__dataclass_fields__.items() if f.compare)
            h = hash((cls.__name__,) + tuple([self.__dict__[name] for name in fields_of]))
            object.__setattr__(self, "_hash", h)
            return h


_COMPARED: dict[type, tuple[str, ...]] = {}  # each term class's compared fields, in order


@dataclass(frozen=True)
class Const(Term):
    value: Fraction | bool


@dataclass(frozen=True)
class Var(Term):
    name: str

    @property
    def display(self) -> str:
        return self.name.split("#")[0]


@dataclass(frozen=True)
class Op(Term):
    op: str
    args: tuple[Term, ...]


@dataclass(frozen=True)
class FunSig:
    """[lo1..hi1] * ... -> codomain; codomain is ("int", lo, hi), ("int",), ("real",) or ("bool",)."""

    domains: tuple[tuple[Term, Term], ...]
    codomain: tuple

    @property
    def result_sort(self) -> str:
        return self.codomain[0]


@dataclass(frozen=True)
class App(Term):
    fn: str
    args: tuple[Term, ...]


@dataclass(frozen=True)
class Bind(Term):
    """forall / exists / sum / prod / max / min over the integers lo..hi."""

    op: str
    var: Var
    lo: Term
    hi: Term
    body: Term


@dataclass(frozen=True)
class Lambda:
    formals: tuple[Var, ...]
    body: Term


@dataclass(frozen=True)
class FunBind(Term):
    kind: str  # "forall" | "exists"
    var: str
    sig: FunSig
    body: Term
    witness: Lambda | None = field(default=None, compare=False)

    @property
    def display(self) -> str:
        return self.var.split("#")[0]


@dataclass(frozen=True)
class Limit(Term):
    var: Var
    point: Fraction | str  # a number, "inf" or "-inf"
    body: Term


for _cls in (Const, Var, Op, App, Bind, FunBind, Limit):
    # dataclass would otherwise generate an uncached hash; mypy does not allow assigning to a method
    _cls.__hash__ = Term.__hash__  # type: ignore[method-assign]

TRUE = Const(BOOL, True)
FALSE = Const(BOOL, False)


def num(value, sort: str | None = None) -> Const:
    value = Fraction(value)
    return Const(sort or (INT if value.denominator == 1 else REAL), value)


def children(t: Term) -> tuple[Term, ...]:
    kind = type(t)
    if kind is Op or kind is App:
        return t.args  # type: ignore[attr-defined]
    if kind is Var or kind is Const:
        return ()
    if isinstance(t, Bind):
        return (t.lo, t.hi, t.body)
    if isinstance(t, FunBind):
        parts = [t.body]
        for lo, hi in t.sig.domains:
            parts += [lo, hi]
        parts += [c for c in t.sig.codomain[1:]]
        return tuple(parts)
    if isinstance(t, Limit):
        return (t.body,)
    return ()


def walk(t: Term) -> Iterator[Term]:
    """Every node of `t`, parents before children, in the order of the children."""
    stack = [t]
    while stack:
        x = stack.pop()
        yield x
        below = children(x)
        if below:
            stack.extend(reversed(below))


def free_vars(t: Term) -> set[str]:
    return set(_free(t))


_NONE: frozenset[str] = frozenset()


def _free(t: Term) -> frozenset[str]:
    """The free variables of `t`, kept on the node (terms are immutable) so that a
    substitution can pass over every subtree that does not mention what it replaces."""
    if isinstance(t, Var):
        return frozenset((t.name,))
    if isinstance(t, Const):
        return _NONE
    try:
        return t.__dict__["_free"]
    except KeyError:
        pass
    if isinstance(t, Bind):
        out = _free(t.lo) | _free(t.hi) | (_free(t.body) - {t.var.name})
    elif isinstance(t, Limit):
        out = _free(t.body) - {t.var.name}
    else:
        out = _NONE
        for c in children(t):
            fc = _free(c)
            if fc:
                out = out | fc if out else fc
    object.__setattr__(t, "_free", out)
    return out


def free_functions(t: Term) -> set[str]:
    return set(_functions(t))


def _functions(t: Term) -> frozenset[str]:
    """The free function names of `t`, kept on the node as `_free` keeps its variables."""
    if isinstance(t, (Var, Const)):
        return _NONE
    try:
        return t.__dict__["_functions"]
    except KeyError:
        pass
    out = frozenset((t.fn,)) if isinstance(t, App) else _NONE
    for c in children(t):
        fc = _functions(c)
        if fc:
            out = out | fc if out else fc
    if isinstance(t, FunBind):
        out = out - {t.var}
    object.__setattr__(t, "_functions", out)
    return out


def map_children(t: Term, f: Callable[[Term], Term]) -> Term:
    """Rebuild `t` with `f` applied to each direct child; `t` itself when every child comes
    back as the very same object (the tree keeps its shared parts and their cached hashes)."""
    kind = type(t)
    if kind is Op or kind is App:
        old = t.args  # type: ignore[attr-defined]
        args = tuple([f(a) for a in old])
        for new, was in zip(args, old):
            if new is not was:
                return Op(t.sort, t.op, args) if kind is Op else App(t.sort, t.fn, args)  # type: ignore[attr-defined]
        return t
    if isinstance(t, Bind):
        lo, hi, body = f(t.lo), f(t.hi), f(t.body)
        if lo is t.lo and hi is t.hi and body is t.body:
            return t
        return Bind(t.sort, t.op, t.var, lo, hi, body)
    if isinstance(t, FunBind):
        sig = FunSig(tuple((f(lo), f(hi)) for lo, hi in t.sig.domains),
                     (t.sig.codomain[0],) + tuple(f(c) for c in t.sig.codomain[1:]))
        witness = t.witness
        if witness is not None:
            witness = Lambda(witness.formals, f(witness.body))
        return FunBind(t.sort, t.kind, t.var, sig, f(t.body), witness)
    if isinstance(t, Limit):
        return Limit(t.sort, t.var, t.point, f(t.body))
    return t


def substitute(t: Term, mapping: dict[str, Term]) -> Term:
    """Replace free variables. Bound names are unique per theorem, so no capture occurs."""
    if not mapping:
        return t
    return _substitute(t, mapping, {})


def _substitute(t: Term, mapping: dict[str, Term], memo: dict[int, tuple[Term, Term]]) -> Term:
    # A subtree met again (a let is one shared subtree) is rewritten once: `memo` maps the id of
    # each node seen in this substitution to the node (kept alive) and its image.
    kind = type(t)
    if kind is Var:
        return mapping.get(t.name, t)  # type: ignore[attr-defined]
    if kind is Const:
        return t
    if mapping.keys().isdisjoint(_free(t)):
        return t  # nothing to replace below: the very same subtree
    done = memo.get(id(t))
    if done is not None:
        return done[1]
    if kind is Op:
        out: Term = Op(t.sort, t.op, tuple([_substitute(a, mapping, memo) for a in t.args]))  # type: ignore[attr-defined]
    else:
        out = map_children(t, lambda c: _substitute(c, mapping, memo))
    memo[id(t)] = (t, out)
    return out


def substitute_function(t: Term, fn: str, lam: Lambda) -> Term:
    """Replace every application fn(a1..an) by the lambda's body with its formals bound."""
    if isinstance(t, App) and t.fn == fn:
        args = [substitute_function(a, fn, lam) for a in t.args]
        return substitute(lam.body, {v.name: a for v, a in zip(lam.formals, args)})
    if isinstance(t, FunBind) and t.var == fn:
        return t
    return map_children(t, lambda c: substitute_function(c, fn, lam))


def mk(op: str, *args: Term, strict: bool = False) -> Term:
    """Build an operator application with its sort and the obvious simplifications.
    `strict` keeps what a simplification would drop but the statement's definedness reads
    (`x / 0 = 1 or true` is undefined, not true); the elaborator builds statements with it."""
    if op in ("and", "or"):
        unit, zero = (TRUE, FALSE) if op == "and" else (FALSE, TRUE)
        flat: list[Term] = []
        for a in args:
            if a == zero:
                # Short-circuit: what comes before the zero is still read, so in a statement it
                # must still be defined (`strict`); in a query, where definedness is explicit,
                # the zero absorbs everything.
                if not strict or all(total(x) for x in flat):
                    return zero
                flat.append(a)
                break
            if a == unit:
                continue
            flat.extend(a.args if isinstance(a, Op) and a.op == op else (a,))
        if not flat:
            return unit
        return flat[0] if len(flat) == 1 else Op(BOOL, op, tuple(flat))
    if op == "not" and isinstance(args[0], Const):
        return Const(BOOL, not args[0].value)
    if op in ("not", "implies", "iff") or op in COMPARISONS:
        return Op(BOOL, op, args)
    if op == "ite":
        return Op(args[1].sort if args[1].sort == args[2].sort else REAL, op, args)
    if op in ("floor", "ceil", "binom"):
        return Op(INT, op, args)
    if op in ("div", "exp", "ln", "sqrt", "cos", "sin"):
        return Op(REAL, op, args)
    if op == "pow":
        base, exponent = args
        is_int = (base.sort == INT and isinstance(exponent, Const) and exponent.value >= 0
                  and exponent.value.denominator == 1)
        return Op(INT if is_int else REAL, op, args)
    sort = INT if all(a.sort == INT for a in args) else REAL
    return Op(sort, op, args)


PARTIAL_OPS = frozenset({"div", "ln", "sqrt", "pow", "binom"})


def total(t: Term) -> bool:
    """Whether `t` has a value everywhere, as far as its shape shows: no division, ln, sqrt,
    power or binomial, no function application, no max or min over a range, no limit."""
    for x in walk(t):
        if isinstance(x, Op) and x.op in PARTIAL_OPS or isinstance(x, (App, Limit, FunBind)):
            return False
        if isinstance(x, Bind) and x.op in ("max", "min"):
            return False
    return True


def term_to_text(t: Term) -> str:
    """A readable rendering of a core term, in the statement language where possible."""
    if isinstance(t, Const):
        if isinstance(t.value, bool):
            return "true" if t.value else "false"
        v = t.value
        return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    if isinstance(t, Var):
        return t.display
    if isinstance(t, App):
        return f"{t.fn.split('#')[0]}({', '.join(term_to_text(a) for a in t.args)})"
    if isinstance(t, Op):
        a = [term_to_text(x) for x in t.args]
        infix = {"add": " + ", "mul": " * ", "div": " / ", "pow": " ^ ", "lt": " < ",
                 "le": " <= ", "eq": " = ", "and": " and ", "or": " or ",
                 "implies": " => ", "iff": " <=> "}
        if t.op in infix:
            return "(" + infix[t.op].join(a) + ")"
        if t.op == "neg":
            return f"-{a[0]}"
        if t.op == "not":
            return f"not {a[0]}"
        if t.op == "ite":
            return f"(if {a[0]} then {a[1]} else {a[2]})"
        return f"{t.op}({', '.join(a)})"
    if isinstance(t, Bind):
        head = f"{t.var.display} in {term_to_text(t.lo)}..{term_to_text(t.hi)}"
        if t.op in ("forall", "exists"):
            return f"({t.op} {head} : {term_to_text(t.body)})"
        return f"{t.op}({head}, {term_to_text(t.body)})"
    if isinstance(t, FunBind):
        return f"({t.kind} {t.display} : ... : {term_to_text(t.body)})"
    if isinstance(t, Limit):
        return f"limit({t.var.display} -> {t.point}, {term_to_text(t.body)})"
    return repr(t)
