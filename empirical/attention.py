"""Attention rows at chosen query positions, for every layer and head, at any length.

Materialising every attention matrix of SmolLM2 at 8192 tokens would take about 72 GB
(30 layers x 9 heads x 8192^2 floats). The probes only need the rows of a few query
positions (the answer position), so this module registers an attention implementation,
`probe`, that runs the model's usual SDPA attention for the output and, beside it,
computes the pre-softmax scores of the requested rows only: O(rows x length) per head.
Each layer's own mask applies, so Gemma 3's sliding-window layers are measured with their
window. `capture()` is a context manager that always restores the model's implementation.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch

_ACTIVE: list[Recorder] = []
_REGISTERED = False


@dataclass
class Recorder:
    rows: list[int]                                   # query positions to record (negative ok)
    logits: dict[int, torch.Tensor] = field(default_factory=dict)  # layer -> (heads, rows, keys)

    def weights(self, layer: int) -> torch.Tensor:
        return torch.softmax(self.logits[layer], dim=-1)


def _repeat_kv(x: torch.Tensor, groups: int) -> torch.Tensor:
    # (batch, kv_heads, keys, dim) -> (batch, kv_heads * groups, keys, dim)
    if groups == 1:
        return x
    b, h, n, d = x.shape
    return x[:, :, None].expand(b, h, groups, n, d).reshape(b, h * groups, n, d)


def _probe_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    out, _ = sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling,
                                    dropout=dropout, **kwargs)
    if _ACTIVE:
        recorder = _ACTIVE[-1]
        n_queries, n_keys = query.shape[2], key.shape[2]
        rows = [r % n_queries for r in recorder.rows]
        keys = _repeat_kv(key, query.shape[1] // key.shape[1])            # (1, heads, keys, dim)
        q = query[:, :, rows, :]                                           # (1, heads, rows, dim)
        scale = scaling if scaling is not None else q.shape[-1] ** -0.5
        scores = torch.matmul(q.float(), keys.float().transpose(2, 3)) * scale  # (1, heads, rows, keys)
        softcap = kwargs.get("softcap")
        if softcap:
            scores = torch.tanh(scores / softcap) * softcap
        offset = n_keys - n_queries  # positions of the queries among the keys
        if attention_mask is not None:
            mask = attention_mask[:, :, rows, :] if attention_mask.shape[2] > 1 else attention_mask
            if mask.dtype == torch.bool:
                scores = scores.masked_fill(~mask, float("-inf"))
            else:
                scores = scores + mask.float()
        else:  # causal by construction
            positions = torch.arange(n_keys, device=scores.device)
            limit = torch.tensor(rows, device=scores.device)[:, None] + offset   # (rows, 1)
            scores = scores.masked_fill((positions[None, :] > limit)[None, None], float("-inf"))
        recorder.logits[module.layer_idx] = scores[0].detach().cpu()
    return out, None


def _register() -> None:
    global _REGISTERED
    if _REGISTERED:
        return
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask
    AttentionInterface.register("probe", _probe_attention)
    ALL_MASK_ATTENTION_FUNCTIONS.register("probe", sdpa_mask)
    _REGISTERED = True


@contextlib.contextmanager
def probe_implementation(model):
    """Switch the model to the `probe` attention for the duration of the block."""
    _register()
    previous = model.config._attn_implementation
    model.set_attn_implementation("probe")
    try:
        yield
    finally:
        model.set_attn_implementation(previous)


@contextlib.contextmanager
def capture(model, rows: list[int]):
    """Record the pre-softmax scores of `rows` in every layer during forward passes."""
    recorder = Recorder(list(rows))
    with probe_implementation(model):
        _ACTIVE.append(recorder)
        try:
            yield recorder
        finally:
            _ACTIVE.remove(recorder)


def forward_rows(model, input_ids: torch.Tensor, rows: list[int], use_cache: bool = False, cache=None):
    """One forward pass; returns the recorder and the model output (logits of the last position,
    and the key-value cache when asked for, so decoding can continue without a second prefill).
    With `cache`, the pass continues that cache (rows count among `input_ids` only)."""
    extra = {"cache": cache} if cache is not None else {}
    with torch.inference_mode(), capture(model, rows) as recorder:
        out = model(input_ids=input_ids, logits_to_keep=1, use_cache=use_cache or cache is not None, **extra)
    return recorder, out


def greedy_continue(model, out, tokens: int) -> list[int]:
    """Greedy decoding from a prefill's output and cache."""
    generated = []
    with torch.inference_mode():
        cache, nxt = out.cache, out.logits[0, -1].argmax()
        for _ in range(tokens):
            generated.append(int(nxt))
            step = model(input_ids=nxt.view(1, 1), cache=cache, use_cache=True)
            cache, nxt = step.cache, step.logits[0, -1].argmax()
    return generated
