"""Elaboration: name resolution, typing and desugaring into the core, and its diagnostics."""
from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

from checker.api import load_files, load_text, statement_files
from checker.errors import SourceError
from checker.language import core as C

ROOT = Path(__file__).resolve().parents[2]

LOC = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.*)$", re.M)


def theorem(body: str, tid: str = "C-1", title: str = "t") -> str:
    return f'theorem {tid} "{title}" {{\n{body}\n}}\n'


def load_one(body: str, tid: str = "C-1"):
    (t,) = load_text(theorem(body, tid), "t.lim")
    return t


def claim_of(expr: str, params: str = "param x : real\nparam y : real"):
    return load_one(f"{params}\nclaim {expr}\ncheck symbolic expect proved").claim


def errors(text: str, file: str = "bad.lim") -> SourceError:
    with pytest.raises(SourceError) as info:
        load_text(text, file)
    return info.value


def only_error(body: str, tid: str = "C-1"):
    err = errors(theorem(body, tid))
    assert len(err.diagnostics) == 1, err.render()
    return err.diagnostics[0], err


x, y = C.Var(C.REAL, "x"), C.Var(C.REAL, "y")


# ---- desugaring --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("x < y", C.mk("lt", x, y)),
    ("x <= y", C.mk("le", x, y)),
    ("x > y", C.mk("lt", y, x)),
    ("x >= y", C.mk("le", y, x)),
    ("x = y", C.mk("eq", x, y)),
    ("x != y", C.mk("not", C.mk("eq", x, y))),
])
def test_comparisons_become_lt_le_eq(text, expected):
    assert claim_of(text) == expected


def test_chained_comparison_becomes_a_conjunction():
    assert claim_of("0 < x <= y") == C.mk("and", C.mk("lt", C.num(0), x), C.mk("le", x, y))


def test_arithmetic_core():
    assert claim_of("x - y = 0") == C.mk("eq", C.mk("add", x, C.mk("neg", y)), C.num(0))
    assert claim_of("x - 2 = 0") == C.mk("eq", C.mk("add", x, C.num(-2)), C.num(0))
    assert claim_of("-x = x * y / 2") == C.mk("eq", C.mk("neg", x), C.mk("div", C.mk("mul", x, y), C.num(2)))
    assert claim_of("x ^ 2 = exp(ln(y))") == C.mk("eq", C.mk("pow", x, C.num(2)), C.mk("exp", C.mk("ln", y)))


def test_sorts_of_integer_and_real_terms():
    n = C.Var(C.INT, "n")
    claim = claim_of("n * n + 1 = n / 2", params="param n : int")
    left, right = claim.args
    assert left.sort == C.INT and right.sort == C.REAL
    assert left == C.mk("add", C.mk("mul", n, n), C.num(1))
    assert claim_of("x = 0.5", params="param x : real").args[1] == C.num(Fraction(1, 2), C.REAL)


def test_boolean_connectives():
    a, b = C.mk("lt", x, y), C.mk("lt", y, x)
    assert claim_of("x < y or y < x") == C.mk("or", a, b)
    assert claim_of("not x < y and y < x") == C.mk("and", C.mk("not", a), b)
    assert claim_of("x < y <=> y < x") == C.mk("iff", a, b)
    pb = C.Var(C.BOOL, "b")
    assert claim_of("b = true", params="param b : bool") == C.mk("iff", pb, C.TRUE)
    assert claim_of("b != false", params="param b : bool") == C.mk("not", C.mk("iff", pb, C.FALSE))


def test_let_is_inlined_and_macros_take_arguments():
    claim = claim_of("sq(w) = w", params="param x : real\nlet w = x + 1\nlet sq(t) = t * t")
    w = C.mk("add", x, C.num(1))
    assert claim == C.mk("eq", C.mk("mul", w, w), w)


def test_macro_arguments_are_not_captured_by_binders_in_its_body():
    claim = claim_of("g(i) = 0", params="param i : int\nlet g(t) = sum(i in 1..3, t)")
    (s,) = [s for s in C.walk(claim) if isinstance(s, C.Bind)]
    assert s.body == C.Var(C.INT, "i")          # the parameter i, not the bound one
    assert s.var.name != "i" and s.var.display == "i"


def test_bound_variables_get_unique_names():
    claim = claim_of("forall i in 1..n : exists i in 1..n : i = i", params="param n : int")
    binds = [t for t in C.walk(claim) if isinstance(t, C.Bind)]
    assert [b.op for b in binds] == ["forall", "exists"]
    assert binds[0].var.name != binds[1].var.name
    assert {b.var.display for b in binds} == {"i"}
    assert binds[1].body == C.mk("eq", binds[1].var, binds[1].var)  # the inner i shadows


@pytest.mark.parametrize("op", ["sum", "prod", "max", "min"])
def test_indexed_operators_become_binders(op):
    claim = claim_of(f"{op}(i in 1..n, i) >= 0", params="param n : int")
    (b,) = [t for t in C.walk(claim) if isinstance(t, C.Bind)]
    assert b.op == op and b.lo == C.num(1) and b.hi == C.Var(C.INT, "n") and b.body == b.var


def test_max_and_min_of_arguments_are_operators():
    assert claim_of("max(x, y, 1) >= min(x, y)") == C.mk(
        "le", C.mk("min", x, y), C.mk("max", x, y, C.num(1)))


def test_limit_and_if():
    claim = claim_of("limit(N -> inf, 1 / N) = 0", params="param p : real")
    (lim,) = [t for t in C.walk(claim) if isinstance(t, C.Limit)]
    assert lim.point == "inf" and lim.var.display == "N"
    assert claim_of("(if x < y then x else y) <= x") == C.mk("le", C.mk("ite", C.mk("lt", x, y), x, y), x)


def test_param_domains_become_constraints():
    t = load_one("param N : int in [2, inf)\nparam p : real in (0, 1)\nparam q : real in [0, 1)\n"
                 "param s : real in {1/2, 3}\nparam z : real\nclaim true\ncheck symbolic expect proved")
    N, p, q, s = C.Var(C.INT, "N"), C.Var(C.REAL, "p"), C.Var(C.REAL, "q"), C.Var(C.REAL, "s")
    by = {prm.name: prm for prm in t.params}
    assert by["N"].constraints == [C.mk("le", C.num(2), N)]
    assert by["N"].domain_text == "[2, inf)"
    assert by["p"].constraints == [C.mk("lt", C.num(0), p), C.mk("lt", p, C.num(1))]
    assert by["q"].constraints == [C.mk("le", C.num(0), q), C.mk("lt", q, C.num(1))]
    assert by["s"].constraints == [C.mk("or", C.mk("eq", s, C.mk("div", C.num(1), C.num(2))),
                                         C.mk("eq", s, C.num(3)))]
    assert by["z"].constraints == [] and by["z"].sort == C.REAL


def test_function_type_signature():
    t = load_one("param n : int\nparam m : int\nparam k : int\nparam h : [1..k] * [1..n] -> [1..m]\n"
                 "claim h(1, 1) >= 1\ncheck symbolic expect proved")
    sig = t.param("h").sort
    assert isinstance(sig, C.FunSig)
    assert sig.domains == ((C.num(1), C.Var(C.INT, "k")), (C.num(1), C.Var(C.INT, "n")))
    assert sig.codomain == (C.INT, C.num(1), C.Var(C.INT, "m"))
    assert t.claim == C.mk("le", C.num(1), C.App(C.INT, "h", (C.num(1), C.num(1))))
    assert {"k", "n", "m"} <= t.is_structural


def test_assumption_labels_default_by_position():
    t = load_one("param k : int\nparam n : int\nassume k >= 1\nassume k_le_n: k <= n\n"
                 "claim true\ncheck symbolic expect proved")
    assert [label for label, _, _ in t.assumptions] == ["assumption1", "k_le_n"]


def test_witness_is_attached_to_its_exists():
    t = load_one("param n : int in [1, inf)\nclaim exists f : [1..n] -> [1..2] : forall x in 1..n : f(x) = 1\n"
                 "witness f(x) = 1\ncheck symbolic expect proved")
    (fb,) = [s for s in C.walk(t.claim) if isinstance(s, C.FunBind)]
    assert fb.kind == "exists" and fb.witness is not None
    assert fb.witness.body == C.num(1) and len(fb.witness.formals) == 1


def test_several_claims_are_conjoined():
    t = load_one("param x : real\nclaim x = x\nclaim x <= x\ncheck symbolic expect proved")
    assert t.claim == C.mk("and", C.mk("eq", x, x), C.mk("le", x, x))


def test_checks_and_bindings():
    t = load_one("param n : int\nparam m : int\nparam p : real\nclaim true\n"
                 "check symbolic timeout 3 expect proved\n"
                 "check finite n in 1..3, m = n + 1, p in {1/2, 1} expect verified")
    c0, c1 = t.checks
    assert (c0.index, c0.kind, c0.expect, c0.timeout, c0.bindings) == (0, "symbolic", "proved", 3.0, [])
    assert (c1.index, c1.kind, c1.expect, c1.timeout) == (1, "finite", "verified", None)
    assert [(b[0], b[1]) for b in c1.bindings] == [("n", "range"), ("m", "value"), ("p", "set")]
    assert c1.bindings[0][2] == (C.num(1), C.num(3))
    assert c1.bindings[1][2] == (C.mk("add", C.Var(C.INT, "n"), C.num(1)),)
    assert str(c1.span) == "t.lim:7:1"


@pytest.mark.parametrize("tid", [f"H-{i}" for i in range(1, 10)] + [f"C-{i}" for i in range(1, 5)]
                         + [f"R-{i}" for i in range(1, 4)] + [f"Rt-{i}" for i in range(1, 5)]
                         + ["M-1", "M-2", "C-3.half-log", "H-1.boundary"])
def test_known_statement_ids(tid):
    assert load_one("param x : real\nclaim x = x\ncheck symbolic expect proved", tid=tid).id == tid


def test_the_proofs_folder_elaborates():
    theorems = load_files(statement_files([str(ROOT / "proofs")]))
    ids = [t.id for t in theorems]
    for expected in ("C-3", "C-3.sandwich", "C-3.limit", "C-3.half-log", "H-1", "H-1.counting", "H-1.boundary"):
        assert expected in ids
    assert len(ids) == len(set(ids))


# ---- diagnostics ----------------------------------------------------------------------------

def test_error_format_file_line_column_source_and_caret():
    err = errors(theorem("param count : real\nclaim cuont > 0\ncheck symbolic expect proved"), "dir/f.lim")
    lines = err.render().splitlines()
    assert lines[0] == "dir/f.lim:3:7: error: unknown name 'cuont'"
    assert lines[1] == "    claim cuont > 0"
    assert lines[2] == "    " + " " * 6 + "^~~~~"
    assert lines[3] == "    note: did you mean 'count'?"
    assert lines[4] == "1 error"
    assert str(err) == err.render()


def test_unknown_name_without_a_close_match_has_no_hint():
    d, _ = only_error("param x : real\nclaim zzz > 0\ncheck symbolic expect proved")
    assert d.message == "unknown name 'zzz'" and d.hint == ""


@pytest.mark.parametrize("wrong, right", [("lnn", "ln"), ("sqr", "sqrt"), ("expp", "exp"), ("flp", "flip")])
def test_unknown_function_did_you_mean(wrong, right):
    d, err = only_error(f"param x : real\nlet flip(t) = -t\nclaim {wrong}(x) > 0\ncheck symbolic expect proved")
    assert d.message == f"unknown function '{wrong}'"
    assert d.hint == f"did you mean '{right}'?"
    assert (d.span.line, d.span.column) == (4, 7)
    assert f"note: did you mean '{right}'?" in err.render()


@pytest.mark.parametrize("tid, suggestion", [("H-10", "H-1"), ("C-5", None), ("Rt-9", None), ("M-3", None),
                                             ("R-4.variant", None)])
def test_an_id_with_a_paper_prefix_must_be_the_papers(tid, suggestion):
    d, _ = only_error("param x : real\nclaim x = x\ncheck symbolic expect proved", tid=tid)
    assert d.message == f"'{tid.split('.')[0]}' is not a statement of the paper"
    assert (d.span.line, d.span.column) == (1, 1)
    if suggestion:
        assert d.hint.startswith(f"did you mean '{suggestion}'?")
    assert "paper_ids.txt" in d.hint


@pytest.mark.parametrize("tid", ["Z-1", "MINE-1", "my-lemma", "KV-3.tight", "softmax_top.corrected"])
def test_a_users_own_id_is_accepted(tid):
    (thm,) = load_text(theorem("param x : real\nclaim x * x >= 0\ncheck symbolic expect proved", tid=tid))
    assert thm.id == tid


def test_all_errors_of_a_file_at_once():
    """Two broken theorem blocks and one semantic error: three diagnostics, in line order."""
    text = (theorem("param x : real\nclaim x + check symbolic expect proved", tid="C-1")
            + theorem("param x : real\nclaim y > 0\ncheck symbolic expect proved", tid="C-2")
            + theorem("param x : real\nclaim x > 0\ncheck symbolic expect maybe", tid="C-3"))
    err = errors(text, "three.lim")
    assert len(err.diagnostics) == 3
    rendered = err.render()
    locs = [(m.group("file"), int(m.group("line")), int(m.group("col"))) for m in LOC.finditer(rendered)]
    assert locs == [("three.lim", 3, 11), ("three.lim", 7, 7), ("three.lim", 13, 23)]
    assert "unknown name 'y'" in rendered
    assert rendered.endswith("3 errors")


def test_semantic_errors_of_one_theorem_are_all_reported():
    err = errors(theorem("param x : real\nparam x : real\nclaim y > 0 and lnn(x) > 0\n"
                         "check symbolic n = 1 expect proved"))
    messages = [d.message for d in err.diagnostics]
    assert any("declared twice" in m for m in messages)
    assert any("unknown name 'y'" in m for m in messages)
    assert any("unknown function 'lnn'" in m for m in messages)
    assert any("symbolic check takes no bindings" in m for m in messages)
    assert [d.span.line for d in err.diagnostics] == sorted(d.span.line for d in err.diagnostics)


def test_errors_across_files_are_collected(tmp_path):
    a = tmp_path / "a.lim"
    b = tmp_path / "b.lim"
    a.write_text(theorem("param x : real\nclaim y > 0\ncheck symbolic expect proved"))
    b.write_text(theorem("param x : real\nclaim x > 0\ncheck symbolic expect maybe"))
    with pytest.raises(SourceError) as info:
        load_files(statement_files([str(tmp_path)]))
    files = {d.span.file for d in info.value.diagnostics}
    assert files == {str(a), str(b)}


def test_symbolic_check_with_bindings_is_an_error():
    d, _ = only_error("param n : int\nclaim n = n\ncheck symbolic n = 1 expect proved")
    assert d.message == "a symbolic check takes no bindings"
    assert "check finite" in d.hint
    assert (d.span.line, d.span.column) == (4, 1)


def test_range_binding_on_a_real_parameter_is_an_error():
    d, err = only_error("param p : real in (0, 1)\nclaim p < 1\ncheck finite p in 0..1 expect verified")
    assert d.message == "a range binds an int parameter, but 'p' is real"
    assert (d.span.line, d.span.column) == (4, 14)
    assert "{1/2, 9/10}" in d.hint


def test_witness_for_a_name_with_no_exists():
    d, _ = only_error("param x : real\nclaim x + 1 > x\nwitness f(t) = 1\ncheck symbolic expect proved")
    assert d.message == "witness 'f' names no 'exists f : ...' in the claim"
    assert (d.span.line, d.span.column) == (4, 1)


def test_witness_for_a_forall_is_an_error():
    d, _ = only_error("param n : int in [1, inf)\nclaim forall f : [1..n] -> [1..2] : f(1) >= 1\n"
                      "witness f(x) = 1\ncheck symbolic expect proved")
    assert "not 'forall f'" in d.message


def test_witness_with_wrong_arity():
    d, _ = only_error("param n : int in [1, inf)\nclaim exists f : [1..n] -> [1..2] : f(1) >= 1\n"
                      "witness f(x, y) = 1\ncheck symbolic expect proved")
    assert "takes 1 arguments; the witness has 2" in d.message


@pytest.mark.parametrize("body, fragment", [
    ("param x : real\nclaim x + 1\ncheck symbolic expect proved", "expected a truth value"),
    ("param x : real\nclaim (x < 1) + 1 > 0\ncheck symbolic expect proved", "expected a number"),
    ("param x : real\nclaim ln(x, x) > 0\ncheck symbolic expect proved", "ln takes 1 argument, given 2"),
    ("param x : real\nclaim max(x) > 0\ncheck symbolic expect proved", "two or more arguments"),
    ("param x : real\nlet sq(t) = t * t\nclaim sq > 0\ncheck symbolic expect proved", "'sq' takes arguments"),
    ("param x : real\nlet sq(t) = t * t\nclaim sq(x, x) > 0\ncheck symbolic expect proved",
     "'sq' takes 1 arguments, given 2"),
    ("param x : real\nlet exp = x\nclaim x > 0\ncheck symbolic expect proved", "'exp' is already defined"),
    ("param x : real\nclaim x = inf\ncheck symbolic expect proved", "'inf' may only bound"),
    ("param x : real\nclaim sum(i in 1..x, i) > 0\ncheck symbolic expect proved", "expected an integer"),
    ("param n : int\nparam h : [1..n] -> real\nclaim h > 0\ncheck symbolic expect proved", "is a function"),
    ("param n : int\nparam h : [1..n] -> real\nclaim h(1, 2) > 0\ncheck symbolic expect proved",
     "'h' takes 1 arguments, given 2"),
    ("param x : real\nclaim x = x\ncheck finite expect proved", "cannot expect 'proved'"),
    ("param x : real\nclaim x = x\ncheck symbolic expect verified", "cannot expect 'verified'"),
    ("param x : real\nclaim x = x\ncheck finite y = 1 expect verified", "'y' is not a parameter"),
    ("param n : int\nparam m : int\nclaim n = n\ncheck finite n in 1..m, m = 2 expect verified",
     "uses 'm', which is not bound before it"),
    ("param n : int\nclaim n = n\ncheck finite n = 1, n = 2 expect verified", "bound twice"),
    ("param x : real\nclaim x = x\ncheck symbolic timeout 0 expect proved", "timeout must be positive"),
    ("param x : real\ncheck symbolic expect proved", "has no claim"),
    ("param x : real\nclaim x = x", "has no check"),
    ("param x : real\nassume a: x > 0\nassume a: x > 1\nclaim x = x\ncheck symbolic expect proved",
     "label 'a' is used twice"),
    ("param n : int\nparam h : [1..n] -> real\nclaim n = n\ncheck finite h = 1 expect verified",
     "'h' is a function"),
])
def test_semantic_errors(body, fragment):
    d, err = only_error(body)
    assert fragment in d.message, err.render()
    assert LOC.match(err.render())


def test_comparing_truth_values_with_an_order_is_an_error():
    err = errors(theorem("param b : bool\nclaim b < true\ncheck symbolic expect proved"))
    assert "'<' compares numbers, not truth values" in err.diagnostics[0].message
    assert all(d.span.line == 3 for d in err.diagnostics)


def test_did_you_mean_for_a_misspelt_binding():
    d, _ = only_error("param count : int\nclaim count = count\ncheck finite cuont = 1 expect verified")
    assert d.hint == "did you mean 'count'?"


def test_duplicate_theorem_id_in_one_file():
    text = theorem("param x : real\nclaim x = x\ncheck symbolic expect proved") * 2
    err = errors(text)
    assert any("used twice" in d.message for d in err.diagnostics)
