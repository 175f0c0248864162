"""Theorems decided over worker processes give exactly what a sequential run gives."""
from __future__ import annotations

from pathlib import Path

from checker.analyses.necessity import analyse as necessity_analyse
from checker.api import load_files, verify_parallel
from checker.decide.engine import Options

ROOT = Path(__file__).resolve().parents[2]


def _key(results, rows):
    return ([(r.id, r.check_index, r.status, r.counterexample_text, r.instances) for r in results],
            [(row.id, row.assumption, row.verdict, row.evidence) for row in rows])


def test_parallel_verify_equals_sequential(tmp_path):
    theorems = load_files([ROOT / "proofs" / "hallucination.lim"])[:12]
    seen = []
    one = verify_parallel(theorems, Options(timeout=5, build_dir=tmp_path / "a"), per_theorem=necessity_analyse, jobs=1)
    two = verify_parallel(theorems, Options(timeout=5, build_dir=tmp_path / "b"), per_theorem=necessity_analyse, jobs=2,
                          progress=lambda *event: seen.append(event))
    assert _key(*one) == _key(*two)
    # a progress event per theorem as it finishes: counts 1..n, every theorem once, with its results
    assert [done for done, *_ in seen] == list(range(1, len(theorems) + 1))
    assert {total for _, total, *_ in seen} == {len(theorems)}
    assert sorted(thm.id for _, _, thm, _ in seen) == sorted(t.id for t in theorems)
    assert sorted((r.id, r.check_index) for *_, rs in seen for r in rs) == sorted(
        (r.id, r.check_index) for r in two[0])
    assert len(one[0]) >= 12 and any(row.verdict == "necessary" for row in one[1])
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.smt2"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.smt2"))
    assert files_a == files_b and files_a                            # the same query files, none lost


def test_only_selects_a_theorem_and_its_siblings():
    theorems = load_files([ROOT / "proofs" / "hallucination.lim"])
    results, rows = verify_parallel(theorems, Options(timeout=5), only="H-1", jobs=2)
    assert {r.id for r in results} == {t.id for t in theorems if t.id == "H-1" or t.id.startswith("H-1.")}
    assert rows == []
