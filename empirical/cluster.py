"""`limits crosscheck --preset P --cost-model`: what a preset's grids cost on 1, 8 and 64 Ray workers.

For every probe and model: the preset's samples, each sample's seconds from the timed samples on
disk (the fit `limits crosscheck --plan` uses: fixed + per-unit x the probe's `cost(key)`, warm-up
samples left out), grouped into the batches the Ray executor submits (`batches`). The wall time
on W workers is the schedule the executor follows: the batches of one (probe, model) spread over
the workers, the longest first, each probe and model after the previous one (a sweep waits for
its last batch), plus loading the model once on every worker (in parallel), plus the driver's
writes, which no worker can share. Three things stop the scaling: the longest batch of each sweep
(no schedule ends before it), the model loading each worker pays, and the driver's writes, one
fsync'd line per sample. Each is measured here: the batches from the samples' recorded times,
the loading by loading each model once, the writes by appending records of the probe's own size.

Writes results/<preset>/cluster.json and the `cluster-<preset>` block of docs/CLUSTER.md.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from checker.paths import project_root

from .framework import preset_root
from .store import SampleStore, write_json

WORKERS = (1, 8, 64)


def schedule(seconds: list[float], workers: int) -> float:
    """The makespan of batches of these seconds on `workers`, each batch on the worker free first,
    longest batches first (what a pool of idle workers taking the next batch does, in that order)."""
    free = [0.0] * workers
    for s in sorted(seconds, reverse=True):
        i = min(range(workers), key=free.__getitem__)
        free[i] += s
    return max(free) if free else 0.0


def write_seconds(record: dict, count: int = 200) -> float:
    """Seconds the driver spends appending one record like `record` to a SampleStore (fsync included)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SampleStore(Path(tmp) / "samples.jsonl")
        started = time.perf_counter()
        for i in range(count):
            store.append({**record, "key": f"k{i}"})
        return (time.perf_counter() - started) / count


def _typical_record(module, name: str, out: Path) -> dict:
    from .framework import PRESETS, _safe
    for preset in PRESETS:
        path = preset_root(out, preset) / module.NAME / _safe(name) / "samples.jsonl"
        if path.exists():
            records = SampleStore(path).values()
            if records:
                return max(records, key=lambda r: len(json.dumps(r, default=str)))
    return {"value": 0.0}


def load_seconds(name: str, device: str) -> float:
    from .models import load
    started = time.perf_counter()
    load(name, device)
    return time.perf_counter() - started


def cost_model(modules: dict, targets, preset: str, out: Path, device: str = "cpu") -> dict:
    """The figures: one row per probe and model, and the totals on each number of workers."""
    from .cli import _cost, _seconds, sample_timing
    from .executor import batches, opted_in
    rows, loads = [], {}
    for module in modules.values():
        config = module.Config.preset(preset)
        keys = module.keys(config)
        for name in targets(module):
            timing = sample_timing(module, name, out, preset)
            row: dict = {"probe": module.NAME, "model": name, "samples": len(keys),
                         "timing": timing["source"] if timing else None}
            if timing is None:
                rows.append(row)
                continue
            own_model = not getattr(module, "NEEDS_MODEL", True)
            if not own_model and name not in loads:
                loads[name] = load_seconds(name, device)
            per_key = {k: _seconds(timing["wall"], [_cost(module, k, config)]) for k in keys}
            # a probe without `sample` runs in the driver's process: one batch, whatever the workers
            work = batches(module, keys, config) if opted_in(module) else [keys]
            grouped = [sum(per_key[k] for k in batch) for batch in work]
            writes = write_seconds(_typical_record(module, name, out))
            row.update({"seconds_per_sample": sum(per_key.values()) / len(keys), "batches": len(grouped),
                        "on_workers": opted_in(module),
                        "longest_batch": max(grouped), "load_seconds": loads.get(name, 0.0),
                        "write_seconds": writes, "driver_seconds": writes * len(keys),
                        "wall": {str(w): schedule(grouped, w) for w in WORKERS}})
            rows.append(row)
    timed = [r for r in rows if "wall" in r]
    farmed = [r for r in timed if r["on_workers"]]
    totals, on_workers = {}, {}
    for w in WORKERS:
        on_workers[str(w)] = sum(max(r["wall"][str(w)], r["driver_seconds"]) for r in farmed) / 3600
        # each model loads once per worker, in parallel; the driver writes while workers compute, but
        # never faster than its own writes: a sweep takes at least those
        compute = sum(max(r["wall"][str(w)], r["driver_seconds"]) for r in timed)
        load = sum(loads.values())
        totals[str(w)] = {"hours": (compute + load) / 3600,
                          "floor_longest_batch_hours": sum(r["longest_batch"] for r in timed) / 3600,
                          "floor_driver_hours": sum(r["driver_seconds"] for r in timed) / 3600,
                          "load_hours": load / 3600}
    one = totals[str(WORKERS[0])]["hours"]
    return {"preset": preset, "workers": list(WORKERS), "rows": rows, "totals": totals, "on_workers": on_workers,
            "speedup": {str(w): one / totals[str(w)]["hours"] if totals[str(w)]["hours"] else None for w in WORKERS},
            "untimed": [f"{r['probe']} on {r['model']}" for r in rows if "wall" not in r]}


def _h(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.2f}" if hours < 10 else f"{hours:,.1f}"


def cluster_block(data: dict) -> str:
    """The cost model as markdown (the `cluster-<preset>` block of docs/CLUSTER.md)."""
    ws = data["workers"]
    lines = [f"Preset `{data['preset']}`: samples x measured seconds a sample, batched as the Ray executor submits "
             "them, scheduled on W single-threaded workers (longest batch first; each probe and model after the "
             "previous one). Hours of wall time; the longest batch bounds each sweep from below.", "",
             "| probe | model | samples | s / sample | batches | longest batch (s) | "
             + " | ".join(f"hours on {w}" for w in ws) + " | timing |",
             "|---|---|---|---|---|---|" + "---|" * len(ws) + "---|"]
    for r in data["rows"]:
        if "wall" not in r:
            lines.append(f"| {r['probe']} | {r['model']} | {r['samples']:,} | - | - | - | "
                         + " | ".join("-" for _ in ws) + " | no timed sample |")
            continue
        lines.append(f"| {r['probe']} | {r['model']} | {r['samples']:,} | {r['seconds_per_sample']:.2f} | "
                     f"{r['batches']:,} | {r['longest_batch']:.0f} | "
                     + " | ".join(_h(r["wall"][str(w)]) for w in ws) + f" | {r['timing']}"
                     + ("" if r.get("on_workers", True) else "; no `sample` yet: runs in the driver") + " |")
    t = data["totals"]
    lines.append("| all (with model loading and the driver's writes) | | "
                 f"{sum(r['samples'] for r in data['rows']):,} | | | | "
                 + " | ".join(f"{t[str(w)]['hours']:.2f}" if t[str(w)]['hours'] < 10 else f"{t[str(w)]['hours']:,.1f}"
                              for w in ws) + " | |")
    last = t[str(ws[-1])]
    speed = ", ".join(f"{data['speedup'][str(w)]:.1f}x on {w}" for w in ws[1:] if data["speedup"][str(w)])
    lines += ["", f"Speed-up over one worker: {speed}. On {ws[-1]} workers the floors are: the longest batch of "
              f"every sweep, {last['floor_longest_batch_hours']:.2f} h in all; loading the models on every worker, "
              f"{last['load_hours'] * 3600:.0f} s; the driver's writes, {last['floor_driver_hours'] * 3600:.1f} s "
              "(one fsync'd line per sample)."]
    if len([r for r in data["rows"] if r.get("on_workers")]) < len([r for r in data["rows"] if "wall" in r]):
        farmed = data["on_workers"]
        lines.append("The probes that compute their samples on workers (those with `sample`), alone: "
                     + ", ".join(f"{farmed[str(w)]:.2f} h on {w}" for w in ws)
                     + f" ({farmed[str(ws[0])] / farmed[str(ws[-1])]:.1f}x on {ws[-1]}); a probe without `sample` "
                     "runs in the driver and takes as long on any number of workers.")
    if data["untimed"]:
        lines.append(f"Not timed yet (left out of the totals): {', '.join(data['untimed'])}.")
    return "\n".join(lines) + "\n"


def main(args, preset: str, modules: dict, out: Path) -> int:
    from checker.reports import blocks

    from .cli import _targets
    data = cost_model(modules, lambda m: _targets(m, args), preset, out,
                      "cpu" if args.device == "auto" else args.device)
    write_json(preset_root(out, preset) / "cluster.json", data)
    text = cluster_block(data)
    print(text)
    doc = project_root() / "docs" / "CLUSTER.md"
    ours = Path(out).resolve() == (project_root() / "results").resolve()
    if ours and blocks.update(doc, {f"cluster-{preset}": text}):
        print(f"updated cluster-{preset} in docs/CLUSTER.md", file=sys.stderr)
    return 0
