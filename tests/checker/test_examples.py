"""examples/mine.lim, the statements of docs/WRITING.md: users' own ids, decided as they say."""
from __future__ import annotations

from pathlib import Path

from checker.api import load_files, verify_theorems
from checker.decide.engine import Options

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_statements_with_their_own_ids_are_decided_as_expected():
    theorems = load_files([ROOT / "examples" / "mine.lim"])
    assert {t.id for t in theorems} >= {"MINE-1", "my-lemma.top-weight"}
    results = verify_theorems(theorems, Options(timeout=10))
    assert results and all(r.as_expected for r in results), [(r.id, r.status, r.reason) for r in results]
    assert {r.status for r in results} == {"proved", "verified"}


def test_the_writing_guide_shows_the_example_file_it_names():
    guide = (ROOT / "docs" / "WRITING.md").read_text()
    example = (ROOT / "examples" / "mine.lim").read_text()
    first = guide.split("```\n", 2)[1].split("```")[0]          # the first statement shown
    assert first.strip() in example
