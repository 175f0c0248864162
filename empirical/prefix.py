"""Shared-prefix reuse of the key-value cache for sweeps over many related prompts.

A depth x length sweep of passkey prompts reads, for one filler stream, prompts of the form
    head + filler[:split] + needle + filler[split:room] + question
and every prompt's part before the needle is a prefix of the same stream. Instead of one
full forward pass per prompt, `PrefixRunner` keeps one cache that grows along the stream:
for each prompt (visited in lexicographic order of their prefixes, so a prefix comes right
before its extensions) it crops the cache back to the longest prefix it shares with the
cache's tokens, extends it with the rest of the prefix, runs only the branch (needle,
remaining filler, question) on top, decodes, and crops back. The work per prompt falls from
its whole length to the part after the needle, and the shared part is computed once.

Only caches whose layers keep every past position can be cropped and reused; a model with
sliding-window layers (Gemma 3) gets independent passes (`supported` says which).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .attention import forward_rows, greedy_continue


def supported(model) -> bool:
    """Whether the model's dynamic cache can be cropped back to any earlier length."""
    from transformers.cache_utils import DynamicCache, DynamicLayer
    try:
        cache = DynamicCache(config=model.config)
    except Exception:  # a config the cache cannot read: play safe
        return False
    return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)


@dataclass
class Branch:
    """What one prompt of a sweep gives back: the captured rows and the greedy tokens."""
    recorder: object
    generated: list[int]


def _common(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class PrefixRunner:
    """One cache shared by every prompt of a sweep; see the module docstring."""

    def __init__(self, model, chunk: int = 2048):
        from transformers.cache_utils import DynamicCache
        self.model = model
        self.cache = DynamicCache(config=model.config)
        self.ids: list[int] = []          # the tokens the cache holds, in order
        self.chunk = chunk                # longest piece one extension pass takes at once
        self.prefill_tokens = 0           # tokens run through the model (shared + branches)

    def _crop(self, length: int) -> None:
        if length < len(self.ids):
            self.cache.crop(length - len(self.ids))   # a negative count removes that many
            self.ids = self.ids[:length]

    def _extend(self, ids: list[int]) -> None:
        device = self.model.device
        with torch.inference_mode():
            for start in range(0, len(ids), self.chunk):
                piece = ids[start:start + self.chunk]
                self.model(input_ids=torch.tensor([piece], device=device), cache=self.cache,
                           use_cache=True, logits_to_keep=1)
                self.ids += piece
                self.prefill_tokens += len(piece)

    def run(self, ids: list[int], prefix: int, rows: list[int], decode: int) -> Branch:
        """Run `ids`, reusing the cache for ids[:prefix]; rows are relative to the whole prompt's
        end (negative) as in `forward_rows`; decode greedy tokens after it."""
        if not 0 < prefix < len(ids):
            raise ValueError(f"the shared prefix ({prefix}) must be a proper, non-empty part of the prompt")
        if any(r >= 0 or -r > len(ids) - prefix for r in rows):
            raise ValueError("recorded rows must lie in the branch, counted from the end (-1 = last)")
        self._crop(_common(self.ids, ids[:prefix]))
        self._extend(ids[len(self.ids):prefix])
        branch = ids[prefix:]
        recorder, out = forward_rows(self.model, torch.tensor([branch], device=self.model.device), rows,
                                     use_cache=True, cache=self.cache)
        self.prefill_tokens += len(branch)
        generated = greedy_continue(self.model, out, decode)
        # The branch and the decoded tokens were appended to the shared cache: drop them.
        self.cache.crop(-(self.cache.get_seq_length() - prefix))
        return Branch(recorder, generated)


def order(prefixes: list[list[int]]) -> list[int]:
    """Indices of the prompts in the order that lets each prefix extend the previous one."""
    return sorted(range(len(prefixes)), key=lambda i: prefixes[i])
