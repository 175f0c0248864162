"""`python -m bench [--fresh] [--threads N] [--quick]`: run every benchmark, write
bench/results.json and bench/RESULTS.md.

The section *peers* measures TransformerLens and nnsight beside the probe, each in a virtual
environment of its own under build/bench/envs (created on first use from bench/peers/*.txt).

The machine is shared and noisy, so every figure that matters is a ratio of two timings (or
two memory peaks) taken in the same run, side by side. Each section is saved under
build/bench/ as soon as it finishes; a run that is interrupted resumes at the first missing
section (same code, same settings), and a finished run is started afresh by the next one.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from checker.paths import project_root
from checker.reports import blocks

from . import checker_bench, peer_envs
from .report import headline_block, markdown

ROOT = project_root()
STATE = ROOT / "build" / "bench"
LENGTHS = (512, 1024, 2048, 4096, 8192)
SWEEP_LENGTHS = (512, 1024, 2048)
SWEEP_DEPTHS = (0.1, 0.3, 0.5, 0.7, 0.9)       # the needle probe's full-grid depths
GiB = 1 << 30
DEVICE = ["cpu"]        # set from --device before any model measurement


def _fingerprint(args) -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "bench").glob("*.py")) + sorted((ROOT / "bench" / "peers").glob("*.txt")):
        digest.update(path.read_bytes())
    digest.update(json.dumps([args.threads, args.quick, args.device, platform.python_version()]).encode())
    return digest.hexdigest()[:16]


def _mem_available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 8 * GiB


def _child(args: list[str], threads: int, cap: int | None = None, timeout: float = 1800,
           module: str = "bench.model_child", python: str = sys.executable) -> dict:
    env = {**os.environ, "BENCH_THREADS": str(threads), "PYTHONPATH": str(ROOT), "BENCH_DEVICE": DEVICE[0]}
    if cap:
        env["BENCH_CAP_BYTES"] = str(cap)
    proc = subprocess.run([python, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def section_verify(args) -> dict:
    return {"make_verify": checker_bench.verify_timings(sys.executable),
            "import": checker_bench.import_timing(sys.executable)}


def section_reach(args) -> dict:
    return {"checks": checker_bench.reach_all(workers=args.workers), "cap": checker_bench.CAP}


def section_encodings(args) -> dict:
    return {"diagonal": checker_bench.diagonal_encodings(), "crowding": checker_bench.crowding_direct()}


def section_attention(args) -> dict:
    lengths = ",".join(str(n) for n in (LENGTHS[:3] if args.quick else LENGTHS))
    cap = min(12 * GiB, int(0.6 * _mem_available()))
    out: dict[str, Any] = {"cap_bytes": cap, "machine_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")}
    for mode in ("plain", "probe", "eager"):
        out[mode] = _child(["attention", mode, lengths], args.threads, cap=cap if mode == "eager" else None)
        print(f"  attention {mode}: " + ", ".join(
            f"{p['N']}: " + ("OOM" if p.get("oom") else f"{p['seconds']:.1f} s") for p in out[mode]["points"]),
            file=sys.stderr)
    return out


def section_sweep(args) -> dict:
    lengths = SWEEP_LENGTHS[:2] if args.quick else SWEEP_LENGTHS
    return _child(["sweep", ",".join(map(str, lengths)), ",".join(map(str, SWEEP_DEPTHS))], args.threads)


def section_flops(args) -> dict:
    return _child(["flops", "512,2048"], args.threads)


PEER_METHODS = (("transformer_lens", "run_with_cache"), ("transformer_lens", "hook"),
                ("nnsight", "eager"), ("nnsight", "qk"))


def section_peers(args) -> dict:
    """The probe beside TransformerLens and nnsight: one child process per method, each peer in
    its own environment; the probe's rows are saved first and every peer is compared with them."""
    lengths = ",".join(str(n) for n in (LENGTHS[:3] if args.quick else LENGTHS))
    cap = min(12 * GiB, int(0.6 * _mem_available()))
    rows_dir = STATE / "peer_rows"
    shutil.rmtree(rows_dir, ignore_errors=True)        # every peer is compared with this run's probe
    out: dict[str, Any] = {"load_average": [os.getloadavg()[0]], "cores": os.cpu_count(), "cap_bytes": cap,
                           "machine_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
                           "probe": _child(["probe", "rows", lengths, str(rows_dir)], args.threads, cap=cap,
                                           timeout=4 * 3600, module="bench.peer_child"),
                           "methods": []}
    for tool, method in PEER_METHODS:
        try:
            python = str(peer_envs.ensure(tool))
            result = _child([tool, method, lengths, str(rows_dir)], args.threads, cap=cap, timeout=4 * 3600,
                            module="bench.peer_child", python=python)
        except (RuntimeError, OSError, subprocess.SubprocessError) as err:
            # one peer that cannot be installed or run leaves the others measured, and says why
            print(f"  peers {tool}/{method} failed: {err}", file=sys.stderr)
            result = {"tool": tool, "method": method, "points": [], "error": str(err).strip().splitlines()[-1][:300]}
        out["methods"].append(result)
    out["load_average"].append(os.getloadavg()[0])     # the machine is shared: how busy it was
    return out


def section_executor(args) -> dict:
    """The local executor against Ray with two single-threaded workers (empirical/executor.py), on
    the halting probe's samples: wall time, identity of the samples, Ray's overhead per task."""
    sizes, programs = ("3,6", 2) if args.quick else ("3,6,10,14", 4)
    return _child([sizes, str(programs), str(STATE / "executor")], args.threads, timeout=3600,
                  module="bench.executor_child")


SECTIONS = {"verify": section_verify, "reach": section_reach, "encodings": section_encodings,
            "attention": section_attention, "peers": section_peers, "sweep": section_sweep,
            "flops": section_flops, "executor": section_executor}


def register(sub) -> None:
    parser = sub.add_parser("bench", help="speed, memory and reach against baselines (bench/RESULTS.md)",
                            description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.set_defaults(run=lambda args: run(args, parser))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv), parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fresh", action="store_true", help="ignore the saved sections of an interrupted run")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads (default: all cores)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="parallel reach measurements (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda for the model measurements (default cpu)")
    parser.add_argument("--quick", action="store_true", help="short lengths only (a smoke run; not for RESULTS.md)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--redo", default="", help="comma-separated sections of the last run to measure again, "
                        "keeping the others (every ratio is taken within one section)")
    parser.add_argument("--report", action="store_true", help="only write RESULTS.md from the saved run")
    parser.add_argument("--out", default=str(ROOT / "bench"), help="where results.json and RESULTS.md go")


def run(args, parser: argparse.ArgumentParser) -> int:
    DEVICE[0] = args.device
    if args.device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            parser.error("--device cuda was asked for, but no GPU is available here")
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")

    STATE.mkdir(parents=True, exist_ok=True)
    state_file = STATE / "state.json"
    fingerprint = _fingerprint(args)
    redo = [x.strip() for x in args.redo.split(",") if x.strip()]
    committed = Path(args.out) / "results.json"
    if state_file.exists():
        state = json.loads(state_file.read_text())
    elif (args.report or redo) and committed.exists():
        state = json.loads(committed.read_text())   # a fresh checkout completes the committed run
    else:
        state = {}
    if [x for x in redo if x not in SECTIONS]:
        parser.error(f"unknown section(s) to redo; choose from {', '.join(SECTIONS)}")
    if args.report or redo:
        if not state.get("sections"):
            parser.error("no saved run in build/bench to report on or to complete")
        for name in redo:
            added = name not in state["sections"]
            state["sections"].pop(name, None)
            state.setdefault("redone", []).append({"section": name, "at": time.strftime("%Y-%m-%d %H:%M:%S"),
                                                   **({"added": True} if added else {})})
        state["fingerprint"], state["complete"] = fingerprint, False
        wanted = redo
    elif args.fresh or state.get("fingerprint") != fingerprint or state.get("complete"):
        state = {"fingerprint": fingerprint, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                 "sections": {}, "complete": False}
    elif state["sections"]:
        print(f"resuming the run started {state['started']}: {', '.join(state['sections'])} already done",
              file=sys.stderr)
    started = time.perf_counter()
    for name in wanted:
        if name in state["sections"]:
            continue
        print(f"bench: {name} ...", file=sys.stderr)
        t0 = time.perf_counter()
        result = SECTIONS[name](args)
        result["section_seconds"] = time.perf_counter() - t0
        state["sections"][name] = result
        tmp = state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(state_file)                      # a section is saved whole or not at all
        print(f"bench: {name} done in {result['section_seconds']:.0f} s", file=sys.stderr)
    state["complete"] = True
    state["seconds_this_invocation"] = time.perf_counter() - started
    if not ((args.report or redo) and state.get("environment")):
        state["environment"] = environment(args)      # a re-rendered or completed run keeps its own
    state_file.write_text(json.dumps(state))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(state, indent=1) + "\n")
    text, missed = markdown(state)
    (out / "RESULTS.md").write_text(text)
    print(text)
    if out.resolve() == (ROOT / "bench").resolve() and not args.quick:
        blocks.update(ROOT / "README.md", {"bench": headline_block(state)})
    return 0


def environment(args) -> dict:
    info = {"python": platform.python_version(), "machine": platform.machine(),
            "cores": os.cpu_count(), "threads": args.threads, "quick": args.quick, "device": args.device}
    try:
        import z3
        info["z3"] = z3.get_version_string()
    except ImportError:
        pass
    from importlib.metadata import PackageNotFoundError, version
    for package in ("torch", "transformers", "cvc5", "sympy"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            pass
    try:
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                           if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                        text=True).stdout.strip()
    except OSError:
        pass
    return info
