"""The measurements' figures as document blocks, rendered from the committed results.

`crosscheck_block` is written by `limits crosscheck` (from `results/crosscheck.json`),
`counterexamples_block` by `limits counterexamples` (from the counterexamples JSONL). Pure
functions of the JSON: importing this module does not import torch.
"""
from __future__ import annotations

import json
from pathlib import Path

from .coverage import coverage_compact

MODEL_NAMES = {"smollm2": "SmolLM2-135M", "gemma3": "Gemma 3 270M", "trained-here": "trained here"}


def crosscheck_block(data: dict) -> str:
    """Statement by model: each measured verdict, with the sentence that says what was measured."""
    verdicts = data["verdicts"]
    models = [m for m in MODEL_NAMES if any(v["model"] == m for v in verdicts)]
    models += sorted({v["model"] for v in verdicts} - set(models))
    rows: dict[tuple[str, str], dict[str, list[str]]] = {}
    for v in verdicts:
        rows.setdefault((v["theorem"], v["probe"]), {}).setdefault(v["model"], []).append(v["verdict"])
    head = "| statement | probe | " + " | ".join(MODEL_NAMES.get(m, m) for m in models) + " |"
    lines = [head, "|" + "---|" * (2 + len(models))]
    for (theorem, probe), by_model in sorted(rows.items(), key=lambda kv: _order(kv[0][0])):
        cells = [", ".join(by_model.get(m, [])) or "-" for m in models]
        lines.append(f"| {theorem} | {probe} | " + " | ".join(cells) + " |")
    total = len(verdicts)
    decided = sum(v["verdict"] in ("consistent", "violated") for v in verdicts)
    lines += ["", f"{total} verdicts: {decided} consistent or violated, {total - decided} inconclusive "
                  f"({_presets(data)}); every number and interval is in `results/CROSSCHECK.md`.", "",
              "Coverage, every statement id of the paper (a reason for each id no measurement confronts: "
              "`results/CROSSCHECK.md`):", "", coverage_compact(verdicts).rstrip()]
    return "\n".join(lines) + "\n"


PRESET_NAMES = {"cpu": "CPU preset", "standard": "standard preset", "full": "full grids"}


def _presets(data: dict) -> str:
    """Which presets the verdicts come from: "CPU preset", or "standard preset: 30, CPU preset: 2"."""
    counts: dict[str, int] = {}
    for v in data["verdicts"]:
        preset = v.get("preset") or ("full" if data.get("full") else "cpu")
        counts[preset] = counts.get(preset, 0) + 1
    if len(counts) <= 1:
        return PRESET_NAMES.get(next(iter(counts), "full" if data.get("full") else "cpu"), "CPU preset")
    return ", ".join(f"{PRESET_NAMES.get(p, p)}: {n}" for p, n in
                     sorted(counts.items(), key=lambda kv: list(PRESET_NAMES).index(kv[0])
                            if kv[0] in PRESET_NAMES else 9))


def _order(theorem: str):
    """The paper's order: its five parts, then the statement number, then the variant."""
    base, _, variant = theorem.partition(".")
    part, _, number = base.partition("-")
    area = ("H", "C", "R", "Rt", "M").index(part) if part in ("H", "C", "R", "Rt", "M") else 9
    return area, int(number) if number.isdigit() else 0, variant


def counterexamples_block(records: list[dict], limit: int = 8) -> str:
    """The first failures of each model and statement, abridged, with what the model said."""
    lines = ["| model | statement | decoding | prompt (abridged) | expected | the model said |",
             "|---|---|---|---|---|---|"]
    seen: set = set()
    for r in records:
        key = (r["model"], r["theorem"], r["decoding"].get("temperature", 0))
        if key in seen or len(seen) >= limit:
            continue
        seen.add(key)
        d = r["decoding"]
        decoding = "greedy" if not d.get("temperature") else f"T = {d['temperature']}, seed {d.get('seed', 0)}"
        lines.append(f"| {MODEL_NAMES.get(r['model'], r['model'])} | {r['theorem']} | {decoding} | "
                     f"{_cell(_abridge(r['prompt'], 90))} | {_cell(r['expected'])} | "
                     f"{_cell(_abridge(r['output'], 60))} |")
    by_theorem: dict[str, int] = {}
    for r in records:
        by_theorem[r["theorem"]] = by_theorem.get(r["theorem"], 0) + 1
    summary = ", ".join(f"{t} ({n})" for t, n in sorted(by_theorem.items()))
    lines += ["", f"{len(records)} verified failures in all: {summary}."]
    return "\n".join(lines) + "\n"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _abridge(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def _hours(x: float | None) -> str:
    return "-" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.1f}")


def _fmt_n(n: int | None) -> str:
    from .power import fmt_n
    return fmt_n(n)


def plan_block(data: dict) -> str:
    """`limits crosscheck --preset P --plan` as markdown: probe by model, the samples the preset
    asks for, the seconds a sample takes here and the hours in all, then each verdict's power
    analysis. Rendered from `results/<preset>/plan.json`, which the plan writes."""
    preset, rows, speedup = data["preset"], data["rows"], data["idle_speedup"]
    lines = [f"Preset `{preset}`, probe by model: samples asked for, seconds a sample (from the samples' "
             "recorded times on this machine, warm-up samples left out), and hours for the whole preset as "
             f"timed and on an idle 2-core machine (CPU time / {speedup}).", "",
             "| probe | model | samples | s / sample | hours (as timed) | hours (idle 2 cores) | timing |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['probe']} | {r['model']} | {r['samples']:,} | {_hours(r['seconds_per_sample'])} | "
                     f"{_hours(r['hours_total'])} | {_hours(r['hours_idle_total'])} | {r['timing']} |")
    total, idle = _plan_totals(rows)
    lines.append(f"| all | | {sum(r['samples'] for r in rows):,} | | {total} | {idle} | |")
    lines += ["", "Power analysis per verdict (95% confidence, 80% power; `empirical/power.py`, each probe's "
              "`plan()`):", "",
              "| probe | statement | quantity | test | effect (and why) | needed | preset gives | unit (config) |",
              "|---|---|---|---|---|---|---|---|"]
    for probe, reqs in data["analyses"]:
        for q in reqs:
            gives = _fmt_n(q["planned"]) + ("" if q["met"] else (" (GPU)" if q["gpu"] else " (short)"))
            note = f" {q['note']}." if q["note"] else ""
            label = f" ({q['label']})" if q["label"] else ""
            lines.append(f"| {probe} | {q['theorem']}{label} | {q['quantity']} | {q['test']} | {q['effect']}.{note} | "
                         f"{_fmt_n(q['needed'])} | {gives} | {q['unit']} ({q['mapping']}) |")
    return ("\n".join(lines) + "\n").replace("\u00b1", "+-")


def _plan_totals(rows: list[dict]) -> tuple[str, str]:
    total = [r["hours_total"] for r in rows]
    idle = [r["hours_idle_total"] for r in rows]
    return (_hours(sum(x for x in total if x is not None)) + ("+" if None in total else ""),
            _hours(sum(x for x in idle if x is not None)) + ("+" if None in idle else ""))


def plan_total_block(data: dict) -> str:
    """One sentence for the README: the preset's size and its time on this machine."""
    rows, reqs = data["rows"], [q for _, qs in data["analyses"] for q in qs]
    total, idle = _plan_totals(rows)
    short = [q for q in reqs if not q["met"]]
    gpu = [q for q in short if q["gpu"]]
    models = sorted({r["model"] for r in rows}, key=lambda m: list(MODEL_NAMES).index(m) if m in MODEL_NAMES else 9)
    names = [MODEL_NAMES.get(m, m) for m in models]
    names = [("models " + n if n == "trained here" else n) for n in names]
    said = (f"`limits crosscheck --preset {data['preset']}` ({sum(r['samples'] for r in rows):,} samples over "
            f"{len({r['probe'] for r in rows})} probes, on {', '.join(names[:-1])} and {names[-1]}) takes about "
            f"{idle} hours on this 2-core machine when idle ({total} hours as timed beside other work); "
            f"{len(reqs) - len(short)} of its {len(reqs)} verdicts get the sample their power analysis asks for")
    if short:
        said += (f", {len(gpu)} {'needs' if len(gpu) == 1 else 'need'} a GPU (`--preset full --device cuda`)"
                 if gpu else "") + (f", {len(short) - len(gpu)} short" if len(short) > len(gpu) else "")
    return said + ". The plan, verdict by verdict: [docs/MEASUREMENTS.md](docs/MEASUREMENTS.md#standard-preset).\n"
