"""The lm-evaluation-harness side of the counterexample export: copied as `utils.py` beside its YAML.

`empirical/export.py` copies this file unchanged into the export folder, where the task YAMLs
name its functions with `!function utils.NAME`:

- `load_docs` reads the export's JSONL from the folder this file lies in (not from the
  directory lm_eval is started from) and keeps the documents of one task;
- `process_results` scores a reply with the project's `judge()`
  (`empirical.counterexamples.judge`; a verbatim copy when the project is not installed):
  `correct` is 1 when the expected answer is a whole word of the reply, as when the record
  was made, so a verbose right answer counts as right;
- `SeededSampling` draws each token as the project's `answer()` does when it samples
  (softmax(logits / T), `torch.multinomial` with a `torch.Generator` seeded by the record's
  seed) and forces it, so that a sampled record is asked exactly as it was verified;
  `utils.sampling_t0p7_seed0` (the sampled tasks' `logits_processor`) is one for T = 0.7, seed 0.

The file needs nothing beyond what lm_eval's `hf` model already imports.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from transformers import LogitsProcessor, LogitsProcessorList


# A verbatim copy of empirical.counterexamples.judge (the test checks that it stays one).
def _judge(expected: str, output: str) -> bool:
    """Correct when the expected answer appears as a whole word of the output (case-insensitive)."""
    import re
    return re.search(r"(?<![A-Za-z0-9])" + re.escape(expected.lower()) + r"(?![A-Za-z0-9])",
                     output.lower()) is not None


try:
    from empirical.counterexamples import judge
except ImportError:  # the export run without the project installed
    judge = _judge

HERE = Path(__file__).resolve().parent


def load_docs(data_file: str, lm_eval_task: str, **_metadata) -> dict:
    """The `test` split of one task: the JSONL's documents whose `lm_eval_task` is `lm_eval_task`."""
    import datasets
    path = Path(data_file)
    if not path.is_absolute():
        path = HERE / path
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = [row for row in rows if row["lm_eval_task"] == lm_eval_task]
    if not rows:
        raise ValueError(f"{path} has no document of task {lm_eval_task}")
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def doc_to_text(doc: dict) -> str:
    """The prompt exactly as the record's model read it (chat template applied or not, BOS)."""
    return doc["text"]


def process_results(doc: dict, results: list[str]) -> dict:
    output = results[0].strip()          # answer() strips its reply too
    return {"correct": int(judge(doc["target"], output))}


class SeededSampling(LogitsProcessor):
    """Sampling at `temperature` with `seed`, as `empirical.counterexamples.answer()` samples.

    HF's own sampling draws from the global RNG, after top-k / top-p warpers from the
    generation config, so it cannot repeat a record's draw. This processor draws the token
    itself, from a `torch.Generator` seeded by `seed` at the first step of every sequence, and
    leaves only that token possible: run with `do_sample: false`, generate() then takes it.
    It handles one sequence at a time (lm_eval's default batch_size 1).
    """

    def __init__(self, temperature: float, seed: int):
        if temperature <= 0:
            raise ValueError("SeededSampling needs a temperature above 0")
        self.temperature = float(temperature)
        self.seed = int(seed)
        self._generator: torch.Generator | None = None
        self._seen: list[int] | None = None

    def __repr__(self) -> str:
        return f"SeededSampling(temperature={self.temperature:g}, seed={self.seed})"

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[0] != 1:
            raise ValueError("the sampled counterexample tasks replay a seeded draw per prompt: "
                             "run lm_eval with --batch_size 1")
        ids = input_ids[0].tolist()
        continues = (self._seen is not None and len(ids) == len(self._seen) + 1
                     and ids[:-1] == self._seen)
        if self._generator is None or not continues:
            self._generator = torch.Generator(device="cpu").manual_seed(self.seed)
        self._seen = ids
        logits = scores[0].float().cpu()
        probs = torch.softmax(logits / self.temperature, dim=-1)
        token = int(torch.multinomial(probs, 1, generator=self._generator))
        forced = torch.full_like(scores, float("-inf"))
        forced[0, token] = 0.0
        return forced


def sampling(temperature: float, seed: int) -> LogitsProcessorList:
    return LogitsProcessorList([SeededSampling(temperature, seed)])



def __getattr__(name: str) -> LogitsProcessorList:
    """`utils.sampling_t0p7_seed0` (the YAML's `logits_processor`) is `sampling(0.7, 0)`."""
    found = re.fullmatch(r"sampling_t([0-9pem]+)_seed([0-9]+)", name)
    if found is None:
        raise AttributeError(name)
    temperature = float(found.group(1).replace("p", ".").replace("m", "-"))
    return sampling(temperature, int(found.group(2)))
