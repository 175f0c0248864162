"""Re-run a counterexample file: which failures reproduce, for the original model or another one.

`python -m empirical replay FILE.jsonl [--model ID]` asks each record's model (or the one given)
the record's prompt with the record's decoding, through the same `answer()` and `judge()` that
built it, and reports per record "reproduced" (the model is wrong again) or "not a failure".
"""
from __future__ import annotations

import sys
from pathlib import Path

from .counterexamples import Decoding, Record, answer, judge, read_records


def replay_records(records: list[Record], model: str | None = None, device: str = "auto",
                   loader=None, loaded_models: dict | None = None) -> dict:
    """Replay `records`; `loaded_models` (name -> LoadedModel) avoids loading what is loaded."""
    if loader is None:
        from .models import load as loader
    cache = dict(loaded_models or {})
    rows = []
    for number, record in enumerate(records):
        name = model or record.model
        if name not in cache:
            cache[name] = loader(name, device)
        loaded = cache[name]
        decoding = Decoding(**record.decoding)
        output = answer(loaded, record.prompt, decoding)
        wrong = not judge(record.expected, output)
        same_weights = loaded.info()["source_sha256"] == record.model_sha256
        rows.append({"index": number, "theorem": record.theorem, "task": record.task,
                     "model": name, "original_model": record.model, "same_weights": same_weights,
                     "decoding": decoding.label, "greedy": decoding.temperature == 0,
                     "claimed_failure": record.correct is False, "expected": record.expected,
                     "original_output": record.output, "output": output,
                     "same_output": output == record.output,
                     "status": "reproduced" if wrong else "not a failure"})
    claimed = [r for r in rows if r["claimed_failure"]]
    greedy = [r for r in claimed if r["greedy"]]
    summary = {"records": len(rows), "claimed_failures": len(claimed),
               "reproduced": sum(r["status"] == "reproduced" for r in claimed),
               "greedy_failures": len(greedy),
               "greedy_reproduced": sum(r["status"] == "reproduced" for r in greedy),
               "override_model": model}
    summary["all_greedy_reproduced"] = summary["greedy_reproduced"] == summary["greedy_failures"]
    return {"rows": rows, "summary": summary}


def replay(path, model: str | None = None, device: str = "auto", **kwargs) -> dict:
    report = replay_records(read_records(Path(path)), model, device, **kwargs)
    report["file"] = str(path)
    return report


def table(report: dict) -> str:
    def cut(text: str, width: int = 28) -> str:
        text = text.replace("\n", " ").replace("|", "/")
        return text if len(text) <= width else text[:width - 1] + "…"
    lines = ["| # | theorem | task | model | decoding | expected | output | status |",
             "|---|---|---|---|---|---|---|---|"]
    for r in report["rows"]:
        lines.append(f"| {r['index']} | {r['theorem']} | {r['task']} | {r['model']} | {r['decoding']} | "
                     f"{cut(r['expected'], 20)} | {cut(r['output'])} | {r['status']} |")
    s = report["summary"]
    lines += ["", f"{s['reproduced']}/{s['claimed_failures']} recorded failures reproduce "
                  f"({s['greedy_reproduced']}/{s['greedy_failures']} under greedy decoding)"
                  + (f" on {s['override_model']}" if s["override_model"] else "") + "."]
    return "\n".join(lines) + "\n"


def main(path: str, model: str | None = None, device: str = "auto") -> int:
    try:
        report = replay(path, model, device)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(table(report))
    if model is None and not report["summary"]["all_greedy_reproduced"]:
        return 1
    return 0
