"""`uses X`: a statement names the statements it builds on; each must exist."""
from __future__ import annotations

from pathlib import Path

import pytest

from checker.api import load_files, load_text
from checker.errors import SourceError
from checker.language.parser import parse_source
from checker.language.printer import theorem_to_source

ROOT = Path(__file__).resolve().parents[2]


def lemma(tid: str, uses: str = "") -> str:
    return (f'theorem {tid} "t" {{\n' + (f"  uses {uses}\n" if uses else "")
            + "  param x : real\n  claim x * x >= 0\n  check symbolic expect proved\n}\n")


def test_uses_names_loaded_theorems_and_the_papers_ids(tmp_path):
    a = tmp_path / "a.lim"
    b = tmp_path / "b.lim"
    a.write_text(lemma("MINE-1"))
    b.write_text(lemma("MINE-2", "MINE-1, C-3"))
    (second,) = [t for t in load_files([a, b]) if t.id == "MINE-2"]
    assert [name for name, _ in second.uses] == ["MINE-1", "C-3"]


def test_an_unknown_or_circular_use_is_a_located_error(tmp_path):
    f = tmp_path / "bad.lim"
    f.write_text(lemma("MINE-1") + lemma("MINE-2", "MINE-3, MINE-2"))
    with pytest.raises(SourceError) as err:
        load_files([f])
    messages = [(d.span.line, d.span.column, d.message, d.hint) for d in err.value.diagnostics]
    assert messages[0][:3] == (7, 8, "'MINE-3' in 'uses' is not a statement")
    assert "did you mean 'MINE-1'?" == messages[0][3]
    assert messages[1][:3] == (7, 16, "theorem MINE-2 uses itself")


def test_a_file_on_its_own_lets_other_files_ids_wait_for_load_files():
    (t,) = load_text(lemma("MINE-2", "MINE-1"))
    assert [name for name, _ in t.uses] == ["MINE-1"]


def test_uses_prints_back_as_written():
    text = lemma("MINE-2", "MINE-1, C-3")
    (thm,) = parse_source(text).theorems
    assert "  uses MINE-1, C-3\n" in theorem_to_source(thm)


def test_the_corpus_states_its_dependencies():
    theorems = {t.id: t for t in load_files(sorted((ROOT / "proofs").glob("*.lim")))}
    edges = {(t.id, name) for t in theorems.values() for name, _ in t.uses}
    assert {("H-2", "H-1"), ("R-2", "R-1"), ("Rt-2", "C-3")} <= edges
