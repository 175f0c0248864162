"""Results on disk: one JSON line per sample, resumable, never silently lossy.

A probe names each sample by a key (its place in the grid). A run started again reads the
file, skips every key already present and appends the rest, so an interrupted run loses
nothing and redoes nothing. Each line is flushed and synced as it is written; a line that
does not parse (a crash mid-write, a hand edit) stops the run with the file and line number
rather than being dropped.
"""
from __future__ import annotations

import json
import os
from pathlib import Path


class CorruptResults(Exception):
    """A results file with a line that is not a complete JSON record."""


class SampleStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.records: dict[str, dict] = {}
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        text = self.path.read_text(encoding="utf-8")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        elif lines:
            raise CorruptResults(f"{self.path}:{len(lines)}: the last line is incomplete (a run "
                                 "stopped mid-write?); remove that line to resume")
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise CorruptResults(f"{self.path}:{number}: not a JSON record ({err.msg}); "
                                     "fix or remove that line to resume") from None
            if not isinstance(record, dict) or "key" not in record:
                raise CorruptResults(f"{self.path}:{number}: a record needs a 'key' field")
            self.records[record["key"]] = record

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def append(self, record: dict) -> None:
        if "key" not in record:
            raise ValueError("a record needs a 'key'")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, sort_keys=True, default=_jsonable)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.records[record["key"]] = record

    def values(self) -> list[dict]:
        return list(self.records.values())


def _jsonable(x):
    if hasattr(x, "tolist"):
        return x.tolist()
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(f"not JSON serializable: {type(x).__name__}")


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=_jsonable))
    tmp.replace(path)
