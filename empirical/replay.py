"""Re-run a counterexample file: which failures reproduce, for the original model or another one.

`python -m empirical replay FILE.jsonl [--model ID]` asks each record's model (or the one given)
the record's prompt with the record's decoding, through the same `answer()` and `judge()` that
built it, and reports per record "reproduced" (the model is wrong again) or "not a failure".
`--theorem`, `--model-of-record` and `--count` pick records (rows keep their index in the file);
a line per record goes to stderr as it is asked, unless `--quiet`.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from .counterexamples import Decoding, Record, answer, judge, read_records
from .models import ModelUnavailable


def select(records: list[Record], theorem: str | None = None, model_of_record: str | None = None,
           count: int | None = None) -> list[tuple[int, Record]]:
    """(index in the file, record) of the records of `theorem` made on `model_of_record`, the first
    `count` of them."""
    chosen = [(i, r) for i, r in enumerate(records)
              if (theorem is None or r.theorem == theorem) and (model_of_record is None or r.model == model_of_record)]
    return chosen if count is None else chosen[:max(count, 0)]


def replay_records(records: list[Record], model: str | None = None, device: str = "auto",
                   loader=None, loaded_models: dict | None = None, indices: list[int] | None = None,
                   progress=None) -> dict:
    """Replay `records`; `loaded_models` (name -> LoadedModel) avoids loading what is loaded.
    `indices` numbers the rows (default 0, 1, ...); `progress(done, total, row, seconds)` is
    called after each record."""
    if loader is None:
        from .models import load as loader
    if indices is None:
        indices = list(range(len(records)))
    cache = dict(loaded_models or {})
    rows = []
    for number, record in zip(indices, records):
        started = time.perf_counter()
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
        if progress is not None:
            progress(len(rows), len(records), rows[-1], time.perf_counter() - started)
    claimed = [r for r in rows if r["claimed_failure"]]
    greedy = [r for r in claimed if r["greedy"]]
    summary = {"records": len(rows), "claimed_failures": len(claimed),
               "reproduced": sum(r["status"] == "reproduced" for r in claimed),
               "greedy_failures": len(greedy),
               "greedy_reproduced": sum(r["status"] == "reproduced" for r in greedy),
               "override_model": model}
    summary["all_greedy_reproduced"] = summary["greedy_reproduced"] == summary["greedy_failures"]
    return {"rows": rows, "summary": summary}


def replay(path, model: str | None = None, device: str = "auto", theorem: str | None = None,
           model_of_record: str | None = None, count: int | None = None, **kwargs) -> dict:
    chosen = select(read_records(Path(path)), theorem, model_of_record, count)
    report = replay_records([r for _, r in chosen], model, device, indices=[i for i, _ in chosen], **kwargs)
    report["file"] = str(path)
    report["summary"]["filters"] = {"theorem": theorem, "model_of_record": model_of_record, "count": count}
    return report


def print_progress(done: int, total: int, row: dict, seconds: float) -> None:
    """One line per record on stderr."""
    print(f"[{done}/{total}] #{row['index']} {row['theorem']} {row['task']} on {row['model']} "
          f"({row['decoding']}): {row['status']} ({seconds:.1f} s)", file=sys.stderr, flush=True)


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
                  + (f" on {s['override_model']}" if s["override_model"] else "")
                  + _filters(s.get("filters") or {}) + "."]
    return "\n".join(lines) + "\n"


def _filters(filters: dict) -> str:
    picked = [f"theorem {filters['theorem']}" if filters.get("theorem") else "",
              f"made on {filters['model_of_record']}" if filters.get("model_of_record") else "",
              f"the first {filters['count']}" if filters.get("count") else ""]
    picked = [p for p in picked if p]
    return f" (records: {', '.join(picked)})" if picked else ""


def main(path: str, model: str | None = None, device: str = "auto", theorem: str | None = None,
         model_of_record: str | None = None, count: int | None = None, quiet: bool = False) -> int:
    if count is not None and count < 1:
        print("error: --count must be at least 1", file=sys.stderr)
        return 2
    try:
        report = replay(path, model, device, theorem, model_of_record, count,
                        progress=None if quiet else print_progress)
    except (OSError, ValueError, ModelUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not report["rows"]:
        print("error: no record of the file matches the filters", file=sys.stderr)
        return 2
    print(table(report))
    if model is None and not report["summary"]["all_greedy_reproduced"]:
        return 1
    return 0
