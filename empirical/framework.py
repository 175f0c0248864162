"""What every probe shares: its output folder, resumable samples, metadata and verdicts.

A probe writes `results/<probe>/<model>/samples.jsonl` (one line per sample),
`summary.json` (seed, model file hash, library versions, device, config, verdicts) and its
PNG plots. The config is frozen and saved beside the samples: resuming with a different
config is refused, since mixing samples of two configs would silently corrupt a result.
"""
from __future__ import annotations

import dataclasses
import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from checker.paths import results, shown
from checker.statements import load_statement

from .store import SampleStore, write_json

RESULTS = Path(shown(results()))  # the project's results/, as typed from the working directory
VERDICTS = ("consistent", "violated", "inconclusive")


class ConfigMismatch(Exception):
    """Samples on disk were made with another config."""


@dataclass(frozen=True)
class Verdict:
    probe: str
    model: str
    theorem: str       # the id of the statement in proofs/ the measurement confronts (C-3.sandwich-measured)
    verdict: str       # consistent | violated | inconclusive
    text: str          # the sentence a reader sees, with the numbers
    numbers: dict = field(default_factory=dict)
    # sha256 of the statement's printed text when the verdict was made: a committed result
    # whose statement has changed since is stale (tests/empirical/test_statements.py).
    statement_sha256: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {self.verdict!r}")
        if not self.statement_sha256:  # the statement must exist; an unknown id raises StatementError
            object.__setattr__(self, "statement_sha256", load_statement(self.theorem).sha256)

    @property
    def paper_id(self) -> str:
        """The paper's statement id (C-3 for C-3.sandwich-measured)."""
        return self.theorem.split(".")[0]

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def environment(device: str) -> dict:
    import numpy
    import torch
    import transformers
    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "numpy": numpy.__version__,
            "device": device, "machine": platform.machine(),
            "threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") else None}


class ProbeRun:
    """One probe on one model: the folder, the samples, the progress bar, the summary."""

    def __init__(self, probe: str, model_name: str, config, model_info: dict, device: str,
                 root: Path = RESULTS):
        self.probe, self.model_name, self.config = probe, model_name, config
        self.dir = Path(root) / probe / _safe(model_name)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.model_info, self.device = model_info, device
        self.started = time.time()
        config_json = dataclasses.asdict(config)
        saved = self.dir / "config.json"
        if saved.exists():
            previous = json.loads(saved.read_text())
            if previous != json.loads(json.dumps(config_json)):
                raise ConfigMismatch(
                    f"{self.dir} holds samples of another config ({saved}); delete the folder "
                    f"or choose another --out to run this one")
        else:
            write_json(saved, config_json)
        self.store = SampleStore(self.dir / "samples.jsonl")

    def pending(self, keys: list[str]) -> list[str]:
        return [k for k in keys if k not in self.store]

    def progress(self, keys: list[str], total: int | None = None):
        """The pending keys in the given order, with a bar over `total` (default: all keys)."""
        from tqdm import tqdm
        todo = self.pending(keys)
        total = len(keys) if total is None else total
        return tqdm(todo, total=total, initial=total - len(todo), desc=f"{self.probe} {self.model_name}",
                    unit="sample", leave=False, dynamic_ncols=True)

    def record(self, key: str, data: dict) -> None:
        self.store.append({"key": key, **data})

    def samples(self, keys: list[str] | None = None) -> list[dict]:
        if keys is None:
            return self.store.values()
        return [self.store.records[k] for k in keys if k in self.store]

    def finish(self, verdicts: list[Verdict], extra: dict | None = None) -> dict:
        summary = {
            "probe": self.probe, "model": self.model_info, "seed": getattr(self.config, "seed", None),
            "config": dataclasses.asdict(self.config), "environment": environment(self.device),
            "samples": len(self.store.records), "seconds": round(time.time() - self.started, 1),
            "verdicts": [v.to_json() for v in verdicts], **(extra or {}),
        }
        write_json(self.dir / "summary.json", summary)
        return summary


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
