"""What every probe shares: its output folder, resumable samples, metadata and verdicts.

A probe writes `results/<probe>/<model>/samples.jsonl` (one line per sample),
`summary.json` (seed, model file hash, library versions, device, config, verdicts) and its
PNG plots. The config is frozen and saved beside the samples: resuming with a different
config is refused, since mixing samples of two configs would silently corrupt a result.
"""
from __future__ import annotations

import dataclasses
import json
import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from checker.paths import results, shown
from checker.statements import load_statement

from .store import SampleStore, write_json

RESULTS = Path(shown(results()))  # the project's results/, as typed from the working directory
VERDICTS = ("consistent", "violated", "inconclusive")
# The sizes a probe's Config.preset knows: "cpu" (minutes, the committed results/<probe>/<model>),
# "standard" (sized by each verdict's power analysis, hours on 2 cores; results/standard/...) and
# "full" (the whole grids; results/full/...).
PRESETS = ("cpu", "standard", "full")


def preset_name(preset: bool | str | None) -> str:
    """A preset as its name: False / None -> "cpu", True -> "full" (the old `preset(full)`), or one
    of PRESETS."""
    if preset is None or preset is False:
        return "cpu"
    if preset is True:
        return "full"
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    return str(preset)


def preset_root(root: Path, preset: bool | str | None) -> Path:
    """Where a preset's results live under a results folder: the CPU preset's directly in it
    (results/<probe>/<model>), any other in a folder of its name (results/standard/<probe>/<model>),
    so that results of two configs never meet in one folder."""
    name = preset_name(preset)
    return Path(root) if name == "cpu" else Path(root) / name


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
    # The sample behind the verdict (optional: summaries written before these existed still load):
    n: int | None = None                     # samples the test used, in `unit`
    unit: str | None = None                  # what one sample is (prompts, tasks, seeds x sizes, ...)
    quantity: str | None = None              # the quantity tested, whose 95% interval is `interval`
    interval: list[float] | None = None      # 95% interval [lo, hi] of `quantity`
    needed: int | None = None                # inconclusive: samples (in `unit`) that would decide it at
                                             # the observed effect (empirical/power.py), None if none would

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {self.verdict!r}")
        if not self.statement_sha256:  # the statement must exist; an unknown id raises StatementError
            object.__setattr__(self, "statement_sha256", load_statement(self.theorem).sha256)
        if self.interval is not None:
            object.__setattr__(self, "interval", [_g(float(x)) for x in self.interval])

    @property
    def paper_id(self) -> str:
        """The paper's statement id (C-3 for C-3.sandwich-measured)."""
        return self.theorem.split(".")[0]

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def sample_note(self) -> str:
        """"n = 24 tasks, 95% interval [0.33, 0.75]" (and what would decide it), for tables."""
        parts = []
        if self.n is not None:
            parts.append(f"n = {self.n:,}" + (f" {self.unit}" if self.unit else ""))
        if self.interval is not None:
            parts.append(f"95% [{self.interval[0]:.3g}, {self.interval[1]:.3g}]")
        if self.verdict == "inconclusive" and self.needed is not None:
            parts.append(f"decided at n = {self.needed:,}" if self.needed < 10**9 else "no sample decides it")
        return "; ".join(parts)


def _g(x: float) -> float:
    return float(f"{x:.6g}") if math.isfinite(x) else x


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

    cpu_always = False     # add the CPU seconds even to samples that carry their own wall-clock time

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
        self._clock, self._cpu = time.time(), time.process_time()
        self.executor = None       # where `sweep` computes samples: None is this process

    def pending(self, keys: list[str]) -> list[str]:
        return [k for k in keys if k not in self.store]

    def progress(self, keys: list[str], total: int | None = None):
        """The pending keys in the given order, with a bar over `total` (default: all keys)."""
        from tqdm import tqdm
        todo = self.pending(keys)
        total = len(keys) if total is None else total
        self._clock, self._cpu = time.time(), time.process_time()
        return tqdm(todo, total=total, initial=total - len(todo), desc=f"{self.probe} {self.model_name}",
                    unit="sample", leave=False, dynamic_ncols=True)

    def todo(self, keys: list[str]) -> list[str]:
        """The keys a sweep computes: the pending ones, in the given order."""
        return self.pending(keys)

    def sweep(self, module, loaded) -> None:
        """Compute and record every pending sample of a probe that has `sample` (see
        empirical/executor.py), on this run's executor: in this process unless the command chose
        Ray. Only this process writes the samples."""
        from .executor import LOCAL
        (self.executor or LOCAL).sweep(self, module, loaded)

    def record(self, key: str, data: dict, timing: dict | None = None) -> None:
        """Keep one sample, with the wall-clock seconds it took (since the last sample, or since
        the progress bar started; `timing` when the executor measured it where it ran) unless the
        probe timed it itself: `limits crosscheck --plan` estimates a run's time from them."""
        if key in self.store:
            raise ValueError(f"{self.dir}: sample {key!r} is recorded already")
        now, cpu = time.time(), time.process_time()
        if timing is None:
            timing = {"seconds": round(now - self._clock, 2), "cpu_seconds": round(cpu - self._cpu, 2)}
        if "seconds" in data:                  # the probe's own (wall-clock) timing stands
            timing = {"cpu_seconds": timing["cpu_seconds"]} if self.cpu_always else {}
        self.store.append({"key": key, **timing, **data})
        self._clock, self._cpu = now, cpu

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


class TimingDone(Exception):
    """Raised by a TimedRun once its chosen samples are recorded: the probe stops before analysing."""


class TimedRun(ProbeRun):
    """A ProbeRun that measures only the keys in `only` (kept like any sample: they belong to the
    preset, and its run later resumes past them), then stops the probe with TimingDone."""

    cpu_always = True

    def __init__(self, *args, only: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.only = list(only)
        self.warm = False

    def record(self, key: str, data: dict, timing: dict | None = None) -> None:
        """The first sample of a fresh process pays for warm-up (allocations, kernels, caches): it is
        kept like any other, marked so that time estimates leave it out."""
        super().record(key, data if self.warm else {**data, "warmup": True}, timing)
        self.warm = True

    def todo(self, keys: list[str]) -> list[str]:
        pending = set(self.pending(keys))
        return [k for k in self.only if k in pending]

    def sweep(self, module, loaded) -> None:
        super().sweep(module, loaded)
        raise TimingDone(f"{len(self.only)} samples timed")

    def progress(self, keys: list[str], total: int | None = None):
        # in the order chosen (the warm-up first), not the probe's: only a few samples are timed
        pending = set(self.pending(keys))
        todo = [k for k in self.only if k in pending]
        self._clock, self._cpu = time.time(), time.process_time()
        yield from todo
        raise TimingDone(f"{len(todo)} samples timed")


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
