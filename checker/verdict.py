"""Verdicts and check results: plain data that the reports and the command line print.

`Status` is the one verdict type of the project: checks, the analyses built on checks
(necessity, tightness, mutation) and the reports all carry it as data and never read it back
out of a sentence.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


class Status(str, Enum):
    """Ordered by the strength of the evidence: PROVED > VERIFIED > REFUTED > UNKNOWN > ERROR.
    `unknown` is never success. The values are the words the statement language uses after
    `expect`, so `Status("proved")` reads a source verdict."""

    PROVED = "proved"      # for all parameter values
    VERIFIED = "verified"  # for every instance of a stated finite range
    REFUTED = "refuted"    # a counterexample, re-checked by the exact evaluator
    UNKNOWN = "unknown"    # solver unknown, timeout, unsupported construct: with the reason
    ERROR = "error"        # the check could not run (a bad binding value): with the reason

    @property
    def strength(self) -> int:
        return _STRENGTH[self]

    @property
    def holds(self) -> bool:
        """Proved or verified: the claim holds wherever the check looked."""
        return self in (Status.PROVED, Status.VERIFIED)

    @property
    def decided(self) -> bool:
        return self in (Status.PROVED, Status.VERIFIED, Status.REFUTED)

    def __lt__(self, other):  # type: ignore[override]
        if not isinstance(other, Status):
            return NotImplemented
        return self.strength < other.strength

    def __le__(self, other):  # type: ignore[override]
        if not isinstance(other, Status):
            return NotImplemented
        return self.strength <= other.strength

    def __gt__(self, other):  # type: ignore[override]
        if not isinstance(other, Status):
            return NotImplemented
        return self.strength > other.strength

    def __ge__(self, other):  # type: ignore[override]
        if not isinstance(other, Status):
            return NotImplemented
        return self.strength >= other.strength

    def __str__(self) -> str:
        return self.value


_STRENGTH = {Status.PROVED: 4, Status.VERIFIED: 3, Status.REFUTED: 2, Status.UNKNOWN: 1, Status.ERROR: 0}


@dataclass
class CheckResult:
    id: str
    title: str
    source: str
    refs: list[str]
    check: str  # "symbolic" | "finite"
    check_index: int
    expected: Status
    status: Status
    range: str = ""
    instances: int = 0
    counterexample: dict | None = None
    counterexample_text: str = ""
    smt2: list[str] = field(default_factory=list)
    seconds: float = 0.0
    method: str = ""
    # What the verdict rests on (see the README's table): z3, facts, folding, evaluator,
    # witness, sympy, sampling, and cvc5 once the second solver agreed on every query.
    methods: list[str] = field(default_factory=list)
    reason: str = ""
    steps: list[str] = field(default_factory=list)
    # For an `error` verdict: where and what (file, line, column, message, hint).
    diagnostic: dict | None = None

    def __post_init__(self):
        self.expected = Status(self.expected)
        self.status = Status(self.status)

    @property
    def suggestion(self) -> str:
        """For an `unknown` verdict: a rewrite or another check known to help (checker/advice.py)."""
        if self.status != Status.UNKNOWN:
            return ""
        from checker.advice import suggest
        return suggest(self.reason)

    @property
    def as_expected(self) -> bool:
        return self.status == self.expected

    def to_json(self) -> dict:
        data = asdict(self)
        data["status"], data["expected"] = self.status.value, self.expected.value
        data["as_expected"] = self.as_expected
        if self.suggestion:
            data["suggestion"] = self.suggestion
        return data
