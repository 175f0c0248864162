"""Suggested rewrites for the reasons a check comes out unknown.

Each entry pairs a pattern of a reason the deciding backends give with what a user can do
about it: a rewrite of the statement that the checker decides, or another kind of check.
`suggest(reason)` returns the advice for the first pattern that matches, or "".
"""
from __future__ import annotations

import re

_ADVICE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"'(?P<v>[^']+)' occurs both inside exp/ln comparisons and in a polynomial position"),
     "'{v}' appears both inside exp(...) and outside it; exp/ln elimination replaces exp({v}) by a "
     "positive variable only when {v} appears nowhere else. State the hypotheses on exp({v}) instead "
     "of {v} (e.g. `exp(s(j)) <= exp(s(1))` rather than `s(j) <= s(1)`: exp is increasing, so they "
     "say the same), or introduce a parameter standing for exp({v})."),
    (re.compile(r"exp of (?P<t>.+), which is not linear in variables and logarithms"),
     "exp/ln elimination needs exponents that are linear in the variables (and logarithms). Name the "
     "exponential: a positive parameter standing for exp({t}) (for a function value such as exp(s(j)), "
     "a function `w : [1..N] -> real in (0, inf)` with w(j) in place of exp(s(j))), with the facts the "
     "proof needs as `assume` lines; or decide the claim with a finite check."),
    (re.compile(r"is an integer inside exp or a log-linear comparison"),
     "an integer variable inside exp/ln is outside the exact elimination; a finite check over its "
     "range decides the claim, or state the claim over a real parameter (`real in [1, inf)`)."),
    (re.compile(r"is in a position the rewriting cannot remove"),
     "exp/ln/cos/sin under another operation (a sum's body, a power, a nested exp) cannot be "
     "eliminated exactly. Move it into a comparison of its own (`exp(a) <= exp(b)`), name it with a "
     "parameter and assume its properties, or use a finite check."),
    (re.compile(r"SymPy translation of App|a function parameter applied"),
     "a symbolic check treats a function parameter as unknown; SymPy cannot reason about it. Use a "
     "finite check (it grounds the function's domain) or give the function a `witness`/`let` "
     "definition when the claim is about a particular function."),
    (re.compile(r"over the symbolic range"),
     "a sum or product over a range whose bounds are parameters is decided only on finite instances: "
     "add a finite check over those parameters (e.g. `check finite n in 1..8 expect verified`)."),
    (re.compile(r"over a function space that is neither small"),
     "quantifiers over functions are decided by enumeration or Skolemization: give a `witness`, or a "
     "finite check with small domains and codomains."),
    (re.compile(r"power with a non-integer exponent|fractional power"),
     "write the fractional power with sqrt, or as exp(q * ln(x)) for x > 0, which exp/ln elimination "
     "handles when q is a rational constant."),
    (re.compile(r"timeout|time limit|budget", re.IGNORECASE),
     "the solver ran out of time: raise `--timeout` (per query) or `--budget` (per check), narrow a "
     "finite range, or split the claim into lemmas."),
    (re.compile(r"SymPy decides conjunctions of \(in\)equalities only"),
     "the symbolic path decides (in)equalities and their conjunctions; state implications with "
     "`assume` lines and one claim per theorem."),
]


def suggest(reason: str) -> str:
    """Advice for an unknown verdict's reason, or "" when none is known."""
    for pattern, advice in _ADVICE:
        found = pattern.search(reason or "")
        if found:
            return advice.format(**found.groupdict())
    return ""
