"""Checker benchmarks: `make verify` cold and warm, the import cost, and the reach of finite checks.

Reach: every finite check of proofs/ that has an integer range with a literal upper bound (or,
failing that, a parameter fixed to a literal integer) is scaled up along it (the first such
binding: by convention the size parameter; ranges that depend on it, such as `k in 1..n`, grow
with it). The upper bound grows from the corpus's value (x4 while an attempt takes under half a
second, x2 after that) until a run takes longer than the larger budget, gives another verdict
than the one the corpus expects (unknown, error) or passes a cap. Each attempt runs in a forked
child that is killed when it overruns, so a solver that ignores its limit cannot stall the
benchmark.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from dataclasses import replace
from fractions import Fraction

from checker.paths import project_root

ROOT = project_root()
CAP = 1 << 20            # no range is pushed past this upper bound


# ---- make verify --------------------------------------------------------------------------

def verify_timings(python: str) -> dict:
    """`make verify` from a cold start (no build folder, no result cache, no bytecode) and again warm,
    with the CPU time and peak memory of its process tree and the load beside each (bench/verify_profile.py)."""
    from bench.verify_profile import make_verify
    return {**make_verify(ROOT, python), "cores": os.cpu_count()}


def import_timing(python: str, repeats: int = 5) -> dict:
    """Time to import the checker in a fresh interpreter, and whether torch came with it."""
    code = ("import sys, time; t = time.perf_counter(); import checker.api, checker.decide.engine, checker.cli; "
            "print(time.perf_counter() - t, 'torch' in sys.modules, 'transformers' in sys.modules)")
    bare = "import time; t = time.perf_counter(); print(time.perf_counter() - t)"
    times, torch_loaded = [], False
    for _ in range(repeats):
        out = subprocess.run([python, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        times.append(float(out[0]))
        torch_loaded |= out[1] == "True" or out[2] == "True"
    start = time.perf_counter()
    subprocess.run([python, "-c", bare], cwd=ROOT, check=True, capture_output=True)
    interpreter = time.perf_counter() - start
    return {"seconds": sorted(times)[len(times) // 2], "runs": times, "torch_imported": torch_loaded,
            "interpreter_start_seconds": interpreter}


# ---- reach of finite checks ---------------------------------------------------------------

def finite_checks() -> list[dict]:
    """Every finite check of the corpus with the binding to scale (or why there is none)."""
    from checker.api import statement_files
    from checker.language.parser import parse_source
    out = []
    for path in statement_files([str(ROOT / "proofs")]):
        text = path.read_text()
        module = parse_source(text, str(path.relative_to(ROOT)))
        for thm in module.theorems:
            for index, check in enumerate(thm.checks):
                if check.kind != "finite":
                    continue
                # the first range with a literal integer bound, else the first literal integer value;
                # a table fixes a function's values point by point, so its sizes cannot grow
                tables = [b.name for b in check.bindings if b.kind == "table"]
                ranges = [b for b in check.bindings if b.kind == "range" and _int_literal(b.values[1])]
                values = [b for b in check.bindings if b.kind == "value" and _int_literal(b.values[0])]
                scale = None if tables else next(iter(ranges + values), None)
                out.append({"theorem": thm.id, "check": index, "file": str(path.relative_to(ROOT)),
                            "line": check.span.line, "expect": check.expect,
                            "binding": scale.name if scale else None,
                            "corpus_bound": _bound(scale).value.numerator if scale else None,
                            "tables": tables, "source_text": text})
    return out


def _int_literal(e) -> bool:
    from checker.language import syntax as S
    return isinstance(e, S.Num) and e.value.denominator == 1 and e.value > 0


def _bound(binding):
    return binding.values[1] if binding.kind == "range" else binding.values[0]


def scaled_source(text: str, file: str, theorem: str, check_index: int, binding: str, hi: int | None) -> str:
    """The theorem with only the chosen check, its range `binding` ending at `hi` and no timeout
    of its own (the benchmark's limit applies)."""
    from checker.language import syntax as S
    from checker.language.parser import parse_source
    from checker.language.printer import theorem_to_source
    module = parse_source(text, file)
    thm = next(t for t in module.theorems if t.id == theorem)
    target = thm.checks[check_index]
    items = []
    for item in thm.items:
        if isinstance(item, S.Check):
            if item is not target:
                continue
            bindings = tuple(
                b if b.name != binding or hi is None
                else replace(b, values=(b.values[0], S.Num(Fraction(hi))) if b.kind == "range"
                             else (S.Num(Fraction(hi)),))
                for b in item.bindings)
            item = replace(item, bindings=bindings, timeout=None)
        items.append(item)
    return theorem_to_source(S.rebuild(thm, tuple(items)))


def _attempt(text: str, budget: float, conn) -> None:
    from checker.api import load_text
    from checker.decide.engine import Options, run_check
    start = time.perf_counter()
    try:
        (core,) = load_text(text, "<bench>")
        result = run_check(core, core.checks[0], Options(timeout=budget))
        conn.send({"status": result.status, "seconds": time.perf_counter() - start,
                   "instances": result.instances, "range": result.range, "reason": (result.reason or "")[:160]})
    except Exception as err:  # reported as a result: the benchmark goes on with the next check
        conn.send({"status": "error", "seconds": time.perf_counter() - start,
                   "reason": f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"})
    conn.close()


def _run_in_child(target, args, budget) -> dict:
    """target(*args, conn) in a forked child that sends one dict; killed at budget + 1 s and
    reported as a timeout."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(*args, child))
    start = time.perf_counter()
    proc.start()
    child.close()
    result = parent.recv() if parent.poll(budget + 1) else None
    proc.join(0.5)
    if proc.is_alive():
        proc.kill()
        proc.join()
    return result or {"status": "timeout", "seconds": time.perf_counter() - start}


def run_attempt(text: str, budget: float) -> dict:
    """Decide one check in a forked child; kill it at budget + 1 s."""
    return _run_in_child(_attempt, (text, budget), budget)


def reach_one(entry: dict, budgets: tuple[float, float] = (1.0, 10.0)) -> dict:
    """Double the check's upper bound from the corpus's value while it is decided as expected
    within the larger budget; report the largest bound decided within each budget."""
    small, large = budgets
    text, file = entry["source_text"], entry["file"]
    out = {k: entry[k] for k in ("theorem", "check", "file", "line", "expect", "binding")}
    if entry["binding"] is None:
        out["note"] = (f"a table fixes {', '.join(entry['tables'])} point by point: its sizes cannot grow"
                       if entry.get("tables") else "no integer range or value given as a literal to scale (sets only)")
        return out
    hi = out["corpus_bound"] = entry["corpus_bound"]
    trail = []
    while hi <= CAP:
        got = run_attempt(scaled_source(text, file, entry["theorem"], entry["check"], entry["binding"], hi), large)
        trail.append({"bound": hi, **got})
        if got["status"] != entry["expect"] or got["seconds"] > large:
            break
        hi *= 4 if got["seconds"] < small / 2 else 2     # coarser steps while it is cheap
    decided = [t for t in trail if t["status"] == entry["expect"]]
    out["trail"] = trail
    out["reach_1s"] = max((t["bound"] for t in decided if t["seconds"] <= small), default=None)
    out["reach_10s"] = max((t["bound"] for t in decided if t["seconds"] <= large), default=None)
    last = trail[-1]
    out["stopped"] = ("cap" if last["status"] == entry["expect"] and last["seconds"] <= large
                      else f"{last['status']} at {last['bound']} ({last['seconds']:.1f} s)")
    return out


def reach_all(workers: int = 2) -> list[dict]:
    entries = finite_checks()
    from concurrent.futures import ProcessPoolExecutor
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return list(pool.map(reach_one, entries))


# ---- encodings compared -------------------------------------------------------------------

DIAGONAL = """theorem H-1.bench "diagonal argument at k = n" {
  param n : int in [1, inf)
  param m : int in [2, inf)
  param k : int in [1, inf)
  param h : [1..k] * [1..n] -> [1..m]
  let flip(y) = if y = 1 then 2 else 1
  claim exists f : [1..n] -> [1..m] : forall i in 1..k : exists x in 1..n : h(i, x) != f(x)
  WITNESS
  CHECK
}"""


def _diagonal_text(n: int, witness: bool, symbolic: bool) -> str:
    w = "witness f(x) = if x <= k then flip(h(x, x)) else 1" if witness else ""
    if symbolic:
        check = f"assume size: n = {n} and k = n and m = 2\n  check symbolic expect proved"
    else:
        check = f"check finite n = {n}, m = 2, k = {n} expect verified"
    return DIAGONAL.replace("WITNESS", w).replace("CHECK", check)


def _quantified_z3(n: int, budget: float) -> dict:
    """The diagonal claim at k = n, m = 2 in a plain quantified encoding: some table h such that
    every f : [1..n] -> {1, 2} equals one of its rows (the claim's negation); unsat = verified."""
    import z3
    ctx = z3.Context()
    h = [[z3.Int(f"h_{i}_{x}", ctx) for x in range(n)] for i in range(n)]
    f = [z3.Int(f"f_{x}", ctx) for x in range(n)]
    s = z3.Solver(ctx=ctx)
    s.set("timeout", int(budget * 1000))
    s.add(*[z3.And(v >= 1, v <= 2) for row in h for v in row])
    in_range = z3.And(*[z3.And(v >= 1, v <= 2) for v in f])
    covered = z3.Or(*[z3.And(*[h[i][x] == f[x] for x in range(n)]) for i in range(n)])
    s.add(z3.ForAll(f, z3.Implies(in_range, covered)))
    start = time.perf_counter()
    answer = s.check()
    seconds = time.perf_counter() - start
    status = {"unsat": "verified", "sat": "refuted"}.get(str(answer), "unknown")
    return {"status": status, "seconds": seconds}


def _quantified_attempt(n, budget, conn):
    conn.send(_quantified_z3(n, budget))
    conn.close()


def diagonal_encodings(budget: float = 10.0, cap: int = 16_384) -> dict:
    """k = n doubling for each encoding until it overruns the budget or stops deciding."""
    out = {}
    plans = {
        "witness (finite instance)": lambda n: run_attempt(_diagonal_text(n, True, False), budget),
        "witness (n fixed, kept symbolic)": lambda n: run_attempt(_diagonal_text(n, True, True), budget),
        "no witness (engine enumerates f)": lambda n: run_attempt(_diagonal_text(n, False, False), budget),
        "plain quantified (z3, forall f)": lambda n: _run_in_child(_quantified_attempt, (n, budget), budget),
    }
    for name, attempt in plans.items():
        trail, n = [], 2
        while n <= cap:
            got = attempt(n)
            trail.append({"n": n, "status": got["status"], "seconds": got["seconds"]})
            if got["status"] not in ("verified", "proved") or got["seconds"] > budget:
                break
            n *= 2
        ok = [t for t in trail if t["status"] in ("verified", "proved")]
        out[name] = {"trail": trail,
                     "reach_1s": max((t["n"] for t in ok if t["seconds"] <= 1), default=None),
                     "reach_10s": max((t["n"] for t in ok if t["seconds"] <= budget), default=None),
                     "capped": bool(ok) and ok[-1]["n"] * 2 > cap and len(ok) == len(trail)}
    return out


def crowding_direct(budget: float = 10.0) -> dict:
    """C-3's equivalence decided through exp/ln elimination (the checker) and handed to cvc5
    with exp kept as its transcendental function (the direct encoding; Z3 has no exp)."""
    from checker.api import load_text
    from checker.decide.engine import Options, run_check
    path = ROOT / "proofs" / "context.lim"
    (thm,) = [t for t in load_text(path.read_text(), str(path)) if t.id == "C-3"]
    symbolic = next(c for c in thm.checks if c.kind == "symbolic")
    start = time.perf_counter()
    ours = run_check(thm, symbolic, Options(timeout=budget))
    ours_seconds = time.perf_counter() - start
    direct = {}
    for label, bound in (("all N >= 2", None), ("N <= 4", 4)):
        direct[label] = _run_in_child(_cvc5_attempt, (bound, budget), budget)
    return {"eliminated": {"status": ours.status, "seconds": ours_seconds}, "direct_cvc5": direct}


def _cvc5_attempt(bound, budget, conn):
    import cvc5
    from cvc5 import Kind
    tm = cvc5.TermManager()
    s = cvc5.Solver(tm)
    s.setLogic("ALL")
    s.setOption("tlimit-per", str(int(budget * 1000)))
    real = tm.getRealSort()
    n, p, d, lg = (tm.mkConst(real, name) for name in ("N", "p", "D", "L"))
    one, zero = tm.mkReal(1), tm.mkReal(0)
    e_d = tm.mkTerm(Kind.EXPONENTIAL, d)
    n1 = tm.mkTerm(Kind.SUB, n, one)
    w = tm.mkTerm(Kind.DIVISION, e_d, tm.mkTerm(Kind.ADD, e_d, n1))
    s.assertFormula(tm.mkTerm(Kind.GEQ, n, tm.mkReal(2)))
    if bound is not None:
        s.assertFormula(tm.mkTerm(Kind.LEQ, n, tm.mkReal(bound)))
    s.assertFormula(tm.mkTerm(Kind.GT, p, zero))
    s.assertFormula(tm.mkTerm(Kind.LT, p, one))
    # L = ln(p (N - 1) / (1 - p)), stated through exp since cvc5 has no logarithm
    ratio = tm.mkTerm(Kind.DIVISION, tm.mkTerm(Kind.MULT, p, n1), tm.mkTerm(Kind.SUB, one, p))
    s.assertFormula(tm.mkTerm(Kind.EQUAL, tm.mkTerm(Kind.EXPONENTIAL, lg), ratio))
    claim = tm.mkTerm(Kind.EQUAL, tm.mkTerm(Kind.GEQ, w, p), tm.mkTerm(Kind.GEQ, d, lg))
    s.assertFormula(tm.mkTerm(Kind.NOT, claim))
    start = time.perf_counter()
    answer = s.checkSat()
    seconds = time.perf_counter() - start
    status = "proved" if answer.isUnsat() else "refuted" if answer.isSat() else str(answer)
    conn.send({"status": status, "seconds": seconds})
    conn.close()


if __name__ == "__main__":  # a quick look: python -m bench.checker_bench reach|diagonal|crowding
    what = sys.argv[1] if len(sys.argv) > 1 else "reach"
    if what == "reach":
        for r in reach_all():
            print(json.dumps({k: v for k, v in r.items() if k != "trail"}))
    elif what == "diagonal":
        print(json.dumps(diagonal_encodings(), indent=1))
    else:
        print(json.dumps(crowding_direct(), indent=1))
