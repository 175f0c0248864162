"""Mutation testing of the statement corpus.

Each theorem is perturbed at the source level (a flipped comparison, a perturbed constant,
a swapped quantifier or connective, a dropped assumption, an off-by-one range bound) by
rewriting its frozen surface tree; the mutant is printed back with `theorem_to_source`,
loaded and decided again. A mutant is
- *killed* when some check's verdict differs from the original's;
- *flagged* when the verdicts agree but the mutant's tightness report (checker.tightness) warns
  at the mutated site where the original's does not: a stronger sibling of the mutant holds
  (the mutant is slack) or its hypotheses are vacuous, while the original's probe there fails
  or the original is already in the stronger form;
- *stillborn* when its text does not parse or elaborate;
- otherwise a survivor: *equivalent* when the checker proves original <=> mutant on the
  original's checks (or SymPy evaluates the limits and sums they differ in to the same values),
  *unchanged statement* when only a check range moved, else explained when the checker shows
  why the same verdict is right (a weakening of a true statement, a strengthening of a false
  one, a false mutant refuted on its own, a true stronger sibling that the original's tightness
  report shows holding), and listed as not explained otherwise. For a statement refuted on some
  checks and verified on others (a paper's defect with the checks that pin where it fails and
  where it holds) each side needs its own relation: the mutant holds where the original holds
  (a weakening or a true stronger statement there) and fails where it fails (a strengthening, or
  refuted on its own there).

kill rate = (killed + flagged) / (mutants - stillborn - equivalent - unchanged statement).

    python -m checker.analyses.mutation [--per-theorem N] [--timeout S] [--only IDS] [--out FILE] [PATHS]
"""
from checker.analyses.mutation.operators import OPERATORS, Mutant, mutants
from checker.analyses.mutation.relations import explain, limit_equivalence
from checker.analyses.mutation.scoring import FORMULA, TARGET, MutantResult, meets_target, mutate_theorem, run_mutation

__all__ = ["OPERATORS", "Mutant", "mutants", "explain", "limit_equivalence", "FORMULA", "TARGET", "MutantResult",
           "meets_target", "mutate_theorem", "run_mutation"]
