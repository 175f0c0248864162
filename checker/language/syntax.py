"""The surface syntax tree: what the user wrote, each node with its source span.

Nodes are frozen dataclasses. Spans take no part in equality, so a tree printed by
`to_source` and parsed again compares equal to the original (a property the tests check).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

from checker.errors import NO_SPAN, Span


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


# ---- expressions -------------------------------------------------------------------------

@dataclass(frozen=True)
class Expr:
    pass


@dataclass(frozen=True)
class Num(Expr):
    value: Fraction
    text: str = field(default="", compare=False)
    span: Span = _span()


@dataclass(frozen=True)
class BoolLit(Expr):
    value: bool
    span: Span = _span()


@dataclass(frozen=True)
class Inf(Expr):
    span: Span = _span()


@dataclass(frozen=True)
class Name(Expr):
    id: str
    span: Span = _span()


@dataclass(frozen=True)
class Call(Expr):
    fn: str
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Neg(Expr):
    arg: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Not(Expr):
    arg: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Binary(Expr):
    """Arithmetic (+ - * / ^) and logic (and, or, =>, <=>)."""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Compare(Expr):
    """A chain `a < b <= c` means `a < b and b <= c`."""

    ops: tuple[str, ...]
    operands: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Ite(Expr):
    cond: Expr
    then: Expr
    other: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Indexed(Expr):
    """sum / prod / max / min over an integer range."""

    op: str
    var: str
    lo: Expr
    hi: Expr
    body: Expr
    span: Span = _span()


@dataclass(frozen=True)
class RangeQuant(Expr):
    kind: str  # "forall" | "exists"
    var: str
    lo: Expr
    hi: Expr
    body: Expr
    span: Span = _span()


@dataclass(frozen=True)
class FunQuant(Expr):
    kind: str
    var: str
    ftype: FunType
    body: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Limit(Expr):
    var: str
    point: Expr  # Inf(), Neg(Inf()) or a finite expression
    body: Expr
    span: Span = _span()


# ---- types -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    lo: Expr
    hi: Expr
    lo_closed: bool
    hi_closed: bool
    span: Span = _span()


@dataclass(frozen=True)
class SetDomain:
    values: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ScalarType:
    base: str  # "int" | "real" | "bool"
    domain: Interval | SetDomain | None = None
    span: Span = _span()


@dataclass(frozen=True)
class IndexSet:
    lo: Expr
    hi: Expr
    span: Span = _span()


@dataclass(frozen=True)
class FunType:
    domains: tuple[IndexSet, ...]
    codomain: IndexSet | str  # an index set, or "real" / "bool" / "int"
    span: Span = _span()


# ---- theorem items -----------------------------------------------------------------------

@dataclass(frozen=True)
class Param:
    name: str
    type: ScalarType | FunType
    span: Span = _span()


@dataclass(frozen=True)
class Let:
    name: str
    formals: tuple[str, ...]
    body: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Assume:
    label: str | None
    expr: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Claim:
    expr: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Witness:
    name: str
    formals: tuple[str, ...]
    body: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Binding:
    """`N in 2..4096` (range), `p in {1/2, 9/10}` (set), `k = m^n` (value) or
    `h = {(1, 1): 2, (1, 2): 1}` (table: the whole of a function parameter)."""

    name: str
    kind: str  # "range" | "set" | "value" | "table"
    values: tuple[Expr, ...]  # (lo, hi) for a range; empty for a table
    span: Span = _span()
    table: tuple[tuple[tuple[Expr, ...], Expr], ...] = ()


@dataclass(frozen=True)
class Check:
    kind: str  # "symbolic" | "finite"
    bindings: tuple[Binding, ...]
    expect: str
    timeout: Fraction | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Theorem:
    id: str
    title: str
    refs: tuple[str, ...]
    params: tuple[Param, ...]
    lets: tuple[Let, ...]
    assumptions: tuple[Assume, ...]
    claims: tuple[Claim, ...]
    witnesses: tuple[Witness, ...]
    checks: tuple[Check, ...]
    span: Span = _span()
    items: tuple = field(default=(), compare=False, repr=False)  # source order, for printing
    trust: str | None = None
    notes: tuple[str, ...] = ()
    # statements this one builds on, and where each is named (not part of equality)
    uses: tuple[str, ...] = ()
    use_spans: tuple[Span, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Module:
    file: str
    theorems: tuple[Theorem, ...]


def rebuild(thm: Theorem, items: tuple) -> Theorem:
    """The theorem with its items (in source order) replaced, and its per-kind lists made to match."""
    return replace(
        thm, items=items,
        lets=tuple(i for i in items if isinstance(i, Let)),
        assumptions=tuple(i for i in items if isinstance(i, Assume)),
        claims=tuple(i for i in items if isinstance(i, Claim)),
        checks=tuple(i for i in items if isinstance(i, Check)),
        witnesses=tuple(i for i in items if isinstance(i, Witness)))
