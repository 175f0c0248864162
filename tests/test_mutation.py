"""Mutation testing: the generator's operators, and killing / classifying mutants."""
from __future__ import annotations

from checker import syntax as S
from checker.engine import Options
from checker.errors import SourceError
from checker.mutation import OPERATORS, explain, mutants, mutate_theorem
from checker.parser import parse_source

SMALL = """
theorem C-3.t1 "small" {
  param x : real in [0, 1]
  param n : int in [1, 10]
  assume pos: x >= 0 and x <= 1
  claim x * x <= 1 / 2 + 1
  claim forall i in 1..n : sum(j in 1..i, 1) >= 0
  check symbolic expect proved
  check finite n in 1..5 expect verified
}
"""


def _thm(text: str) -> S.Theorem:
    return parse_source(text).theorems[0]


def test_every_operator_is_generated_and_every_mutant_parses_or_is_stillborn():
    ms = mutants(_thm(SMALL))
    assert {m.operator for m in ms} == set(OPERATORS)
    for m in ms:
        assert m.description.startswith(m.operator)
        try:
            (t,) = parse_source(m.source).theorems
        except SourceError:
            continue  # would be reported stillborn
        assert t.id == "C-3.t1"
    sources = {m.source for m in ms}
    assert len(sources) == len(ms)  # each mutant really changes the text
    assert any("1..6" in m.source for m in ms)          # check range off-by-one
    assert any("exists i" in m.source for m in ms)      # quantifier swap
    assert any("assume" not in m.source for m in ms)    # dropped assumption


def test_cap_is_deterministic_and_spread_over_operators():
    a = mutants(_thm(SMALL), cap=6)
    b = mutants(_thm(SMALL), cap=6)
    assert [m.source for m in a] == [m.source for m in b]
    assert len(a) == 6 and len({m.operator for m in a}) == 6


def test_wrong_mutant_of_true_claim_is_killed():
    thm = _thm("""
theorem C-3.t2 "square" {
  param x : real
  claim x * x >= 0
  check symbolic expect proved
}
""")
    results = mutate_theorem(thm, "<t>", Options(timeout=2), None)
    flips = [r for r in results if r.operator == "flip-comparison"]
    assert flips and all(r.outcome == "killed" for r in flips)  # x*x > 0 fails at 0
    assert flips[0].original == ["proved"] and flips[0].mutant == ["refuted"]


def test_equivalent_mutant_is_classified_equivalent():
    # Under 0 < x the hypothesis `x > 0 and x < 2` weakened to `x > 0 or x < 2` says the same.
    thm = _thm("""
theorem C-3.t3 "bounded" {
  param x : real in (0, 1)
  assume x > 0 and x < 2
  claim x < 1
  check symbolic expect proved
}
""")
    results = mutate_theorem(thm, "<t>", Options(timeout=2), None)
    swap = [r for r in results if r.operator == "swap-connective"]
    assert swap and swap[0].outcome == "survived"
    assert swap[0].explained and swap[0].explanation.startswith("equivalent")


def test_explain_claim_equivalence_directly():
    orig = _thm("""
theorem C-3.t4 "int" {
  param n : int in [0, 5]
  claim n < 6
  check symbolic expect proved
}
""")
    # n < 6 and n <= 6 differ only at n = 6, outside the domain: equivalent.
    (flip,) = [m for m in mutants(orig) if m.operator == "flip-comparison"]
    mutant = parse_source(flip.source).theorems[0]
    ok, why = explain(orig, mutant, ["proved"], Options(timeout=2))
    assert ok and why.startswith("equivalent"), why
