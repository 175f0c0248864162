"""`python -m bench.executor_child PROBE SIZES PROGRAMS WORKDIR`: the local executor against Ray with
two single-threaded workers, on the halting probe's samples with SmolLM2, in a process of its own.

Prints one JSON line: the sweep's wall time on each executor (models already loaded: Ray's start
and the workers' loading are reported apart; the local sweep on the bench's threads and on one, the
workers' count), whether the samples are identical (timing fields left out; at equal threads they
must be), the seconds the samples took where they ran, and Ray's overhead per task two ways: the
round trip of an empty actor call, and what a sweep task costs beyond its sample's own time."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path


def _strip(path: Path) -> dict:
    timing = {"seconds", "cpu_seconds", "warmup"}
    return {r["key"]: {k: v for k, v in r.items() if k not in timing}
            for r in map(json.loads, path.read_text().splitlines())}


def _largest_difference(a: dict, b: dict) -> dict:
    """Between two runs' samples: the largest difference of a number, and the samples whose other
    fields (answers, verdict inputs that are not floats) differ."""
    largest, other = 0.0, 0

    def walk(x, y) -> bool:
        nonlocal largest
        if isinstance(x, float) and isinstance(y, float):
            largest = max(largest, abs(x - y))
            return True
        if isinstance(x, dict) and isinstance(y, dict) and x.keys() == y.keys():
            return all([walk(x[k], y[k]) for k in x])
        if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            return all([walk(u, v) for u, v in zip(x, y)])
        return x == y
    for key in a:
        if not walk(a[key], b.get(key)):
            other += 1
    return {"float": largest, "samples_otherwise_different": other}


def main(argv: list[str]) -> dict:
    sizes, programs, work = tuple(int(x) for x in argv[0].split(",")), int(argv[1]), Path(argv[2])
    threads = int(os.environ.get("BENCH_THREADS", "2"))
    import torch
    torch.set_num_threads(threads)
    import ray

    from empirical.executor import LOCAL, RayExecutor
    from empirical.framework import ProbeRun
    from empirical.models import load
    from empirical.probes import halting
    shutil.rmtree(work, ignore_errors=True)
    config = dataclasses.replace(halting.Config(), sizes=sizes, programs=programs)
    keys = halting.keys(config)

    loaded = load("smollm2", "cpu")
    local = ProbeRun(halting.NAME, "smollm2", config, loaded.info(), "cpu", root=work / "local")
    t0 = time.perf_counter()
    LOCAL.sweep(local, halting, loaded)
    local_seconds = time.perf_counter() - t0
    # the same in one thread: the workers' thread count, so the samples must be identical to theirs
    torch.set_num_threads(1)
    single = ProbeRun(halting.NAME, "smollm2", config, loaded.info(), "cpu", root=work / "local-1")
    t0 = time.perf_counter()
    LOCAL.sweep(single, halting, loaded)
    single_seconds = time.perf_counter() - t0
    torch.set_num_threads(threads)

    t0 = time.perf_counter()
    ex = RayExecutor(num_cpus=2, workers=2, threads=1)
    started = time.perf_counter() - t0
    t0 = time.perf_counter()
    remote = ex.remote_model("smollm2", "cpu")
    loading = time.perf_counter() - t0
    actor = ex.pool("smollm2", "cpu")[0]
    ray.get(actor.pid.remote())
    t0 = time.perf_counter()
    calls = 200
    for _ in range(calls):
        ray.get(actor.pid.remote())
    round_trip = (time.perf_counter() - t0) / calls
    on_ray = ProbeRun(halting.NAME, "smollm2", config, remote.info(), "cpu", root=work / "ray")
    on_ray.executor = ex
    t0 = time.perf_counter()
    ex.sweep(on_ray, halting, remote)
    ray_seconds = time.perf_counter() - t0
    ex.shutdown()

    records = [json.loads(line) for line in (on_ray.dir / "samples.jsonl").read_text().splitlines()]
    worker_seconds = sum(r["seconds"] for r in records)
    local_records = [json.loads(line) for line in (local.dir / "samples.jsonl").read_text().splitlines()]
    ray_samples = _strip(on_ray.dir / "samples.jsonl")
    return {"probe": "halting", "model": "smollm2", "sizes": list(sizes), "programs": programs,
            "samples": len(keys), "local_threads": threads, "workers": 2, "worker_threads": 1,
            "local_seconds": local_seconds, "ray_seconds": ray_seconds, "ray_start_seconds": started,
            "ray_loading_seconds": loading, "local_sample_seconds": sum(r["seconds"] for r in local_records),
            "worker_sample_seconds": worker_seconds, "empty_call_seconds": round_trip,
            # per task: the two workers' busy time beyond their samples' own, over the tasks
            "overhead_per_task_seconds": max(0.0, (2 * ray_seconds - worker_seconds) / len(keys)),
            "single_seconds": single_seconds,
            "identical_single": _strip(single.dir / "samples.jsonl") == ray_samples,
            "identical": _strip(local.dir / "samples.jsonl") == ray_samples,
            "largest_difference": _largest_difference(_strip(local.dir / "samples.jsonl"), ray_samples),
            "load_average": os.getloadavg()[0], "cores": os.cpu_count()}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
