"""Verdict semantics on small inline statements, through `checker.api.verify_text`."""
from __future__ import annotations

import re
import time
from fractions import Fraction

import pytest

from checker.api import load_text, verify_text
from checker.decide import evaluator as E
from checker.decide.engine import Options
from checker.errors import EvaluationError
from checker.language import core as C
from checker.verdict import CheckResult, Status

FAST = Options(timeout=5)


def theorem(body: str, tid: str = "C-1", title: str = "t") -> str:
    return f'theorem {tid} "{title}" {{\n{body}\n}}\n'


def run(body: str, options: Options = FAST, tid: str = "C-1") -> list[CheckResult]:
    return verify_text(theorem(body, tid), options)


def run1(body: str, options: Options = FAST, tid: str = "C-1") -> CheckResult:
    (r,) = run(body, options, tid)
    return r


_LN = re.compile(r"^\(?(?:(?P<k>-?\d+) \* )?ln\((?P<q>-?\d+(?:/\d+)?)\)\)?$")


def value_term(text: str) -> C.Term:
    """A counterexample value as the report writes it: 3/4, -2, ln(2), (2 * ln(3/2))."""
    try:
        return C.num(Fraction(text))
    except ValueError:
        pass
    m = _LN.match(text)
    assert m, f"cannot read the counterexample value {text!r}"
    term = C.mk("ln", C.num(Fraction(m.group("q")), C.REAL))
    return C.mk("mul", C.num(int(m.group("k"))), term) if m.group("k") else term


def counterexample_env(result: CheckResult) -> E.Env:
    cex = result.counterexample
    assert cex is not None
    values = {k: value_term(v) for k, v in cex["scalars"].items()}
    values = {k: (v.value if isinstance(v, C.Const) else v) for k, v in values.items()}
    functions = {}
    for name, table in cex.get("functions", {}).items():
        points = {tuple(int(a) for a in key.split(",")): Fraction(v) for key, v in table.items()}
        dims = len(next(iter(points)))
        domains = tuple((min(p[i] for p in points), max(p[i] for p in points)) for i in range(dims))
        functions[name] = E.Table(domains, points)
    return E.Env(values, functions)


def assert_confirmed(text: str, result: CheckResult):
    """The exact evaluator agrees: hypotheses hold at the counterexample and the claim does not."""
    (thm,) = load_text(text)
    env = counterexample_env(result)
    for p in thm.params:
        for c in p.constraints:
            assert E.evaluate(c, env) is True, f"counterexample violates the domain of {p.name}"
    for label, a, _ in thm.assumptions:
        assert E.evaluate(a, env) is True, f"counterexample violates {label}"
    try:
        holds = E.evaluate(thm.claim, env)
    except EvaluationError:  # undefined there also refutes
        return
    assert holds is False


# ---- proved / refuted -------------------------------------------------------------------

def test_true_polynomial_claim_is_proved():
    r = run1("param x : real\nparam y : real\nclaim x^2 + y^2 >= 2 * x * y\ncheck symbolic expect proved")
    assert r.status == Status.PROVED.value == "proved"
    assert r.as_expected
    assert r.counterexample is None and r.reason == ""
    assert r.range == "all parameter values" and r.instances == 1


def test_true_claim_under_assumptions_is_proved():
    r = run1("param x : real in (0, inf)\nparam y : real\nassume pos: y > x\n"
             "claim y^2 > x^2\ncheck symbolic expect proved")
    assert r.status == "proved"


def test_true_integer_claim_is_proved():
    r = run1("param n : int in [1, inf)\nclaim n^2 >= n\ncheck symbolic expect proved")
    assert r.status == "proved"


def test_false_polynomial_claim_is_refuted_with_a_confirmed_counterexample():
    body = "param x : real\nparam y : real\nclaim x^2 + y^2 > 2 * x * y\ncheck symbolic expect refuted"
    r = run1(body)
    assert r.status == "refuted" and r.as_expected
    assert set(r.counterexample["scalars"]) == {"x", "y"}
    assert r.counterexample_text
    assert_confirmed(theorem(body), r)
    sc = r.counterexample["scalars"]
    assert Fraction(sc["x"]) == Fraction(sc["y"])


def test_refuted_counterexample_respects_domains_and_assumptions():
    body = ("param a : real in [1, 10]\nparam b : int in [3, 5]\nassume big: a * b >= 12\n"
            "claim a + b > 8\ncheck symbolic expect refuted")
    r = run1(body)
    assert r.status == "refuted"
    assert_confirmed(theorem(body), r)


def test_integer_counterexample():
    body = "param n : int in [0, 100]\nclaim n^2 != 49\ncheck symbolic expect refuted"
    r = run1(body)
    assert r.status == "refuted"
    assert r.counterexample["scalars"]["n"] == "7"


def test_a_claim_undefined_somewhere_is_refuted():
    body = "param x : real\nclaim ln(x) <= x\ncheck symbolic expect refuted"
    r = run1(body)
    assert r.status == "refuted"
    assert Fraction(r.counterexample["scalars"]["x"]) <= 0
    assert "undefined" in r.reason
    assert_confirmed(theorem(body), r)


def test_division_by_zero_somewhere_refutes():
    r = run1("param x : real\nclaim x / x = 1\ncheck symbolic expect refuted")
    assert r.status == "refuted" and r.counterexample["scalars"]["x"] == "0"


def test_guarded_partial_claim_is_proved():
    assert run1("param x : real\nclaim x = 0 or x / x = 1\ncheck symbolic expect proved").status == "proved"
    assert run1("param x : real in (0, inf)\nclaim ln(x) < x\ncheck symbolic expect proved").status in (
        "proved", "unknown")  # true; never refuted


def test_exp_ln_claim_is_proved_after_elimination():
    r = run1("param x : real in (0, inf)\nparam y : real in (0, inf)\n"
             "claim ln(x * y) = ln(x) + ln(y)\ncheck symbolic expect proved")
    assert r.status == "proved"


def test_exp_claim_refuted_with_an_exact_irrational_counterexample():
    body = "param x : real\nclaim exp(x) >= 2\ncheck symbolic expect refuted"
    r = run1(body)
    assert r.status == "refuted"
    assert_confirmed(theorem(body), r)


def test_refutation_at_an_irrational_point_where_the_claim_is_an_equality():
    """exp(x) != 3 is false exactly at x = ln(3); the re-check must confirm that point."""
    body = "param x : real\nclaim exp(x) != 3\ncheck symbolic expect refuted"
    r = run1(body)
    assert r.status == "refuted", r.reason


def test_true_claim_with_an_exact_tie_is_never_refuted():
    """sum_{i<=N} exp(ln i) = N(N+1)/2 holds for every N; ties must not become counterexamples."""
    r = run1("param N : int in [2, 10]\nclaim sum(i in 1..N, exp(ln(i))) = N * (N + 1) / 2\n"
             "check finite N in 2..3 expect verified")
    assert r.status == "verified", (r.status, r.counterexample_text, r.reason)


# ---- finite checks --------------------------------------------------------------------------

def test_finite_check_reports_range_and_instance_count():
    r = run1("param n : int in [1, 10]\nparam x : real\nclaim n * x^2 >= 0\n"
             "check finite n in 1..5 expect verified")
    assert r.status == "verified" and r.as_expected
    assert r.instances == 5
    assert r.range.startswith("n in 1..5")
    assert "for all x" in r.range


def test_finite_check_counts_products_of_bindings():
    r = run1("param n : int in [1, 10]\nparam m : int\nparam p : real in (0, 1)\nclaim p^n < 1 + m^2\n"
             "check finite n in 1..4, m = 2, p in {1/2, 9/10, 1/100} expect verified")
    assert r.status == "verified"
    assert r.instances == 4 * 1 * 3
    assert "n in 1..4" in r.range and "m = 2" in r.range and "p in {" in r.range


def test_finite_check_with_dependent_bounds():
    r = run1("param n : int in [1, inf)\nparam k : int in [1, inf)\n"
             "claim sum(i in 1..k, 1) <= n\ncheck finite n in 1..3, k in 1..n expect verified")
    assert r.status == "verified"
    assert r.instances == 1 + 2 + 3


def test_finite_check_refuted_with_instance_values():
    body = "param n : int in [1, 10]\nclaim sum(i in 1..n, i) < 10\ncheck finite n in 1..6 expect refuted"
    r = run1(body)
    assert r.status == "refuted"
    assert int(r.counterexample["scalars"]["n"]) >= 4
    assert_confirmed(theorem(body), r)


def test_finite_function_table_counterexample():
    body = ("param n : int in [1, inf)\nparam h : [1..n] -> [1..2]\n"
            "claim exists x in 1..n : h(x) = 2\ncheck finite n in 1..2 expect refuted")
    r = run1(body)
    assert r.status == "refuted"
    table = r.counterexample["functions"]["h"]
    assert table and all(v == "1" for v in table.values())
    assert_confirmed(theorem(body), r)


def test_binding_value_outside_the_domain_is_an_error():
    r = run1("param n : int in [1, 10]\nclaim n * n >= n\ncheck finite n = 11 expect verified")
    assert r.status == Status.ERROR.value == "error"
    assert not r.as_expected
    assert "outside the domain" in r.reason and "n" in r.reason


@pytest.mark.parametrize("binding", ["n in 0..5", "n in 5..11", "n in {2, 20}"])
def test_range_and_set_bindings_outside_the_domain_are_errors(binding):
    r = run1(f"param n : int in [1, 10]\nclaim n >= 1\ncheck finite {binding} expect verified")
    assert r.status == "error"


def test_real_binding_outside_an_open_interval_is_an_error():
    r = run1("param p : real in (0, 1)\nclaim p * p < p\ncheck finite p in {1/2, 1} expect verified")
    assert r.status == "error"
    assert "p = 1" in r.reason


@pytest.mark.parametrize("decl, value", [("int in [1, 10]", "3/2"), ("int", "1/2"), ("int in [0, inf)", "5/2")])
def test_non_integer_value_for_an_int_parameter_is_an_error(decl, value):
    """An int parameter cannot take 3/2: the check cannot run as written."""
    r = run1(f"param n : {decl}\nclaim 2 * n >= 2\ncheck finite n = {value} expect verified")
    assert r.status == "error", (r.status, r.range)


def test_a_finite_check_over_no_instances_is_not_verified():
    """`n in 3..1` is empty: nothing was checked, so "verified" would be vacuous."""
    r = run1("param n : int in [1, 10]\nclaim n > 5\ncheck finite n in 3..1 expect verified")
    assert r.instances == 0
    assert r.status != "verified", r.range


def test_a_dependent_range_empty_for_some_values_still_counts_the_others():
    r = run1("param n : int in [1, 10]\nparam k : int in [1, 10]\nclaim k < n\n"
             "check finite n in 1..3, k in 1..n - 1 expect verified")
    assert r.status == "verified" and r.instances == 0 + 1 + 2


def test_error_status_never_counts_as_expected():
    r = run1("param n : int in [1, 10]\nclaim n >= 1\ncheck finite n = 0 expect refuted")
    assert r.status == "error" and not r.as_expected


# ---- unknown ----------------------------------------------------------------------------------

def test_construct_that_cannot_be_eliminated_is_unknown_never_proved():
    # true (cos x = -1 and cos(sqrt(2) x) = -1 at one x would make sqrt(2) rational), but no bound
    # or box over the whole line shows it: the infimum -2 is approached and never reached
    r = run1("param x : real\nclaim cos(x) + cos(sqrt(2) * x) > -2\ncheck symbolic expect unknown")
    assert r.status == "unknown"
    assert r.reason.strip()
    assert r.counterexample is None


def test_exp_x_greater_than_x_is_proved_from_a_fact_about_exp():
    # x is inside exp and outside it, so elimination fails; exp(x) >= 1 + x settles it
    r = run1("param x : real\nclaim exp(x) > x\ncheck symbolic expect proved")
    assert r.status == "proved" and "facts" in r.methods and "z3" in r.methods


def test_what_the_facts_do_not_settle_stays_unknown_with_reason():
    # true (cos x + cos 2x >= -9/8), but the facts give only cos in [-1, 1], so a sum >= -2
    r = run1("param x : real\nclaim cos(x) + cos(2 * x) > -2\ncheck symbolic expect unknown")
    assert r.status == "unknown" and r.reason and r.counterexample is None


def test_solver_timeout_gives_unknown_with_reason():
    """x^3 + y^3 != z^3 over positive integers: Z3 cannot settle it in half a second."""
    started = time.perf_counter()
    r = run1("param x : int in [1, inf)\nparam y : int in [1, inf)\nparam z : int in [1, inf)\n"
             "claim x^3 + y^3 != z^3\ncheck symbolic expect unknown", Options(timeout=0.5))
    assert r.status == "unknown"
    assert r.reason and ("timeout" in r.reason or "unknown" in r.reason or "canceled" in r.reason)
    assert time.perf_counter() - started < 20


def test_check_timeout_option_overrides_the_default():
    started = time.perf_counter()
    r = run1("param x : int in [1, inf)\nparam y : int in [1, inf)\nparam z : int in [1, inf)\n"
             "claim x^3 + y^3 != z^3\ncheck symbolic timeout 0.3 expect unknown", Options(timeout=60))
    assert r.status == "unknown" and r.reason
    assert time.perf_counter() - started < 20


def test_unknown_is_not_as_expected_unless_expected():
    r = run1("param x : real\nclaim cos(x) + cos(sqrt(2) * x) > -2\ncheck symbolic expect proved")
    assert r.status == "unknown" and not r.as_expected


def test_x_exp_x_above_minus_one_is_proved_by_the_bounds():
    # true: x e^x >= -1/e > -1, with x both inside exp and outside it
    r = run1("param x : real\nclaim x * exp(x) > -1\ncheck symbolic expect proved")
    assert r.status == "proved" and r.as_expected


# ---- witnesses ------------------------------------------------------------------------------

H1_BODY = """param n : int in [1, inf)
param m : int in [2, inf)
param k : int in [1, inf)
param h : [1..k] * [1..n] -> [1..m]
assume k_le_n: k <= n
let flip(y) = if y = 1 then 2 else 1
claim exists f : [1..n] -> [1..m] : forall i in 1..k : exists x in 1..n : h(i, x) != f(x)
witness f(x) = {witness}
check symbolic expect proved
check finite n in 1..2, m in 2..3, k in 1..n expect verified"""


def test_good_witness_proves_the_claim():
    symbolic, finite = run(H1_BODY.format(witness="if x <= k then flip(h(x, x)) else 1"), tid="H-1")
    assert symbolic.status == "proved"
    assert "witness" in symbolic.method
    assert finite.status == "verified"


def test_failing_witness_leads_to_checking_the_plain_claim():
    symbolic, finite = run(H1_BODY.format(witness="1"), tid="H-1")
    # The plain claim holds on every finite instance: verified, not refuted by the bad witness.
    assert finite.status == "verified"
    assert "witness failed" in finite.method
    # Symbolically the plain claim is out of reach: unknown, and the reason says the witness failed.
    assert symbolic.status in ("unknown", "proved")
    if symbolic.status == "unknown":
        assert "witness" in symbolic.reason


def test_failing_witness_on_a_false_claim_gives_refuted():
    body = ("param n : int in [1, inf)\nparam m : int in [2, inf)\nparam k : int in [1, inf)\n"
            "param h : [1..k] * [1..n] -> [1..m]\n"
            "claim exists f : [1..n] -> [1..m] : forall i in 1..k : exists x in 1..n : h(i, x) != f(x)\n"
            "witness f(x) = 1\ncheck finite n = 1, m = 2, k = 2 expect refuted")
    r = run1(body, tid="H-1")
    assert r.status == "refuted"
    assert_confirmed(theorem(body, "H-1"), r)


# ---- limits and the result record ---------------------------------------------------------

def test_limit_is_proved_by_sympy():
    r = run1("param p : real in (0, 1)\nclaim limit(N -> inf, ln(p * (N - 1) / (1 - p)) / ln(N)) = 1\n"
             "check symbolic expect proved")
    assert r.status == "proved"
    assert "sympy" in r.method
    assert r.steps


def test_wrong_limit_is_not_proved():
    r = run1("param p : real in (0, 1)\nclaim limit(N -> inf, ln(N) / N) = 1\ncheck symbolic expect unknown")
    assert r.status != "proved"


def test_result_record_fields():
    (r,) = verify_text(theorem("param x : real\nclaim x = x\ncheck symbolic expect proved", "M-2", "T x"),
                       FAST, file="mem.lim")
    assert (r.id, r.title, r.check, r.check_index, r.expected) == ("M-2", "T x", "symbolic", 0, "proved")
    assert r.source == "mem.lim:4:1"
    assert r.seconds >= 0
    data = r.to_json()
    assert data["as_expected"] is True and data["status"] == "proved"


def test_build_dir_gets_smt2_and_counterexample_files(tmp_path):
    (r,) = verify_text(theorem("param x : real\nclaim x^2 > 0\ncheck symbolic expect refuted"),
                       Options(timeout=5, build_dir=tmp_path))
    assert r.status == "refuted"
    assert r.smt2 and all(p.endswith(".smt2") for p in r.smt2)
    for p in r.smt2:
        text = open(p).read()
        assert text.startswith(";") and "(set-logic" in text and "(check-sat)" in text
    cex_file = r.counterexample["file"]
    assert cex_file.endswith(".json") and (tmp_path / "counterexamples").is_dir()


def test_dropping_a_labelled_assumption():
    body = "param x : real\nassume pos: x > 0\nclaim x^3 > 0\ncheck symbolic expect proved"
    assert run1(body).status == "proved"
    assert run1(body, Options(timeout=5, drop=("pos",))).status == "refuted"


def test_a_range_through_a_hole_of_a_set_domain_is_an_error():
    r = run1("param n : int in {1, 2, 4}\nclaim n != 3\ncheck finite n in 1..4 expect verified")
    assert r.status == "error" and "n = 3 lies outside the domain" in r.reason


def test_interval_domains_are_convex_and_set_domains_are_not():
    from checker.decide.instances import convex_domain
    (thm,) = load_text('''theorem C-3.dom "d" {
  param n : int in [1, inf)
  param s : int in {1, 2, 4}
  param r : real in (0, 1]
  claim n >= 1
  check finite n in 1..1000000000, s in 1..2 expect verified
}''')
    assert convex_domain(thm.param("n"), "n") and convex_domain(thm.param("r"), "r")
    assert not convex_domain(thm.param("s"), "s")
    # a range over an interval domain is one constraint, checked against the domain at its ends
    from checker.decide.engine import run_check
    (result,) = [run_check(thm, c, FAST) for c in thm.checks]
    assert result.status == "verified" and result.instances == 2 * 10**9
    below = run1("param n : int in [2, inf)\nclaim n >= 2\ncheck finite n in 1..1000000000 expect verified")
    assert below.status == "error" and "n = 1 lies outside the domain" in below.reason


DIAGONAL_AT = '''theorem H-1.large "diagonal at k = n" {
  param n : int in [1, inf)
  param m : int in [2, inf)
  param k : int in [1, inf)
  param h : [1..k] * [1..n] -> [1..m]
  let flip(y) = if y = 1 then 2 else 1
  claim exists f : [1..n] -> [1..m] : forall i in 1..k : exists x in 1..n : h(i, x) != f(x)
  witness f(x) = WITNESS
  check finite n = SIZE, m = 2, k = SIZE expect verified
}'''


def test_a_large_finite_instance_is_settled_by_the_witness_with_quantifiers_kept():
    from checker.decide.engine import run_check
    text = DIAGONAL_AT.replace("WITNESS", "if x <= k then flip(h(x, x)) else 1").replace("SIZE", "10000")
    (thm,) = load_text(text)
    result = run_check(thm, thm.checks[0], FAST)
    assert result.status == "verified" and "quantifiers kept" in result.method
    assert result.instances == 1


def test_a_wrong_witness_on_a_large_instance_is_not_taken():
    from checker.decide.engine import run_check
    text = DIAGONAL_AT.replace("WITNESS", "h(x, x)").replace("SIZE", "40")   # agrees with model x
    (thm,) = load_text(text)
    result = run_check(thm, thm.checks[0], Options(timeout=1))
    assert result.status == "unknown"        # 2^40 functions: too many to enumerate, never "verified"


def test_a_ground_evaluation_out_of_time_hands_the_check_to_the_solver_path_once(monkeypatch):
    # An instance whose every variable has a value is first read by the exact evaluator; past
    # its limit (here none at all) the check goes the way of any other query, and its later
    # instances and queries do not try the evaluator again: the same verdict, one attempt.
    from checker.decide import queries
    attempts = []
    original = queries.Queries.ground_value

    def counted(self, query, env=None, memos=None):
        attempts.append(query)
        return original(self, query, env, memos)

    monkeypatch.setattr(queries, "GROUND_EVALUATION_S", 0.0)
    monkeypatch.setattr(queries.Queries, "ground_value", counted)
    (result,) = verify_text('theorem H-1.t "t" {\n  param n : int in [1, inf)\n'
                            '  claim forall i in 1..n : (i * i + 1) / (i * i + 1) = 1\n'
                            '  check finite n in 3..6 expect verified\n}\n')
    assert result.status == Status.VERIFIED and result.range == "n in 3..6"
    assert "evaluator" not in result.methods and len(attempts) == 1
    # with time to spare, each instance is read by the evaluator (two queries each)
    monkeypatch.setattr(queries, "GROUND_EVALUATION_S", 60.0)
    attempts.clear()
    (again,) = verify_text('theorem H-1.t "t" {\n  param n : int in [1, inf)\n'
                           '  claim forall i in 1..n : (i * i + 1) / (i * i + 1) = 1\n'
                           '  check finite n in 3..6 expect verified\n}\n')
    assert again.status == Status.VERIFIED and "evaluator" in again.methods
    assert len(attempts) == 8
