"""E-H1 in the crosscheck: each model asked again on its verified diagonal inputs (H-1, H-2).

`limits counterexamples` (empirical/diagonal.py) builds, for the listed family of models and
decodings, the diagonal set: H-1, one input per member that the member gets wrong and no earlier
member took; H-2, b such inputs per member in disjoint blocks. The theorems say every member
errs on its diagonal inputs. This probe reads the records of `results/counterexamples/
counterexamples.jsonl` made on the model it runs on and asks the model each prompt again with
the record's decoding (greedy, or sampling with the record's seed), judged as the record was
(empirical/counterexamples.py `answer` and `judge`). consistent: the model errs on every one of
its diagonal inputs, as the construction forces; violated: one of them is answered right, which
would mean the diagonal set is wrong (a bug in the construction or its verification).
"""
from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

from checker.paths import results

from .. import power
from ..counterexamples import Decoding, Record, answer, judge, read_records
from ..framework import ProbeRun, Verdict, preset_name
from ..stats import wilson

NAME = "diagonal"
THEOREMS = ("H-1", "H-2")


def records_file() -> Path:
    return results() / "counterexamples" / "counterexamples.jsonl"


def records_sha256() -> str:
    """The sha256 of the records file as it is now (empty: there is none)."""
    path = records_file()
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


@dataclass(frozen=True)
class Config:
    # the records file the samples are asked from (empty: none found), read when the config is made
    records_sha256: str = field(default_factory=records_sha256)

    @classmethod
    def preset(cls, preset: bool | str = False) -> Config:
        """Every preset asks every diagonal record: the set is what the construction made."""
        preset_name(preset)
        return cls()


def _records() -> list[Record]:
    path = records_file()
    return read_records(path) if path.exists() else []


def keys(config: Config) -> list[str]:
    """One key per H-1 / H-2 record (its line in the file and the model it was made on). Every
    model is asked every record: its own are the test, the others' say whether the failures
    carry over (which the theorems do not claim)."""
    return [f"{r.theorem}|line={i}|{r.model}" for i, r in enumerate(_records()) if r.theorem in THEOREMS]


def cost(key: str, config: Config) -> float:
    return 1.0


def plan(config: Config, observed: dict | None = None) -> list[power.Requirement]:
    n = len(keys(config))
    return [power.Requirement(
        t, "diagonal inputs the model answers wrong again", "every one (a single right answer is a bug)",
        "none: the construction forces every error", "records",
        max(1, sum(k.startswith(t + "|") for k in keys(config))),
        n, "the diagonal records of results/counterexamples", note="exact, no sampling") for t in THEOREMS]


def setup(config: Config, loaded) -> tuple:
    """(the model, the records), once per worker (empirical/executor.py); the records file must
    be the one the config names, or the keys would point at other lines."""
    path, found = records_file(), records_sha256()
    if found != config.records_sha256:
        raise ValueError(f"{path} has changed since this run's config was made (sha256 {found[:12] or 'none'}, "
                         f"config {config.records_sha256[:12] or 'none'}): delete the run's folder to ask the "
                         "new records")
    return loaded, _records()


def sample(key: str, config: Config, ctx: tuple) -> dict:
    """One sample from its key alone: the record on the key's line, asked again."""
    loaded, records = ctx
    record = records[int(key.split("|")[1].split("=")[1])]
    output = answer(loaded, record.prompt, Decoding(**record.decoding))
    return {"theorem": record.theorem, "made_on": record.model, "task": record.task, "prompt": record.prompt,
            "decoding": record.decoding, "expected": record.expected, "recorded_output": record.output,
            "output": output, "wrong": not judge(record.expected, output),
            "same_weights": loaded.info().get("source_sha256") == record.model_sha256}


def run(run: ProbeRun, loaded) -> list[Verdict]:
    config: Config = run.config
    every = keys(config)
    if run.todo(every):
        run.sweep(sys.modules[__name__], loaded)
    samples = run.samples(every)
    verdicts = analyse(run.model_name, samples)
    plot(run, [s for s in samples if s["made_on"] == run.model_name])
    return verdicts


def analyse(model_name: str, samples: list[dict]) -> list[Verdict]:
    verdicts = []
    for theorem in THEOREMS:
        rows = [s for s in samples if s["theorem"] == theorem and s["made_on"] == model_name]
        others = [s for s in samples if s["theorem"] == theorem and s["made_on"] != model_name]
        n, wrong = len(rows), sum(s["wrong"] for s in rows)
        carried = (f"; on the other members' diagonal inputs it is wrong on {sum(s['wrong'] for s in others)}/"
                   f"{len(others)} (not forced by {theorem})") if others else ""
        if not n:
            verdicts.append(Verdict(NAME, model_name, theorem, "inconclusive",
                                    f"no {theorem} diagonal record of {model_name} in {records_file().name}: run "
                                    "`limits counterexamples` first", {}, n=0, unit="records", needed=1))
            continue
        lo, hi = wilson(wrong, n)
        decodings = sorted({Decoding(**s["decoding"]).label for s in rows})
        head = (f"{n} diagonal input{'s' * (n > 1)} of {model_name} ({', '.join(decodings)}; tasks "
                f"{', '.join(sorted({s['task'] for s in rows}))}) asked again: wrong on {wrong}/{n}")
        if wrong == n:
            verdict, reading = "consistent", ("the model errs on every input of its diagonal set, as the "
                                              f"construction of {theorem} forces")
        else:
            right = next(s for s in rows if not s["wrong"])
            verdict, reading = "violated", (f"answered right: \"{right['prompt']}\" -> \"{right['output'][:60]}\" "
                                            f"(expected {right['expected']}): the diagonal set is wrong")
        verdicts.append(Verdict(NAME, model_name, theorem, verdict, f"{head}; {reading}{carried}",
                                {"records": n, "wrong": wrong, "same_weights": all(s["same_weights"] for s in rows)},
                                n=n, unit="records", quantity="share of diagonal inputs answered wrong",
                                interval=[lo, hi]))
    return verdicts


def plot(run: ProbeRun, samples: list[dict]) -> None:
    """diagonal.png: per theorem and decoding, the diagonal inputs answered wrong again."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    groups: dict[str, list[bool]] = {}
    for s in samples:
        groups.setdefault(f"{s['theorem']}\n{Decoding(**s['decoding']).label}", []).append(s["wrong"])
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    names = sorted(groups)
    ax.bar(range(len(names)), [len(groups[k]) for k in names], color="0.8", label="diagonal inputs")
    ax.bar(range(len(names)), [sum(groups[k]) for k in names], width=0.5, color="tab:red", label="wrong again")
    ax.set_xticks(range(len(names)), names, fontsize=8)
    ax.set_ylabel("inputs")
    ax.set_title(f"diagonal set asked again, {run.model_name}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(run.dir / "diagonal.png", dpi=110)
    plt.close(fig)
