"""`make verify` and `make audit`, cold and warm, as a user runs them: wall time, CPU time and
peak memory of the whole process tree, the machine's load beside each figure, and the run's own
profile (CPU seconds and peak memory by stage and by theorem, from report.json).

The tree is `make` and every process under it (the checker, its workers); it is sampled every
50 ms: the sum of resident memory (RSS, which counts pages shared by forked workers once per
worker, so it is an upper bound) and the sum of proportional memory (PSS, shared pages split
between the processes that share them). CPU time is that of every process of the tree that
ended (`RUSAGE_CHILDREN` before and after).
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import threading
import time
from pathlib import Path

COLD_TARGET_S = 30.0
WARM_TARGET_S = 5.0
PEAK_TARGET_MB = 1024.0


def _children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            tree.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return tree


def _tree(root: int) -> list[int]:
    children = _children_of()
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack += children.get(pid, [])
    return out


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB, 0 for one that is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            rss = pss = 0
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
            return rss, pss
    except OSError:
        return 0, 0


def run_measured(command: list[str], cwd: Path) -> dict:
    """Run `command`, sampling its process tree's memory; wall and CPU time, load before and after."""
    load_before = os.getloadavg()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = {"rss_kb": 0, "pss_kb": 0, "processes": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            pids = _tree(proc.pid)
            sizes = [_memory_kb(p) for p in pids]
            peak["rss_kb"] = max(peak["rss_kb"], sum(r for r, _ in sizes))
            peak["pss_kb"] = max(peak["pss_kb"], sum(p for _, p in sizes))
            peak["processes"] = max(peak["processes"], len(pids))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"seconds": seconds, "exit": proc.returncode,
            "cpu_seconds": (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime),
            "peak_rss_mb": peak["rss_kb"] / 1024, "peak_pss_mb": peak["pss_kb"] / 1024,
            "peak_one_process_mb": after.ru_maxrss / 1024, "processes": peak["processes"],
            "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
            "tail": out.strip().splitlines()[-3:] if out.strip() else [], "stderr_tail": err.strip()[-500:]}


def _cold(root: Path) -> None:
    """No build folder, no result cache, no bytecode of the checker."""
    for folder in ("verify", "cache"):
        shutil.rmtree(root / "build" / folder, ignore_errors=True)
    for cache in (root / "checker").rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def make_verify(root: Path, python: str) -> dict:
    """`make verify` from a cold start and again warm; then `make audit` (verify, tightness, the
    cvc5 re-check, the catalogue) from a cold start, and after it again warm. The audit's cold
    run carries the profile of every stage."""
    runs = {}
    for label, target in (("cold", "verify"), ("warm", "verify"), ("audit_cold", "audit"), ("audit_warm", "audit")):
        if label in ("cold", "audit_cold"):
            _cold(root)
        runs[label] = run_measured(["make", "-s", target, f"PY={python}"], root)
        report = json.loads((root / "build" / "verify" / "report.json").read_text())
        runs[label]["profile"] = report.get("profile", {})
        runs[label]["second_solver"] = {k: v for k, v in (report.get("second_solver") or {}).items()
                                        if not isinstance(v, list)}
    per_theorem: dict[str, float] = {}
    for c in report["checks"]:
        per_theorem[c["id"]] = per_theorem.get(c["id"], 0.0) + c.get("seconds", 0.0)
    return {**runs, "checks": len(report["checks"]), "theorems": len(per_theorem),
            "checks_seconds": sum(per_theorem.values()), "report_seconds": report.get("seconds"),
            "per_theorem": dict(sorted(per_theorem.items(), key=lambda kv: -kv[1])), "summary": report.get("summary")}


def targets(mv: dict) -> list[dict]:
    """Cold <= 30 s, peak of the tree <= 1 GB, warm <= 5 s, each with the load it was measured under."""
    cold, warm = mv["cold"], mv["warm"]
    rows = []
    for label, run, target in (("cold", cold, COLD_TARGET_S), ("warm", warm, WARM_TARGET_S)):
        s = run["seconds"]
        ok = s <= target and run["exit"] == 0
        quiet = run["cpu_seconds"] / max(1, mv.get("cores") or os.cpu_count() or 1)
        rows.append({"what": f"{label} `make verify`, whole corpus", "target": f"<= {target:g} s",
                     "measured": f"{s:.1f} s (CPU {run['cpu_seconds']:.1f} s; load {run['load_before'][0]:.1f} before, "
                                 f"{run['load_after'][0]:.1f} after)",
                     "met": ok, "why": "" if ok else
                     f"over by {s - target:.1f} s on a machine with load {run['load_before'][0]:.1f}; its CPU time "
                     f"spread over every core would take {quiet:.1f} s"})
    peak = max(cold["peak_pss_mb"], warm["peak_pss_mb"])
    rss = max(cold["peak_rss_mb"], warm["peak_rss_mb"])
    ok = peak <= PEAK_TARGET_MB
    rows.append({"what": "peak memory of `make verify`'s process tree", "target": "<= 1 GB",
                 "measured": f"{peak:.0f} MB PSS ({rss:.0f} MB summed RSS, {cold['processes']} processes)",
                 "met": ok, "why": "" if ok else f"over by {peak - PEAK_TARGET_MB:.0f} MB"})
    return rows


def markdown(mv: dict) -> list[str]:
    """The section's table: cold and warm, then the cold run's profile by stage and by theorem."""
    out = ["| run | wall s | CPU s | peak PSS MB | peak RSS MB (summed) | one process MB | load before / after | "
           "exit |", "|---|---|---|---|---|---|---|---|"]
    names = {"cold": "`make verify`, cold", "warm": "`make verify`, warm", "audit_cold": "`make audit`, cold",
             "audit_warm": "`make audit`, warm"}
    for label, name in names.items():
        r = mv.get(label)
        if not r:
            continue
        out.append(f"| {name} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | {r['peak_pss_mb']:.0f} | "
                   f"{r['peak_rss_mb']:.0f} | {r['peak_one_process_mb']:.0f} | {r['load_before'][0]:.1f} / "
                   f"{r['load_after'][0]:.1f} | {r['exit']} |")
    out.append("")
    source = "audit_cold" if mv.get("audit_cold") else "cold"
    profile = mv[source].get("profile") or {}
    if profile:
        out += [f"The cold {'`make audit`' if source == 'audit_cold' else '`make verify`'} run's own profile "
                f"({profile.get('jobs')} workers; the parent's CPU "
                f"{profile.get('cpu_parent', 0):.1f} s): CPU seconds and the peak resident memory of the worker "
                "that ran them, by stage.", "",
                "| stage | CPU s | peak MB |", "|---|---|---|"]
        for stage, st in profile.get("stages", {}).items():
            out.append(f"| {stage} | {st['cpu']:.1f} | {st['peak_mb']:.0f} |")
        out += ["", "By theorem, the costliest fifteen (CPU seconds; cvc5 with its wall seconds):", "",
                "| theorem | checks | necessity | tightness (sites) | cvc5 (queries, wall) | peak MB |",
                "|---|---|---|---|---|---|"]
        rows = sorted(profile.get("theorems", []), key=lambda t: -sum(t.get(f"{k}_cpu", 0.0) for k in
                                                                      ("checks", "necessity", "tightness", "cvc5")))
        for t in rows[:15]:
            peak = max(t.get("checks_peak_mb", 0.0), t.get("tightness_peak_mb", 0.0), t.get("cvc5_peak_mb", 0.0))
            out.append(f"| {t['id']} | {t.get('checks_cpu', 0):.2f} | {t.get('necessity_cpu', 0):.2f} | "
                       f"{t.get('tightness_cpu', 0):.2f} ({t.get('sites', 0)}) | {t.get('cvc5_cpu', 0):.2f} "
                       f"({t.get('cvc5_queries', 0)}, {t.get('cvc5_wall', 0):.1f} s) | {peak:.0f} |")
        if profile.get("stopped"):
            out += ["", "Stopped (memory or time): " + "; ".join(profile["stopped"])]
        out.append("")
    second = mv[source].get("second_solver") or {}
    if second:
        out += [f"cvc5 on the cold `make audit` run: {second.get('files')} queries, {second.get('agree')} agree, "
                f"{second.get('disagree')} disagree, {second.get('unknown')} unknown (cvc5 {second.get('unknown_cvc5')}"
                f", Z3 {second.get('unknown_z3')}); the unknowns are mostly cvc5 reaching its 2 s wall-clock limit, "
                "so their number moves with the machine's load.", ""]
    return out
