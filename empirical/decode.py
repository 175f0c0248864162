"""Greedy decoding that keeps, for every token it writes, the probability the model gave it.

Used by the probes that read a model's confidence in its own answer (probes/abstention.py) and
its reasoning traces (probes/traces.py). The KV cache is kept across steps; decoding stops at
the end-of-sequence tokens, or after `max_new` tokens, or when `stop` (a predicate on the text
written so far) says so.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Greedy:
    tokens: list[int]          # the tokens written (end-of-sequence left out)
    logprobs: list[float]      # natural log of each token's probability under the full softmax
    text: str                  # the decoded tokens
    stopped: str               # "eos" | "stop" | "budget"


def eos_ids(loaded) -> set[int]:
    ids: set[int] = set()
    for source in (loaded.tokenizer.eos_token_id, getattr(loaded.model.generation_config, "eos_token_id", None)):
        if isinstance(source, int):
            ids.add(source)
        elif source:
            ids.update(int(s) for s in source)
    return ids


def greedy(loaded, prompt: list[int], max_new: int, stop: Callable[[str], bool] | None = None) -> Greedy:
    """The greedy continuation of `prompt` (token ids) with each token's log-probability."""
    import torch
    model, tokenizer = loaded.model, loaded.tokenizer
    if not prompt:
        raise ValueError("greedy decoding needs a prompt of at least one token")
    eos = eos_ids(loaded)
    tokens: list[int] = []
    logprobs: list[float] = []
    stopped = "budget"
    with torch.inference_mode():
        out = model(input_ids=torch.tensor([prompt], device=model.device), use_cache=True, logits_to_keep=1)
        for step in range(max_new):
            logp = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
            nxt = int(logp.argmax())
            if nxt in eos:
                stopped = "eos"
                break
            tokens.append(nxt)
            logprobs.append(float(logp[nxt]))
            if stop is not None and stop(tokenizer.decode(tokens, skip_special_tokens=True)):
                stopped = "stop"
                break
            if step + 1 < max_new:
                out = model(input_ids=torch.tensor([[nxt]], device=model.device), cache=out.cache, use_cache=True)
    return Greedy(tokens, logprobs, tokenizer.decode(tokens, skip_special_tokens=True), stopped)


def span_probability(tokenizer, tokens: list[int], logprobs: list[float], start: int, end: int) -> float:
    """The probability of the tokens that write characters [start, end) of the decoded text: the
    product over every token whose characters overlap that span (a token is counted whole)."""
    if end <= start:
        raise ValueError("an empty span has no probability")
    total, written = 0.0, 0
    for i in range(len(tokens)):
        upto = len(tokenizer.decode(tokens[: i + 1], skip_special_tokens=True))
        if upto > start and written < end:
            total += logprobs[i]
        written = upto
        if written >= end:
            break
    return math.exp(total)
