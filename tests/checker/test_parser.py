"""The surface parser: every construct of grammars/statements.lark, and parse errors.

Syntax nodes compare without their spans, so expected trees are written out in full.
"""
from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

from checker.errors import SourceError
from checker.language import syntax as S
from checker.language.parser import parse_blocks, parse_source

ROOT = Path(__file__).resolve().parents[2]


def N(v) -> S.Num:
    return S.Num(Fraction(v))


def V(name: str) -> S.Name:
    return S.Name(name)


def theorem(body: str, tid: str = "C-1", title: str = "t") -> str:
    return f'theorem {tid} "{title}" {{\n{body}\n}}\n'


def parse_one(body: str) -> S.Theorem:
    module = parse_source(theorem(body), "t.lim")
    assert len(module.theorems) == 1
    return module.theorems[0]


def claim_of(expr: str, params: str = "param x : real\nparam y : real") -> S.Expr:
    t = parse_one(f"{params}\nclaim {expr}\ncheck symbolic expect proved")
    return t.claims[0].expr


def param_type(decl: str):
    t = parse_one(f"param {decl}\nclaim true\ncheck symbolic expect proved")
    return t.params[0].type


# ---- theorem structure --------------------------------------------------------------------

def test_theorem_header_and_items():
    src = theorem('ref "Lemma 4"\nref "Corollary 1"\nparam x : real\nclaim x = x\n'
                  "check symbolic expect proved", tid="C-3.half-log", title="A title")
    (t,) = parse_source(src, "f.lim").theorems
    assert t.id == "C-3.half-log"
    assert t.title == "A title"
    assert t.refs == ("Lemma 4", "Corollary 1")
    assert [p.name for p in t.params] == ["x"]
    assert len(t.claims) == 1 and len(t.checks) == 1
    assert t.span.file == "f.lim" and t.span.line == 1 and t.span.column == 1


def test_empty_file_and_comments_parse_to_no_theorems():
    assert parse_source("", "e.lim").theorems == ()
    assert parse_source("# only a comment\n\n   # another\n", "e.lim").theorems == ()


def test_comments_inside_a_theorem_are_ignored():
    t = parse_one("param x : real  # the variable\n# whole-line comment\nclaim x = x # trailing\n"
                  "check symbolic expect proved")
    assert t.claims[0].expr == S.Compare(("=",), (V("x"), V("x")))


def test_several_theorems_in_one_file():
    src = theorem("param x : real\nclaim x = x\ncheck symbolic expect proved", tid="C-1") + \
        theorem("param x : real\nclaim x = x\ncheck symbolic expect proved", tid="C-2")
    assert [t.id for t in parse_source(src).theorems] == ["C-1", "C-2"]


# ---- params and types ---------------------------------------------------------------------

@pytest.mark.parametrize("text, lo_closed, hi_closed", [
    ("[0, 1]", True, True), ("[0, 1)", True, False), ("(0, 1]", False, True), ("(0, 1)", False, False),
])
def test_interval_domains(text, lo_closed, hi_closed):
    ty = param_type(f"p : real in {text}")
    assert ty == S.ScalarType("real", S.Interval(N(0), N(1), lo_closed, hi_closed))


def test_interval_with_infinite_bound_and_expressions():
    ty = param_type("N : int in [2, inf)")
    assert ty == S.ScalarType("int", S.Interval(N(2), S.Inf(), True, False))
    ty = param_type("z : real in (-inf, 1/2]")
    assert ty == S.ScalarType("real", S.Interval(S.Neg(S.Inf()), S.Binary("/", N(1), N(2)), False, True))


def test_set_domain():
    ty = param_type("p : real in {1/100, 1/2, 9/10}")
    assert ty == S.ScalarType("real", S.SetDomain((S.Binary("/", N(1), N(100)),
                                                   S.Binary("/", N(1), N(2)),
                                                   S.Binary("/", N(9), N(10)))))


def test_plain_scalar_types():
    assert param_type("x : real") == S.ScalarType("real", None)
    assert param_type("n : int") == S.ScalarType("int", None)
    assert param_type("b : bool") == S.ScalarType("bool", None)


def test_function_type_with_product_domain():
    t = parse_one("param n : int\nparam k : int\nparam m : int\n"
                  "param h : [1..k] * [1..n] -> [1..m]\nclaim true\ncheck symbolic expect proved")
    ty = t.params[3].type
    assert ty == S.FunType((S.IndexSet(N(1), V("k")), S.IndexSet(N(1), V("n"))), S.IndexSet(N(1), V("m")))


@pytest.mark.parametrize("codomain", ["real", "bool", "int"])
def test_function_type_scalar_codomains(codomain):
    ty = param_type(f"z : [1..N-1] -> {codomain}")
    assert ty == S.FunType((S.IndexSet(N(1), S.Binary("-", V("N"), N(1))),), codomain)


# ---- let, assume, witness ------------------------------------------------------------------

def test_let_without_and_with_arguments():
    t = parse_one("param x : real\nlet w = x + 1\nlet flip(y, z) = if y = 1 then z else 1\n"
                  "claim w = flip(x, 2)\ncheck symbolic expect proved")
    assert t.lets[0] == S.Let("w", (), S.Binary("+", V("x"), N(1)))
    assert t.lets[1] == S.Let("flip", ("y", "z"),
                              S.Ite(S.Compare(("=",), (V("y"), N(1))), V("z"), N(1)))
    assert t.claims[0].expr == S.Compare(("=",), (V("w"), S.Call("flip", (V("x"), N(2)))))


def test_labelled_and_unlabelled_assumptions():
    t = parse_one("param k : int\nparam n : int\nassume k_le_n: k <= n\nassume k >= 1\n"
                  "claim true\ncheck symbolic expect proved")
    assert t.assumptions[0] == S.Assume("k_le_n", S.Compare(("<=",), (V("k"), V("n"))))
    assert t.assumptions[1] == S.Assume(None, S.Compare((">=",), (V("k"), N(1))))


def test_witness_item():
    t = parse_one("param n : int\nclaim exists f : [1..n] -> [1..2] : f(1) = 1\n"
                  "witness f(x) = if x <= n then 1 else 2\ncheck symbolic expect proved")
    (w,) = t.witnesses
    assert w.name == "f" and w.formals == ("x",)
    assert w.body == S.Ite(S.Compare(("<=",), (V("x"), V("n"))), N(1), N(2))


# ---- expressions ---------------------------------------------------------------------------

def test_arithmetic_precedence_and_associativity():
    assert claim_of("x + y * 2 = 0").operands[0] == S.Binary("+", V("x"), S.Binary("*", V("y"), N(2)))
    assert claim_of("x - y - 1 = 0").operands[0] == S.Binary("-", S.Binary("-", V("x"), V("y")), N(1))
    assert claim_of("x / y / 2 = 0").operands[0] == S.Binary("/", S.Binary("/", V("x"), V("y")), N(2))


def test_power_binds_tighter_than_unary_minus_and_is_right_associative():
    assert claim_of("-x^2 = 0").operands[0] == S.Neg(S.Binary("^", V("x"), N(2)))
    assert claim_of("2^3^2 = 0").operands[0] == S.Binary("^", N(2), S.Binary("^", N(3), N(2)))
    assert claim_of("2^-1 = 0").operands[0] == S.Binary("^", N(2), S.Neg(N(1)))


def test_decimal_numbers_keep_their_text():
    e = claim_of("x = 0.25").operands[1]
    assert e == N(Fraction(1, 4)) and e.text == "0.25"


def test_chained_comparison():
    e = claim_of("0 < x <= y + 1 != 7")
    assert e == S.Compare(("<", "<=", "!="), (N(0), V("x"), S.Binary("+", V("y"), N(1)), N(7)))


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "=", "!="])
def test_each_comparison_operator(op):
    assert claim_of(f"x {op} y") == S.Compare((op,), (V("x"), V("y")))


def test_boolean_connectives_and_precedence():
    a, b = S.Compare(("<",), (V("x"), N(1))), S.Compare(("<",), (V("y"), N(1)))
    assert claim_of("x < 1 and y < 1") == S.Binary("and", a, b)
    assert claim_of("x < 1 or y < 1") == S.Binary("or", a, b)
    assert claim_of("not x < 1 and y < 1") == S.Binary("and", S.Not(a), b)
    assert claim_of("x < 1 <=> y < 1") == S.Binary("<=>", a, b)
    assert claim_of("true or false") == S.Binary("or", S.BoolLit(True), S.BoolLit(False))


def test_implication():
    """`=>` is in the grammar (?implies: disjunction ("=>" implies)?) and must parse."""
    a, b = S.Compare((">",), (V("x"), N(0))), S.Compare((">=",), (V("x"), N(0)))
    assert claim_of("x > 0 => x >= 0") == S.Binary("=>", a, b)


def test_implication_after_parenthesised_operands():
    a, b = S.Compare((">",), (V("x"), N(0))), S.Compare((">=",), (V("y"), N(0)))
    assert claim_of("(x > 0) => (y >= 0)") == S.Binary("=>", a, b)


def test_implication_is_right_associative():
    p = [S.Compare(("<",), (V("x"), N(i))) for i in range(3)]
    assert claim_of("x < 0 => x < 1 => x < 2") == S.Binary("=>", p[0], S.Binary("=>", p[1], p[2]))


def test_calls_and_if_then_else():
    e = claim_of("exp(x) + ln(y) + sqrt(x) + abs(y) = if x < y then max(x, y) else min(x, y, 1)")
    left, right = e.operands
    assert left == S.Binary("+", S.Binary("+", S.Binary("+", S.Call("exp", (V("x"),)),
                                                        S.Call("ln", (V("y"),))),
                                          S.Call("sqrt", (V("x"),))), S.Call("abs", (V("y"),)))
    assert right == S.Ite(S.Compare(("<",), (V("x"), V("y"))), S.Call("max", (V("x"), V("y"))),
                          S.Call("min", (V("x"), V("y"), N(1))))


@pytest.mark.parametrize("op", ["sum", "prod", "max", "min"])
def test_indexed_big_operators(op):
    e = claim_of(f"{op}(i in 1..n - 1, i * x) = 0", params="param x : real\nparam n : int")
    assert e.operands[0] == S.Indexed(op, "i", N(1), S.Binary("-", V("n"), N(1)),
                                      S.Binary("*", V("i"), V("x")))


def test_range_quantifiers_nest_and_extend_right():
    e = claim_of("forall i in 1..n : exists j in i..n : i <= j and j <= n", params="param n : int")
    body = S.Binary("and", S.Compare(("<=",), (V("i"), V("j"))), S.Compare(("<=",), (V("j"), V("n"))))
    assert e == S.RangeQuant("forall", "i", N(1), V("n"), S.RangeQuant("exists", "j", V("i"), V("n"), body))


def test_function_quantifiers():
    e = claim_of("exists f : [1..n] -> [1..m] : forall g : [1..n] * [1..2] -> bool : f(1) = m",
                 params="param n : int\nparam m : int")
    assert isinstance(e, S.FunQuant) and e.kind == "exists" and e.var == "f"
    assert e.ftype == S.FunType((S.IndexSet(N(1), V("n")),), S.IndexSet(N(1), V("m")))
    inner = e.body
    assert isinstance(inner, S.FunQuant) and inner.kind == "forall" and inner.var == "g"
    assert inner.ftype.codomain == "bool" and len(inner.ftype.domains) == 2
    assert inner.body == S.Compare(("=",), (S.Call("f", (N(1),)), V("m")))


def test_limit():
    e = claim_of("limit(N -> inf, ln(N) / N) = 0", params="param p : real")
    assert e.operands[0] == S.Limit("N", S.Inf(), S.Binary("/", S.Call("ln", (V("N"),)), V("N")))
    e = claim_of("limit(t -> 0, t) = 0", params="param p : real")
    assert e.operands[0] == S.Limit("t", N(0), V("t"))
    e = claim_of("limit(t -> -inf, t) = 0", params="param p : real")
    assert e.operands[0].point == S.Neg(S.Inf())


def test_names_may_contain_primes_and_underscores_but_not_be_keywords():
    e = claim_of("x' + y_2 = 0", params="param x' : real\nparam y_2 : real")
    assert e.operands[0] == S.Binary("+", V("x'"), V("y_2"))
    # a keyword prefix is fine as part of a longer name
    e = claim_of("index + sums = 0", params="param index : real\nparam sums : real")
    assert e.operands[0] == S.Binary("+", V("index"), V("sums"))


# ---- checks --------------------------------------------------------------------------------

def test_check_kinds_and_verdicts():
    t = parse_one("param x : real\nclaim x = x\ncheck symbolic expect proved\n"
                  "check finite expect verified\ncheck symbolic expect refuted\ncheck finite expect unknown")
    assert [(c.kind, c.expect) for c in t.checks] == [
        ("symbolic", "proved"), ("finite", "verified"), ("symbolic", "refuted"), ("finite", "unknown")]
    assert all(c.bindings == () and c.timeout is None for c in t.checks)


def test_check_bindings_range_set_value():
    t = parse_one("param n : int\nparam m : int\nparam k : int\nparam p : real\nclaim true\n"
                  "check finite n in 1..3, p in {1/2, 9/10}, m = 2, k in 1..m^n - 1 expect verified")
    (c,) = t.checks
    assert c.bindings == (
        S.Binding("n", "range", (N(1), N(3))),
        S.Binding("p", "set", (S.Binary("/", N(1), N(2)), S.Binary("/", N(9), N(10)))),
        S.Binding("m", "value", (N(2),)),
        S.Binding("k", "range", (N(1), S.Binary("-", S.Binary("^", V("m"), V("n")), N(1)))),
    )


def test_timeout_option():
    t = parse_one("param n : int\nclaim true\ncheck finite n in 1..2 timeout 5 expect verified\n"
                  "check symbolic timeout 0.5 expect proved")
    assert t.checks[0].timeout == Fraction(5)
    assert t.checks[0].bindings == (S.Binding("n", "range", (N(1), N(2))),)
    assert t.checks[1].timeout == Fraction(1, 2)


def test_real_statement_files_parse():
    for path in sorted((ROOT / "proofs").glob("*.lim")):
        module = parse_source(path.read_text(), str(path))
        assert module.theorems, path
        for t in module.theorems:
            assert t.claims and t.checks


def test_h1_structure_from_the_proofs_folder():
    path = ROOT / "proofs" / "hallucination.lim"
    module = parse_source(path.read_text(), str(path))
    h1 = next(t for t in module.theorems if t.id == "H-1")
    assert [p.name for p in h1.params] == ["n", "m", "k", "h"]
    assert isinstance(h1.params[3].type, S.FunType) and len(h1.params[3].type.domains) == 2
    assert h1.assumptions[0].label == "k_le_n"
    assert h1.lets[0].formals == ("y",)
    assert [w.name for w in h1.witnesses] == ["f"]
    assert [c.kind for c in h1.checks] == ["symbolic", "finite"]


# ---- parse errors ---------------------------------------------------------------------------

LOC = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+): error: ", re.M)


def errors_of(text: str, file: str = "bad.lim") -> SourceError:
    with pytest.raises(SourceError) as info:
        parse_source(text, file)
    return info.value


def test_parse_error_is_located_with_source_line_and_caret():
    text = theorem("param x : real\nclaim x + check symbolic expect proved")
    err = errors_of(text)
    (d,) = err.diagnostics
    assert (d.span.file, d.span.line, d.span.column) == ("bad.lim", 3, 11)
    assert "unexpected 'check'" in d.message
    lines = err.render().splitlines()
    assert lines[0].startswith("bad.lim:3:11: error: unexpected 'check'")
    assert lines[1] == "    claim x + check symbolic expect proved"
    caret = lines[2]
    assert caret.index("^") == 4 + 11 - 1
    assert caret.strip() == "^~~~~"  # the whole token 'check'
    assert lines[-1] == "1 error"


def test_parse_error_names_what_was_expected():
    err = errors_of(theorem("param x : real\nclaim x > 0\ncheck symbolic expect maybe"))
    (d,) = err.diagnostics
    assert "maybe" in d.message
    assert "verdict" in d.hint
    assert "note: expected" in err.render()


def test_unexpected_character():
    err = errors_of(theorem("param x : real\nclaim x @ 1\ncheck symbolic expect proved"))
    (d,) = err.diagnostics
    assert (d.span.line, d.span.column) == (3, 9)
    assert "'@'" in d.message


def test_unexpected_end_of_file():
    err = errors_of('theorem C-1 "t" {\n  param x : real\n  claim x > 0\n')
    (d,) = err.diagnostics
    assert "theorem C-1 (line 1, column 1) is not closed" in d.message and "end of the file" in d.message
    assert (d.span.line, d.span.column) == (3, 14)        # just after the block's last item
    assert LOC.match(err.render())


def test_a_missing_brace_is_reported_where_the_block_ends_not_where_the_file_does():
    text = ('theorem MINE-1 "first" {\n  param N : int\n  claim N + 1 > N\n  check symbolic expect proved\n\n'
            'theorem MINE-2 "second" {\n  param x : real\n  claim exp(x) >= 1 + x\n'
            '  check symbolic expect proved\n}\n')
    module, diagnostics = parse_blocks(text, "miss.lim")
    (d,) = diagnostics
    assert (d.span.line, d.span.column) == (4, 31)
    assert "theorem MINE-1" in d.message and "before the next theorem (line 6)" in d.message
    assert [t.id for t in module.theorems] == ["MINE-2"]


def test_a_keyword_glued_to_a_word_is_reported_as_the_whole_word():
    err = errors_of(theorem("param N : integer\nclaim N + 1 > N\ncheck symbolic expect proved"))
    (d,) = err.diagnostics
    assert d.message == "unknown type 'integer'" and "did you mean 'int'?" in d.hint
    assert d.span.end_column - d.span.column == len("integer")


def test_every_broken_block_is_reported():
    text = (theorem("param x : real\nclaim x + check symbolic expect proved", tid="C-1")
            + theorem("param x : real\nclaim x > 0\ncheck symbolic expect proved", tid="C-2")
            + theorem("param x : real\nclaim x > 0\ncheck symbolic expect maybe", tid="C-3"))
    module, diagnostics = parse_blocks(text, "bad.lim")
    assert [d.span.line for d in diagnostics] == [3, 13]
    assert [t.id for t in module.theorems] == ["C-2"]  # the intact block is still parsed
    err = errors_of(text)
    assert len(err.diagnostics) == 2
    assert err.render().endswith("2 errors")
    assert [m.group("line") for m in LOC.finditer(err.render())] == ["3", "13"]


def test_keywords_are_not_names():
    err = errors_of(theorem("param sum : real\nclaim sum > 0\ncheck symbolic expect proved"))
    assert err.diagnostics[0].span.line == 2


def test_a_missing_expect_is_an_error():
    err = errors_of(theorem("param x : real\nclaim x > 0\ncheck symbolic"))
    assert err.diagnostics[0].span.line >= 4


@pytest.mark.parametrize("control", ["\x0c", "\x0b", "\x1c"])
def test_a_control_character_that_python_reads_as_a_line_break_is_located_where_the_lexer_sees_it(control):
    # str.splitlines() breaks at a form feed, a vertical tab and a few others where the lexer
    # does not: the error stays on line 1 (column 2 after a form feed, which the lexer skips as
    # blank; column 1 at a character it cannot read), with the source line shown (found by the
    # hypothesis test of mutated blocks, which crashed with an IndexError)
    text = control + 'heorem C-3 "t" {\n  claim 1 = 1\n  check symbolic expect proved\n}\n'
    with pytest.raises(SourceError) as err:
        parse_source(text, "f.lim")
    first = err.value.diagnostics[0]
    assert (first.span.line, first.span.column) == (1, 2 if control == "\x0c" else 1)
    assert "heorem C-3" in first.render({"f.lim": text})
