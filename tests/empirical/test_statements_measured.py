"""Probes measure against the statements of proofs/, not against formulas of their own.

A probe names only statements that exist; a bound edited in proofs/ changes what the probes
compute (shown here on a copy of proofs/ with the literal C-2 bound and the sandwich's
tolerance changed); the committed results record the hash of each statement they confronted,
and a result whose statement has changed since is stale.
"""
from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import pytest

from checker.statements import load_statement, statement_ids
from empirical.cli import PROBES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", PROBES)
def test_every_probe_names_statements_that_exist(name):
    module = importlib.import_module(f"empirical.probes.{name}")
    ids = set(statement_ids())
    missing = [t for t in module.THEOREMS if t not in ids]
    assert not missing, f"probe {name} names {missing}, which proofs/ does not state"


def test_a_verdict_for_a_missing_statement_cannot_be_made():
    from checker.statements import StatementError
    from empirical.framework import Verdict
    with pytest.raises(StatementError):
        Verdict("p", "m", "C-99.nowhere", "consistent", "text")
    v = Verdict("p", "m", "C-3.sandwich-measured", "consistent", "text")
    assert v.statement_sha256 == load_statement("C-3.sandwich-measured").sha256 and v.paper_id == "C-3"


@pytest.fixture
def edited_proofs(tmp_path, monkeypatch):
    """A copy of proofs/ that the statements API reads instead of the project's."""
    folder = tmp_path / "proofs"
    shutil.copytree(ROOT / "proofs", folder)
    monkeypatch.setenv("LIMITS_PROOFS", str(folder))
    return folder


def test_changing_a_bound_in_proofs_changes_what_the_attenuation_probe_measures(edited_proofs):
    from empirical.probes import attenuation
    before = attenuation.analytic(1e5, 64, 8192, 40)
    path = edited_proofs / "context.lim"
    path.write_text(path.read_text().replace("let literal = 2 / Delta", "let literal = 20 / Delta"))
    after = attenuation.analytic(1e5, 64, 8192, 40)
    assert [round(a["literal"] * 10, 9) for a in before] == [round(b["literal"], 9) for b in after]
    assert sum(not a["literal_holds"] for a in after) < sum(not b["literal_holds"] for b in before)
    assert [a["average"] for a in before] == [b["average"] for b in after]   # the rest is unchanged


def test_changing_the_tolerance_in_proofs_changes_what_the_needle_probe_counts(edited_proofs):
    from empirical.probes import needle
    cell = {"N": 100, "w": 0.5, "mass": 0.5, "dmax": 3.0, "dmean": 6.0, "dlse": 4.59}
    samples = [{"heads": {"0": [cell]}, "length": 256, "correct": True}]
    before = needle.sandwich(samples)
    path = edited_proofs / "context.lim"
    path.write_text(path.read_text().replace("let eps = wm / 10000 + 1 / 10000000", "let eps = wm / 10 + 1 / 10"))
    after = needle.sandwich(samples)
    assert before["read"] == 0 and after["read"] == 1   # |w - exact| = 0.0004 is within the wider tolerance only


def test_committed_results_confront_the_statements_as_they_are_now():
    data = json.loads((ROOT / "results" / "crosscheck.json").read_text())
    stale, unknown = [], []
    ids = set(statement_ids())
    for v in data["verdicts"]:
        if v["theorem"] not in ids:
            unknown.append(v["theorem"])
        elif v.get("statement_sha256") != load_statement(v["theorem"]).sha256:
            stale.append(f"{v['probe']}/{v['model']}: {v['theorem']}")
    assert not unknown, f"results confront statements proofs/ lacks: {sorted(set(unknown))}"
    assert not stale, ("committed results confront statements whose text has changed since (run `make "
                       f"crosscheck` and commit): {stale}")
