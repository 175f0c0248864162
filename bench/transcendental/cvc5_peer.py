"""cvc5 as a peer on the transcendental benchmark: each statement as one SMT-LIB query.

The query is `hypotheses and claim defined and not claim` over the reals, with exp, sin and
cos kept as cvc5's transcendental functions (logic QF_NRAT, incremental linearisation with
transcendental lemmas) and the rest written in terms of them: ln(a) is a fresh l with
exp(l) = a and a > 0; sqrt(a) a fresh r >= 0 with r * r = a; abs an if-then-else; integer
powers products. `unsat` means cvc5 proves the statement, `sat` that it finds it false (a
model, which is not re-checked here), `unknown` neither. Each query runs in a child process
under a wall-clock limit (10 s), so a solver that overruns its own limit is stopped.
"""
from __future__ import annotations

import multiprocessing
from fractions import Fraction

from checker.decide import transform as T
from checker.language import core as C

LIMIT_SECONDS = 10.0
OPTIONS = {"nl-ext": "full", "nl-ext-tf-tplanes": "true", "produce-models": "false"}


def version() -> str:
    import cvc5
    return str(getattr(cvc5, "__version__", "?"))


def _num(q: Fraction) -> str:
    text = f"(/ {abs(q.numerator)}.0 {q.denominator}.0)" if q.denominator != 1 else f"{abs(q.numerator)}.0"
    return f"(- {text})" if q < 0 else text


class Printer:
    def __init__(self) -> None:
        self.aux: list[tuple[str, str]] = []     # fresh names with their defining facts
        self.names: dict[C.Term, str] = {}

    def fresh(self, t: C.Term, facts: str) -> str:
        if t not in self.names:
            name = f"aux{len(self.names) + 1}"
            self.names[t] = name
            self.aux.append((name, facts.replace("@", name)))
        return self.names[t]

    def term(self, t: C.Term) -> str:
        if isinstance(t, C.Const):
            if isinstance(t.value, bool):
                return "true" if t.value else "false"
            return _num(Fraction(t.value))
        if isinstance(t, C.Var):
            return t.name
        if not isinstance(t, C.Op):
            raise C.Unsupported(f"{type(t).__name__} in a cvc5 query")
        a = [self.term(x) for x in t.args] if t.op != "pow" else []
        simple = {"add": "+", "mul": "*", "div": "/", "and": "and", "or": "or", "not": "not",
                  "implies": "=>", "le": "<=", "lt": "<", "eq": "=", "iff": "=", "exp": "exp",
                  "sin": "sin", "cos": "cos"}
        if t.op in simple:
            return f"({simple[t.op]} {' '.join(a)})"
        if t.op == "neg":
            return f"(- {a[0]})"
        if t.op == "abs":
            return f"(ite (>= {a[0]} 0.0) {a[0]} (- {a[0]}))"
        if t.op == "ln":
            return self.fresh(t, f"(and (> {a[0]} 0.0) (= (exp @) {a[0]}))")
        if t.op == "sqrt":
            return self.fresh(t, f"(and (>= @ 0.0) (= (* @ @) {a[0]}))")
        if t.op == "pow":
            base, exponent = t.args
            if not isinstance(exponent, C.Const) or Fraction(exponent.value).denominator != 1:
                raise C.Unsupported("a power with a fractional or variable exponent")
            k = int(exponent.value)
            b = self.term(base)
            if k == 0:
                return "1.0"
            product = b if abs(k) == 1 else f"(* {' '.join([b] * abs(k))})"
            return product if k > 0 else f"(/ 1.0 {product})"
        raise C.Unsupported(f"'{t.op}' in a cvc5 query")


def query(text: str) -> str:
    """The statement's negated claim as SMT-LIB 2 for cvc5."""
    from checker.api import load_text
    (thm,) = load_text(text)
    p = Printer()
    hyps = [p.term(a) for _, a, _ in thm.assumptions]
    goal = p.term(C.mk("and", T.definedness(thm.claim, {}), C.mk("not", thm.claim)))
    names = sorted(x.name for x in C.walk(thm.claim) if isinstance(x, C.Var)) + \
        sorted(x.name for _, a, _ in thm.assumptions for x in C.walk(a) if isinstance(x, C.Var))
    lines = ["(set-logic QF_NRAT)"] + [f"(declare-fun {n} () Real)" for n in dict.fromkeys(names)]
    lines += [f"(declare-fun {n} () Real)" for n, _ in p.aux]
    # hypotheses may be undefined where the claim is: they are read where defined, as the checker does
    hyp_defined = [p.term(T.definedness(a, {})) for _, a, _ in thm.assumptions]
    lines += [f"(assert {f})" for _, f in p.aux]
    lines += [f"(assert {h})" for h in hyp_defined + hyps] + [f"(assert {goal})", "(check-sat)"]
    return "\n".join(lines) + "\n"


def _child(smt2: str, conn) -> None:
    import cvc5
    try:
        tm = cvc5.TermManager()
        solver = cvc5.Solver(tm)
        solver.setOption("tlimit-per", str(int(LIMIT_SECONDS * 1000)))
        for k, v in OPTIONS.items():
            solver.setOption(k, v)
        symbols = cvc5.SymbolManager(tm)
        parser = cvc5.InputParser(solver, symbols)
        parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, smt2, "q.smt2")
        result = None
        while True:
            command = parser.nextCommand()
            if command.isNull():
                break
            if "check-sat" in str(command):
                result = solver.checkSat()
            else:
                command.invoke(solver, symbols)
        answer = "unknown" if result is None else "sat" if result.isSat() else "unsat" if result.isUnsat() \
            else "unknown"
        conn.send((answer, "" if answer != "unknown" or result is None else str(result.getUnknownExplanation())))
    except Exception as err:  # noqa: BLE001 - any cvc5 failure is an unknown with its message
        conn.send(("unknown", f"cvc5 error: {err}"[:200]))


def decide(text: str) -> tuple[str, str]:
    """("sat" | "unsat" | "unknown", reason) for one statement, within LIMIT_SECONDS of wall time."""
    try:
        smt2 = query(text)
    except C.Unsupported as err:
        return "unknown", f"not expressible for cvc5: {err}"
    context = multiprocessing.get_context("fork")
    here, there = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(smt2, there))
    child.start()
    there.close()
    if here.poll(LIMIT_SECONDS + 2):
        answer = here.recv()
    else:
        answer = ("unknown", f"no answer within {LIMIT_SECONDS:g} s")
    child.kill()
    child.join()
    return answer
