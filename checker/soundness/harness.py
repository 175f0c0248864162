"""Semantic soundness harness: random statements, decided by the checker, judged by the oracle.

Why this module exists: the checker's own tests compare verdicts with what their authors
expected; nothing checks a verdict against the meaning of the statement at scale. This runner
generates statements (`checker.soundness_gen`), decides every check through the checker's
public API only (`checker.api.load_text`, `verify_theorems`, `checker.engine.Options`), and
holds each verdict against the independent oracle (`checker.oracle`):

* proved / verified: the oracle evaluates the statement at many points inside the hypotheses
  (and inside the check's bindings): random points and edge points (domain bounds and just
  inside them, zeros of denominators and of ln/sqrt arguments, integers -3..3, 10^+-300, pi/2,
  the generator's hints). A point where the claim is false or undefined is a FAILURE.
* refuted: the counterexample's values are parsed and the oracle must find the hypotheses true
  and the claim false or undefined there; a claim that holds, a hypothesis that fails, a point
  outside the check's bindings, or a point the oracle cannot decide ("unconfirmed") is a FAILURE.
* unknown / error: counted, never a failure.
* an exception from the checker (other than a load error), or a check that runs far past its
  time budget: a FAILURE. A generated statement that does not load is a harness bug.

Besides failures the report lists *suspects* (a proved or verified claim that the generator
built false, where the oracle found no counterexample: a checker bug the sampler missed, or a
wrong label) and *harness bugs* (load errors, oracle contradictions of the generator's labels).

    python -m checker.soundness --count 1000 --seed 0 [--jobs 2] [--out build/soundness]

writes `summary.json` and `failures.jsonl` to --out and exits 1 when there are failures.
Results are deterministic given the seed (up to solver timeouts).
"""
from __future__ import annotations

import argparse
import collections
import itertools
import json
import math
import random
import signal
import sys
import time
import traceback
from contextlib import contextmanager
from fractions import Fraction as F
from pathlib import Path
from typing import Any

from checker.paths import build, shown
from checker.soundness import oracle as O
from checker.soundness.generate import Generated, generate

DEFAULT_TIMEOUT = 2.0
RANDOM_POINTS = 40
MAX_POINTS = 160
SLOW_FACTOR = 10          # a check slower than SLOW_FACTOR * timeout + SLOW_SLACK seconds fails
SLOW_SLACK = 5.0
ORACLE_BUDGET = 60.0      # hard limit on the oracle's time per check (over it: a harness bug)
SAMPLING_BUDGET = 15.0    # seconds of sampling per proved check; then the remaining points are skipped
CONFIRM_BUDGET = 30.0     # seconds the oracle may spend raising the precision on one counterexample


class Deadline(Exception):
    pass


@contextmanager
def deadline(seconds: float):
    """Raise `Deadline` in this (main) thread after `seconds` of wall time."""
    def fire(signum, frame):
        raise Deadline(f"over {seconds:.0f} s")
    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# =============================================================================================
# Points: edge and random values of every parameter
# =============================================================================================

LN2 = O.make_lin(F(0), F(0), {F(2): F(1)})
REAL_SPECIALS = [F(0), F(1), F(-1), F(2), F(-2), F(3), F(-3), F(1, 2), F(-1, 2), F(10) ** 300, -F(10) ** 300,
                 F(1, 10 ** 300), -F(1, 10 ** 300), LN2, O.neg(LN2), F(1, 10 ** 600)]
INT_SPECIALS = [F(v) for v in range(-3, 4)]


def _value_of(e, env):
    v = O.evaluate_expr(e, env, precisions=(53, 300))
    if isinstance(v, str):
        raise ValueError(f"{O.render(e)} is {v}")
    return v


def _int_of(e, env) -> int:
    v = _value_of(e, env)
    if not (isinstance(v, F) and v.denominator == 1):
        raise ValueError(f"{O.render(e)} is not an integer")
    return int(v)


def _inside(meta: dict, v) -> bool:
    """Cheap filter on the concrete bounds the generator recorded (the oracle decides for real)."""
    if not isinstance(v, F):
        return True
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and (v < lo or (v == lo and not meta["lo_closed"])):
        return False
    if hi is not None and (v > hi or (v == hi and not meta["hi_closed"])):
        return False
    return meta["kind"] != "int" or v.denominator == 1


def _scalar_options(p: O.Param, meta: dict, hints: list, rng: random.Random, env: dict) -> list:
    t = p.type
    assert isinstance(t, O.ScalarType), p.name  # function parameters take _table_options
    if t.base == "bool":
        return [False, True]
    if isinstance(t.domain, O.SetDom):
        return [_value_of(v, env) for v in t.domain.values]
    values = list(hints)
    lo, hi = meta.get("lo"), meta.get("hi")
    if t.base == "int":
        values += INT_SPECIALS
        for b in (lo, hi):
            if b is not None:
                values += [F(math.floor(b)) + d for d in (-1, 0, 1, 2)] + [F(math.ceil(b)) - d for d in (1, 2)]
        if hi is None:
            values += [F(10), F(100), F(10 ** 6)]
        if lo is None:
            values += [F(-10), F(-100)]
        a, b = (lo if lo is not None else F(-20)), (hi if hi is not None else F(20))
        values += [F(rng.randint(math.ceil(a), max(math.ceil(a), math.floor(min(b, a + 40))))) for _ in range(4)]
    else:
        values += REAL_SPECIALS
        for b in (lo, hi):
            if b is not None:
                values += [b, b + F(1, 1000), b - F(1, 1000), b + F(1, 10 ** 30), b - F(1, 10 ** 30)]
        for _ in range(6):
            values.append(_random_real(rng, lo, hi))
    out, seen = [], set()
    for v in values:
        key = O.value_text(v)
        if key not in seen and _inside(meta, v):
            seen.add(key)
            out.append(v)
    return out


def _random_real(rng: random.Random, lo, hi) -> F:
    if lo is not None and hi is not None:
        return lo + (hi - lo) * F(rng.randint(1, 999), 1000)
    magnitude = F(10) ** rng.randint(-3, 3) * F(rng.randint(1, 999), rng.randint(1, 999))
    if lo is not None:
        return lo + magnitude
    if hi is not None:
        return hi - magnitude
    return magnitude if rng.random() < 0.5 else -magnitude


def _table_options(p: O.Param, rng: random.Random, env: dict) -> list:
    t = p.type
    assert isinstance(t, O.FunType), p.name
    domains = tuple((_int_of(lo, env), _int_of(hi, env)) for lo, hi in t.domains)
    points = _product(domains)
    if len(points) > 64:
        return []
    cod = t.codomain
    choices: list[bool | F]
    if cod[0] == "bool":
        choices = [False, True]
    elif cod[0] == "range":
        lo, hi = _int_of(cod[1], env), _int_of(cod[2], env)
        if hi < lo:
            return [O.Table(domains, {})] if not points else []
        choices = [F(v) for v in range(lo, hi + 1)]
    elif cod[0] == "int":
        choices = [F(v) for v in range(-3, 4)]
    else:
        choices = [F(v) for v in range(-3, 4)]
        choices += [F(1, 2), F(-5, 2), F(1, 3)]
    tables = [{pt: choices[0] for pt in points}, {pt: choices[-1] for pt in points}]
    if cod[0] in ("int", "real"):
        tables.append({pt: F(0) for pt in points})
    tables += [{pt: rng.choice(choices) for pt in points} for _ in range(4)]
    return [O.Table(domains, t) for t in tables]


def _product(domains):
    return list(itertools.product(*[range(lo, hi + 1) for lo, hi in domains]))


def _binding_options(b: O.Binding, p: O.Param, rng: random.Random, env: dict) -> list:
    if b.kind == "range":
        lo, hi = _int_of(b.values[0], env), _int_of(b.values[1], env)
        if hi - lo <= 40:
            return [F(v) for v in range(lo, hi + 1)]
        return [F(lo), F(lo + 1), F(hi - 1), F(hi)] + [F(rng.randint(lo, hi)) for _ in range(8)]
    if b.kind in ("set", "value"):
        return [_value_of(v, env) for v in b.values]
    table = {tuple(_int_of(a, env) for a in args): _value_of(v, env) for args, v in b.values}
    assert isinstance(p.type, O.FunType), p.name  # a table binds a function parameter
    domains = tuple((_int_of(lo, env), _int_of(hi, env)) for lo, hi in p.type.domains)
    return [O.Table(domains, table)]


def sample_points(gen: Generated, check: O.Check, rng: random.Random, random_points: int = RANDOM_POINTS):
    """Points for a check: every option of each parameter once (the edges), then random ones."""
    s = gen.statement
    bindings = {b.name: b for b in check.bindings}

    def options(p, env):
        if p.name in bindings:
            return _binding_options(bindings[p.name], p, rng, env)
        if isinstance(p.type, O.FunType):
            return _table_options(p, rng, env)
        meta = gen.meta["params"].get(p.name, {"kind": p.type.base})
        return _scalar_options(p, meta, gen.hints.get(p.name, []), rng, env)

    def build(focus: int, pick: int | None):
        """focus >= 0: that parameter takes option `pick`; -2: every parameter takes option `pick`
        (the generator's hints come first, so hints given together are tried together)."""
        point: dict[str, Any] = {}
        env: dict[str, tuple] = {}
        for i, p in enumerate(s.params):
            try:
                opts = options(p, env)
            except (ValueError, TypeError, NameError, O.Undecided):
                return None
            if not opts:
                return None
            if pick is not None and (i == focus or focus == -2):
                v = opts[pick % len(opts)]
            else:
                v = rng.choice(opts)
            point[p.name] = v
            env[p.name] = ("fun", v) if isinstance(v, O.Table) else ("val", v)
        return point

    if not s.params:
        yield {}
        return
    seen = set()
    plan: list[tuple[int, int | None]] = [(-2, k) for k in range(6)]
    for i, p in enumerate(s.params):
        plan += [(i, k) for k in range(24 if not isinstance(p.type, O.FunType) else 7)]
    plan += [(-1, None)] * random_points
    for focus, pick in plan:
        point = build(focus, pick)
        if point is None:
            continue
        key = tuple(sorted((k, O.value_text(v)) for k, v in point.items()))
        if key in seen:
            continue
        seen.add(key)
        yield point
        if len(seen) >= MAX_POINTS:
            return


# =============================================================================================
# Counterexamples
# =============================================================================================

def counterexample_point(s: O.Statement, ce: dict) -> tuple[dict, list]:
    """The checker's counterexample (value texts and tables) as an oracle point, and the
    parameters it leaves out."""
    scalars, functions = ce.get("scalars") or {}, ce.get("functions") or {}
    point, env = {}, {}
    missing = []
    for p in s.params:
        if isinstance(p.type, O.FunType):
            continue
        if p.name not in scalars:
            missing.append(p)
            continue
        v = O.closed_value(scalars[p.name])
        point[p.name] = v
        if not isinstance(v, O.Expr):
            env[p.name] = ("val", v)
    for p in s.params:
        if not isinstance(p.type, O.FunType):
            continue
        if p.name not in functions or any(q.name in _names(p.type) for q in missing):
            try:  # a function over an empty domain has one table, {}: leaving it out says nothing
                domains = tuple((_int_of(lo, env), _int_of(hi, env)) for lo, hi in p.type.domains)
            except (ValueError, TypeError, NameError, O.Undecided):
                domains = ()
            if domains and any(hi < lo for lo, hi in domains):
                point[p.name] = O.Table(domains, {})
            else:
                missing.append(p)
            continue
        table = {tuple(int(a) for a in k.split(",")) if k else (): O.closed_value(v)
                 for k, v in functions[p.name].items()}
        try:
            domains = tuple((_int_of(lo, env), _int_of(hi, env)) for lo, hi in p.type.domains)
        except (ValueError, TypeError, NameError, O.Undecided):
            keys = list(table) or [()]
            domains = tuple((min(k[i] for k in keys), max(k[i] for k in keys)) for i in range(len(keys[0])))
        point[p.name] = O.Table(domains, table)
    return point, missing


def _names(t: O.FunType) -> set:
    return {x for e in [e for d in t.domains for e in d] + list(t.codomain[1:]) for x in _expr_names(e)}


def _expr_names(e) -> set:
    if isinstance(e, O.Var):
        return {e.name}
    out = set()
    for v in vars(e).values():
        for x in (v if isinstance(v, tuple) else (v,)):
            if isinstance(x, O.Expr):
                out |= _expr_names(x)
    return out


def _completions(gen: Generated, point: dict, missing: list, limit: int = 512):
    """Ways to fill in the parameters a counterexample leaves out, and whether they are all of them
    (function parameters with finite codomains are enumerated; scalars get their edge values)."""
    exhaustive = True
    points = [dict(point)]
    for p in missing:
        extended = []
        for base in points:
            env = {k: ("fun", v) if isinstance(v, O.Table) else ("val", v) for k, v in base.items()
                   if not isinstance(v, O.Expr)}
            if isinstance(p.type, O.FunType):
                options = _all_tables(p, env, limit)
                if options is None:
                    options, exhaustive = _table_options(p, random.Random(0), env), False
            else:
                meta = gen.meta["params"].get(p.name, {"kind": p.type.base})
                options = _scalar_options(p, meta, gen.hints.get(p.name, []), random.Random(0), env)[:16]
                exhaustive = exhaustive and p.type.base == "bool"
            extended += [{**base, p.name: v} for v in options]
        points = extended[:limit]
        if len(extended) > limit:
            exhaustive = False
    return points, exhaustive


def _all_tables(p: O.Param, env: dict, limit: int):
    """Every table of a function parameter with a finite codomain, or None when there are too many."""
    assert isinstance(p.type, O.FunType), p.name
    domains = tuple((_int_of(lo, env), _int_of(hi, env)) for lo, hi in p.type.domains)
    pts = _product(domains)
    cod = p.type.codomain
    values: list[bool] | list[F]
    if cod[0] == "bool":
        values = [False, True]
    elif cod[0] == "range":
        values = [F(v) for v in range(_int_of(cod[1], env), _int_of(cod[2], env) + 1)]
    else:
        return None
    if len(values) ** len(pts) > limit:
        return None
    return [O.Table(domains, dict(zip(pts, combo))) for combo in itertools.product(values, repeat=len(pts))]


def point_text(point: dict) -> str:
    parts = []
    for k, v in point.items():
        if isinstance(v, O.Expr):
            parts.append(f"{k} = {O.render(v)}")
        else:
            parts.append(f"{k} = {O.value_text(v)}")
    return ", ".join(parts)


# =============================================================================================
# One statement
# =============================================================================================

def _judge(gen: Generated, check: O.Check, result, rng: random.Random, random_points: int) -> dict:
    """The oracle's finding on one decided check: {"failure": ..., "suspect": ..., "stats": ...}."""
    s = gen.statement
    out: dict = {"points": 0, "inside": 0, "undecided": 0}
    if result.status in ("proved", "verified"):
        started = time.perf_counter()
        for point in sample_points(gen, check, rng, random_points):
            if time.perf_counter() - started > SAMPLING_BUDGET:
                out["truncated"] = True
                break
            outcome = O.evaluate_point(s, point, check)
            out["points"] += 1
            if outcome.kind == "bug":
                out["harness"] = f"oracle: {outcome.detail} at {point_text(point)}"
                return out
            if outcome.kind == "undecided":
                out["undecided"] += 1
            if outcome.kind in ("true", "false", "undefined"):
                out["inside"] += 1
            if outcome.kind in ("false", "undefined"):
                out["failure"] = {"kind": f"{result.status}-but-{outcome.kind}", "point": point_text(point),
                                  "oracle": outcome.detail}
                if gen.truth == "true":
                    out["harness"] = (f"the generator built this claim true, yet the oracle finds it "
                                      f"{outcome.kind} at {point_text(point)}")
                return out
        if gen.truth == "false" and check.kind == "symbolic":
            out["suspect"] = {"kind": f"{result.status}-but-built-false",
                              "oracle": f"no counterexample among {out['points']} points ({out['inside']} inside)"}
        return out
    if result.status == "refuted":
        try:
            point, missing = counterexample_point(s, result.counterexample or {})
        except (ValueError, O.ParseError, KeyError, TypeError, NameError, O.Undecided) as err:
            out["failure"] = {"kind": "refuted-unreadable", "oracle": f"cannot read the counterexample: {err}",
                              "point": json.dumps(result.counterexample)}
            return out
        if missing:
            out["failure"] = _judge_incomplete(gen, check, point, missing)
            return out
        outcome = O.evaluate_point(s, point, check, budget=CONFIRM_BUDGET)
        out["points"] = 1
        finding = {"true": "refuted-but-holds", "outside": "refuted-outside-hypotheses",
                   "outside-check": "refuted-outside-check", "undecided": "refuted-unconfirmed"}.get(outcome.kind)
        if outcome.kind == "undecided":
            outcome.detail = (f"the oracle cannot decide the claim there even at {O.PRECISIONS[-1]} bits "
                              f"({outcome.detail}); an irrational tie is the usual cause")
        if outcome.kind == "bug":
            out["harness"] = f"oracle: {outcome.detail} at {point_text(point)}"
        elif finding:
            out["failure"] = {"kind": finding, "point": point_text(point), "oracle": outcome.detail or outcome.kind}
        elif gen.truth == "true":
            out["harness"] = (f"the generator built this claim true, yet the oracle confirms the "
                              f"counterexample {point_text(point)}")
    return out


def _judge_incomplete(gen: Generated, check: O.Check, point: dict, missing: list) -> dict:
    """A counterexample that leaves parameters out cannot be re-checked as it stands: a failure.
    The oracle tries the ways to complete it, to tell the fixer whether the verdict was right."""
    s = gen.statement
    names = ", ".join(p.name for p in missing)
    try:
        completions, exhaustive = _completions(gen, point, missing)
    except (ValueError, TypeError, NameError, O.Undecided):
        completions, exhaustive = [], False
    kinds: collections.Counter[str] = collections.Counter()
    found = None
    for c in completions:
        kind = O.evaluate_point(s, c, check, budget=CONFIRM_BUDGET / 10).kind
        kinds[kind] += 1
        if kind in ("false", "undefined"):
            found = c
            break
    base = {"point": point_text(point)}
    if found:
        return {**base, "kind": "refuted-incomplete",
                "oracle": f"the counterexample leaves out {names}; one completion confirms it: "
                          f"{point_text({p.name: found[p.name] for p in missing})}"}
    if exhaustive and kinds and set(kinds) <= {"true", "outside", "outside-check"} and kinds["true"]:
        return {**base, "kind": "refuted-but-holds",
                "oracle": f"the counterexample leaves out {names}, and the claim holds for every way to fill "
                          f"them in ({dict(kinds)})"}
    return {**base, "kind": "refuted-incomplete",
            "oracle": f"the counterexample leaves out {names}; no completion among {len(completions)} tried "
                      f"confirms it ({dict(kinds)})"}


def run_one(seed: int, index: int, timeout: float = DEFAULT_TIMEOUT, random_points: int = RANDOM_POINTS) -> dict:
    """Generate statement `index`, decide it, judge every verdict; a JSON-ready record."""
    from checker.api import load_text, verify_theorems
    from checker.decide.engine import Options
    from checker.errors import CheckerError

    gen = generate(seed, index)
    record: dict[str, Any] = {"index": index, "cls": gen.cls, "truth": gen.truth, "text": gen.text, "checks": [],
                              "failures": [], "suspects": [], "harness": []}
    if "label_conflict" in gen.meta:
        record["harness"].append(f"label: {gen.meta['label_conflict']}")
    started = time.perf_counter()
    try:
        theorems = load_text(gen.text, "<gen>")
    except CheckerError as err:
        record["harness"].append(f"load error: {str(err)[:2000]}")
        return record
    except Exception as err:  # a crash while loading a well-formed statement
        record["failures"].append({"kind": "crash", "oracle": "", "point": "", "check": -1, "status": "crash",
                                   "reason": f"{type(err).__name__}: {err}\n{traceback.format_exc()[-2000:]}"})
        return record
    n_checks = len(gen.statement.checks)
    budget = n_checks * (SLOW_FACTOR * timeout + SLOW_SLACK)
    try:
        with deadline(budget + 20):
            results = verify_theorems(theorems, Options(timeout=timeout))
    except Deadline as err:
        record["failures"].append({"kind": "hang", "check": -1, "status": "hang", "point": "",
                                   "oracle": "", "reason": f"the checker ran {err} on {n_checks} checks"})
        return record
    except Exception as err:
        record["failures"].append({"kind": "crash", "check": -1, "status": "crash", "point": "", "oracle": "",
                                   "reason": f"{type(err).__name__}: {err}\n{traceback.format_exc()[-2000:]}"})
        return record
    record["checker_seconds"] = time.perf_counter() - started
    oracle_started = time.perf_counter()
    for result in results:
        check = gen.statement.checks[result.check_index]
        entry = {"check": result.check_index, "kind": check.kind, "status": result.status,
                 "seconds": round(result.seconds, 3), "reason": (result.reason or "")[:300]}
        record["checks"].append(entry)
        common = {"check": result.check_index, "check_kind": check.kind, "status": result.status,
                  "reason": (result.reason or "")[:500], "counterexample": result.counterexample_text or ""}
        if result.seconds > SLOW_FACTOR * timeout + SLOW_SLACK:
            record["failures"].append({**common, "kind": "slow", "point": "",
                                       "oracle": f"{result.seconds:.1f} s against a {timeout} s timeout"})
        rng = random.Random(f"limits-soundness-points:{seed}:{index}:{result.check_index}")
        try:
            with deadline(ORACLE_BUDGET):
                finding = _judge(gen, check, result, rng, random_points)
        except Deadline:
            record["harness"].append(f"oracle over its {ORACLE_BUDGET:.0f} s budget on check {result.check_index}")
            continue
        except Exception as err:
            record["harness"].append(f"oracle crash: {type(err).__name__}: {err}\n{traceback.format_exc()[-1500:]}")
            continue
        entry.update(points=finding["points"], inside=finding["inside"], undecided=finding["undecided"],
                     truncated=finding.get("truncated", False))
        if "failure" in finding:
            record["failures"].append({**common, **finding["failure"]})
        if "suspect" in finding:
            record["suspects"].append({**common, **finding["suspect"]})
        if "harness" in finding:
            record["harness"].append(finding["harness"])
    record["oracle_seconds"] = time.perf_counter() - oracle_started
    return record


# =============================================================================================
# Many statements
# =============================================================================================

_WORKER: dict = {}


class _Stuck(Exception):
    pass


def _init_worker(seed: int, timeout: float, points: int, memory_gb: float):
    _WORKER.update(seed=seed, timeout=timeout, points=points)
    if memory_gb:
        import resource
        limit = int(memory_gb * 2 ** 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _work(index: int) -> dict:
    return run_one(_WORKER["seed"], index, _WORKER["timeout"], _WORKER["points"])


def _dead(seed: int, index: int, kind: str, detail: str) -> dict:
    """The record of a statement whose worker process died or had to be killed."""
    gen = generate(seed, index)
    return {"index": index, "cls": gen.cls, "truth": gen.truth, "text": gen.text, "checks": [], "suspects": [],
            "harness": [],
            "failures": [{"kind": kind, "check": -1, "status": kind, "point": "", "oracle": "", "reason": detail}]}


def _in_workers(indices, seed: int, jobs: int, timeout: float, points: int, memory_gb: float):
    """Yield records from forked worker processes, one statement per task. A worker that dies (a
    segfault, the memory limit) or runs past the hard limit costs only its statement, recorded as a
    crash or a hang; the pool is rebuilt and the other statements are run again."""
    import multiprocessing
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    hard_limit = 10 * (SLOW_FACTOR * timeout + SLOW_SLACK) + 20 + 4 * ORACLE_BUDGET  # SIGALRM missed
    pending: deque[int] = deque(indices)
    suspects: deque[int] = deque()
    context = multiprocessing.get_context("fork")
    while pending or suspects:
        # after a broken pool, the statements that were in flight run one at a time to find the culprit
        solo = bool(suspects)
        queue = suspects if solo else pending
        executor = ProcessPoolExecutor(1 if solo else jobs, mp_context=context, initializer=_init_worker,
                                       initargs=(seed, timeout, points, memory_gb))
        futures: dict = {}
        try:
            while queue or futures:
                while queue and len(futures) < (1 if solo else jobs):
                    i = queue.popleft()
                    futures[executor.submit(_work, i)] = (i, time.monotonic())
                done, _ = wait(list(futures), timeout=5, return_when=FIRST_COMPLETED)
                for f in done:
                    record = f.result()  # raises BrokenProcessPool while f is still counted in flight
                    futures.pop(f)
                    yield record
                for i, t0 in list(futures.values()):
                    if time.monotonic() - t0 > hard_limit:
                        raise _Stuck(i)
                if solo and not futures:
                    break  # back to the full pool after each suspect
        except BrokenProcessPool:
            inflight = [i for i, _ in futures.values()]
            if solo or len(inflight) == 1:
                yield _dead(seed, inflight[0], "crash", "the worker process died (a segfault or the memory limit)")
            else:
                suspects.extend(inflight)
        except _Stuck as err:
            culprit = err.args[0]
            yield _dead(seed, culprit, "hang", f"still running after {hard_limit:.0f} s; the worker was killed")
            (suspects if solo else pending).extendleft(i for i, _ in futures.values() if i != culprit)
        finally:
            for proc in list(getattr(executor, "_processes", {}).values()):
                if proc.is_alive() and futures:
                    proc.kill()
            executor.shutdown(wait=True, cancel_futures=True)


def run(count: int, seed: int = 0, jobs: int = 1, timeout: float = DEFAULT_TIMEOUT,
        random_points: int = RANDOM_POINTS, start: int = 0, progress=None,
        memory_gb: float = 4.0, finished: list | None = None) -> tuple[dict, list]:
    """Run statements start..start+count-1 in `jobs` worker processes (each under a `memory_gb`
    address-space limit); returns (summary, records), the records in index order. `finished`
    records (of an interrupted run with the same seed and settings) are kept, not run again."""
    started = time.perf_counter()
    records = [r for r in finished or [] if start <= r["index"] < start + count]
    done = {r["index"] for r in records}
    todo = [i for i in range(start, start + count) if i not in done]
    for record in _in_workers(todo, seed, max(1, jobs), timeout, random_points, memory_gb):
        records.append(record)
        if progress:
            progress(record)
    records.sort(key=lambda r: r["index"])
    return summarize(records, seed, count, jobs, timeout, time.perf_counter() - started), records


def summarize(records: list, seed: int, count: int, jobs: int, timeout: float, seconds: float) -> dict:
    by_class: dict = collections.defaultdict(collections.Counter)
    verdicts: collections.Counter[str] = collections.Counter()
    truth_verdicts: collections.Counter[str] = collections.Counter()
    failure_classes: dict = {}
    reasons: collections.Counter[str] = collections.Counter()
    points = inside = undecided = truncated = 0
    for r in records:
        for c in r["checks"]:
            if c["status"] in ("unknown", "error"):
                reasons[f"{c['status']}: {c['reason'][:90]}"] += 1
            by_class[r["cls"]][c["status"]] += 1
            verdicts[c["status"]] += 1
            truth_verdicts[f"{r['truth']}/{c['status']}"] += 1
            points += c.get("points", 0)
            inside += c.get("inside", 0)
            undecided += c.get("undecided", 0)
            truncated += bool(c.get("truncated"))
        for f in r["failures"]:
            key = f"{r['cls']}: {f['kind']}"
            if key not in failure_classes:
                failure_classes[key] = {"count": 0, "example_index": r["index"], "example": r["text"],
                                        "status": f["status"], "point": f.get("point", ""),
                                        "oracle": f.get("oracle", ""), "reason": f.get("reason", "")}
            failure_classes[key]["count"] += 1
            if len(r["text"]) < len(failure_classes[key]["example"]):  # keep the smallest example
                failure_classes[key].update(example_index=r["index"], example=r["text"], status=f["status"],
                                            point=f.get("point", ""), oracle=f.get("oracle", ""),
                                            reason=f.get("reason", ""))
    return {
        "seed": seed, "count": count, "jobs": jobs, "timeout": timeout, "seconds": round(seconds, 1),
        "statements": len(records),
        "checks": sum(verdicts.values()),
        "verdicts": dict(verdicts),
        "truth_by_construction/verdict": dict(sorted(truth_verdicts.items())),
        "by_class": {k: dict(v) for k, v in sorted(by_class.items())},
        "oracle_points": points, "oracle_points_inside": inside, "oracle_points_undecided": undecided,
        "checks_with_sampling_cut_short": truncated,
        "failures": sum(len(r["failures"]) for r in records),
        "failing_statements": sum(1 for r in records if r["failures"]),
        "failure_classes": dict(sorted(failure_classes.items(), key=lambda kv: -kv[1]["count"])),
        "suspects": [{"index": r["index"], "cls": r["cls"], **s, "text": r["text"]}
                     for r in records for s in r["suspects"]],
        "harness_bugs": [{"index": r["index"], "cls": r["cls"], "problem": h, "text": r["text"]}
                         for r in records for h in r["harness"]],
        "unknown_and_error_reasons": dict(reasons.most_common(25)),
        "checker_seconds": round(sum(r.get("checker_seconds", 0) for r in records), 1),
        "oracle_seconds": round(sum(r.get("oracle_seconds", 0) for r in records), 1),
    }


def write(summary: dict, records: list, out: Path):
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    with (out / "failures.jsonl").open("w") as fh:
        for r in records:
            for f in r["failures"]:
                fh.write(json.dumps({"index": r["index"], "cls": r["cls"], "truth": r["truth"], **f,
                                     "text": r["text"]}) + "\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=1000, help="statements to generate (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="first statement index (default 0)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="checker timeout per query (s)")
    parser.add_argument("--points", type=int, default=RANDOM_POINTS, help="random points per proved check")
    parser.add_argument("--out", default=shown(build() / "soundness"), help="report folder (default build/soundness)")
    parser.add_argument("--memory-gb", type=float, default=4.0, help="address-space limit per worker (0: none)")
    parser.add_argument("--show", type=int, metavar="INDEX", help="print statement INDEX and its record, then stop")
    parser.add_argument("-q", "--quiet", action="store_true")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checker.soundness", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run_cli(parser.parse_args(argv))


def run_cli(args) -> int:
    if args.show is not None:
        record = run_one(args.seed, args.show, args.timeout, args.points)
        print(record["text"])
        print(json.dumps({k: v for k, v in record.items() if k != "text"}, indent=2))
        return 1 if record["failures"] else 0

    done = [0]

    def progress(record):
        done[0] += 1
        if not args.quiet and (record["failures"] or done[0] % 100 == 0):
            mark = f"FAIL {record['failures'][0]['kind']}" if record["failures"] else "ok"
            print(f"[{done[0]}/{args.count}] #{record['index']} {record['cls']}: {mark}", flush=True)

    summary, records = run(args.count, args.seed, args.jobs, args.timeout, args.points, args.start, progress,
                           args.memory_gb)
    write(summary, records, Path(args.out))
    print(f"{summary['statements']} statements, {summary['checks']} checks in {summary['seconds']} s: "
          f"{summary['verdicts']}")
    print(f"failures: {summary['failures']} in {summary['failing_statements']} statements; "
          f"suspects: {len(summary['suspects'])}; harness bugs: {len(summary['harness_bugs'])}")
    for key, fc in summary["failure_classes"].items():
        print(f"\n== {key} ({fc['count']}x), checker: {fc['status']}; oracle: {fc['oracle']} {fc['point']}")
        print(fc["example"].rstrip())
    print(f"\nreport: {args.out}/summary.json, {args.out}/failures.jsonl")
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
