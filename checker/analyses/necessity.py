"""Necessity of hypotheses: drop each assumption in turn and decide the theorem again.

An assumption whose removal lets a check fail (a re-checked counterexample) is necessary,
and the counterexample shows why; one whose removal changes nothing on the checked range
is redundant there. This makes the paper's break conditions visible (H-1 without k <= n).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import Enum

from checker.decide.engine import Options, run_check
from checker.language.elaborate import CoreTheorem
from checker.verdict import Status


class Necessity(str, Enum):
    NECESSARY = "necessary"                     # without it a check is refuted
    REDUNDANT = "redundant on the checked range"  # without it every check still holds
    UNDECIDED = "undecided"                     # without it a check is unknown

    def __str__(self) -> str:
        return self.value


@dataclass
class NecessityRow:
    id: str
    assumption: str
    text: str
    verdict: Necessity
    evidence: str
    checks: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return data


def analyse(theorem: CoreTheorem, options: Options) -> list[NecessityRow]:
    """One row per assumption of a theorem whose checks are expected to hold."""
    if not theorem.assumptions or any(not Status(c.expect).holds for c in theorem.checks):
        return []
    texts = dict(theorem.assumption_texts)
    rows = []
    for label, _, _ in theorem.assumptions:
        dropped = replace(options, drop=options.drop + (label,), build_dir=None)
        results = [run_check(theorem, check, dropped) for check in theorem.checks]
        statuses = [f"{r.check} {r.status.value}" for r in results]
        refuted = [r for r in results if r.status == Status.REFUTED]
        if refuted:
            verdict, evidence = Necessity.NECESSARY, f"without it: {refuted[0].counterexample_text}"
        elif all(r.status.holds for r in results):
            verdict, evidence = Necessity.REDUNDANT, "every check still holds"
        else:
            reasons = "; ".join(r.reason for r in results if r.reason)
            verdict, evidence = Necessity.UNDECIDED, reasons or "a check is unknown without it"
        rows.append(NecessityRow(theorem.id, label, texts.get(label, ""), verdict, evidence, statuses))
    return rows
