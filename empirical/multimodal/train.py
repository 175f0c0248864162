"""Train one two-modality configuration and measure it at checkpoints.

At each checkpoint, on a fixed held-out set: the answer loss per modality (image-dependent
answers, text-predictable answers, combined), accuracy, the Modality Dominance Index per
layer at the answer-predicting position (separately for the two kinds of answers), the
gradient norms of the visual and text pathways averaged over the training steps since the
previous checkpoint, and the same norms on held-out batches. After training also: the
image-dependent loss with the image blanked, and split by whether the asked object follows
the spurious shape-colour prior.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .data import ANSWER_INDEX, QUERY_INDEX, TEXT_LEN, Batch, DataSpec, Vocab, generate
from .model import ModelSpec, TwoModalityLM, answer_nll, loss_split, modality_dominance, pathway_grad_norms, text_loss


@dataclass(frozen=True)
class TrainSpec:
    model: ModelSpec = field(default_factory=ModelSpec)
    data: DataSpec = field(default_factory=DataSpec)
    steps: int = 400
    batch: int = 64
    lr: float = 3e-3
    train_samples: int = 0      # 0: fresh samples at every step; n: a pool of n samples, repeated
    checkpoints: int = 4
    seed: int = 0


def build(spec: TrainSpec) -> TwoModalityLM:
    torch.manual_seed(spec.seed)
    return TwoModalityLM(spec.model, len(Vocab(spec.data)), spec.data.patch_dim, spec.data.patches, TEXT_LEN)


def tensors(batch: Batch, device: str):
    return (torch.from_numpy(batch.patches).to(device), torch.from_numpy(batch.tokens).to(device),
            torch.from_numpy(batch.vision).to(device))


class Stream:
    """Training batches: fresh seeded samples, or a seeded pool visited epoch by epoch."""

    def __init__(self, spec: TrainSpec):
        self.spec = spec
        self.rng = np.random.default_rng([spec.seed, 7])
        self.pool = generate(spec.train_samples, spec.data, [spec.seed, 1]) if spec.train_samples else None
        self.order: list[int] = []
        self.chunk: Batch | None = None
        self.step = 0

    def next(self) -> Batch:
        b = self.spec.batch
        if self.pool is None:               # fresh data, generated 32 batches at a time
            if self.step % 32 == 0:
                self.chunk = generate(32 * b, self.spec.data, [self.spec.seed, 2, self.step])
            i = self.step % 32
            self.step += 1
            return self.chunk.take(slice(i * b, (i + 1) * b))
        if len(self.order) < b:
            self.order += self.rng.permutation(len(self.pool)).tolist()
        index, self.order = self.order[:b], self.order[b:]
        return self.pool.take(np.array(index))


def bootstrap_ratio(num: np.ndarray, den: np.ndarray, scale: float, seed: int = 0,
                    rounds: int = 1000) -> tuple[float, float]:
    """95% percentile interval of scale * mean(num) / mean(den), resampling rows."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(len(num), size=(rounds, len(num)))
    ratios = np.sort(scale * num[idx].mean(1) / den[idx].mean(1))
    return float(ratios[int(0.025 * rounds)]), float(ratios[int(0.975 * rounds) - 1])


def dominance(attention: list[torch.Tensor], select: torch.Tensor, patches: int) -> list[dict]:
    """Per layer: MDI at the answer-predicting position of the selected samples, with a
    bootstrap interval over samples (masses averaged over heads per sample)."""
    if not bool(select.any()):
        return []
    query = patches + QUERY_INDEX
    text_keys = torch.zeros(query + 1, dtype=torch.bool)
    text_keys[patches:] = True
    out = []
    for probs in attention:
        rows = probs[:, :, query, : query + 1].cpu()[select.cpu()]    # (n, heads, keys)
        m = modality_dominance(rows, text_keys)
        t = m["text_mass"].mean(1).double().numpy()
        o = m["image_mass"].mean(1).double().numpy()
        lo, hi = bootstrap_ratio(t, o, m["n_image"] / m["n_text"])
        out.append({"mdi": m["mdi"], "lo": lo, "hi": hi, "text_share": float(t.mean()),
                    "token_share": m["n_text"] / (m["n_text"] + m["n_image"])})
    return out


def evaluate(model: TwoModalityLM, batch: Batch, device: str) -> dict:
    patches, tokens, vision = tensors(batch, device)
    model.eval()
    with torch.no_grad():
        logits, attention = model(patches, tokens, want_attention=True)
    model.train()
    nll = answer_nll(logits, tokens, ANSWER_INDEX)
    correct = (logits[:, ANSWER_INDEX - 1].argmax(-1) == tokens[:, ANSWER_INDEX])
    split = loss_split(nll.cpu(), vision.cpu())
    vision_c = vision.cpu()
    correct = correct.cpu().float()
    split["acc_vision"] = float(correct[vision_c].mean()) if vision_c.any() else float("nan")
    split["acc_text"] = float(correct[~vision_c].mean()) if (~vision_c).any() else float("nan")
    split["mdi_vision"] = dominance(attention, vision_c, model.patches)
    split["mdi_text"] = dominance(attention, ~vision_c, model.patches)
    return split


def held_out_grad_norms(model: TwoModalityLM, batch: Batch, device: str, chunks: int) -> list[dict]:
    """Pathway gradient norms of the training loss on `chunks` held-out batches (no update)."""
    out = []
    for part in np.array_split(np.arange(len(batch)), chunks):
        patches, tokens, _ = tensors(batch.take(part), device)
        model.zero_grad(set_to_none=True)
        logits, _ = model(patches, tokens)
        text_loss(logits, tokens).backward()
        g_v, g_t = pathway_grad_norms(model)
        out.append({"visual": g_v, "text": g_t})
    model.zero_grad(set_to_none=True)
    return out


def train(spec: TrainSpec, eval_batch: Batch, device: str = "cpu", grad_chunks: int = 8) -> dict:
    started = time.time()
    model = build(spec).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=spec.lr, betas=(0.9, 0.98), weight_decay=0.01)
    warmup = max(1, spec.steps // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return spec.lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, spec.steps - warmup)
        return spec.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))

    stream = Stream(spec)
    marks = sorted({max(1, round(spec.steps * (i + 1) / spec.checkpoints)) for i in range(spec.checkpoints)})
    checkpoints, sums, count = [], [0.0, 0.0, 0.0], 0
    model.train()
    for step in range(1, spec.steps + 1):
        patches, tokens, _ = tensors(stream.next(), device)
        for group in optimiser.param_groups:
            group["lr"] = lr_at(step - 1)
        logits, _ = model(patches, tokens)
        loss = text_loss(logits, tokens)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        g_v, g_t = pathway_grad_norms(model)
        sums[0] += g_v
        sums[1] += g_t
        sums[2] += g_t / g_v if g_v > 0 else float("nan")
        count += 1
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        if step in marks:
            record = evaluate(model, eval_batch, device)
            record.update(step=step, samples_seen=step * spec.batch, train_loss=float(loss.detach()),
                          grad_visual=sums[0] / count, grad_text=sums[1] / count, grad_ratio=sums[2] / count)
            checkpoints.append(record)
            sums, count = [0.0, 0.0, 0.0], 0
    final = checkpoints[-1]
    blank = eval_batch.take(slice(None))
    blank.patches = np.zeros_like(blank.patches)
    masked = evaluate(model, blank, device)
    patches, tokens, vision = tensors(eval_batch, device)
    with torch.no_grad():
        nll = answer_nll(model(patches, tokens)[0], tokens, ANSWER_INDEX).cpu().numpy()
    prior_q = np.isin(eval_batch.question, (0, 1))
    def mean_or_none(mask):
        return float(nll[mask].mean()) if mask.any() else None
    by_prior = {"follows_prior": mean_or_none(prior_q & eval_batch.canonical),
                "against_prior": mean_or_none(prior_q & ~eval_batch.canonical)}
    return {"params": model.parameter_count(),
            "visual_params": sum(p.numel() for p in model.visual_parameters()),
            "text_params": sum(p.numel() for p in model.text_parameters()),
            "train_samples": spec.train_samples or spec.steps * spec.batch,
            "samples_seen": spec.steps * spec.batch, "checkpoints": checkpoints, "final": final,
            "image_blanked": {"vision": masked["vision"], "text": masked["text"]},
            "vision_by_prior": by_prior,
            "held_out_grads": held_out_grad_norms(model, eval_batch, device, grad_chunks),
            "seconds": round(time.time() - started, 2)}
