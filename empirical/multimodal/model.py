"""A small causal transformer over [image patches ; text tokens] with next-token loss on the text.

The visual pathway is a linear projection of each pixel patch plus a learned position
embedding per image position; the text pathway is a token embedding plus a learned position
embedding per text position. Both feed one pre-LN transformer (causal attention over the
whole sequence, image first, as in LLaVA-style models), and an untied output head predicts
the next text token. Attention probabilities can be returned per layer, for the Modality
Dominance Index.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    d: int = 32
    layers: int = 2
    heads: int = 2
    mlp: int = 4          # MLP width is mlp * d


class Block(nn.Module):
    def __init__(self, d: int, heads: int, mlp: int):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, mlp * d), nn.GELU(), nn.Linear(mlp * d, d))

    def forward(self, x: torch.Tensor, want_attention: bool):
        b, s, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, s, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        probs = None
        if want_attention:
            scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)
            causal = torch.ones(s, s, dtype=torch.bool, device=x.device).tril()
            probs = scores.masked_fill(~causal, float("-inf")).softmax(-1)       # (b, h, s, s)
            mixed = probs @ v
        else:
            mixed = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.out(mixed.transpose(1, 2).reshape(b, s, d))
        return x + self.mlp(self.ln2(x)), probs


class TwoModalityLM(nn.Module):
    def __init__(self, spec: ModelSpec, vocab: int, patch_dim: int, patches: int, text_len: int):
        super().__init__()
        if spec.d % spec.heads:
            raise ValueError("d must be a multiple of heads")
        self.spec, self.patches = spec, patches
        self.patch_proj = nn.Linear(patch_dim, spec.d)
        self.img_pos = nn.Parameter(torch.randn(patches, spec.d) * 0.02)
        self.tok_emb = nn.Embedding(vocab, spec.d)
        nn.init.normal_(self.tok_emb.weight, std=0.02)
        self.txt_pos = nn.Parameter(torch.randn(text_len, spec.d) * 0.02)
        self.blocks = nn.ModuleList(Block(spec.d, spec.heads, spec.mlp) for _ in range(spec.layers))
        self.ln_f = nn.LayerNorm(spec.d)
        self.head = nn.Linear(spec.d, vocab, bias=False)

    def visual_parameters(self) -> list[nn.Parameter]:
        return [self.patch_proj.weight, self.patch_proj.bias, self.img_pos]

    def text_parameters(self) -> list[nn.Parameter]:
        return [self.tok_emb.weight, self.txt_pos]

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, patches: torch.Tensor, tokens: torch.Tensor, want_attention: bool = False):
        """patches (b, P, patch_dim), tokens (b, T) -> logits (b, T, vocab) at the text
        positions (position t predicts token t+1) and, if asked, per-layer attention
        probabilities (b, heads, P+T, P+T)."""
        image = self.patch_proj(patches) + self.img_pos
        text = self.tok_emb(tokens) + self.txt_pos[: tokens.shape[1]]
        x = torch.cat([image, text], dim=1)
        attention = []
        for block in self.blocks:
            x, probs = block(x, want_attention)
            attention.append(probs)
        logits = self.head(self.ln_f(x[:, self.patches:]))
        return logits, (attention if want_attention else None)


def text_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over the text (what training minimises)."""
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))


def answer_nll(logits: torch.Tensor, tokens: torch.Tensor, answer_index: int) -> torch.Tensor:
    """Per-sample cross-entropy of the answer token (predicted at answer_index - 1)."""
    return F.cross_entropy(logits[:, answer_index - 1], tokens[:, answer_index], reduction="none")


def loss_split(nll: torch.Tensor, vision: torch.Tensor) -> dict:
    """Answer loss per modality and combined. The combined mean is the token-weighted mix
    f_v L_v + f_t L_t, the form of M-1 (each term a power law in N gives L(N) = u + v)."""
    n_v, n_t = int(vision.sum()), int((~vision).sum())
    total = float(nll.sum())
    l_v = float(nll[vision].sum()) / n_v if n_v else float("nan")
    l_t = float(nll[~vision].sum()) / n_t if n_t else float("nan")
    return {"vision": l_v, "text": l_t, "combined": total / len(nll), "n_vision": n_v, "n_text": n_t}


def modality_dominance(rows: torch.Tensor, text_keys: torch.Tensor) -> dict:
    """The Modality Dominance Index of attention rows (Wu et al. 2025):
    MDI = (A_T / |T|) / (A_O / |O|), A = attention mass, summed over the keys of each modality
    that the query sees. rows (..., keys) are probabilities over the visible keys (zeros
    beyond); text_keys (keys,) marks the text keys; every leading entry must see the same
    number of text and image keys (true at a fixed query position). Masses are averaged over
    every leading dimension (heads, samples) before the ratio (pooled, so one near-zero
    image mass does not dominate). Also returns the per-row masses for resampling."""
    text_mass = rows[..., text_keys].sum(-1)
    image_mass = rows[..., ~text_keys].sum(-1)
    n_t, n_o = int(text_keys.sum()), int((~text_keys).sum())
    mdi = float(text_mass.mean() / n_t) / float(image_mass.mean() / n_o)
    return {"mdi": mdi, "text_mass": text_mass, "image_mass": image_mass, "n_text": n_t, "n_image": n_o}


def pathway_grad_norms(model: TwoModalityLM) -> tuple[float, float]:
    """(||grad of the visual pathway||, ||grad of the text pathway||) from the .grad fields."""
    def norm(params):
        return math.sqrt(sum(float(p.grad.pow(2).sum()) for p in params if p.grad is not None))
    return norm(model.visual_parameters()), norm(model.text_parameters())
