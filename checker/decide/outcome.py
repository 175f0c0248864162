"""The data one check's decision passes around: options, instances, outcomes, check errors.

`Options` are what a caller sets (timeouts, the budget, where artifacts go); an `Instance` is
one point of a finite check's range (or the single instance of a symbolic check); an
`Outcome` is what deciding one instance gave, with the methods it rests on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from checker.decide import budget as budget_
from checker.errors import CheckerError, Diagnostic, Span
from checker.language import core as C

DEFAULT_TIMEOUT = 10.0


@dataclass
class Options:
    timeout: float = DEFAULT_TIMEOUT
    build_dir: Path | None = None  # where SMT-LIB queries and counterexamples go
    drop: tuple[str, ...] = ()     # assumption labels to leave out (necessity analysis)
    budget: float = budget_.DEFAULT_SECONDS      # wall time of one check, all its work included
    memory_mb: float = budget_.DEFAULT_MEMORY_MB  # growth of resident memory during one check


@dataclass
class Instance:
    assignment: dict[str, object]            # enumerated parameter -> value
    constraints: list[C.Term]                 # bindings kept symbolic (ranges, sets)
    count: int


@dataclass
class Outcome:
    status: str
    method: str = ""
    reason: str = ""
    counterexample: dict | None = None
    counterexample_text: str = ""
    smt2: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    # What the verdict rests on: z3, sympy, evaluator, folding, witness, sampling (see README).
    basis: set[str] = field(default_factory=set)


class CheckError(CheckerError):
    """A check that cannot be run as written (a binding outside its parameter's domain): one
    located diagnostic, rendered like any other source error."""

    def __init__(self, span: Span, message: str, hint: str = ""):
        self.diagnostic = Diagnostic(span, message, hint)
        super().__init__(message)


def value_text(v) -> str:
    if isinstance(v, C.Term):
        return C.term_to_text(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    v = Fraction(v)
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def as_term(v, sort: str) -> C.Term:
    if isinstance(v, C.Term):
        return v
    if isinstance(v, bool):
        return C.TRUE if v else C.FALSE
    return C.num(v, sort if sort != C.INT or Fraction(v).denominator == 1 else C.REAL)
