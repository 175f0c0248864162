"""The oracle's own syntax: AST dataclasses, a parser and a printer for the statement language.

Why this module exists: the soundness harness builds statements as its own AST, independent of
the checker's parser and elaborator (`checker/parser.py`, `checker/elaborate.py`), prints them as
statement-language text for the checker, and reads the checker's counterexample values back
(`3/2`, `(2 * ln(3/2))`, `true`). `checker/oracle.py` evaluates this AST and re-exports it.
The parser follows the precedence of `grammars/statements.lark`: quantifiers, `<=>`, `=>`, `or`,
`and`, `not`, comparisons (chains become conjunctions), `+ -`, `* /`, unary minus, `^`
(right-associative, binding tighter than unary minus on its left: `-x^2` is `-(x^2)`).
The printer parenthesizes every compound part, so printing never depends on precedence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

# =============================================================================================
# The AST
# =============================================================================================

class Expr:
    pass


@dataclass(frozen=True)
class Num(Expr):
    value: Fraction
    text: str = ""          # a decimal literal as written ("2.5"); real-sorted in the language


@dataclass(frozen=True)
class Var(Expr):
    name: str


@dataclass(frozen=True)
class Bool(Expr):
    value: bool


@dataclass(frozen=True)
class Inf(Expr):
    sign: int = 1           # only as a domain bound or limit point


@dataclass(frozen=True)
class Neg(Expr):
    arg: Expr


@dataclass(frozen=True)
class Bin(Expr):
    op: str                 # + - * / ^
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Call(Expr):
    fn: str                 # a builtin, a function parameter, a bound function or a macro
    args: tuple


@dataclass(frozen=True)
class Cmp(Expr):
    op: str                 # < <= > >= = !=
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Not(Expr):
    arg: Expr


@dataclass(frozen=True)
class Logic(Expr):
    op: str                 # and or => <=>
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Ite(Expr):
    cond: Expr
    then: Expr
    other: Expr


@dataclass(frozen=True)
class Big(Expr):
    op: str                 # sum prod max min
    var: str
    lo: Expr
    hi: Expr
    body: Expr


@dataclass(frozen=True)
class Quant(Expr):
    kind: str               # forall exists
    var: str
    lo: Expr
    hi: Expr
    body: Expr


@dataclass(frozen=True)
class FunType:
    domains: tuple          # ((lo, hi), ...) of Exprs
    codomain: tuple         # ("range", lo, hi) | ("int",) | ("real",) | ("bool",)


@dataclass(frozen=True)
class FunQuant(Expr):
    kind: str
    name: str
    ftype: FunType
    body: Expr


DNE = "dne"


@dataclass(frozen=True)
class Limit(Expr):
    var: str
    point: Fraction | str   # Fraction | "inf" | "-inf"
    body: Expr
    known: Expr | str | None = None    # an Expr (the value by construction), DNE, or None


# ---- statements

@dataclass(frozen=True)
class Interval:
    lo: Expr
    hi: Expr
    lo_closed: bool
    hi_closed: bool


@dataclass(frozen=True)
class SetDom:
    values: tuple


@dataclass(frozen=True)
class ScalarType:
    base: str               # int real bool
    domain: Interval | SetDom | None = None


@dataclass(frozen=True)
class Param:
    name: str
    type: ScalarType | FunType


@dataclass(frozen=True)
class Let:
    name: str
    formals: tuple
    body: Expr


@dataclass(frozen=True)
class Witness:
    name: str
    formals: tuple
    body: Expr


@dataclass(frozen=True)
class Binding:
    name: str
    kind: str               # range set value table
    values: tuple           # range: (lo, hi); set: values; value: (expr,); table: ((args, value), ...)


@dataclass(frozen=True)
class Check:
    kind: str               # symbolic finite
    bindings: tuple = ()


@dataclass
class Statement:
    id: str
    params: list
    lets: list = field(default_factory=list)
    assumptions: list = field(default_factory=list)    # Exprs
    claims: list = field(default_factory=list)         # Exprs
    witnesses: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    title: str = "generated"


# =============================================================================================
# Parser (our own, for templates and for the checker's counterexample values)
# =============================================================================================

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)"                      # a number
                    r"|(\$?[A-Za-z_][A-Za-z0-9_']*)"                # a name ($name: a slot)
                    r"|(<=>|=>|<=|>=|!=|->|\.\.|[-+*/^()<>=,:\[\]{}]))")
_KEYWORDS = {"forall", "exists", "and", "or", "not", "if", "then", "else", "in", "true", "false",
             "inf", "sum", "prod", "max", "min", "limit"}
_CMP = {"<", "<=", ">", ">=", "=", "!="}


class ParseError(ValueError):
    pass


class _Parser:
    def __init__(self, text: str, slots: dict | None = None):
        self.tokens, pos = [], 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ParseError(f"cannot read {text[pos:pos + 20]!r}")
            kind = "num" if m.group(1) else "name" if m.group(2) else "op"
            assert m.lastindex is not None  # one of the three groups matched
            self.tokens.append((kind, m.group(m.lastindex)))
            pos = m.end()
        self.i = 0
        self.slots = slots or {}

    def peek(self, k: int = 0):
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else ("eof", "")

    def take(self, value: str | None = None):
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise ParseError(f"expected {value!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def at(self, value: str) -> bool:
        return self.peek()[1] == value and self.peek()[0] != "num"

    def name(self) -> str:
        kind, value = self.take()
        if kind != "name" or value in _KEYWORDS:
            raise ParseError(f"expected a name, found {value!r}")
        return value

    def expr(self) -> Expr:
        if self.at("forall") or self.at("exists"):
            kind = self.take()[1]
            var = self.name()
            if self.at(":"):
                self.take(":")
                ftype = self.funtype()
                self.take(":")
                return FunQuant(kind, var, ftype, self.expr())
            self.take("in")
            lo = self.expr()
            self.take("..")
            hi = self.expr()
            self.take(":")
            return Quant(kind, var, lo, hi, self.expr())
        left = self.implies()
        if self.at("<=>"):
            self.take()
            return Logic("<=>", left, self.implies())
        return left

    def funtype(self) -> FunType:
        domains = [self.index_set()]
        while self.at("*"):
            self.take()
            domains.append(self.index_set())
        self.take("->")
        if self.at("["):
            lo, hi = self.index_set()
            return FunType(tuple(domains), ("range", lo, hi))
        kind = self.take()[1]
        if kind not in ("int", "real", "bool"):
            raise ParseError(f"bad codomain {kind!r}")
        return FunType(tuple(domains), (kind,))

    def index_set(self):
        self.take("[")
        lo = self.expr()
        self.take("..")
        hi = self.expr()
        self.take("]")
        return (lo, hi)

    def implies(self) -> Expr:
        left = self.disjunction()
        if self.at("=>"):
            self.take()
            return Logic("=>", left, self.implies())
        return left

    def disjunction(self) -> Expr:
        left = self.conjunction()
        while self.at("or"):
            self.take()
            left = Logic("or", left, self.conjunction())
        return left

    def conjunction(self) -> Expr:
        left = self.negation()
        while self.at("and"):
            self.take()
            left = Logic("and", left, self.negation())
        return left

    def negation(self) -> Expr:
        if self.at("not"):
            self.take()
            return Not(self.negation())
        return self.comparison()

    def comparison(self) -> Expr:
        operands, ops = [self.additive()], []
        while self.peek()[0] == "op" and self.peek()[1] in _CMP:
            ops.append(self.take()[1])
            operands.append(self.additive())
        if not ops:
            return operands[0]
        parts = [Cmp(op, l, r) for op, l, r in zip(ops, operands, operands[1:])]
        out: Expr = parts[0]
        for p in parts[1:]:
            out = Logic("and", out, p)
        return out

    def additive(self) -> Expr:
        left = self.multiplicative()
        while self.at("+") or self.at("-"):
            op = self.take()[1]
            left = Bin(op, left, self.multiplicative())
        return left

    def multiplicative(self) -> Expr:
        left = self.unary()
        while self.at("*") or self.at("/"):
            op = self.take()[1]
            left = Bin(op, left, self.unary())
        return left

    def unary(self) -> Expr:
        if self.at("-"):
            self.take()
            return Neg(self.unary())
        base = self.atom()
        if self.at("^"):
            self.take()
            return Bin("^", base, self.unary())
        return base

    def exprs(self) -> list:
        out = [self.expr()]
        while self.at(","):
            self.take()
            out.append(self.expr())
        return out

    def atom(self) -> Expr:
        kind, value = self.peek()
        if kind == "num":
            self.take()
            return Num(Fraction(value), value if "." in value else "")
        if value == "(":
            self.take()
            e = self.expr()
            self.take(")")
            return e
        if kind != "name":
            raise ParseError(f"unexpected {value!r}")
        self.take()
        if value.startswith("$"):
            return self.slots[value[1:]]
        if value in ("true", "false"):
            return Bool(value == "true")
        if value == "inf":
            return Inf(1)
        if value == "if":
            c = self.expr()
            self.take("then")
            a = self.expr()
            self.take("else")
            return Ite(c, a, self.expr())
        if value == "limit":
            self.take("(")
            var = self.name()
            self.take("->")
            point_expr = self.additive()
            self.take(",")
            body = self.expr()
            self.take(")")
            return Limit(var, _limit_point(point_expr), body)
        if value in ("sum", "prod", "max", "min") and self.at("("):
            self.take("(")
            if self.peek(1)[1] == "in" and self.peek()[0] == "name":
                var = self.name()
                self.take("in")
                lo = self.expr()
                self.take("..")
                hi = self.expr()
                self.take(",")
                body = self.expr()
                self.take(")")
                return Big(value, var, lo, hi, body)
            args = self.exprs()
            self.take(")")
            return Call(value, tuple(args))
        if value in _KEYWORDS:
            raise ParseError(f"unexpected keyword {value!r}")
        if self.at("("):
            self.take("(")
            args = self.exprs()
            self.take(")")
            return Call(value, tuple(args))
        return Var(value)


def _limit_point(e: Expr):
    if isinstance(e, Inf):
        return "inf"
    if isinstance(e, Neg) and isinstance(e.arg, Inf):
        return "-inf"
    if isinstance(e, Num):
        return e.value
    if isinstance(e, Neg) and isinstance(e.arg, Num):
        return -e.arg.value
    raise ParseError("a limit point must be a number, inf or -inf")


def parse(text: str, **slots) -> Expr:
    """Parse an expression; `$name` inserts the Expr given as keyword `name`."""
    p = _Parser(text, slots)
    e = p.expr()
    if p.peek()[0] != "eof":
        raise ParseError(f"unexpected {p.peek()[1]!r} after the expression")
    return e


def parse_funtype(text: str) -> FunType:
    p = _Parser(text)
    return p.funtype()


# =============================================================================================
# Printer: statements to statement-language text (every compound part parenthesized)
# =============================================================================================

def _num_text(q: Fraction) -> str:
    if q.denominator == 1:
        return str(q.numerator) if q >= 0 else f"(-{-q.numerator})"
    return f"({q.numerator}/{q.denominator})" if q >= 0 else f"(-{-q.numerator}/{q.denominator})"


def render(e: Expr) -> str:
    if isinstance(e, Num):
        return e.text or _num_text(e.value)
    if isinstance(e, Var):
        return e.name
    if isinstance(e, Bool):
        return "true" if e.value else "false"
    if isinstance(e, Inf):
        return "inf" if e.sign > 0 else "-inf"
    if isinstance(e, Neg):
        return f"(-{render(e.arg)})"
    if isinstance(e, (Bin, Cmp, Logic)):
        return f"({render(e.left)} {e.op} {render(e.right)})"
    if isinstance(e, Call):
        return f"{e.fn}({', '.join(render(a) for a in e.args)})"
    if isinstance(e, Not):
        return f"(not {render(e.arg)})"
    if isinstance(e, Ite):
        return f"(if {render(e.cond)} then {render(e.then)} else {render(e.other)})"
    if isinstance(e, Big):
        return f"{e.op}({e.var} in {render(e.lo)}..{render(e.hi)}, {render(e.body)})"
    if isinstance(e, Quant):
        return f"({e.kind} {e.var} in {render(e.lo)}..{render(e.hi)} : {render(e.body)})"
    if isinstance(e, FunQuant):
        return f"({e.kind} {e.name} : {render_funtype(e.ftype)} : {render(e.body)})"
    if isinstance(e, Limit):
        if isinstance(e.point, str):
            point = e.point
        else:
            point = _decimal(e.point)
        return f"limit({e.var} -> {point}, {render(e.body)})"
    raise TypeError(f"cannot render {e!r}")


def _decimal(q: Fraction) -> str:
    """A limit point as a literal: an integer or a terminating decimal (the language wants a constant)."""
    sign = "-" if q < 0 else ""
    q = abs(q)
    if q.denominator == 1:
        return f"{sign}{q.numerator}"
    d = q.denominator
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        raise ValueError(f"limit point {q} has no terminating decimal")
    digits = max(twos, fives)
    scaled = q * 10 ** digits
    whole, frac = divmod(scaled.numerator, 10 ** digits)
    return f"{sign}{whole}.{str(frac).rjust(digits, '0')}"


def render_funtype(t: FunType) -> str:
    doms = " * ".join(f"[{render(lo)}..{render(hi)}]" for lo, hi in t.domains)
    cod = t.codomain
    cod_text = f"[{render(cod[1])}..{render(cod[2])}]" if cod[0] == "range" else cod[0]
    return f"{doms} -> {cod_text}"


def render_type(t) -> str:
    if isinstance(t, FunType):
        return render_funtype(t)
    if t.base == "bool" or t.domain is None:
        return t.base
    d = t.domain
    if isinstance(d, SetDom):
        return f"{t.base} in {{{', '.join(render(v) for v in d.values)}}}"
    return (f"{t.base} in {'[' if d.lo_closed else '('}{render(d.lo)}, {render(d.hi)}"
            f"{']' if d.hi_closed else ')'}")


def render_binding(b: Binding) -> str:
    if b.kind == "range":
        return f"{b.name} in {render(b.values[0])}..{render(b.values[1])}"
    if b.kind == "set":
        return f"{b.name} in {{{', '.join(render(v) for v in b.values)}}}"
    if b.kind == "value":
        return f"{b.name} = {render(b.values[0])}"
    entries = ", ".join(f"({', '.join(render(a) for a in args)}): {render(v)}" for args, v in b.values)
    return f"{b.name} = {{{entries}}}"


def render_statement(s: Statement) -> str:
    lines = [f'theorem {s.id} "{s.title}" {{']
    for p in s.params:
        lines.append(f"  param {p.name} : {render_type(p.type)}")
    for let in s.lets:
        formals = f"({', '.join(let.formals)})" if let.formals else ""
        lines.append(f"  let {let.name}{formals} = {render(let.body)}")
    for a in s.assumptions:
        lines.append(f"  assume {render(a)}")
    for c in s.claims:
        lines.append(f"  claim {render(c)}")
    for w in s.witnesses:
        lines.append(f"  witness {w.name}({', '.join(w.formals)}) = {render(w.body)}")
    for c in s.checks:
        binds = ", ".join(render_binding(b) for b in c.bindings)
        lines.append(f"  check {c.kind}{' ' + binds if binds else ''} expect unknown")
    lines.append("}")
    return "\n".join(lines) + "\n"
