"""Deterministic passkey prompts: filler text of an exact token length with a needle at a depth.

The prompt is assembled from separately tokenized pieces, so the positions of the needle
and of its digits are known exactly in the ids the model reads.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

FILLER = [
    "The grass is green and the sky is blue.", "The sun rises in the east and sets in the west.",
    "A river runs past the old mill at the edge of town.", "Bread is baked early in the morning.",
    "The library opens at nine and closes at six.", "Birds gather on the wires before the rain.",
    "A train leaves the station every hour.", "The market sells apples, pears and plums.",
    "Snow covers the hills for most of the winter.", "The bridge was painted red last summer.",
    "Children walk to school along the canal.", "The clock in the square is always five minutes fast.",
    "Fishermen mend their nets on the quay.", "The museum keeps a collection of old maps.",
    "Wind turns the blades of the mill on the ridge.", "The bakery on the corner sells fresh rolls.",
    "A cat sleeps on the warm stones of the wall.", "The road to the coast winds through the forest.",
    "Lanterns light the harbour after dusk.", "The garden behind the house is full of roses.",
]


@dataclass
class Prompt:
    ids: list[int]
    needle_span: tuple[int, int]   # [start, end) of the needle sentence in ids
    digits_span: tuple[int, int]   # [start, end) of the pass key's digits
    answer: str
    length: int
    depth: float


def _encode(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False).input_ids


def bos_ids(tokenizer) -> list[int]:
    """The special tokens the tokenizer puts first on its own (Gemma's <bos>), if any."""
    with_special = tokenizer("a", add_special_tokens=True).input_ids
    without = tokenizer("a", add_special_tokens=False).input_ids
    return with_special[: len(with_special) - len(without)] if with_special[-len(without):] == without else []


def filler_ids(tokenizer, count: int, rng: random.Random) -> list[int]:
    out: list[int] = []
    while len(out) < count:
        out += _encode(tokenizer, " " + rng.choice(FILLER))
    return out[:count]


def passkey_prompt(tokenizer, length: int, depth: float, seed: int) -> Prompt:
    """A prompt of exactly `length` tokens with a 5-digit pass key at `depth` (0 = start)."""
    rng = random.Random(seed)
    answer = str(rng.randint(10000, 99999))
    head = bos_ids(tokenizer) + _encode(tokenizer, "There is a pass key hidden in the text below. Remember it.\n")
    before_digits = _encode(tokenizer, " The pass key is")
    digits = _encode(tokenizer, " " + answer)
    after_digits = _encode(tokenizer, ". Remember it.")
    question = _encode(tokenizer, "\nWhat is the pass key? The pass key is")
    needle = before_digits + digits + after_digits
    room = length - len(head) - len(needle) - len(question)
    if room < 0:
        raise ValueError(f"length {length} is too short for the passkey prompt")
    filler = filler_ids(tokenizer, room, rng)
    split = int(round(depth * room))
    ids = head + filler[:split] + needle + filler[split:] + question
    start = len(head) + split
    digits_start = start + len(before_digits)
    return Prompt(ids, (start, start + len(needle)), (digits_start, digits_start + len(digits)),
                  answer, len(ids), depth)
