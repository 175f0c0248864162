"""Counterexample inputs: prompts on which a named model is wrong, verified and replayable.

A record holds everything needed to run the failure again: the prompt, the expected answer
and how it was computed, the model's answer, the model id and the sha256 of its weights file,
the decoding settings (greedy, or sampling at a temperature with a seed), and the statement
id it instantiates (H-1, H-2, H-3, Rt-4). `answer()` is the single way a model is asked,
so building a record and replaying it cannot drift apart. `judge()` decides correctness
the same way for both.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .haystack import bos_ids


@dataclass(frozen=True)
class Decoding:
    """greedy when temperature == 0; otherwise sampling with a torch.Generator seeded by seed."""

    temperature: float = 0.0
    seed: int = 0
    max_new_tokens: int = 12
    chat: bool = True           # wrap the prompt in the tokenizer's chat template when it has one

    @property
    def label(self) -> str:
        return "greedy" if self.temperature == 0 else f"T={self.temperature:g},seed={self.seed}"


@dataclass
class Record:
    theorem: str                 # H-1, H-2, H-3, Rt-4, ...
    task: str                    # e.g. "addition", "parity", "reverse", "sort", "halting", "poison"
    prompt: str                  # the user text given to the model
    expected: str                # the correct answer
    how: str                     # how `expected` was computed (by Python, by simulation, ...)
    model: str                   # what `empirical.models.load` accepts
    model_sha256: str
    decoding: dict               # Decoding as a dict
    output: str = ""             # the model's answer text
    correct: bool | None = None  # as judged by `judge`
    meta: dict = field(default_factory=dict)  # task details: the program, the passages, sizes

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def chat_ids(tokenizer, prompt: str, chat: bool) -> list[int]:
    if chat and getattr(tokenizer, "chat_template", None):
        ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                            add_generation_prompt=True, tokenize=True)
        if hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
        return list(ids)
    return bos_ids(tokenizer) + tokenizer(prompt, add_special_tokens=False).input_ids


def answer(loaded, prompt: str, decoding: Decoding) -> str:
    """The model's reply to `prompt` under `decoding` (deterministic for a given seed)."""
    model, tokenizer = loaded.model, loaded.tokenizer
    ids = torch.tensor([chat_ids(tokenizer, prompt, decoding.chat)], device=model.device)
    generator = torch.Generator(device="cpu").manual_seed(decoding.seed)
    generated: list[int] = []
    eos = {t for t in [tokenizer.eos_token_id, getattr(model.generation_config, "eos_token_id", None)]
           if t is not None for t in (t if isinstance(t, list) else [t])}
    with torch.inference_mode():
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
        cache = out.cache
        for _ in range(decoding.max_new_tokens):
            logits = out.logits[0, -1].float().cpu()
            if decoding.temperature == 0:
                nxt = int(logits.argmax())
            else:
                probs = torch.softmax(logits / decoding.temperature, dim=-1)
                nxt = int(torch.multinomial(probs, 1, generator=generator))
            if nxt in eos:
                break
            generated.append(nxt)
            out = model(input_ids=torch.tensor([[nxt]], device=model.device), cache=cache, use_cache=True)
            cache = out.cache
    return tokenizer.decode(generated, skip_special_tokens=True).strip()


def judge(expected: str, output: str) -> bool:
    """Correct when the expected answer appears as a whole word of the output (case-insensitive)."""
    import re
    return re.search(r"(?<![A-Za-z0-9])" + re.escape(expected.lower()) + r"(?![A-Za-z0-9])",
                     output.lower()) is not None


def write_records(path: Path, records: list[Record]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r.to_json(), sort_keys=True) + "\n" for r in records))
    tmp.replace(path)


def read_records(path: Path) -> list[Record]:
    records = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(Record(**json.loads(line)))
        except (json.JSONDecodeError, TypeError) as err:
            raise ValueError(f"{path}:{number}: not a counterexample record ({err})") from None
    return records
