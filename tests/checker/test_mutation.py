"""Mutation testing: the generator's operators, and killing / classifying mutants."""
from __future__ import annotations

from checker.analyses.mutation import OPERATORS, explain, mutants, mutate_theorem
from checker.decide.engine import Options
from checker.errors import SourceError
from checker.language import syntax as S
from checker.language.parser import parse_source

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
    (swap,) = [m for m in mutants(thm) if m.operator == "swap-connective"]
    category, why = explain(thm, parse_source(swap.source).theorems[0], ["proved"], Options(timeout=2))
    assert category == "equivalent", why
    # The original's tightness report warns that the `or` hypothesis suffices (slack); the mutant IS
    # that `or` form and has nothing to probe there. Its report differs only syntactically (a probe
    # on one side only, the original's warning absent from the mutant): no flag. The mutant survives
    # and is classified equivalent, outside the denominator of the kill rate.
    results = mutate_theorem(thm, "<t>", Options(timeout=2), None)
    (r,) = [r for r in results if r.operator == "swap-connective"]
    assert (r.outcome, r.category) == ("survived", "equivalent"), (r.outcome, r.explanation)


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
    category, why = explain(orig, mutant, ["proved"], Options(timeout=2))
    assert category == "equivalent", why


def test_weakening_of_a_tight_claim_is_flagged_by_tightness():
    # x^2 + 1 >= 1 is tight (equality at 0). 1 -> 2 on the left gives the weaker x^2 + 2 >= 1,
    # still proved, but its constant can move back down by 1 and still hold, where the
    # original's cannot: the constant's tightness entry differs, so the mutant is flagged.
    thm = _thm("""
theorem C-3.t5 "square" {
  param x : real
  claim x * x + 1 >= 1
  check symbolic expect proved
}
""")
    src = thm
    from checker.analyses.tightness import analyse, sites
    (entry,) = [e for e in analyse(src, Options(timeout=2), everything=True) if e.kind == "comparison"]
    assert entry.verdict.startswith("tight"), entry.verdict
    results = mutate_theorem(thm, "<t>", Options(timeout=2), None)
    perturbed = [r for r in results if r.operator == "perturb-constant"]
    assert perturbed and all(r.outcome in ("killed", "flagged") for r in perturbed), \
        [(r.description, r.outcome, r.explanation) for r in perturbed]
    assert any(r.outcome == "flagged" and r.category == "tightness" for r in perturbed)
    assert sites(thm)


def _entry(*probes, verdict=""):
    from checker.analyses.tightness import Entry, Reading
    return Entry("0:.#0", "comparison", "claim", "1:1", "x <= 1", Reading(verdict), verdict,
                 [{"label": label, "sibling": "", "statuses": [], "outcome": o} for label, o in probes])


def test_a_report_differing_only_syntactically_is_no_flag():
    from checker.analyses.mutation.scoring import difference
    # The original warns (its strict sibling holds), the mutant is that strict form and has no probe.
    assert difference(_entry(("strict", "holds")), _entry(verdict="strict")) is None
    # A probe on the mutant's side only, which fails (no warning): no flag.
    assert difference(_entry(verdict="strict"), _entry(("strict", "fails"))) is None
    # The original's site has no entry at all: a mutant's probe alone is no flag.
    assert difference(None, _entry(("strict", "holds"))) is None
    # Undecided probes never count, on either side.
    assert difference(_entry(("strict", "fails")), _entry(("strict", "undecided"))) is None
    assert difference(_entry(("strict", "undecided")), _entry(("strict", "holds"))) is None
    # A warning on the mutant's side where the original's probe fails, or where the original is
    # already in the stronger form, is the flag.
    assert "sibling holds" in difference(_entry(("strict", "fails")), _entry(("strict", "holds")))
    assert "stronger form" in difference(_entry(verdict="strict"), _entry(("strict", "holds")))


def test_weakened_true_claim_whose_strict_sibling_holds_is_flagged():
    # x < 1 on [0, 1) is proved; the flip x <= 1 is proved too (a weakening). The mutant's report
    # warns that its strict sibling holds (slack); the original is already strict there: flagged.
    thm = _thm("""
theorem C-3.t7 "below one" {
  param x : real in [0, 1)
  claim x < 1
  check symbolic expect proved
}
""")
    results = mutate_theorem(thm, "<t>", Options(timeout=2), None)
    (r,) = [r for r in results if r.operator == "flip-comparison"]
    assert (r.outcome, r.category) == ("flagged", "tightness"), (r.outcome, r.explanation)
    assert "strict sibling holds" in r.explanation and "stronger form" in r.explanation


def test_survivor_of_a_statement_refuted_on_some_checks_and_verified_on_others_is_explained_per_side():
    # The claim fails at x = 2 and holds on the checked values of [0, 1]; dropping the hypothesis x >= 0
    # changes no verdict, and the mutant is not equivalent (at x = -2 the original holds vacuously, the
    # mutant fails). Where the original fails, the mutant is a strengthening (mutant => original); where
    # it holds, the claim holds at every checked value, so original => mutant holds there.
    thm = _thm("""
theorem C-3.t8 "square below one" {
  param x : real
  assume nonneg: x >= 0
  claim x * x <= 1
  check finite x in {-2, 2} expect refuted
  check finite x in {0, 1/2, 1} expect verified
}
""")
    (drop,) = [m for m in mutants(thm) if m.operator == "drop-assumption"]
    category, why = explain(thm, parse_source(drop.source).theorems[0], ["refuted", "verified"], Options(timeout=2))
    assert (category == "explained" and "where the original holds (check 2)" in why
            and "where it fails (check 1)" in why), why


def test_vacuous_hypotheses_are_reported():
    from checker.analyses.tightness import analyse
    text = """
theorem C-3.t6 "probabilities" {
  param a : real
  param b : real
  assume nonneg: a >= LOW and b >= 0
  assume total: a + b = 1
  claim a <= 1
  check symbolic expect proved
}
"""
    (vac,) = [e for e in analyse(_thm(text.replace("LOW", "0")), Options(timeout=2)) if e.kind == "vacuity"]
    assert vac.verdict.startswith("satisfiable"), vac.verdict
    (vac,) = [e for e in analyse(_thm(text.replace("LOW", "2")), Options(timeout=2)) if e.kind == "vacuity"]
    assert vac.verdict.startswith("VACUOUS"), vac.verdict


# ---- the short tier of `make reliability` ------------------------------------------------------

# A sample that represents the corpus rather than its easy part: 17 theorems from all five files;
# 6 of the paper's literal defects (refuted, with the checks that pin where they fail and where they
# hold: C-3.half-log, C-1.literal-order, H-1.boundary, H-7.literal, M-1.interaction, Rt-3.literal),
# more than their share of the corpus (15 of 95); symbolic, finite, limit and sum statements; and one
# of the 8 theorems with survivors (Rt-3.independent, whose nonnegativity hypotheses are slack: 2
# survivors in 52 scored mutants, against 13 in 295 for the whole corpus).
SAMPLE = {"C-3", "C-3.half-log", "C-1.pairs", "C-1.literal-order", "H-1.boundary", "H-2.unbounded", "H-4.vanish",
          "H-5.per-fact", "H-7.literal", "M-1.inverse", "M-1.limit", "M-1.interaction", "R-3", "Rt-1.e",
          "Rt-2.limit", "Rt-3.independent", "Rt-3.literal"}


def test_mutation_sample_meets_the_targets(tmp_path):
    """A few theorems of proofs/, mutated and scored as `make reliability` does (cold cache):
    at least 95% killed or flagged among the non-equivalent mutants, every survivor explained."""
    from checker.analyses import mutation
    summary = mutation.run_mutation(["proofs"], 2.0, 4, 1, SAMPLE, str(tmp_path / "cache"))
    assert summary["theorems"] == len(SAMPLE)
    assert summary["mutants"] >= 20
    unexplained = [(s["theorem"], s["description"], s["explanation"]) for s in summary["survivors"]
                   if not s["explained"]]
    assert not unexplained
    assert summary["kill_rate"] >= mutation.TARGET, summary["kill_rate"]
    assert mutation.meets_target(summary)
    # The score must be able to fail: with the tightness and necessity flags switched off, the
    # same sample falls below the target.
    weak = dict(summary, flagged=0)
    weak["kill_rate"] = summary["killed"] / summary["denominator"]
    assert not mutation.meets_target(weak)
    assert not mutation.meets_target(dict(summary, survived_unexplained=1))
