"""Translate MetiTarski conjectures (metitarski.txt, verified_metitarski.txt) and HOL Light's
Formal_ineqs examples (formal_ineqs.txt) into statements, with a false variant each.

Each line `name | ! [X, Y] : (hypotheses => claim)` becomes a theorem whose hypotheses are
`assume` lines and whose claim is the consequent, checked symbolically and expected proved.
The false variant moves the right-hand side of the claim's comparison down by a constant c
(`L <= R` becomes `L <= R - c`), with c just above the smallest margin R - L seen at sample
points of the domain; it is kept only when the exact evaluator confirms, at a rational
point that meets the hypotheses, that the variant is false there, and is expected refuted.

    python -m bench.transcendental.translate     # rewrites problems.lim and false.lim
"""
from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).parent
FUNCTIONS = ("exp", "ln", "sqrt", "sin", "cos", "abs", "sinh", "cosh", "tanh")
# the hyperbolic functions by their definitions (the statement language has exp, not these)
HYPERBOLIC = {"sinh": "((exp({a}) - exp((-{a}))) / 2)", "cosh": "((exp({a}) + exp((-{a}))) / 2)",
              "tanh": "((exp((2 * {a})) - 1) / (exp((2 * {a})) + 1))"}
# Where the statement language reads a problem differently from MetiTarski, the domain is
# changed, with the reason (listed in README.md): (original text, replacement, reason)
DOMAIN_CHANGES = {
    "log-problem-4": ("0 <= X", "0 < X", "x = 0 excluded: the claim reads ln(0), undefined in the statement language"),
    "sin-problem-3": ("X <= pi", "X <= 355/113", "pi replaced by 355/113, just above it: a wider domain, "
                      "where the claim still holds (sin x < x for x > 0)"),
}
SOURCES = (("metitarski.txt", "MT-", "MetiTarski"), ("formal_ineqs.txt", "FI-", "HOL Light Formal_ineqs"),
           ("verified_metitarski.txt", "MT-", "MetiTarski (verified-metitarski)"))
TOKEN = re.compile(r"\s*(=>|<=|>=|!=|\d+\.?\d*(?:e-?\d+)?|[A-Za-z_][A-Za-z_0-9]*|[!\[\]:(),&|~<>=+\-*/^])")


@dataclass
class Node:
    kind: str            # "num", "var", "op", "fun", "cmp", "and", "or", "not", "implies"
    value: object = None
    args: tuple = ()


class Parser:
    def __init__(self, text: str):
        self.tokens = TOKEN.findall(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise ValueError(f"expected {expected!r}, found {tok!r} at token {self.pos}")
        self.pos += 1
        return tok

    def problem(self) -> tuple[list[str], Node]:
        self.take("!")
        self.take("[")
        names = [self.take()]
        while self.peek() == ",":
            self.take(",")
            names.append(self.take())
        self.take("]")
        self.take(":")
        body = self.formula()
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()!r}")
        return names, body

    def formula(self) -> Node:
        left = self.disjunction()
        if self.peek() == "=>":
            self.take()
            return Node("implies", args=(left, self.formula()))
        return left

    def disjunction(self) -> Node:
        parts = [self.conjunction()]
        while self.peek() == "|":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Node("or", args=tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.literal()]
        while self.peek() == "&":
            self.take()
            parts.append(self.literal())
        return parts[0] if len(parts) == 1 else Node("and", args=tuple(parts))

    def literal(self) -> Node:
        if self.peek() == "~":
            self.take()
            return Node("not", args=(self.literal(),))
        if self.peek() == "(":
            # a parenthesised formula or the start of an arithmetic comparison
            saved = self.pos
            self.take("(")
            try:
                inner = self.formula()
                self.take(")")
                if self.peek() not in ("<", "<=", ">", ">=", "=", "!=", "+", "-", "*", "/", "^"):
                    return inner
            except ValueError:
                pass
            self.pos = saved
        left = self.sum()
        op = self.take()
        if op not in ("<", "<=", ">", ">=", "=", "!="):
            raise ValueError(f"expected a comparison, found {op!r}")
        return Node("cmp", op, (left, self.sum()))

    def sum(self) -> Node:
        out = self.product()
        while self.peek() in ("+", "-"):
            op = self.take()
            out = Node("op", op, (out, self.product()))
        return out

    def product(self) -> Node:
        out = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()
            out = Node("op", op, (out, self.unary()))
        return out

    def unary(self) -> Node:
        if self.peek() == "-":
            self.take()
            return Node("op", "neg", (self.unary(),))
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.peek() == "^":
            self.take()
            return Node("op", "^", (base, self.unary()))
        return base

    def atom(self) -> Node:
        tok = self.take()
        if tok == "(":
            inner = self.sum()
            self.take(")")
            return inner
        if tok[0].isdigit():
            return Node("num", _exact(tok))
        if tok in FUNCTIONS:
            self.take("(")
            arg = self.sum()
            self.take(")")
            return Node("fun", tok, (arg,))
        return Node("var", tok.lower())


def _exact(text: str) -> Fraction:
    mantissa, _, exponent = text.partition("e")
    return Fraction(mantissa) * Fraction(10) ** int(exponent or 0)


def _num(q: Fraction) -> str:
    if q.denominator == 1:
        return str(q.numerator) if q >= 0 else f"({q.numerator})"
    return f"({q.numerator}/{q.denominator})" if q >= 0 else f"(-{-q.numerator}/{q.denominator})"


def to_lim(n: Node) -> str:
    """The node in the statement language."""
    if n.kind == "num":
        assert isinstance(n.value, Fraction)
        return _num(n.value)
    if n.kind == "var":
        return str(n.value)
    if n.kind == "fun":
        if n.value in HYPERBOLIC:
            return HYPERBOLIC[str(n.value)].format(a=to_lim(n.args[0]))
        return f"{n.value}({to_lim(n.args[0])})"
    if n.kind == "op":
        if n.value == "neg":
            return f"(-{to_lim(n.args[0])})"
        return f"({to_lim(n.args[0])} {n.value} {to_lim(n.args[1])})"
    if n.kind == "cmp":
        a, b = (to_lim(x) for x in n.args)
        if n.value == "!=":
            return f"not ({a} = {b})"
        return f"{a} {n.value} {b}"
    if n.kind == "not":
        return f"not ({to_lim(n.args[0])})"
    if n.kind in ("and", "or"):
        return "(" + f" {n.kind} ".join(to_lim(x) for x in n.args) + ")"
    assert n.kind == "implies"
    return f"({to_lim(n.args[0])} => {to_lim(n.args[1])})"


def to_float(n: Node, env: dict[str, float]) -> float:
    """A floating-point value, used only to choose where to look (never for a verdict)."""
    if n.kind == "num":
        return float(n.value)  # type: ignore[arg-type]
    if n.kind == "var":
        return env[str(n.value)]
    if n.kind == "fun":
        x = to_float(n.args[0], env)
        functions: dict[str, Callable[[float], float]] = {
            "exp": math.exp, "ln": math.log, "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos,
            "abs": abs, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh}
        return functions[str(n.value)](x)
    a = to_float(n.args[0], env)
    if n.value == "neg":
        return -a
    b = to_float(n.args[1], env)
    return {"+": a + b, "-": a - b, "*": a * b}[str(n.value)] if str(n.value) in "+-*" else (
        a / b if n.value == "/" else a ** b)


def holds_float(n: Node, env: dict[str, float]) -> bool:
    if n.kind == "cmp":
        a, b = (to_float(x, env) for x in n.args)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "=": a == b, "!=": a != b}[str(n.value)]
    if n.kind == "not":
        return not holds_float(n.args[0], env)
    if n.kind == "and":
        return all(holds_float(x, env) for x in n.args)
    if n.kind == "or":
        return any(holds_float(x, env) for x in n.args)
    raise ValueError(n.kind)


def split(body: Node) -> tuple[list[Node], Node]:
    if body.kind == "implies":
        hyp, claim = body.args
        return (list(hyp.args) if hyp.kind == "and" else [hyp]), claim
    return [], body


def oriented(claim: Node) -> tuple[Node, str, Node]:
    """The claim as L op R with op in <, <=."""
    if claim.kind != "cmp" or claim.value not in ("<", "<=", ">", ">="):
        raise ValueError("the claim is not an inequality")
    a, b = claim.args
    return (a, str(claim.value), b) if claim.value in ("<", "<=") else (b, str(claim.value).replace(">", "<"), a)


def statement(ident: str, title: str, names: list[str], hyps: list[Node], claim: str, expect: str) -> str:
    lines = [f'theorem {ident} "{title}" {{']
    lines += [f"  param {v.lower()} : real" for v in names]
    lines += [f"  assume h{k + 1}: {to_lim(h)}" for k, h in enumerate(hyps)]
    lines += [f"  claim {claim}", f"  check symbolic expect {expect}", "}", ""]
    return "\n".join(lines)


def sample_points(names: list[str], hyps: list[Node], rng: random.Random, count: int = 4000):
    """Rational points meeting the hypotheses (by floating point, re-checked exactly later)."""
    lows = {v.lower(): -20.0 for v in names}
    highs = {v.lower(): 20.0 for v in names}
    for h in hyps:   # constant bounds narrow the sampling box
        if h.kind == "cmp" and h.value in ("<", "<=", ">", ">="):
            a, b = h.args
            less = h.value in ("<", "<=")
            if a.kind == "var" and b.kind == "num":
                (highs if less else lows)[str(a.value)] = float(b.value)  # type: ignore[arg-type]
            if b.kind == "var" and a.kind == "num":
                (lows if less else highs)[str(b.value)] = float(a.value)  # type: ignore[arg-type]
    points = []
    for k in range(count):
        env = {}
        for v in lows:
            lo, hi = lows[v], highs[v]
            u = rng.random() if k % 2 else rng.random() ** 4   # half the points near the low end
            env[v] = Fraction(lo + (hi - lo) * u).limit_denominator(10**6)
        fenv = {v: float(q) for v, q in env.items()}
        try:
            if all(holds_float(h, fenv) for h in hyps):
                points.append((env, fenv))
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
    return points


def false_variant(names: list[str], hyps: list[Node], claim: Node, rng: random.Random):
    """(claim text, c, witness point) or None: the right-hand side lowered by c."""
    left, op, right = oriented(claim)
    best = None
    for env, fenv in sample_points(names, hyps, rng):
        try:
            margin = to_float(right, fenv) - to_float(left, fenv)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
        if math.isfinite(margin) and (best is None or margin < best[0]):
            best = (margin, env)
    if best is None:
        return None
    margin, env = best
    shift = max(margin, 0.0) + max(0.01, abs(margin) / 10)
    c = Fraction(shift).limit_denominator(1000)
    if c <= Fraction(max(margin, 0.0)):
        c += Fraction(1, 1000)
    return f"{to_lim(left)} {op} ({to_lim(right)} - {_num(c)})", c, env


def main() -> None:
    from checker.api import load_text
    from checker.decide import evaluator as E

    rng = random.Random(20)
    true_parts, false_parts, skipped = [], [], []
    lines = [(prefix, origin, line) for file, prefix, origin in SOURCES
             for line in (HERE / file).read_text().splitlines() if line.strip() and not line.startswith("#")]
    for prefix, origin, line in lines:
        name, formula = (s.strip() for s in line.split("|", 1))
        title = f"{origin} {name}"
        if name in DOMAIN_CHANGES:
            old, new, why = DOMAIN_CHANGES[name]
            formula, title = formula.replace(old, new), f"{title} ({why})"
        names, body = Parser(formula).problem()
        hyps, claim = split(body)
        ident = prefix + name
        true_parts.append(statement(ident, title, names, hyps, to_lim(claim), "proved"))
        variant = false_variant(names, hyps, claim, rng)
        if variant is None:
            skipped.append(name)
            continue
        text, c, env = variant
        source = statement(ident + ".false", f"{origin} {name}, right-hand side lowered by {_num(c)}",
                           names, hyps, text, "refuted")
        (thm,) = load_text(source)
        values = {k: v for k, v in env.items()}
        try:
            ok = all(E.evaluate(a, E.Env(values)) for _, a, _ in thm.assumptions) \
                and not E.evaluate(thm.claim, E.Env(values))
        except Exception:  # noqa: BLE001 - a point the exact evaluator cannot settle is not a witness
            ok = False
        if ok:
            false_parts.append(source)
        else:
            skipped.append(name)
    header = ("# Generated by `python -m bench.transcendental.translate` from metitarski.txt, formal_ineqs.txt and\n"
              "# verified_metitarski.txt: do not edit. MetiTarski's problem set and HOL Light's Formal_ineqs\n"
              "# examples (see README.md for the sources and licences), translated.\n\n")
    (HERE / "problems.lim").write_text(header + "\n".join(true_parts))
    (HERE / "false.lim").write_text(header + "# Each false variant is confirmed false at a rational point by the "
                                    "exact evaluator when it is generated.\n\n" + "\n".join(false_parts))
    print(f"{len(true_parts)} problems, {len(false_parts)} false variants; no false variant for: "
          f"{', '.join(skipped) or 'none'}")


if __name__ == "__main__":
    main()
