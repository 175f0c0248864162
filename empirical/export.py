"""Export counterexample inputs as an lm-evaluation-harness task (v0.4 YAML + local JSONL).

Run them against any model the harness can load:

    lm_eval --model hf --model_args pretrained=ORG/MODEL \
            --include_path results/counterexamples/lm_eval --tasks limits_counterexamples

The YAML names its data file by a path relative to the directory lm_eval is started from
(the repository root) unless that file lies outside it, in which case the path is absolute.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .counterexamples import Record

TASK = "limits_counterexamples"
# The reply without surrounding blanks and a final full stop.
ANSWER_PATTERN = r"^\s*(.*?)\s*\.?\s*$"


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML double-quoted scalars)."""
    return json.dumps(text)


def documents(records: list[Record]) -> list[dict]:
    """One harness document per distinct (prompt, expected) pair, in record order."""
    seen, docs = set(), []
    for r in records:
        key = (r.prompt, r.expected)
        if key in seen:
            continue
        seen.add(key)
        docs.append({"prompt": r.prompt, "target": r.expected, "theorem": r.theorem, "task": r.task})
    return docs


def yaml_text(task: str, data_file: str, max_gen_toks: int = 32) -> str:
    return "\n".join([
        "# lm-evaluation-harness task (v0.4 format), written by `python -m empirical counterexamples`.",
        "# Inputs on which SmolLM2 / Gemma 3 were verified wrong (statements H-1, H-2, H-3, Rt-4).",
        f"task: {task}",
        "dataset_path: json",
        "dataset_kwargs:",
        "  data_files:",
        f"    test: {_q(data_file)}",
        "test_split: test",
        "output_type: generate_until",
        f"doc_to_text: {_q('{{prompt}}')}",
        f"doc_to_target: {_q('{{target}}')}",
        "generation_kwargs:",
        "  until:",
        f"    - {_q(chr(10))}",
        f"  max_gen_toks: {max_gen_toks}",
        "  do_sample: false",
        "  temperature: 0.0",
        "filter_list:",
        "  - name: strip",
        "    filter:",
        "      - function: regex",
        "        regex_pattern: " + _q(ANSWER_PATTERN),
        "      - function: take_first",
        "metric_list:",
        "  - metric: exact_match",
        "    aggregation: mean",
        "    higher_is_better: true",
        "    ignore_case: true",
        "    ignore_punctuation: false",
        "metadata:",
        "  version: 1.0",
        "",
    ])


def export(records: list[Record], out_dir, task: str = TASK) -> tuple[Path, Path]:
    """Write `<task>.jsonl` and `<task>.yaml` under out_dir; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = out_dir / f"{task}.jsonl"
    config = out_dir / f"{task}.yaml"
    data.write_text("".join(json.dumps(d, sort_keys=True) + "\n" for d in documents(records)))
    absolute = data.resolve()
    try:
        reference = os.path.relpath(absolute, Path.cwd().resolve())
        if reference.startswith(".."):
            reference = str(absolute)
    except ValueError:
        reference = str(absolute)
    config.write_text(yaml_text(task, reference))
    return data, config
