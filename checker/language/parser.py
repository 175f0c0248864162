"""Parse `.lim` files into the surface tree of `syntax.py`, with located errors.

The grammar lives in `grammars/statements.lark`. Parse errors are turned into
`Diagnostic`s that say what was found and what was expected; when a file has an error,
each `theorem` block is parsed on its own so that every broken block is reported at once.
"""
from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from checker.errors import Diagnostic, SourceError, Span, did_you_mean
from checker.language import syntax as S

GRAMMAR_PATH = Path(__file__).resolve().parent / "statements.lark"

# How the grammar's terminal names read in an error message.
_TERMINAL_TEXT = {
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "LBRACE": "'{'", "RBRACE": "'}'",
    "COMMA": "','", "COLON": "':'", "EQUAL": "'='", "NAME": "a name", "NUMBER": "a number",
    "STRING": "a quoted string", "THEOREM_ID": "a theorem id such as H-1, H-1.boundary or my-lemma",
    "CMP": "a comparison", "ADD_OP": "'+' or '-'", "MUL_OP": "'*' or '/'", "MINUS": "'-'",
    "STAR": "'*'", "IMPLIES": "'=>'", "IFF": "'<=>'", "CIRCUMFLEX": "'^'", "CHECK_KIND": "'symbolic' or 'finite'",
    "VERDICT": "a verdict (proved, verified, refuted, unknown)", "$END": "end of file",
}


def _describe_terminal(name: str) -> str:
    if name in _TERMINAL_TEXT:
        return _TERMINAL_TEXT[name]
    grammar = _parser()
    for term in grammar.terminals:
        if term.name == name and term.pattern.type == "str":
            return f"'{term.pattern.value}'"
    return name.lower()


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR_PATH.read_text(), parser="lalr", propagate_positions=True,
                maybe_placeholders=False)


def _num(text: str) -> Fraction:
    return Fraction(text)


# Builders of _Builder's methods for rules that differ only in a keyword or a bracket.
def _range_quant(kind):
    @v_args(meta=True)
    def build(self, meta, children):
        var, lo, hi, body = children
        return S.RangeQuant(kind, str(var), lo, hi, body, self._span(meta))
    return build


def _fun_quant(kind):
    @v_args(meta=True)
    def build(self, meta, children):
        var, ftype, body = children
        return S.FunQuant(kind, str(var), ftype, body, self._span(meta))
    return build


def _interval(lo_closed, hi_closed):
    @v_args(meta=True)
    def build(self, meta, children):
        lo, hi = children
        return S.Interval(lo, hi, lo_closed, hi_closed, self._span(meta))
    return build


class _Builder(Transformer):
    """Maps Lark trees to syntax nodes. Semantic checks wait for `elaborate`."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def _span(self, meta) -> S.Span:
        if getattr(meta, "empty", True):
            return S.Span(self.file, 0, 0)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> Span:
        assert tok.line is not None and tok.column is not None  # the lexer's tokens carry positions
        return Span(self.file, tok.line, tok.column, tok.end_line or tok.line,
                    tok.end_column or tok.column + len(tok))

    # ---- expressions
    @v_args(meta=True)
    def number(self, meta, children):
        (tok,) = children
        return S.Num(_num(str(tok)), str(tok), self._span(meta))

    @v_args(meta=True)
    def true(self, meta, _):
        return S.BoolLit(True, self._span(meta))

    @v_args(meta=True)
    def false(self, meta, _):
        return S.BoolLit(False, self._span(meta))

    @v_args(meta=True)
    def inf(self, meta, _):
        return S.Inf(self._span(meta))

    @v_args(meta=True)
    def name(self, meta, children):
        return S.Name(str(children[0]), self._span(meta))

    def exprs(self, children):
        return tuple(children)

    @v_args(meta=True)
    def call(self, meta, children):
        fn, args = children
        return S.Call(str(fn), args, self._span(meta))

    def big_op(self, children):
        return str(children[0])

    @v_args(meta=True)
    def big_call(self, meta, children):
        op, args = children
        return S.Call(op, args, self._span(meta))

    @v_args(meta=True)
    def indexed(self, meta, children):
        op, var, lo, hi, body = children
        return S.Indexed(op, str(var), lo, hi, body, self._span(meta))

    @v_args(meta=True)
    def neg(self, meta, children):
        return S.Neg(children[0], self._span(meta))

    @v_args(meta=True)
    def not_(self, meta, children):
        return S.Not(children[0], self._span(meta))

    @v_args(meta=True)
    def arith(self, meta, children):
        left, op, right = children
        return S.Binary(str(op), left, right, self._span(meta))

    @v_args(meta=True)
    def power(self, meta, children):
        base, exponent = children
        return S.Binary("^", base, exponent, self._span(meta))

    def _fold(self, meta, op, children):
        result = children[0]
        for child in children[1:]:
            result = S.Binary(op, result, child, self._span(meta))
        return result

    @v_args(meta=True)
    def conjunction(self, meta, children):
        return self._fold(meta, "and", children)

    @v_args(meta=True)
    def disjunction(self, meta, children):
        return self._fold(meta, "or", children)

    @v_args(meta=True)
    def implies(self, meta, children):
        return S.Binary("=>", children[0], children[-1], self._span(meta))

    @v_args(meta=True)
    def iff(self, meta, children):
        return S.Binary("<=>", children[0], children[-1], self._span(meta))

    @v_args(meta=True)
    def comparison(self, meta, children):
        operands = tuple(children[0::2])
        ops = tuple(str(t) for t in children[1::2])
        return S.Compare(ops, operands, self._span(meta))

    @v_args(meta=True)
    def ite(self, meta, children):
        return S.Ite(*children, span=self._span(meta))

    @v_args(meta=True)
    def limit(self, meta, children):
        var, point, body = children
        return S.Limit(str(var), point, body, self._span(meta))

    forall_range = _range_quant("forall")
    exists_range = _range_quant("exists")

    forall_fun = _fun_quant("forall")
    exists_fun = _fun_quant("exists")

    # ---- types
    closed_interval = _interval(True, True)
    closed_open_interval = _interval(True, False)
    open_closed_interval = _interval(False, True)
    open_interval = _interval(False, False)

    @v_args(meta=True)
    def set_domain(self, meta, children):
        return S.SetDomain(children[0], self._span(meta))

    @v_args(meta=True)
    def int_type(self, meta, children):
        return S.ScalarType("int", children[0] if children else None, self._span(meta))

    @v_args(meta=True)
    def real_type(self, meta, children):
        return S.ScalarType("real", children[0] if children else None, self._span(meta))

    @v_args(meta=True)
    def bool_type(self, meta, children):
        return S.ScalarType("bool", None, self._span(meta))

    def type(self, children):
        return children[0]

    @v_args(meta=True)
    def index_set(self, meta, children):
        return S.IndexSet(children[0], children[1], self._span(meta))

    def int_codomain(self, children):
        return children[0]

    def real_codomain(self, _):
        return "real"

    def bool_codomain(self, _):
        return "bool"

    def unbounded_int_codomain(self, _):
        return "int"

    @v_args(meta=True)
    def fun_type(self, meta, children):
        return S.FunType(tuple(children[:-1]), children[-1], self._span(meta))

    # ---- items
    def formals(self, children):
        return tuple(str(c) for c in children)

    def label(self, children):
        return str(children[0])

    @v_args(meta=True)
    def ref_item(self, meta, children):
        return ("ref", str(children[0])[1:-1])

    def uses_item(self, children):
        return ("uses", tuple((str(tok), Span(self.file, tok.line, tok.column, tok.end_line or tok.line,
                                              tok.end_column or tok.column + len(str(tok))))
                              for tok in children))

    def trust_item(self, children):
        return ("trust", str(children[0])[1:-1])

    def note_item(self, children):
        return ("note", str(children[0])[1:-1])

    @v_args(meta=True)
    def param_item(self, meta, children):
        return S.Param(str(children[0]), children[1], self._span(meta))

    @v_args(meta=True)
    def let_item(self, meta, children):
        if len(children) == 3:
            return S.Let(str(children[0]), children[1], children[2], self._span(meta))
        return S.Let(str(children[0]), (), children[1], self._span(meta))

    @v_args(meta=True)
    def assume_item(self, meta, children):
        if len(children) == 2:
            return S.Assume(children[0], children[1], self._span(meta))
        return S.Assume(None, children[0], self._span(meta))

    @v_args(meta=True)
    def claim_item(self, meta, children):
        return S.Claim(children[0], self._span(meta))

    @v_args(meta=True)
    def witness_item(self, meta, children):
        return S.Witness(str(children[0]), children[1], children[2], self._span(meta))

    @v_args(meta=True)
    def range_binding(self, meta, children):
        return S.Binding(str(children[0]), "range", (children[1], children[2]), self._span(meta))

    @v_args(meta=True)
    def set_binding(self, meta, children):
        return S.Binding(str(children[0]), "set", children[1], self._span(meta))

    @v_args(meta=True)
    def value_binding(self, meta, children):
        return S.Binding(str(children[0]), "value", (children[1],), self._span(meta))

    def table_entry(self, children):
        return (children[0], children[1])

    @v_args(meta=True)
    def table_binding(self, meta, children):
        return S.Binding(str(children[0]), "table", (), self._span(meta), tuple(children[1:]))

    def bindings(self, children):
        return tuple(children)

    def timeout_option(self, children):
        return ("timeout", _num(str(children[0])))

    @v_args(meta=True)
    def check_item(self, meta, children) -> S.Check:
        kind = str(children[0])
        expect = str(children[-1])
        bindings: tuple = ()
        timeout = None
        for child in children[1:-1]:
            if isinstance(child, tuple) and child and child[0] == "timeout":
                timeout = child[1]
            else:
                bindings = child
        return S.Check(kind, bindings, expect, timeout, self._span(meta))

    @v_args(meta=True)
    def theorem(self, meta, children):
        tid, title, *items = children
        items = tuple(items)
        return S.Theorem(
            id=str(tid), title=str(title)[1:-1],
            refs=tuple(i[1] for i in items if isinstance(i, tuple) and i[0] == "ref"),
            params=tuple(i for i in items if isinstance(i, S.Param)),
            lets=tuple(i for i in items if isinstance(i, S.Let)),
            assumptions=tuple(i for i in items if isinstance(i, S.Assume)),
            claims=tuple(i for i in items if isinstance(i, S.Claim)),
            witnesses=tuple(i for i in items if isinstance(i, S.Witness)),
            checks=tuple(i for i in items if isinstance(i, S.Check)),
            span=Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column),
            items=items,
            trust=next((i[1] for i in items if isinstance(i, tuple) and i[0] == "trust"), None),
            notes=tuple(i[1] for i in items if isinstance(i, tuple) and i[0] == "note"),
            uses=tuple(u[0] for i in items if isinstance(i, tuple) and i[0] == "uses" for u in i[1]),
            use_spans=tuple(u[1] for i in items if isinstance(i, tuple) and i[0] == "uses" for u in i[1]),
        )

    def start(self, children):
        return tuple(children)


_TYPES = ("int", "real", "bool")
_TYPE_HINT = ("a type is int, real or bool, optionally with a domain (int in 1..n, real in [0, 1]), "
              "or a function type such as [1..n] -> real")


def _word_around(text: str, line: int, column: int) -> tuple[str, int]:
    """The whole identifier-like word at (line, column) and the column where it starts: the
    lexer may have split it at a keyword ('integer' read as 'int' then 'eger')."""
    # the lexer counts lines at '\n' alone: splitlines() would also break at a form feed or a
    # vertical tab, and the column would then point past the end of the row
    lines = text.split("\n")
    if not 0 < line <= len(lines):
        return "", column
    row = lines[line - 1]
    start = end = min(column - 1, len(row))
    while start > 0 and (row[start - 1].isalnum() or row[start - 1] in "_'"):
        start -= 1
    while end < len(row) and (row[end].isalnum() or row[end] in "_'"):
        end += 1
    return row[start:end], start + 1


def _diagnostic(err: UnexpectedInput, file: str, text: str = "") -> Diagnostic:
    line, column = getattr(err, "line", 0) or 0, getattr(err, "column", 0) or 0
    if isinstance(err, UnexpectedCharacters):
        text = getattr(err, "char", "?")
        return Diagnostic(Span(file, line, column, line, column + 1),
                          f"unexpected character {text!r}",
                          "expected " + _expected_list(err.allowed) if err.allowed else "")
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            found, span = "end of file", Span(file, line, column)
        else:
            found = f"'{tok}'"
            span = Span(file, tok.line, tok.column, tok.end_line or tok.line,
                        tok.end_column or tok.column + len(str(tok)))
            word, start = _word_around(text, tok.line, tok.column)
            if word and word != str(tok) and start < tok.column:   # a keyword glued to the rest of a word
                span = Span(file, tok.line, start, tok.line, start + len(word))
                if word.startswith(_TYPES):
                    close = did_you_mean(word, _TYPES)
                    return Diagnostic(span, f"unknown type '{word}'", (close + " " if close else "") + _TYPE_HINT)
                return Diagnostic(span, f"unexpected '{word}' (it begins with a keyword of the language)",
                                  "expected " + _expected_list(err.expected))
        return Diagnostic(span, f"unexpected {found}", "expected " + _expected_list(err.expected))
    if isinstance(err, UnexpectedEOF):
        return Diagnostic(Span(file, line, column), "unexpected end of file",
                          "expected " + _expected_list(err.expected))
    return Diagnostic(Span(file, line, column), str(err).splitlines()[0])


def _unclosed(text: str, begin: int, end: int, file: str) -> Diagnostic | None:
    """A theorem block whose braces do not balance before the next theorem (or the end of the
    file): the parser meets the end of the block, which is where a '}' is missing."""
    depth = 0
    body = _COMMENT_OR_STRING.sub(lambda m: " " * len(m.group()), text[begin:end])
    for ch in body:
        depth += {"{": 1, "}": -1}.get(ch, 0)
    if depth <= 0 or "{" not in body:
        return None
    line = text.count("\n", 0, begin) + 1
    opening = text[begin:end].lstrip()
    name = opening.split()[1] if len(opening.split()) > 1 else "?"
    column = len(text[begin:end]) - len(opening) + 1
    last = text[begin:end].rstrip()
    last_line = text.count("\n", 0, begin + len(last)) + 1
    last_column = len(last) - (last.rfind("\n") + 1)
    where = (f"before the next theorem (line {text.count(chr(10), 0, end) + 1})" if end < len(text)
             else "before the end of the file")
    return Diagnostic(Span(file, last_line, last_column + 1),
                      f"theorem {name} (line {line}, column {column}) is not closed: "
                      f"{depth} '}}' missing {where}",
                      "close the block with '}' after its last item")


_COMMENT_OR_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')


def _expected_list(names) -> str:
    described = sorted({_describe_terminal(n) for n in names})
    if len(described) > 8:
        described = described[:8] + ["..."]
    return "one of " + ", ".join(described) if len(described) > 1 else "".join(described)


_THEOREM_START = re.compile(r"^[ \t]*theorem\b", re.MULTILINE)


def parse_source(text: str, file: str = "<string>") -> S.Module:
    """Parse a whole file, or raise `SourceError` listing every broken theorem block."""
    module, diagnostics = parse_blocks(text, file)
    if diagnostics:
        raise SourceError(diagnostics, {file: text})
    return module


def parse_blocks(text: str, file: str = "<string>") -> tuple[S.Module, list[Diagnostic]]:
    """Parse what can be parsed: the theorems of intact blocks and the errors of broken ones.

    When the whole file parses, that is one parse. Otherwise each `theorem` block is parsed
    on its own (with its line numbers kept), so one mistake does not hide the next and
    the intact blocks can still be checked for semantic errors.
    """
    try:
        tree = _parser().parse(text)
        return S.Module(file, _Builder(file).transform(tree)), []
    except UnexpectedInput as first:
        first_error = _diagnostic(first, file, text)
    starts = [m.start() for m in _THEOREM_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts = [0] + starts
    theorems, diagnostics = [], []
    for begin, end in zip(starts, starts[1:] + [len(text)]):
        chunk = re.sub(r"[^\n]", " ", text[:begin]) + text[begin:end]
        try:
            theorems += _Builder(file).transform(_parser().parse(chunk))
        except UnexpectedInput as err:
            diagnostics.append(_unclosed(text, begin, end, file) or _diagnostic(err, file, text))
    return S.Module(file, tuple(theorems)), diagnostics or [first_error]


def parse_file(path: str | Path) -> S.Module:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise SourceError([Diagnostic(Span(str(path), 1, 1),
                                      f"file is not UTF-8 text ({err.reason})")], {}) from None
    return parse_source(text, str(path))
