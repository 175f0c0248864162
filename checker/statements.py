"""The statements of `proofs/` as objects a measurement can evaluate.

A probe that confronts a bound takes it from here, never types it again:

    stmt = load_statement("C-3.sandwich")
    stmt.evaluate(N=4, s=2.0, z=[0.1, 0.3, -1.0])          # exact: holds / fails / hypotheses not met
    stmt.evaluate_many({"N": 4, "s": s_array, "z": z_array})  # numeric, on numpy arrays
    stmt.term("margin_lse", N=4, ...)                     # a `let` of the statement, evaluated

`evaluate` uses the exact evaluator (rationals and intervals; floats given as bindings are read
exactly as the binary numbers they are) and reports each claim with its margin; `evaluate_many`
uses the numeric backend compiled from the same core terms. Each statement carries the sha256 of
its printed text, which every measurement records, so a committed result can tell when the
statement it confronted has changed since.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

from checker.api import load_files, statement_files
from checker.decide import evaluator as E
from checker.decide.numeric import Numeric
from checker.errors import CheckerError, EvaluationError, Undecided, UsageError
from checker.language import core as C
from checker.language import syntax as S
from checker.language.elaborate import CoreTheorem
from checker.language.parser import parse_source
from checker.language.printer import theorem_to_source
from checker.paths import proofs


class StatementError(CheckerError):
    """No such statement, or bindings that do not fit it."""


@dataclass
class ClaimValue:
    text: str
    holds: bool | None          # None: undefined or undecided there
    margin: float | None        # b - a for `a <= b` (or `a < b`), -|a - b| for `a = b`; None if not a comparison
    reason: str = ""


@dataclass
class Evaluation:
    status: str                 # "holds" | "fails" | "hypotheses not met" | "undecided"
    claims: list[ClaimValue] = field(default_factory=list)
    reason: str = ""

    @property
    def holds(self) -> bool:
        return self.status == "holds"

    @property
    def margin(self) -> float | None:
        values = [c.margin for c in self.claims if c.margin is not None]
        return min(values) if values else None


@dataclass
class Statement:
    id: str
    title: str
    text: str                   # the theorem block as the printer writes it
    sha256: str
    theorem: CoreTheorem

    # ---- what the statement is made of
    @property
    def params(self) -> list[str]:
        return [p.name for p in self.theorem.params]

    @property
    def claims(self) -> list[C.Term]:
        return list(self.theorem.claims)

    def let(self, name: str) -> C.Term:
        try:
            return self.theorem.let_terms[name]
        except KeyError:
            raise StatementError(f"{self.id} has no let '{name}' without arguments "
                                 f"(it has {', '.join(sorted(self.theorem.let_terms)) or 'none'})") from None

    # ---- exact evaluation
    def evaluate(self, bindings: dict[str, Any] | None = None, **more: Any) -> Evaluation:
        env = self._env({**(bindings or {}), **more})
        for p in self.theorem.params:
            for c in p.constraints:
                ok, why = _truth(c, env)
                if not ok:
                    return Evaluation("hypotheses not met", reason=f"{p.name} outside its domain{why}")
        for label, a, _ in self.theorem.assumptions:
            ok, why = _truth(a, env)
            if not ok:
                return Evaluation("hypotheses not met", reason=f"assumption {label} does not hold{why}")
        values = [self._claim(t, text, env) for t, text in zip(self.theorem.claims, self.theorem.claim_texts)]
        if any(v.holds is None for v in values):
            return Evaluation("undecided", values, "; ".join(v.reason for v in values if v.reason))
        return Evaluation("holds" if all(v.holds for v in values) else "fails", values)

    def term(self, name: str, bindings: dict[str, Any] | None = None, **more: Any) -> float:
        """The value of a `let` at the bindings, exactly evaluated and then rounded to a float."""
        env = self._env({**(bindings or {}), **more})
        try:
            return _float(E.evaluate(self.let(name), env))
        except (EvaluationError, Undecided, C.Unsupported) as err:
            raise StatementError(f"{self.id}: {name} has no value at these bindings: {err}") from None

    def _claim(self, t: C.Term, text: str, env: E.Env) -> ClaimValue:
        margin = None
        if isinstance(t, C.Op) and t.op in C.COMPARISONS:
            try:
                a, b = (_float(E.evaluate(x, env)) for x in t.args)
                margin = -abs(b - a) if t.op == "eq" else b - a
            except (EvaluationError, Undecided, C.Unsupported):
                margin = None
        try:
            return ClaimValue(text, bool(E.evaluate(t, env)), margin)
        except EvaluationError as err:
            return ClaimValue(text, False, margin, f"undefined: {err}")
        except (Undecided, C.Unsupported) as err:
            return ClaimValue(text, None, margin, str(err))

    def _env(self, bindings: dict[str, Any]) -> E.Env:
        values: dict[str, Any] = {}
        functions: dict[str, Any] = {}
        known = {p.name: p for p in self.theorem.params}
        for name, value in bindings.items():
            p = known.get(name)
            if p is None:
                raise StatementError(f"{self.id} has no parameter '{name}' (it has {', '.join(known)})")
            if isinstance(p.sort, C.FunSig):
                functions[name] = _table(p.sort, value, values)
            else:
                values[name] = _exact(value)
        missing = [p for p in known if p not in values and p not in functions]
        if missing:
            raise StatementError(f"{self.id}: no value for {', '.join(missing)}")
        return E.Env(values, functions)

    # ---- bulk evaluation
    def evaluate_many(self, bindings: dict[str, Any], offsets: dict[str, tuple[int, ...]] | None = None) -> dict:
        """Every claim, hypothesis and margin at every point of the arrays at once (floats).
        Functions are arrays whose last axes run over their domains (from each domain's lower
        bound, or the given offsets). Returns {"holds", "hypotheses", "assumptions": {label: ...},
        "claims": [...], "margins": [...]}."""
        scalars = {k: v for k, v in bindings.items() if not isinstance(self._param(k).sort, C.FunSig)}
        functions = {k: v for k, v in bindings.items() if isinstance(self._param(k).sort, C.FunSig)}
        offsets = dict(offsets or {})
        for name in functions:
            if name not in offsets:
                offsets[name] = tuple(_int_bound(lo, scalars) for lo, _ in self._param(name).sort.domains)
        numeric = Numeric(scalars, functions, offsets)
        np = numeric.np
        hypotheses = np.asarray(True)
        for p in self.theorem.params:
            for c in p.constraints:
                hypotheses = hypotheses & np.asarray(numeric(c), dtype=bool)
        assumptions = {}
        for label, a, _ in self.theorem.assumptions:
            assumptions[label] = np.asarray(numeric(a), dtype=bool)
            hypotheses = hypotheses & assumptions[label]
        claims, margins = [], []
        for t in self.theorem.claims:
            claims.append(np.asarray(numeric(t), dtype=bool))
            if isinstance(t, C.Op) and t.op in C.COMPARISONS:
                a, b = numeric(t.args[0]), numeric(t.args[1])
                margins.append(-np.abs(b - a) if t.op == "eq" else b - a)
            else:
                margins.append(None)
        holds = np.asarray(True)
        for c in claims:
            holds = holds & c
        return {"holds": holds, "hypotheses": hypotheses, "assumptions": assumptions, "claims": claims,
                "margins": margins}

    def term_many(self, name: str, bindings: dict[str, Any], offsets=None) -> Any:
        """A `let` at every point of the arrays at once (floats; functions as in `evaluate_many`)."""
        scalars = {k: v for k, v in bindings.items() if not isinstance(self._param(k).sort, C.FunSig)}
        functions = {k: v for k, v in bindings.items() if isinstance(self._param(k).sort, C.FunSig)}
        offsets = dict(offsets or {})
        for fname in functions:
            if fname not in offsets:
                offsets[fname] = tuple(_int_bound(lo, scalars) for lo, _ in self._param(fname).sort.domains)
        return Numeric(scalars, functions, offsets)(self.let(name))

    def _param(self, name: str):
        for p in self.theorem.params:
            if p.name == name:
                return p
        raise StatementError(f"{self.id} has no parameter '{name}'")


def _truth(t: C.Term, env: E.Env) -> tuple[bool, str]:
    try:
        return bool(E.evaluate(t, env)), ""
    except (EvaluationError, Undecided, C.Unsupported) as err:
        return False, f" ({err})"


def _exact(v) -> Fraction | bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, Fraction)):
        return Fraction(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise StatementError(f"{v} is not a number the statement can take")
        return Fraction(v)  # the binary number the float is, exactly
    if isinstance(v, str):
        return Fraction(v)
    try:  # numpy scalars
        return _exact(v.item())
    except AttributeError:
        raise StatementError(f"cannot read {v!r} as a number") from None


def _float(v) -> float:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, Fraction):
        return float(v)
    return float(v.mid) if hasattr(v, "mid") else float(v)


def _int_bound(t: C.Term, scalars: dict) -> int:
    t = C.substitute(t, {k: C.num(Fraction(float(v)).limit_denominator(1)) for k, v in scalars.items()
                         if getattr(v, "ndim", 0) == 0 and not isinstance(v, (list, tuple))})
    try:
        return int(E.evaluate(t, E.Env()))
    except (EvaluationError, Undecided, C.Unsupported, TypeError) as err:
        raise StatementError(f"the domain of a function starts at {C.term_to_text(t)}, which the scalar "
                             f"bindings do not fix: {err}") from None


def _table(sig: C.FunSig, value, scalars: dict) -> E.Table:
    """A function binding: a dict {point: value} or a (nested) sequence over the domain."""
    lows = [_int_bound(lo, {k: float(v) for k, v in scalars.items() if not isinstance(v, bool)})
            for lo, _ in sig.domains]
    highs = [_int_bound(hi, {k: float(v) for k, v in scalars.items() if not isinstance(v, bool)})
             for _, hi in sig.domains]
    entries: dict[tuple[int, ...], Any] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            point = tuple(k) if isinstance(k, tuple) else (int(k),)
            entries[point] = _exact(v)
    else:
        def walk(seq, prefix):
            if len(prefix) == len(sig.domains) - 1:
                for i, v in enumerate(seq):
                    entries[prefix + (lows[len(prefix)] + i,)] = _exact(v)
            else:
                for i, row in enumerate(seq):
                    walk(row, prefix + (lows[len(prefix)] + i,))
        walk(list(value) if not hasattr(value, "tolist") else value.tolist(), ())
    return E.Table(tuple(zip(lows, highs)), entries)


def _index(folder: str) -> dict[str, tuple[Path, int]]:
    """Statement id -> (file, position in the file), over every .lim file of the folder (parsed
    again when a file changes)."""
    files = statement_files([folder])
    return _index_of(tuple((str(p), p.stat().st_mtime_ns) for p in files))


@lru_cache(maxsize=8)
def _index_of(files: tuple) -> dict[str, tuple[Path, int]]:
    out = {}
    for name, mtime in files:
        for i, t in enumerate(_parsed(name, mtime).theorems):
            out[t.id] = (Path(name), i)
    return out


@lru_cache(maxsize=64)
def _parsed(file: str, mtime: int) -> S.Module:
    """A file's surface syntax, parsed once per version of the file (mtime)."""
    return parse_source(Path(file).read_text(encoding="utf-8"), file)


@lru_cache(maxsize=64)
def _elaborated(file: str, mtime: int) -> dict[str, CoreTheorem]:
    """A file's theorems in the core, by id, elaborated once per version of the file: every
    statement of a file is loaded from the one elaboration."""
    return {t.id: t for t in load_files([Path(file)])}


def statement_ids(folder: Path | None = None) -> list[str]:
    return sorted(_index(str(folder or proofs())))


def load_statement(statement_id: str, folder: str | None = None) -> Statement:
    """The statement `statement_id` of `proofs/` (or of `folder`), ready to evaluate. Read again
    whenever its file changes."""
    root = str(folder or proofs())
    index = _index(root)
    if statement_id not in index:
        import difflib
        close = difflib.get_close_matches(statement_id, list(index), n=3)
        raise StatementError(f"no statement '{statement_id}' in {root}"
                             + (f"; did you mean {', '.join(close)}?" if close else ""))
    path, position = index[statement_id]
    return _load(statement_id, str(path), position, path.stat().st_mtime_ns)


@lru_cache(maxsize=128)
def _load(statement_id: str, file: str, position: int, mtime: int) -> Statement:
    core = _elaborated(file, mtime)[statement_id]
    surface = _parsed(file, mtime).theorems[position]
    text = theorem_to_source(surface)
    return Statement(statement_id, core.title, text, hashlib.sha256(text.encode()).hexdigest(), core)


def statement_hash(statement_id: str, folder: str | None = None) -> str:
    return load_statement(statement_id, folder).sha256


__all__ = ["Statement", "Evaluation", "ClaimValue", "StatementError", "load_statement", "statement_ids",
           "statement_hash", "UsageError"]
