"""The measurements' figures as document blocks, rendered from the committed results.

`crosscheck_block` is written by `limits crosscheck` (from `results/crosscheck.json`),
`counterexamples_block` by `limits counterexamples` (from the counterexamples JSONL). Pure
functions of the JSON: importing this module does not import torch.
"""
from __future__ import annotations

import json
from pathlib import Path

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
                  f"({_presets(data)}); every number and interval is in `results/CROSSCHECK.md`."]
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
