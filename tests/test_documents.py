"""The figures in README.md and docs/ are the ones the runs produced, not typed by hand.

Every generated block of every document is rendered again from the committed results (or,
for `verify`, from this session's run of the checker) and must equal what the document holds.
A stale document fails here; the run named in the block's marker writes it anew.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.report import headline_block
from bench.transcendental.report import block as transcendental_block
from checker.reports import blocks
from checker.reports.figures import reliability_block, verify_block
from empirical.cluster import cluster_block
from empirical.figures import counterexamples_block, crosscheck_block, plan_block, plan_total_block, read_jsonl

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _renderers():
    return {
        "crosscheck": lambda: crosscheck_block(json.loads((ROOT / "results" / "crosscheck.json").read_text())),
        "counterexamples": lambda: counterexamples_block(
            read_jsonl(ROOT / "results" / "counterexamples" / "counterexamples.jsonl")),
        "bench": lambda: headline_block(json.loads((ROOT / "bench" / "results.json").read_text())),
        "reliability": lambda: reliability_block(json.loads((ROOT / "results" / "reliability.json").read_text())),
        "verify": _verify,
        "transcendental": lambda: transcendental_block(
            json.loads((ROOT / "bench" / "transcendental" / "results.json").read_text())),
        **{f"plan-{preset}{part}": (lambda preset=preset, render=render:
                                    render(json.loads((ROOT / "results" / preset / "plan.json").read_text())))
           for preset in ("standard", "full") for part, render in (("", plan_block), ("-total", plan_total_block))},
        "cluster-full": lambda: cluster_block(json.loads((ROOT / "results" / "full" / "cluster.json").read_text())),
    }


def _verify():
    from tests.checker.proofs_run import verify_proofs
    run = verify_proofs()
    assert run.report is not None, run.stderr
    return verify_block(run.report)


def _cases():
    for doc in DOCUMENTS:
        for name in blocks.blocks(doc.read_text()):
            yield pytest.param(doc, name, id=f"{doc.name}:{name}")


@pytest.mark.parametrize("doc, name", list(_cases()))
def test_generated_block_is_current(doc: Path, name: str):
    renderers = _renderers()
    assert name in renderers, f"{doc.name} has a block '{name}' that no run writes"
    held = blocks.blocks(doc.read_text())[name]
    fresh = renderers[name]()
    assert held == fresh, (f"{doc.relative_to(ROOT)}'s '{name}' block is stale: run the command named in its "
                           f"marker (see the Makefile) and commit the document")


def test_every_document_is_linked_and_every_block_is_filled():
    readme = (ROOT / "README.md").read_text()
    for doc in DOCUMENTS[1:]:
        if doc.name != "THEOREMS.md":
            assert f"docs/{doc.name}" in readme or any(f"{doc.name}" in d.read_text() for d in DOCUMENTS
                                                      if d != doc), f"{doc.name} is linked from nowhere"
    for doc in DOCUMENTS:
        for name, body in blocks.blocks(doc.read_text()).items():
            assert body.strip(), f"{doc.name}: the '{name}' block is empty"


def test_a_block_is_replaced_and_the_prose_around_it_kept(tmp_path: Path):
    doc = tmp_path / "d.md"
    doc.write_text("before\n<!-- generated: x (by `run`) -->\nold\n<!-- end generated: x -->\nafter\n")
    assert blocks.update(doc, {"x": "new", "y": "absent"}) == ["x"]
    assert doc.read_text() == "before\n<!-- generated: x (by `run`) -->\nnew\n<!-- end generated: x -->\nafter\n"
    assert blocks.update(doc, {"x": "new"}) == []   # unchanged: not rewritten
