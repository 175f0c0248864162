"""Verdicts and check results: plain data that the report and the command line print."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


class Status(str, Enum):
    """Ordered from strongest evidence to none; `unknown` is never success."""

    PROVED = "proved"      # for all parameter values
    VERIFIED = "verified"  # for every instance of a stated finite range
    REFUTED = "refuted"    # a counterexample, re-checked by the exact evaluator
    UNKNOWN = "unknown"    # solver unknown, timeout, unsupported construct: with the reason
    ERROR = "error"        # the check could not run (a bad binding value): with the reason


@dataclass
class CheckResult:
    id: str
    title: str
    source: str
    refs: list[str]
    check: str  # "symbolic" | "finite"
    check_index: int
    expected: str
    status: str
    range: str = ""
    instances: int = 0
    counterexample: dict | None = None
    counterexample_text: str = ""
    smt2: list[str] = field(default_factory=list)
    seconds: float = 0.0
    method: str = ""
    # What the verdict rests on (see the README's table): z3, sympy, evaluator, folding,
    # witness, sampling, and cvc5 once the second solver agreed on every query.
    methods: list[str] = field(default_factory=list)
    reason: str = ""
    steps: list[str] = field(default_factory=list)

    @property
    def as_expected(self) -> bool:
        return self.status == self.expected

    def to_json(self) -> dict:
        data = asdict(self)
        data["as_expected"] = self.as_expected
        return data
