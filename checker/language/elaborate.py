"""Name resolution, type checking and desugaring: the surface tree becomes the core.

One pass does all of it (as pySMT does): `a > b` becomes `lt(b, a)`, `a != b` becomes
`not(eq(a, b))`, chains split into conjunctions, `let` macros are inlined, bound variables
get names unique in their theorem, and parameter domains become constraints. Every
problem is recorded as a located diagnostic and the pass carries on, so a file's errors
are reported together.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from checker.errors import Diagnostic, SourceError, Span, did_you_mean
from checker.language import core as C
from checker.language import syntax as S

PAPER_IDS_FILE = Path(__file__).resolve().parent / "paper_ids.txt"


def _paper_ids() -> tuple[str, ...]:
    lines = PAPER_IDS_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(line.split()[0] for line in lines if line.strip() and not line.startswith("#"))


# The paper's statement ids (checker/language/paper_ids.txt); a theorem with one of their
# prefixes must use one of them, optionally with a `.suffix`; other ids are the user's own.
KNOWN_IDS = _paper_ids()
PAPER_PREFIXES = frozenset(i.split("-")[0] for i in KNOWN_IDS)

MAX_TIMEOUT = 86_400  # seconds per solver query

BUILTINS = {"exp": 1, "ln": 1, "sqrt": 1, "abs": 1, "min": None, "max": None,
            "cos": 1, "sin": 1, "floor": 1, "ceil": 1, "binom": 2}


@dataclass
class CoreParam:
    name: str
    sort: str | C.FunSig
    constraints: list[C.Term]
    span: Span
    # The declared bounds when the domain is an interval or a set, for reports.
    domain_text: str = ""


# A check's binding: (parameter, kind, values, span). The kind is "range", "set", "value" or
# "table"; the values are terms, or for a table (argument terms, value term) pairs.
CoreBinding = tuple[str, str, tuple[Any, ...], Span]


@dataclass
class CoreCheck:
    index: int
    kind: str
    bindings: list[CoreBinding]
    expect: str
    timeout: float | None
    span: Span


@dataclass
class CoreTheorem:
    id: str
    title: str
    refs: tuple[str, ...]
    params: list[CoreParam]
    assumptions: list[tuple[str, C.Term, Span]]
    claim: C.Term
    checks: list[CoreCheck]
    span: Span
    source_text: str = ""
    trust: str | None = None
    notes: tuple[str, ...] = ()
    uses: tuple[tuple[str, Span], ...] = ()   # statements this one builds on, checked by api.load_files
    # The statement as written, for the catalogue.
    param_texts: tuple[str, ...] = ()
    assumption_texts: tuple[tuple[str, str], ...] = ()
    claim_texts: tuple[str, ...] = ()
    let_texts: tuple[str, ...] = ()
    # Each claim item on its own, and the value of each `let` without arguments: what the
    # statements API evaluates at measured bindings (checker/statements.py).
    claims: tuple[C.Term, ...] = ()
    let_terms: dict[str, C.Term] = field(default_factory=dict)

    def param(self, name: str) -> CoreParam:
        return next(p for p in self.params if p.name == name)

    @property
    def is_structural(self) -> set[str]:
        """Parameters that fix sizes: bounds of ranges, sums and function domains."""
        out: set[str] = set()
        for term in [self.claim] + [a for _, a, _ in self.assumptions]:
            for t in C.walk(term):
                if isinstance(t, C.Bind):
                    out |= C.free_vars(t.lo) | C.free_vars(t.hi)
                if isinstance(t, C.FunBind):
                    for lo, hi in t.sig.domains:
                        out |= C.free_vars(lo) | C.free_vars(hi)
                    for c in t.sig.codomain[1:]:
                        out |= C.free_vars(c)
        for p in self.params:
            if isinstance(p.sort, C.FunSig):
                for lo, hi in p.sort.domains:
                    out |= C.free_vars(lo) | C.free_vars(hi)
                for c in p.sort.codomain[1:]:
                    out |= C.free_vars(c)
        return out


@dataclass
class _Scope:
    """What a name means at one point of the theorem."""

    entries: dict[str, tuple] = field(default_factory=dict)

    def child(self, **more) -> _Scope:
        return _Scope({**self.entries, **more})


class Elaborator:
    def __init__(self, file: str):
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.counter = 0

    def error(self, span: Span, message: str, hint: str = "") -> C.Term:
        self.diagnostics.append(Diagnostic(span, message, hint))
        return C.num(0)

    def fresh(self, name: str, sort: str) -> C.Var:
        self.counter += 1
        return C.Var(sort, f"{name}#{self.counter}")

    # ---- theorems
    def theorem(self, t: S.Theorem) -> CoreTheorem:
        self.counter = 0
        base = t.id.split(".")[0]
        if base.split("-")[0] in PAPER_PREFIXES and base not in KNOWN_IDS:
            close = did_you_mean(base, KNOWN_IDS)
            self.error(t.span, f"'{base}' is not a statement of the paper",
                       (close + " " if close else "")
                       + f"the paper's ids are listed in {PAPER_IDS_FILE.name} (checker/language/); an id of "
                         f"your own needs another prefix, such as MINE-1")
        scope = _Scope()
        # a domain may mention 'exists f' too
        self.witnesses: dict[str, S.Witness] = {}
        self.used_witnesses: set[str] = set()
        params: list[CoreParam] = []
        for p in t.params:
            if p.name in scope.entries:
                self.error(p.span, f"parameter '{p.name}' is declared twice")
            params.append(self.param(p, scope))
            sort = params[-1].sort
            scope.entries[p.name] = ("fun", p.name, sort) if isinstance(sort, C.FunSig) \
                else ("term", C.Var(sort, p.name))
        witnesses = {}
        for w in t.witnesses:
            if w.name in witnesses:
                self.error(w.span, f"second witness for '{w.name}'")
            witnesses[w.name] = w
        self.witnesses = witnesses
        let_terms: dict[str, C.Term] = {}
        for let in t.lets:
            if let.name in scope.entries or let.name in BUILTINS:
                self.error(let.span, f"'{let.name}' is already defined")
            if let.formals:
                scope.entries[let.name] = ("macro", let, scope.child())
            else:
                let_terms[let.name] = self.expr(let.body, scope)
                scope.entries[let.name] = ("term", let_terms[let.name])
        assumptions = []
        for i, a in enumerate(t.assumptions):
            term = self.boolean(a.expr, scope)
            assumptions.append((a.label or f"assumption{i + 1}", term, a.span))
        labels = [a[0] for a in assumptions]
        for label in set(labels):
            if labels.count(label) > 1:
                self.error(t.span, f"assumption label '{label}' is used twice")
        if not t.claims:
            self.error(t.span, f"theorem {t.id} has no claim")
        claims = tuple(self.boolean(c.expr, scope) for c in t.claims)
        claim = C.mk("and", *claims, strict=True) if claims else C.TRUE
        for name, w in witnesses.items():
            if name not in self.used_witnesses:
                self.error(w.span, f"witness '{name}' names no 'exists {name} : ...' in the claim")
        if not t.checks:
            self.error(t.span, f"theorem {t.id} has no check", "add e.g. 'check symbolic expect proved'")
        checks = [self.check(i, c, scope, params) for i, c in enumerate(t.checks)]
        from checker.language.printer import expr_to_source, type_to_source
        return CoreTheorem(
            t.id, t.title, t.refs, params, assumptions, claim, checks, t.span,
            trust=t.trust, notes=t.notes, uses=tuple(zip(t.uses, t.use_spans)),
            param_texts=tuple(f"{p.name} : {type_to_source(p.type)}" for p in t.params),
            assumption_texts=tuple((label, expr_to_source(a.expr))
                                   for (label, _, _), a in zip(assumptions, t.assumptions)),
            claim_texts=tuple(expr_to_source(c.expr) for c in t.claims),
            let_texts=tuple(f"{let.name}{'(' + ', '.join(let.formals) + ')' if let.formals else ''}"
                            f" = {expr_to_source(let.body)}" for let in t.lets),
            claims=claims, let_terms=let_terms)

    def param(self, p: S.Param, scope: _Scope) -> CoreParam:
        if isinstance(p.type, S.FunType):
            return CoreParam(p.name, self.fun_sig(p.type, scope), [], p.span)
        ty = p.type
        var = C.Var(ty.base, p.name)
        constraints: list[C.Term] = []
        text = ""
        if isinstance(ty.domain, S.Interval):
            d = ty.domain
            text = f"{'[' if d.lo_closed else '('}{_src(d.lo)}, {_src(d.hi)}{']' if d.hi_closed else ')'}"
            for bound, closed, lower in ((d.lo, d.lo_closed, True), (d.hi, d.hi_closed, False)):
                if isinstance(bound, S.Inf) or (isinstance(bound, S.Neg) and isinstance(bound.arg, S.Inf)):
                    continue
                b = self.arith(bound, scope)
                op = "le" if closed else "lt"
                constraints.append(C.mk(op, b, var) if lower else C.mk(op, var, b))
        elif isinstance(ty.domain, S.SetDomain):
            values = [self.arith(v, scope) for v in ty.domain.values]
            text = "{" + ", ".join(_src(v) for v in ty.domain.values) + "}"
            constraints.append(C.mk("or", *[C.mk("eq", var, v) for v in values]))
        if ty.base == "bool" and ty.domain is not None:
            self.error(ty.span, "a bool parameter takes no domain")
        return CoreParam(p.name, ty.base, constraints, p.span, text)

    def fun_sig(self, f: S.FunType, scope: _Scope) -> C.FunSig:
        domains = tuple((self.integer(d.lo, scope), self.integer(d.hi, scope)) for d in f.domains)
        codomain: tuple
        if isinstance(f.codomain, S.IndexSet):
            codomain = (C.INT, self.integer(f.codomain.lo, scope), self.integer(f.codomain.hi, scope))
        else:
            codomain = (f.codomain,)
        return C.FunSig(domains, codomain)

    def check(self, index: int, c: S.Check, scope: _Scope, params: list[CoreParam]) -> CoreCheck:
        by_name = {p.name: p for p in params}
        bindings: list[CoreBinding] = []
        seen = set()
        if c.kind == "symbolic" and c.bindings:
            self.error(c.span, "a symbolic check takes no bindings", "use 'check finite ...' to fix values")
        if c.kind == "finite" and c.expect == "proved":
            self.error(c.span, "a finite check cannot expect 'proved'", "expect 'verified' instead")
        if c.kind == "symbolic" and c.expect == "verified":
            self.error(c.span, "a symbolic check cannot expect 'verified'", "expect 'proved' instead")
        for b in c.bindings:
            if b.name not in by_name:
                self.error(b.span, f"'{b.name}' is not a parameter",
                           did_you_mean(b.name, by_name) or "")
                continue
            if b.name in seen:
                self.error(b.span, f"'{b.name}' is bound twice in this check")
            seen.add(b.name)
            param = by_name[b.name]
            if isinstance(param.sort, C.FunSig):
                if b.kind != "table":
                    self.error(b.span, f"'{b.name}' is a function; bind it to a table such as "
                                       f"{b.name} = {{(1): 2, (2): 1}}")
                    continue
                entries = []
                for args, value in b.table:
                    if len(args) != len(param.sort.domains):
                        self.error(b.span, f"'{b.name}' takes {len(param.sort.domains)} arguments, "
                                           f"an entry gives {len(args)}")
                    arg_terms = tuple(self.integer(a, scope) for a in args)
                    value_term = self.boolean(value, scope) if param.sort.result_sort == C.BOOL \
                        else self.arith(value, scope)
                    entries.append((arg_terms, value_term))
                bindings.append((b.name, "table", tuple(entries), b.span))
                continue
            if b.kind == "table":
                self.error(b.span, f"'{b.name}' is not a function parameter; a table binds functions")
                continue
            if param.sort == C.BOOL:
                self.error(b.span, f"'{b.name}' is not a number parameter; only numbers can be bound")
                continue
            if b.kind == "range" and param.sort != C.INT:
                self.error(b.span, f"a range binds an int parameter, but '{b.name}' is {param.sort}",
                           "list the values instead: {1/2, 9/10}")
            values = tuple(self.arith(v, scope) for v in b.values)
            for v in values:
                for name in C.free_vars(v):
                    if name not in seen or name == b.name:
                        self.error(b.span, f"the value of '{b.name}' uses '{name}', which is not bound before it")
            bindings.append((b.name, b.kind, values, b.span))
        timeout = None
        if c.timeout is not None:
            if c.timeout <= 0:
                self.error(c.span, "timeout must be positive")
            elif c.timeout > MAX_TIMEOUT:
                self.error(c.span, "timeout is too large",
                           f"at most {MAX_TIMEOUT} seconds per query")
            else:
                timeout = float(c.timeout)
        return CoreCheck(index, c.kind, bindings, c.expect, timeout, c.span)

    # ---- expressions
    def boolean(self, e: S.Expr, scope: _Scope) -> C.Term:
        t = self.expr(e, scope)
        if t.sort != C.BOOL:
            return self.error(_span(e), f"expected a truth value, found a {t.sort} expression")
        return t

    def arith(self, e: S.Expr, scope: _Scope) -> C.Term:
        t = self.expr(e, scope)
        if t.sort == C.BOOL:
            return self.error(_span(e), "expected a number, found a truth value")
        return t

    def integer(self, e: S.Expr, scope: _Scope) -> C.Term:
        t = self.expr(e, scope)
        if t.sort != C.INT:
            return self.error(_span(e), f"expected an integer, found a {t.sort} expression")
        return t

    def expr(self, e: S.Expr, scope: _Scope) -> C.Term:
        method = getattr(self, "_" + type(e).__name__)
        return method(e, scope)

    def _Num(self, e: S.Num, scope):
        return C.num(e.value, C.INT if e.value.denominator == 1 and "." not in e.text else C.REAL)

    def _BoolLit(self, e, scope):
        return C.TRUE if e.value else C.FALSE

    def _Inf(self, e, scope):
        return self.error(e.span, "'inf' may only bound a domain or be a limit point")

    def _Name(self, e: S.Name, scope: _Scope):
        entry = scope.entries.get(e.id)
        if entry is None:
            return self.error(e.span, f"unknown name '{e.id}'", did_you_mean(e.id, scope.entries))
        if entry[0] == "term":
            return entry[1]
        if entry[0] == "fun":
            return self.error(e.span, f"'{e.id}' is a function; apply it to arguments")
        return self.error(e.span, f"'{e.id}' takes arguments")

    def _Call(self, e: S.Call, scope: _Scope):
        entry = scope.entries.get(e.fn)
        if entry is None and e.fn in BUILTINS:
            arity = BUILTINS[e.fn]
            args = [self.integer(a, scope) if e.fn == "binom" else self.arith(a, scope) for a in e.args]
            if arity is not None and len(args) != arity:
                return self.error(e.span, f"{e.fn} takes {arity} argument, given {len(args)}")
            if arity is None and len(args) < 2:
                return self.error(e.span, f"{e.fn} takes two or more arguments, or an index range")
            return C.mk(e.fn, *args)
        if entry is None:
            return self.error(e.span, f"unknown function '{e.fn}'",
                              did_you_mean(e.fn, list(scope.entries) + list(BUILTINS)))
        if entry[0] == "fun":
            _, name, sig = entry
            if len(e.args) != len(sig.domains):
                return self.error(e.span, f"'{e.fn}' takes {len(sig.domains)} arguments, given {len(e.args)}")
            return C.App(sig.result_sort, name, tuple(self.integer(a, scope) for a in e.args))
        if entry[0] == "macro":
            _, let, def_scope = entry
            if len(e.args) != len(let.formals):
                return self.error(e.span, f"'{e.fn}' takes {len(let.formals)} arguments, given {len(e.args)}")
            args = [self.expr(a, scope) for a in e.args]
            inner = def_scope.child(**{f: ("term", a) for f, a in zip(let.formals, args)})
            return self.expr(let.body, inner)
        return self.error(e.span, f"'{e.fn}' is not a function")

    def _Neg(self, e: S.Neg, scope):
        arg = self.arith(e.arg, scope)
        if isinstance(arg, C.Const):
            assert isinstance(arg.value, Fraction)  # a number: arith() rejects truth values
            return C.Const(arg.sort, -arg.value)
        return C.mk("neg", arg)

    def _Not(self, e: S.Not, scope):
        return C.mk("not", self.boolean(e.arg, scope))

    def _Binary(self, e: S.Binary, scope):
        if e.op in ("and", "or", "=>", "<=>"):
            l, r = self.boolean(e.left, scope), self.boolean(e.right, scope)
            return C.mk({"and": "and", "or": "or", "=>": "implies", "<=>": "iff"}[e.op], l, r, strict=True)
        l, r = self.arith(e.left, scope), self.arith(e.right, scope)
        if e.op == "+":
            return C.mk("add", l, r)
        if e.op == "-":
            if isinstance(r, C.Const):
                assert isinstance(r.value, Fraction)  # a number: arith() rejects truth values
                return C.mk("add", l, C.Const(r.sort, -r.value))
            return C.mk("add", l, C.mk("neg", r))
        if e.op == "*":
            return C.mk("mul", l, r)
        if e.op == "/":
            return C.mk("div", l, r)
        return C.mk("pow", l, r)

    def _Compare(self, e: S.Compare, scope):
        operands = [self.expr(o, scope) for o in e.operands]
        parts = []
        for op, (l, r) in zip(e.ops, zip(operands, operands[1:])):
            if (l.sort == C.BOOL) != (r.sort == C.BOOL):
                parts.append(self.error(e.span, f"cannot compare a {l.sort} with a {r.sort}"))
                continue
            if l.sort == C.BOOL:
                if op == "=":
                    parts.append(C.mk("iff", l, r))
                elif op == "!=":
                    parts.append(C.mk("not", C.mk("iff", l, r)))
                else:
                    parts.append(self.error(e.span, f"'{op}' compares numbers, not truth values"))
                continue
            if op == "<":
                parts.append(C.mk("lt", l, r))
            elif op == "<=":
                parts.append(C.mk("le", l, r))
            elif op == ">":
                parts.append(C.mk("lt", r, l))
            elif op == ">=":
                parts.append(C.mk("le", r, l))
            elif op == "=":
                parts.append(C.mk("eq", l, r))
            elif op == "!=":
                parts.append(C.mk("not", C.mk("eq", l, r)))
            else:
                raise KeyError(op)
        return C.mk("and", *parts, strict=True) if len(parts) > 1 else parts[0]

    def _Ite(self, e: S.Ite, scope):
        cond = self.boolean(e.cond, scope)
        a, b = self.expr(e.then, scope), self.expr(e.other, scope)
        if (a.sort == C.BOOL) != (b.sort == C.BOOL):
            return self.error(e.span, f"the branches have different types ({a.sort}, {b.sort})")
        return C.mk("ite", cond, a, b)

    def _bound(self, name: str, lo: S.Expr, hi: S.Expr, scope: _Scope):
        lo_t, hi_t = self.integer(lo, scope), self.integer(hi, scope)
        var = self.fresh(name, C.INT)
        return var, lo_t, hi_t, scope.child(**{name: ("term", var)})

    def _Indexed(self, e: S.Indexed, scope):
        var, lo, hi, inner = self._bound(e.var, e.lo, e.hi, scope)
        body = self.arith(e.body, inner)
        sort = body.sort if e.op != "prod" or body.sort == C.INT else C.REAL
        return C.Bind(sort, e.op, var, lo, hi, body)

    def _RangeQuant(self, e: S.RangeQuant, scope):
        var, lo, hi, inner = self._bound(e.var, e.lo, e.hi, scope)
        return C.Bind(C.BOOL, e.kind, var, lo, hi, self.boolean(e.body, inner))

    def _FunQuant(self, e: S.FunQuant, scope: _Scope):
        sig = self.fun_sig(e.ftype, scope)
        # A name of its own: the bound function must never be confused with a function
        # parameter it shadows (grounding would read the parameter's values).
        self.counter += 1
        bound = f"{e.var}#{self.counter}"
        inner = scope.child(**{e.var: ("fun", bound, sig)})
        body = self.boolean(e.body, inner)
        witness = None
        w = self.witnesses.get(e.var)
        if w is not None:
            if e.kind != "exists":
                self.error(w.span, f"a witness belongs to 'exists {e.var}', not 'forall {e.var}'")
            elif len(w.formals) != len(sig.domains):
                self.error(w.span, f"'{e.var}' takes {len(sig.domains)} arguments; the witness has {len(w.formals)}")
            else:
                formals = tuple(self.fresh(f, C.INT) for f in w.formals)
                wscope = scope.child(**{f: ("term", v) for f, v in zip(w.formals, formals)})
                wbody = self.expr(w.body, wscope)
                if (wbody.sort == C.BOOL) != (sig.result_sort == C.BOOL):
                    self.error(w.span, f"the witness has type {wbody.sort}, '{e.var}' returns {sig.result_sort}")
                witness = C.Lambda(formals, wbody)
            self.used_witnesses.add(e.var)
        return C.FunBind(C.BOOL, e.kind, bound, sig, body, witness)

    def _Limit(self, e: S.Limit, scope: _Scope):
        point: Fraction | str
        if isinstance(e.point, S.Inf):
            point = "inf"
        elif isinstance(e.point, S.Neg) and isinstance(e.point.arg, S.Inf):
            point = "-inf"
        else:
            p = self.arith(e.point, scope)
            if not isinstance(p, C.Const):
                return self.error(_span(e.point), "a limit point must be a number, inf or -inf")
            assert isinstance(p.value, Fraction)  # a number: arith() rejects truth values
            point = p.value
        # A limit at +-inf is a limit of a sequence too: its variable may bound sums.
        var = self.fresh(e.var, C.INT if isinstance(point, str) else C.REAL)
        body = self.arith(e.body, scope.child(**{e.var: ("term", var)}))
        return C.Limit(C.REAL, var, point, body)


def _span(e) -> Span:
    return getattr(e, "span", Span("<unknown>", 0, 0))


def _src(e: S.Expr) -> str:
    from checker.language.printer import expr_to_source
    return expr_to_source(e)


def elaborate(module: S.Module, source_text: str = "") -> list[CoreTheorem]:
    """Elaborate every theorem of a module, or raise `SourceError` with all diagnostics."""
    elaborator = Elaborator(module.file)
    theorems = []
    seen: dict[tuple[str, str], Span] = {}
    for t in module.theorems:
        core = elaborator.theorem(t)
        core.source_text = source_text
        key = (t.id, t.title)
        if t.id in {k[0] for k in seen}:
            elaborator.error(t.span, f"theorem id '{t.id}' is used twice in this file",
                             "give variants a suffix, e.g. C-3.sandwich")
        seen[key] = t.span
        theorems.append(core)
    if elaborator.diagnostics:
        raise SourceError(elaborator.diagnostics, {module.file: source_text})
    return theorems
