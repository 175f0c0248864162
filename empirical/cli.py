"""`python -m empirical crosscheck [--preset cpu|standard|full] [--plan] [--models ...] [--probes ...]`.

Loads each model once, runs each probe on it (resuming whatever an earlier run finished),
runs once each probe that trains its own models (NEEDS_MODEL = False: the multimodal probe),
and writes `results/crosscheck.json` and `results/CROSSCHECK.md`: every verified bound of
`proofs/` beside the measurement that confronts it, with a verdict.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time
from pathlib import Path

from checker.paths import project_root, results, shown
from checker.reports import blocks

from . import executor as executors
from .figures import counterexamples_block, crosscheck_block, plan_block, plan_total_block, read_jsonl
from .framework import PRESETS, RESULTS, ConfigMismatch, ProbeRun, preset_name, preset_root
from .models import DEFAULT_MODEL, ModelUnavailable, load, pick_device
from .store import CorruptResults, write_json

# Probe modules in the order they run; each confronts the statement ids it lists.
PROBES = ["needle", "attenuation", "position_loss", "mediation", "halting", "retrieval", "temperature",
          "multimodal", "abstention", "traces", "diagonal", "breadth",
          "facts"]
MODELS = ["smollm2", "gemma3"]


def register(sub) -> None:
    """Add crosscheck, counterexamples and replay to a parser's subcommands. Importing this
    module does not import torch; running a subcommand does."""
    cc = sub.add_parser("crosscheck", help="run the probes and put each bound beside its measurement")
    cc.add_argument("--preset", choices=PRESETS, default="cpu",
                    help="cpu: minutes, results/<probe>/<model> (default); standard: sized by each verdict's "
                         "power analysis, hours, results/standard/...; full: the whole grids, results/full/...")
    cc.add_argument("--full", action="store_true", help="the same as --preset full")
    cc.add_argument("--plan", action="store_true",
                    help="print, probe by model, the samples the preset asks for, those on disk, each verdict's "
                         "power analysis and the estimated time; runs no long work")
    cc.add_argument("--markdown", action="store_true", help="with --plan: markdown tables")
    cc.add_argument("--time-samples", type=int, default=3, metavar="N",
                    help="with --plan: where no sample of a probe carries its time yet, measure N of the preset's "
                         "samples (kept, the run resumes past them; the first is a warm-up the estimate leaves "
                         "out); 0: time nothing (default 3)")
    cc.add_argument("--models", default=",".join(MODELS), help=f"comma-separated (default {','.join(MODELS)})")
    cc.add_argument("--probes", default=",".join(PROBES), metavar="NAMES",
                    help=f"comma-separated, from: {', '.join(PROBES)} (default: all)")
    cc.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    cc.add_argument("--out", default=str(RESULTS), help="results folder (default results)")
    cc.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    cc.add_argument("--cost-model", action="store_true",
                    help="the preset's wall time on 1, 8 and 64 Ray workers from the samples' recorded seconds, "
                         "with what stops the scaling (results/PRESET/cluster.json, docs/CLUSTER.md); runs no probe")
    executors.add_arguments(cc)
    ce = sub.add_parser("counterexamples", help="verified inputs where each model is wrong (H-1, H-2, H-3, Rt-4)")
    ce.add_argument("--models", default=",".join(MODELS), help=f"comma-separated (default {','.join(MODELS)})")
    ce.add_argument("--out", default=str(RESULTS / "counterexamples"),
                    help="output folder (default results/counterexamples)")
    ce.add_argument("--b", type=int, default=3, help="H-2: failing inputs per model (default 3)")
    ce.add_argument("--max-queries", type=int, default=60, help="queries tried per model and decoding (default 60)")
    ce.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    ce.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    executors.add_arguments(ce)
    ce.add_argument("--export-only", action="store_true",
                    help="only rewrite the lm-eval export (OUT/lm_eval) from OUT/counterexamples.jsonl")
    rp = sub.add_parser("replay", help="re-run a counterexample file and report which failures reproduce")
    rp.add_argument("file", help="a counterexamples .jsonl file")
    rp.add_argument("--model", default=None, help="ask this model instead of each record's own")
    rp.add_argument("--theorem", default=None, help="only the records of this statement (e.g. H-2)")
    rp.add_argument("--model-of-record", default=None, metavar="MODEL",
                    help="only the records made on this model (e.g. smollm2)")
    rp.add_argument("--count", type=int, default=None, metavar="N", help="only the first N records (after the filters)")
    rp.add_argument("--quiet", action="store_true", help="no progress line per record on stderr")
    rp.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    rp.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    for p in (cc, ce, rp):
        p.set_defaults(run=run)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m empirical")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def available_probes() -> list[str]:
    return [p for p in PROBES if importlib.util.find_spec(f"empirical.probes.{p}") is not None]


def main(argv: list[str] | None = None) -> int:
    return run(_parser().parse_args(argv))


def run(args) -> int:
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    if args.command == "counterexamples":
        return counterexamples_main(args)
    if args.command == "replay":
        from .replay import main as replay_main
        return replay_main(args.file, args.model, args.device, theorem=args.theorem,
                           model_of_record=args.model_of_record, count=args.count, quiet=args.quiet)
    probes = [p.strip() for p in args.probes.split(",") if p.strip()]
    unknown = [p for p in probes if p not in PROBES]
    if unknown:
        print(f"error: unknown probe(s) {', '.join(unknown)}; choose from {', '.join(PROBES)}", file=sys.stderr)
        return 2
    probes = [p for p in probes if p in available_probes()]
    out = Path(args.out)
    started = time.time()
    modules = {p: importlib.import_module(f"empirical.probes.{p}") for p in probes}
    for module in modules.values():     # the code as imported: a summary names the code that made it
        probe_code_sha256(module)
    preset = "full" if getattr(args, "full", False) else getattr(args, "preset", "cpu")
    if getattr(args, "plan", False):
        return plan_main(args, preset, modules, out)
    if getattr(args, "cost_model", False):
        from .cluster import main as cost_model_main
        return cost_model_main(args, preset, modules, out)
    try:
        executor = executors.from_args(args)
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        if _run_all(args, modules, probes, preset, out, executor):
            return 2
    finally:
        executors.shutdown(executor)
    # The report covers every probe and model that has results in the folder, not only the
    # ones run this time: running one probe again must not drop the others' verdicts.
    collected = collect_verdicts(out)
    report = {"verdicts": collected, "seconds": round(time.time() - started, 1), "full": preset == "full",
              "preset": preset}
    write_json(out / "crosscheck.json", report)
    command = "make crosscheck" if _is_project_results(out) and preset == "cpu" else \
        " ".join(["limits crosscheck", *([f"--preset {preset}"] if preset != "cpu" else []),
                  *([] if _is_project_results(out) else [f"--out {shown(out)}"])])
    (out / "CROSSCHECK.md").write_text(markdown(collected, command))
    counts: dict[str, int] = {}
    for v in collected:
        counts[v["verdict"]] = counts.get(v["verdict"], 0) + 1
    # each verdict was printed as its probe finished; the summary names the table
    print(f"crosscheck: {len(collected)} verdicts ({', '.join(f'{n} {w}' for w, n in sorted(counts.items()))}); "
          f"the table is in {shown(out / 'CROSSCHECK.md')}")
    _update_documents(out, {"crosscheck": crosscheck_block(report)})
    return 0


def _run_all(args, modules: dict, probes: list[str], preset: str, out: Path, executor) -> int:
    """Every probe asked for, on its executor (see empirical/executor.py); 2 on an error."""
    # A probe with NEEDS_MODEL = False (it trains its own models) runs once, under its LABEL,
    # and never makes the command load a pretrained model.
    own = [p for p in probes if not getattr(modules[p], "NEEDS_MODEL", True)]
    per_model = [p for p in probes if p not in own]
    for probe_name in own:
        module = modules[probe_name]
        try:
            device = executors.device_for(executor, args.device)
        except ModelUnavailable as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        if not _run_probe(module, module.LABEL, module.model_info(device), device, None, preset, out, executor):
            return 2
    names = [m.strip() for m in args.models.split(",") if m.strip()] or [DEFAULT_MODEL]
    for name in names if per_model else []:
        # A probe whose every sample is on disk and whose summary is current needs no model:
        # a run with nothing left to do loads none.
        todo = [p for p in per_model if not finished(modules[p], name, out, preset)]
        for probe_name in per_model:
            if probe_name not in todo:
                print(f"{probe_name} on {name}: finished by an earlier run (samples, statements and code "
                      f"unchanged)", file=sys.stderr)
        if not todo:
            continue
        # under Ray, the probes with `sample` read the model on the workers; the others here
        remote = [p for p in todo if executor is not executors.LOCAL and executors.opted_in(modules[p])]
        loaded = _load_or_report(name, args.device) if len(remote) < len(todo) else None
        if len(remote) < len(todo) and loaded is None:
            return 2
        try:
            on_workers = executor.remote_model(name, executors.device_for(executor, args.device)) if remote else None
        except ModelUnavailable as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        for probe_name in todo:
            model = on_workers if probe_name in remote else loaded
            assert model is not None
            if not _run_probe(modules[probe_name], name, model.info(), model.device, model, preset, out, executor):
                return 2
    return 0


def _is_project_results(out: Path) -> bool:
    return Path(out).resolve() == results().resolve()


_CODE_HASHES: dict[str, str] = {}


def probe_code_sha256(module) -> str:
    """A hash of the probe's module and the framework its verdicts go through, as they were when
    this process first asked: the code it runs, even if the files are edited while it runs."""
    import hashlib
    name = module.__name__
    if name not in _CODE_HASHES:
        digest = hashlib.sha256()
        here = Path(__file__).resolve().parent
        for path in (Path(module.__file__), here / "framework.py", here / "stats.py"):
            digest.update(path.read_bytes())
        _CODE_HASHES[name] = digest.hexdigest()
    return _CODE_HASHES[name]


def finished(module, model_name: str, out: Path, full: bool | str = False) -> bool:
    """Whether a probe's results for a model are complete and current: every sample of the
    preset recorded, a summary made from all of them by the same probe code, with verdicts whose
    statements in proofs/ are unchanged. `full`: the preset, by name or as the old bool."""
    import dataclasses
    import json

    from checker.statements import StatementError, statement_hash

    from .framework import _safe
    from .store import SampleStore
    folder = preset_root(out, full) / module.NAME / _safe(model_name)
    summary_file, samples_file = folder / "summary.json", folder / "samples.jsonl"
    if not summary_file.exists() or not samples_file.exists():
        return False
    try:
        summary = json.loads(summary_file.read_text())
    except json.JSONDecodeError:
        return False
    config = module.Config.preset(preset_name(full))
    if summary.get("config") != json.loads(json.dumps(dataclasses.asdict(config))):
        return False
    if summary.get("probe_code_sha256") != probe_code_sha256(module):
        return False
    try:
        store = SampleStore(samples_file)
        if any(key not in store for key in module.keys(config)) or summary.get("samples") != len(store.records):
            return False
        return all(statement_hash(v["theorem"]) == v.get("statement_sha256") for v in summary.get("verdicts", []))
    except (StatementError, CorruptResults, KeyError):
        return False


# What 2 torch threads gain over one on small-model inference (small matrices parallelize poorly):
# CPU seconds / IDLE_SPEEDUP estimates the wall time on an idle 2-core machine.
IDLE_SPEEDUP = 1.5


def _targets(module, args) -> list[str]:
    if not getattr(module, "NEEDS_MODEL", True):
        return [module.LABEL]
    return [m.strip() for m in args.models.split(",") if m.strip()] or [DEFAULT_MODEL]


def _config_of(module, folder: Path):
    """The preset config whose samples a folder holds (None if none of the presets')."""
    import dataclasses
    import json
    saved = folder / "config.json"
    if not saved.exists():
        return None
    held = json.loads(saved.read_text())
    for p in PRESETS:
        config = module.Config.preset(p)
        if json.loads(json.dumps(dataclasses.asdict(config))) == held:
            return config
    return None


def _cost(module, key: str, config) -> float:
    return float(module.cost(key, config)) if hasattr(module, "cost") else 1.0


def sample_timing(module, name: str, out: Path, preset: str, own_only: bool = False) -> dict | None:
    """Seconds of one sample as fixed + per_unit x cost (the probe's `cost(key, config)`, 1 a sample
    by default), least squares through the timed samples on disk (warm-up samples left out), for
    wall-clock and CPU time: the preset's own folder first, else (unless `own_only`) another
    preset's. None if no sample carries its time."""
    from .framework import _safe
    from .store import SampleStore
    order = [preset] + ([] if own_only else [p for p in PRESETS if p != preset])
    for p in order:
        folder = preset_root(out, p) / module.NAME / _safe(name)
        config = _config_of(module, folder)
        if config is None or not (folder / "samples.jsonl").exists():
            continue
        timed = [r for r in SampleStore(folder / "samples.jsonl").values() if "seconds" in r]
        warm = [r for r in timed if not r.get("warmup")]
        warm_only = bool(timed) and not warm
        timed = warm or timed                      # a warm-up sample only if nothing else is timed
        if not timed:
            continue
        costs = [_cost(module, r["key"], config) for r in timed]
        cpu = [float(r["cpu_seconds"]) for r in timed if "cpu_seconds" in r]
        return {"wall": _time_model(costs, [float(r["seconds"]) for r in timed]),
                "cpu": _time_model(costs, cpu) if len(cpu) == len(timed) else None,
                "samples": len(timed), "warm_only": warm_only,
                "source": f"{len(timed)} timed sample{'s' * (len(timed) > 1)} ({p}"
                          + (", warm-up only" if warm_only else "") + ")"}
    return None


def _time_model(costs: list[float], seconds: list[float]) -> tuple[float, float]:
    """(fixed, per_unit) with seconds ~ fixed + per_unit x cost: least squares where the costs
    differ and both come out non-negative, else all of it per unit."""
    n = len(costs)
    mc, ms = sum(costs) / n, sum(seconds) / n
    sxx = sum((c - mc) ** 2 for c in costs)
    if sxx > 0:
        slope = sum((c - mc) * (s - ms) for c, s in zip(costs, seconds)) / sxx
        fixed = ms - slope * mc
        if slope >= 0 and fixed >= 0:
            return fixed, slope
    return 0.0, sum(seconds) / sum(costs)


def _seconds(model: tuple[float, float], costs: list[float]) -> float:
    fixed, per_unit = model
    return fixed * len(costs) + per_unit * sum(costs)


def _time_some(module, name: str, loaded, device: str, preset: str, out: Path, count: int) -> str | None:
    """Measure `count` of the preset's pending samples in the preset's own folder (they are kept
    and the run later resumes past them): a cheap one first, which pays for the warm-up and is
    left out of the estimates, then the costliest and further ones across the cost range."""
    from .framework import TimedRun, TimingDone
    config = module.Config.preset(preset)
    info = loaded.info() if loaded is not None else module.model_info(device)
    run = TimedRun(module.NAME, name, config, info, device, root=preset_root(out, preset), only=[])
    pending = sorted(run.pending(module.keys(config)), key=lambda k: _cost(module, k, config))
    if not pending:
        return None
    chosen = [pending[0]] + ([pending[-1]] if len(pending) > 1 else [])
    rest = pending[1:-1]
    step = max(1, len(rest) // max(1, count - 2))
    chosen += rest[::step][:max(0, count - 2)]
    run.only = chosen[:max(1, count)]
    try:
        module.run(run, loaded)
    except TimingDone:
        pass
    return f"timed {len(run.only)} sample(s) of {module.NAME} on {name}"


def plan_main(args, preset: str, modules: dict, out: Path) -> int:
    """`--plan`: probe by model, the samples the preset asks for and those on disk, each verdict's
    power analysis and the time left, from the samples' recorded seconds (or a short timed run)."""
    from .framework import _safe
    from .power import fmt_n
    from .store import SampleStore
    count = max(0, getattr(args, "time_samples", 3))
    # 1. timing: probes none of whose samples in this preset carry a time get a short timed run (a
    #    model loaded once); with --time-samples 0, another preset's timed samples stand in
    if count:
        by_model: dict[str, list] = {}
        for module in modules.values():
            for name in _targets(module, args):
                timed = sample_timing(module, name, out, preset, own_only=True)
                if timed is None or timed["warm_only"]:
                    by_model.setdefault(name, []).append(module)
        for name, todo in by_model.items():
            own = [m for m in todo if not getattr(m, "NEEDS_MODEL", True)]
            loaded = None if len(own) == len(todo) else _load_or_report(name, args.device)
            if loaded is None and len(own) < len(todo):
                return 2
            device = loaded.device if loaded is not None else pick_device(args.device)
            for module in todo:
                try:
                    said = _time_some(module, name, loaded, device, preset, out, count)
                except (ConfigMismatch, CorruptResults, ModelUnavailable) as err:
                    print(f"error: {err}", file=sys.stderr)
                    return 2
                if said:
                    print(said, file=sys.stderr)
    # 2. the table
    rows, analyses = [], []
    for module in modules.values():
        config = module.Config.preset(preset)
        keys = module.keys(config)
        for name in _targets(module, args):
            folder = preset_root(out, preset) / module.NAME / _safe(name)
            held = _config_of(module, folder)
            on_disk = 0
            if held == config and (folder / "samples.jsonl").exists():
                store = SampleStore(folder / "samples.jsonl")
                on_disk = sum(k in store for k in keys)
                pending = [k for k in keys if k not in store]
            else:
                pending = list(keys)
            timing = sample_timing(module, name, out, preset)
            left = [_cost(module, k, config) for k in pending]
            every = [_cost(module, k, config) for k in keys]
            row = {"probe": module.NAME, "model": name, "samples": len(keys), "on_disk": on_disk,
                   "config_differs": held is not None and held != config,
                   "seconds_per_sample": None, "hours_left": None, "hours_idle": None, "hours_total": None,
                   "timing": timing["source"] if timing else "no timed sample (run --plan --time-samples 3)"}
            if timing:
                row["seconds_per_sample"] = _seconds(timing["wall"], every) / len(keys)
                row["hours_total"] = _seconds(timing["wall"], every) / 3600
                row["hours_left"] = _seconds(timing["wall"], left) / 3600
                # the process's CPU time over the speed-up 2 threads give: the time on an idle machine
                if timing["cpu"] is not None:
                    row["hours_idle"] = _seconds(timing["cpu"], left) / 3600 / IDLE_SPEEDUP
                else:                       # the probe timed its samples itself (wall clock only)
                    row["hours_idle"] = row["hours_left"]
                row["hours_idle_total"] = (row["hours_total"] if timing["cpu"] is None else
                                           _seconds(timing["cpu"], every) / 3600 / IDLE_SPEEDUP)
            else:
                row["hours_idle_total"] = None
            rows.append(row)
        analyses.append((module.NAME, module.plan(config)))
    text = plan_markdown(preset, rows, analyses) if args.markdown else plan_text(preset, rows, analyses)
    print(text)
    _record_plan(args, out, preset, rows, analyses)
    short = [(probe, r) for probe, reqs in analyses for r in reqs if not r.met and not r.gpu]
    for probe, r in short:
        print(f"note: {probe} {r.theorem}{' (' + r.label + ')' if r.label else ''}: the preset gives "
              f"{fmt_n(r.planned)} {r.unit}, its power analysis asks for {fmt_n(r.needed)}", file=sys.stderr)
    return 0


def _record_plan(args, out: Path, preset: str, rows: list[dict], analyses: list) -> None:
    """A plan of every probe on the default models, into the project's results, is kept as
    `results/<preset>/plan.json` and written into the documents (docs/MEASUREMENTS.md's table,
    the README's total); a plan of a few probes or other models changes nothing on disk."""
    if preset == "cpu" or not _is_project_results(out):
        return
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if models != MODELS or {r["probe"] for r in rows} != set(available_probes()):
        return
    data = {"preset": preset, "idle_speedup": IDLE_SPEEDUP, "rows": rows,
            "analyses": [[probe, [q.to_json() for q in reqs]] for probe, reqs in analyses]}
    write_json(preset_root(out, preset) / "plan.json", data)
    _update_documents(out, {f"plan-{preset}": plan_block(data), f"plan-{preset}-total": plan_total_block(data)})


def _h(x: float | None) -> str:
    return "-" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.1f}")


def plan_markdown(preset: str, rows: list[dict], analyses: list) -> str:
    from .power import fmt_n
    lines = [f"Preset `{preset}`, probe by model: samples asked for and on disk, seconds a sample (from the "
             "samples' recorded times, measured on this machine, warm-up samples left out), hours left as timed, "
             f"and on an idle 2-core machine (CPU time / {IDLE_SPEEDUP}).", "",
             "| probe | model | samples | on disk | s / sample | hours (as timed) | hours (idle 2 cores) | timing |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['probe']} | {r['model']} | {r['samples']:,} | {r['on_disk']:,} | "
                     f"{_h(r['seconds_per_sample'])} | {_h(r['hours_left'])} | {_h(r['hours_idle'])} | "
                     f"{r['timing']}{' (folder holds another config)' if r['config_differs'] else ''} |")
    left = [r["hours_left"] for r in rows]
    idle = [r["hours_idle"] for r in rows]
    lines.append(f"| all | | {sum(r['samples'] for r in rows):,} | {sum(r['on_disk'] for r in rows):,} | | "
                 f"{_h(sum(x for x in left if x is not None))}{'+' if None in left else ''} | "
                 f"{_h(sum(x for x in idle if x is not None))}{'+' if None in idle else ''} | |")
    lines += ["", "Power analysis per verdict (95% confidence, 80% power; empirical/power.py, each probe's "
              "`plan()`):", "",
              "| probe | statement | quantity | test | effect (and why) | needed | preset gives | unit (config) |",
              "|---|---|---|---|---|---|---|---|"]
    for probe, reqs in analyses:
        for q in reqs:
            gives = fmt_n(q.planned) + ("" if q.met else (" (GPU)" if q.gpu else " (short)"))
            note = f" {q.note}." if q.note else ""
            lines.append(f"| {probe} | {q.theorem}{' (' + q.label + ')' if q.label else ''} | {q.quantity} | "
                         f"{q.test} | {q.effect}.{note} | {fmt_n(q.needed)} | {gives} | {q.unit} ({q.mapping}) |")
    return "\n".join(lines).replace("\u00b1", "+-")


def plan_text(preset: str, rows: list[dict], analyses: list) -> str:
    from .power import fmt_n
    out = [f"crosscheck --preset {preset}: samples, time and power analysis", ""]
    width = max(len(f"{r['probe']} on {r['model']}") for r in rows) if rows else 10
    for r in rows:
        out.append(f"  {r['probe'] + ' on ' + r['model']:<{width}}  {r['on_disk']:>6,}/{r['samples']:<6,} samples  "
                   f"{_h(r['seconds_per_sample']):>6} s/sample  {_h(r['hours_left']):>6} h left as timed  "
                   f"{_h(r['hours_idle']):>6} h on 2 idle cores  [{r['timing']}]"
                   + ("  (folder holds another config)" if r["config_differs"] else ""))
    left = [r["hours_left"] for r in rows if r["hours_left"] is not None]
    idle = [r["hours_idle"] for r in rows if r["hours_idle"] is not None]
    out += [f"  total: {_h(sum(left))} h left as timed, {_h(sum(idle))} h on 2 idle cores"
            + (" (some probes untimed)" if len(left) < len(rows) else ""), ""]
    for probe, reqs in analyses:
        for q in reqs:
            status = "ok" if q.met else ("GPU" if q.gpu else "SHORT")
            out.append(f"  [{status:>5}] {probe} {q.theorem}{' (' + q.label + ')' if q.label else ''}: "
                       f"needs {fmt_n(q.needed)} {q.unit}, the preset gives {fmt_n(q.planned)} ({q.mapping})")
            out.append(f"          {q.quantity}; {q.test}; effect: {q.effect}" + (f"; {q.note}" if q.note else ""))
    return "\n".join(out)


def _update_documents(out: Path, contents: dict[str, str]) -> None:
    """A run into the project's own results/ writes its figures into the project's documents."""
    if Path(out).resolve() != results().resolve() and Path(out).resolve().parent != results().resolve():
        return
    for doc in (project_root() / "README.md", *sorted((project_root() / "docs").glob("*.md"))):
        changed = blocks.update(doc, contents)
        if changed:
            print(f"updated {', '.join(changed)} in {shown(doc)}")


def _run_probe(module, name: str, info: dict, device: str, loaded, preset: bool | str, out: Path,
               executor=None) -> bool:
    """Run one probe (resuming what is on disk) on `executor` (this process by default), write its
    summary, print its verdicts."""
    preset = preset_name(preset)
    config = module.Config.preset(preset)
    try:
        run = ProbeRun(module.NAME, name, config, info, device, root=preset_root(out, preset))
        run.executor = executor
        found = module.run(run, loaded)
    except (ConfigMismatch, CorruptResults, ModelUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return False
    run.finish(found, {"probe_code_sha256": probe_code_sha256(module), "preset": preset})
    for v in found:
        print(f"  [{v.verdict:>12}] {v.theorem} {module.NAME}: {v.text}", file=sys.stderr)
    return True


def _load_or_report(name: str, device: str):
    """Load a model once for a whole run; on failure print why (with the install command)."""
    try:
        loaded = load(name, device)
    except ModelUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return None
    print(f"{loaded.label}: loaded in {loaded.load_seconds:.1f} s on {loaded.device}", file=sys.stderr)
    return loaded


def collect_verdicts(out: Path) -> list[dict]:
    """Every probe's verdicts in the folder, each tagged with the preset it comes from; where a
    probe and model have results of several presets, those of the largest (full, then standard,
    then cpu) stand for them."""
    import json
    found: dict[tuple[str, str], tuple[int, list[dict]]] = {}
    for rank, preset in enumerate(PRESETS):
        root = preset_root(out, preset)
        for summary in sorted(root.glob("*/*/summary.json")):
            if preset == "cpu" and summary.parent.parent.name in PRESETS:
                continue
            verdicts = json.loads(summary.read_text()).get("verdicts", [])
            place = (summary.parent.parent.name, summary.parent.name)
            found[place] = (rank, [{**v, "preset": preset} for v in verdicts])
    return [v for place in sorted(found) for v in found[place][1]]


def counterexamples_main(args) -> int:
    """Diagonal records (H-1, H-2) per model, searched ones (H-3, Rt-4) where that module exists,
    one JSONL of records and its lm-evaluation-harness export."""
    from .diagonal import Diagonal
    out = Path(args.out)
    if args.export_only:
        return export_main(out)
    names = [m.strip() for m in args.models.split(",") if m.strip()] or [DEFAULT_MODEL]
    searched = None
    if importlib.util.find_spec("empirical.searched") is not None:
        searched = importlib.import_module("empirical.searched")
        if not hasattr(searched, "run"):
            searched = None
    try:
        executor = executors.from_args(args)
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if executor is not executors.LOCAL:
        started = time.time()
        try:
            records = _counterexamples_on_ray(executor, args, names, searched, out)
        except ModelUnavailable as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        finally:
            executors.shutdown(executor)
        return _write_counterexamples(out, names, records, {}, started)
    diagonal = Diagonal(b=args.b, max_queries=args.max_queries)
    records = []
    tokenizers = {}
    started = time.time()
    for name in names:
        loaded = _load_or_report(name, args.device)
        if loaded is None:
            return 2
        tokenizers[name] = loaded.tokenizer
        records += diagonal.run_model(loaded, name)
        if searched is not None:
            records += list(searched.run(loaded, out) or [])
        print(f"  {name}: {time.time() - started:.0f} s so far", file=sys.stderr)
    return _write_counterexamples(out, names, records, tokenizers, started)


def _counterexamples_on_ray(executor, args, names: list[str], searched, out: Path) -> list:
    """The same records as a local run, the queries asked on Ray workers: the diagonal construction
    runs here and asks a wave of queries (one per worker) ahead of where it stands; each model's
    searches run side by side, one per worker. Only this process writes."""
    from . import diagonal as diagonal_module
    from .counterexamples import Record, write_records
    from .diagonal import Diagonal
    device = executors.device_for(executor, args.device)

    def ask(model, decoding, indices):
        got = executor.map(diagonal_module, decoding, model, device, [f"n={i}" for i in indices])
        return {int(k.split("=")[1]): (d["output"], d["failed"], d["again"]) for k, d in got.items()}

    diagonal = Diagonal(b=args.b, max_queries=args.max_queries, ask=ask)
    records: list = []
    started = time.time()
    for name in names:                     # one model's workers at a time, each loading it once
        remote = executor.remote_model(name, device)
        diagonal.wave = len(executor.pool(name, device))
        records += diagonal.run_model(remote, name)
        if searched is not None and hasattr(searched, "sample"):
            found = executor.map(searched, searched.Budget(), name, device, list(searched.SEARCHES))
            mine = [Record(**r) for key in searched.SEARCHES for r in found[key]["records"]]
            write_records(out / f"searched-{searched._slug(name)}.jsonl", mine)
            records += mine
        print(f"  {name}: {time.time() - started:.0f} s so far (Ray)", file=sys.stderr)
    return records


def _write_counterexamples(out: Path, names: list[str], records: list, tokenizers: dict,
                           started: float | None = None) -> int:
    from collections import Counter

    from .counterexamples import write_records
    from .export import export
    started = started or time.time()
    path = out / "counterexamples.jsonl"
    write_records(path, records)
    data, config = export(records, out / "lm_eval", tokenizers=tokenizers, source=path)
    _update_documents(out, {"counterexamples": counterexamples_block(read_jsonl(path))})
    counts = Counter((r.model, r.decoding.get("temperature", 0), r.theorem) for r in records)
    print(f"{len(records)} verified counterexamples in {path}; lm-eval task {config} ({data.name}); "
          f"{time.time() - started:.0f} s")
    print("| model | decoding | theorem | failures |\n|---|---|---|---|")
    for (model, temperature, theorem), n in sorted(counts.items()):
        print(f"| {model} | {'greedy' if not temperature else f'T={temperature:g}'} | {theorem} | {n} |")
    missing = [(m, t) for m in names for t in ("H-1", "H-2")
               if not any(r.model == m and r.theorem == t for r in records)]
    for model, theorem in missing:
        print(f"warning: no verified {theorem} failure for {model}", file=sys.stderr)
    return 0


def export_main(out: Path) -> int:
    """Rewrite the lm-evaluation-harness export from the records already in OUT (the models'
    tokenizers render the prompts; nothing is asked)."""
    from .counterexamples import read_records
    from .export import export
    path = out / "counterexamples.jsonl"
    try:
        records = read_records(path)
        data, config = export(records, out / "lm_eval", source=path)
    except (OSError, ValueError, ModelUnavailable) as err:   # ExportError is a ValueError
        print(f"error: {err}", file=sys.stderr)
        return 2
    files = len(list(config.parent.glob("*.yaml")))
    print(f"lm-eval export of {len(records)} records from {path}: {config} ({data.name}, {files} task and group files)")
    return 0


def markdown(verdicts: list[dict], command: str = "make crosscheck") -> str:
    lines = ["# Crosscheck: the paper's bounds against measurements", "",
             f"Generated by `{command}`. consistent: the measurement agrees with the bound; "
             "violated: it contradicts it; inconclusive: the data cannot tell. n: the sample the test used; "
             "95%: the interval of the quantity tested; an inconclusive verdict names the sample that would "
             "decide it at the observed effect. preset: cpu (results/<probe>/<model>) or standard / full "
             "(results/<preset>/<probe>/<model>); `limits crosscheck --plan` gives each verdict's power analysis.",
             "", "| statement | probe | model | preset | verdict | n | 95% interval | measurement |",
             "|---|---|---|---|---|---|---|---|"]
    for v in sorted(verdicts, key=lambda v: (v["theorem"], v["probe"], v["model"])):
        lines.append(f"| {v['theorem']} | {v['probe']} | {v['model']} | {v.get('preset', 'cpu')} | "
                     f"{v['verdict']}{_needed(v)} | {_n(v)} | {_interval(v)} | {v['text'].replace('|', '/')} |")
    from .coverage import coverage_markdown
    lines += ["", "## Coverage: every statement id of the paper", "",
              "Each id with the verdicts of its rows, or, where no measurement confronts it, the reason.", "",
              coverage_markdown(verdicts).rstrip()]
    return "\n".join(lines) + "\n"


def _n(v: dict) -> str:
    if v.get("n") is None:
        return "-"
    return f"{v['n']:,}" + (f" {v['unit']}" if v.get("unit") else "")


def _interval(v: dict) -> str:
    interval = v.get("interval")
    if not interval:
        return "-"
    lo, hi = interval
    what = f"{v['quantity']}: " if v.get("quantity") else ""
    return (what + f"{lo:.3g}" if lo == hi else what + f"[{lo:.3g}, {hi:.3g}]").replace("|", "/")


def _needed(v: dict) -> str:
    needed = v.get("needed")
    if v["verdict"] != "inconclusive" or needed is None:
        return ""
    from .power import MAX_N
    return " (no sample decides it at the observed effect)" if needed >= MAX_N else \
        f" (n = {needed:,} would decide it)"


if __name__ == "__main__":
    raise SystemExit(main())
