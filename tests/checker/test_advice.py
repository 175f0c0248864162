"""An unknown verdict comes with its whole reason and, where one is known, a rewrite that helps."""
from __future__ import annotations

from checker.advice import suggest
from checker.api import verify_text
from checker.reports.report import table

TOP_WEIGHT = '''theorem MINE-soft "the top softmax weight is at least 1/N" {
  param N : int in [1, inf)
  param s : [1..N] -> real
  assume top: forall j in 1..N : %s
  claim exp(s(1)) / sum(j in 1..N, exp(s(j))) >= 1 / N
  check finite N in 1..3 expect verified
}
'''


def test_the_suggested_rewrite_turns_an_unknown_into_a_verdict():
    (first,) = verify_text(TOP_WEIGHT % "s(j) <= s(1)")
    assert first.status == "unknown"
    assert "exp(s(j)) <= exp(s(1))" in first.suggestion
    assert first.to_json()["suggestion"] == first.suggestion
    shown = table([first])
    assert first.reason in shown and "suggestion: " in shown    # the whole reason, not cut at the column
    (rewritten,) = verify_text(TOP_WEIGHT % "exp(s(j)) <= exp(s(1))")
    assert rewritten.status == "verified" and rewritten.suggestion == ""


def test_a_symbolic_check_over_a_function_parameter_says_so():
    (result,) = verify_text('''theorem MINE-f "f" {
  param n : int in [1, inf)
  param f : [1..n] -> real
  claim sum(j in 1..n, f(j)^2) >= 0
  check symbolic expect proved
}
''')
    assert result.status == "unknown"
    assert "App" not in result.reason and "a function parameter applied to arguments (f(j))" in result.reason
    assert "finite check" in result.suggestion


def test_reasons_without_known_advice_get_none():
    assert suggest("something no backend says") == ""
    assert "timeout" in suggest("z3 timeout after 5 s") or "--timeout" in suggest("z3 timeout after 5 s")
