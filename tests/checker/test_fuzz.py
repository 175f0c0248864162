"""The CI tier of fuzzing (10,000 mutated inputs) and the inputs that once failed."""
from __future__ import annotations

from pathlib import Path

import pytest

from checker.analyses.fuzz import fuzz, mutate
from checker.api import load_text, verify_theorems
from checker.decide.engine import Options
from checker.errors import CheckerError

ROOT = Path(__file__).resolve().parents[2]
REGRESSIONS = sorted((Path(__file__).parent / "regressions").glob("*.lim"))


def test_ten_thousand_mutated_blocks_never_crash_the_front_end():
    result = fuzz(10_000, seed=20261129, paths=sorted((ROOT / "proofs").glob("*.lim")))
    assert result["inputs"] == 10_000
    assert not result["failures"], result["failures"][:3]
    assert result["loaded"] + result["rejected_with_location"] == 10_000
    assert result["loaded"] > 0 and result["rejected_with_location"] > 0  # both paths exercised


def test_mutation_is_deterministic():
    import random
    text = 'theorem C-3 "x" {\n  param x : real\n  claim x >= 0\n  check symbolic expect proved\n}\n'
    assert mutate(text, random.Random(5)) == mutate(text, random.Random(5))


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.stem)
def test_inputs_that_once_failed(path: Path):
    try:
        theorems = load_text(path.read_text(), str(path))
    except CheckerError:
        return  # a located rejection is a correct outcome
    for result in verify_theorems(theorems, Options(timeout=2)):
        assert result.status in ("proved", "verified", "refuted", "unknown", "error")
