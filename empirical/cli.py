"""`python -m empirical crosscheck [--full] [--models ...] [--probes ...]`.

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

from .figures import counterexamples_block, crosscheck_block, read_jsonl
from .framework import RESULTS, ConfigMismatch, ProbeRun
from .models import DEFAULT_MODEL, ModelUnavailable, load, pick_device
from .store import CorruptResults, write_json

# Probe modules in the order they run; each confronts the statement ids it lists.
PROBES = ["needle", "attenuation", "position_loss", "mediation", "halting", "retrieval", "temperature",
          "multimodal"]
MODELS = ["smollm2", "gemma3"]


def register(sub) -> None:
    """Add crosscheck, counterexamples and replay to a parser's subcommands. Importing this
    module does not import torch; running a subcommand does."""
    cc = sub.add_parser("crosscheck", help="run the probes and put each bound beside its measurement")
    cc.add_argument("--full", action="store_true", help="the whole grid instead of the CPU preset")
    cc.add_argument("--models", default=",".join(MODELS), help=f"comma-separated (default {','.join(MODELS)})")
    cc.add_argument("--probes", default=",".join(PROBES), help="comma-separated probe names")
    cc.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    cc.add_argument("--out", default=str(RESULTS), help="results folder (default results)")
    cc.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    ce = sub.add_parser("counterexamples", help="verified inputs where each model is wrong (H-1, H-2, H-3, Rt-4)")
    ce.add_argument("--models", default=",".join(MODELS), help=f"comma-separated (default {','.join(MODELS)})")
    ce.add_argument("--out", default=str(RESULTS / "counterexamples"),
                    help="output folder (default results/counterexamples)")
    ce.add_argument("--b", type=int, default=3, help="H-2: failing inputs per model (default 3)")
    ce.add_argument("--max-queries", type=int, default=60, help="queries tried per model and decoding (default 60)")
    ce.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    ce.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    rp = sub.add_parser("replay", help="re-run a counterexample file and report which failures reproduce")
    rp.add_argument("file", help="a counterexamples .jsonl file")
    rp.add_argument("--model", default=None, help="ask this model instead of each record's own")
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
        return replay_main(args.file, args.model, args.device)
    probes = [p.strip() for p in args.probes.split(",") if p.strip()]
    unknown = [p for p in probes if p not in PROBES]
    if unknown:
        print(f"error: unknown probe(s) {', '.join(unknown)}; choose from {', '.join(PROBES)}", file=sys.stderr)
        return 2
    probes = [p for p in probes if p in available_probes()]
    out = Path(args.out)
    started = time.time()
    modules = {p: importlib.import_module(f"empirical.probes.{p}") for p in probes}
    # A probe with NEEDS_MODEL = False (it trains its own models) runs once, under its LABEL,
    # and never makes the command load a pretrained model.
    own = [p for p in probes if not getattr(modules[p], "NEEDS_MODEL", True)]
    per_model = [p for p in probes if p not in own]
    for probe_name in own:
        module = modules[probe_name]
        try:
            device = pick_device(args.device)
        except ModelUnavailable as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        if not _run_probe(module, module.LABEL, module.model_info(device), device, None, args.full, out):
            return 2
    names = [m.strip() for m in args.models.split(",") if m.strip()] or [DEFAULT_MODEL]
    for name in names if per_model else []:
        loaded = _load_or_report(name, args.device)
        if loaded is None:
            return 2
        for probe_name in per_model:
            if not _run_probe(modules[probe_name], name, loaded.info(), loaded.device, loaded, args.full, out):
                return 2
    # The report covers every probe and model that has results in the folder, not only the
    # ones run this time: running one probe again must not drop the others' verdicts.
    collected = collect_verdicts(out)
    report = {"verdicts": collected, "seconds": round(time.time() - started, 1), "full": args.full}
    write_json(out / "crosscheck.json", report)
    (out / "CROSSCHECK.md").write_text(markdown(collected))
    print(markdown(collected))
    _update_documents(out, {"crosscheck": crosscheck_block(report)})
    return 0


def _update_documents(out: Path, contents: dict[str, str]) -> None:
    """A run into the project's own results/ writes its figures into the project's documents."""
    if Path(out).resolve() != results().resolve() and Path(out).resolve().parent != results().resolve():
        return
    for doc in (project_root() / "README.md", *sorted((project_root() / "docs").glob("*.md"))):
        changed = blocks.update(doc, contents)
        if changed:
            print(f"updated {', '.join(changed)} in {shown(doc)}")


def _run_probe(module, name: str, info: dict, device: str, loaded, full: bool, out: Path) -> bool:
    """Run one probe (resuming what is on disk), write its summary, print its verdicts."""
    config = module.Config.preset(full)
    try:
        run = ProbeRun(module.NAME, name, config, info, device, root=out)
        found = module.run(run, loaded)
    except (ConfigMismatch, CorruptResults, ModelUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return False
    run.finish(found)
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
    import json
    verdicts = []
    for summary in sorted(out.glob("*/*/summary.json")):
        verdicts += json.loads(summary.read_text()).get("verdicts", [])
    return verdicts


def counterexamples_main(args) -> int:
    """Diagonal records (H-1, H-2) per model, searched ones (H-3, Rt-4) where that module exists,
    one JSONL of records and its lm-evaluation-harness export."""
    from collections import Counter

    from .counterexamples import write_records
    from .diagonal import Diagonal
    from .export import export
    out = Path(args.out)
    names = [m.strip() for m in args.models.split(",") if m.strip()] or [DEFAULT_MODEL]
    searched = None
    if importlib.util.find_spec("empirical.searched") is not None:
        searched = importlib.import_module("empirical.searched")
        if not hasattr(searched, "run"):
            searched = None
    diagonal = Diagonal(b=args.b, max_queries=args.max_queries)
    records = []
    started = time.time()
    for name in names:
        loaded = _load_or_report(name, args.device)
        if loaded is None:
            return 2
        records += diagonal.run_model(loaded, name)
        if searched is not None:
            records += list(searched.run(loaded, out) or [])
        print(f"  {name}: {time.time() - started:.0f} s so far", file=sys.stderr)
    path = out / "counterexamples.jsonl"
    write_records(path, records)
    data, config = export(records, out / "lm_eval")
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


def markdown(verdicts: list[dict]) -> str:
    lines = ["# Crosscheck: the paper's bounds against measurements", "",
             "Generated by `make crosscheck`. consistent: the measurement agrees with the bound; "
             "violated: it contradicts it; inconclusive: the data cannot tell.", "",
             "| statement | probe | model | verdict | measurement |", "|---|---|---|---|---|"]
    for v in sorted(verdicts, key=lambda v: (v["theorem"], v["probe"], v["model"])):
        lines.append(f"| {v['theorem']} | {v['probe']} | {v['model']} | {v['verdict']} | "
                     f"{v['text'].replace('|', '/')} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
