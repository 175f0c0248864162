"""A small causal transformer over fact prompts, and its weights at a stated number of bits.

The language model reads <bos>, the entity's digits and the relation (token and position
embeddings, pre-LN blocks with causal attention, `empirical.multimodal.model.Block`) and
predicts the next token over the whole vocabulary; the answer is read from the value tokens.

`quantize` rounds every parameter tensor to `bits` bits (symmetric, one float32 scale per
tensor): the quantized model is exactly described by its integers and
scales, `description_bits` of them, the c that the counting bound H-4 is evaluated at.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from ..multimodal.model import Block


@dataclass(frozen=True)
class ModelSpec:
    d: int = 32
    layers: int = 2
    heads: int = 2
    mlp: int = 4


class FactLM(nn.Module):
    def __init__(self, spec: ModelSpec, vocab: int, seq_len: int):
        super().__init__()
        if spec.d % spec.heads:
            raise ValueError("d must be a multiple of heads")
        self.spec = spec
        self.tok_emb = nn.Embedding(vocab, spec.d)
        nn.init.normal_(self.tok_emb.weight, std=0.02)
        self.pos = nn.Parameter(torch.randn(seq_len, spec.d) * 0.02)
        self.blocks = nn.ModuleList(Block(spec.d, spec.heads, spec.mlp) for _ in range(spec.layers))
        self.ln_f = nn.LayerNorm(spec.d)
        self.head = nn.Linear(spec.d, vocab, bias=False)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (b, T) -> next-token logits at the last position (b, vocab)."""
        x = self.tok_emb(tokens) + self.pos[: tokens.shape[1]]
        for block in self.blocks:
            x, _ = block(x, False)
        return self.head(self.ln_f(x[:, -1]))


def quantize(model: nn.Module, bits: int) -> tuple[nn.Module, int]:
    """A copy with every parameter rounded to `bits`-bit integers times one float32 scale per
    tensor, and the bits that describe it exactly (the integers and the scales)."""
    if not 2 <= bits <= 32:
        raise ValueError("bits per parameter must lie in 2..32")
    out = copy.deepcopy(model)
    total = 0
    if bits == 32:                          # float32 as it is: 32 bits a parameter, no scales
        return out, 32 * sum(p.numel() for p in out.parameters())
    levels = 2 ** (bits - 1) - 1
    with torch.no_grad():
        for p in out.parameters():
            scale = float(p.abs().max()) / levels or 1.0
            p.copy_(torch.round(p / scale).clamp(-levels, levels) * scale)
            total += p.numel() * bits + 32
    return out, total
