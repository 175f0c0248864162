"""Train one configuration (a model size on a corpus of a corruption rate) and measure it on
every fact of the world.

Training: next-token cross-entropy of the value token after each claim's prompt, batches drawn
epoch by epoch from the shuffled corpus, AdamW with warm-up and cosine decay. After training,
for every fact: the model's probability of the true value, of the corpus's wrong value, and
whether its greedy answer is the true value, for the float32 weights and for the weights
quantized to the stated bits. Aggregated here, so a sample stays small: per occurrence count
(facts, greedy right, mean probability of the truth), the corrupted facts one by one (their
corpus share of wrong claims and the model's two probabilities), and the hallucination
measures over the training distribution of questions (sampled-answer error, confident wrong
answers, the binned miscalibration).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .data import Corpus, Vocab, World, WorldSpec, corpus_stats, make_corpus, make_world
from .model import FactLM, ModelSpec, quantize

CALIBRATION_BINS = 10
CONFIDENT = 0.5          # a wrong greedy answer with at least this probability is a confident one


@dataclass(frozen=True)
class TrainSpec:
    model: ModelSpec = field(default_factory=ModelSpec)
    world: WorldSpec = field(default_factory=WorldSpec)
    eta: float = 0.0
    steps: int = 1000
    batch: int = 256
    lr: float = 3e-3
    bits: int = 8
    seed: int = 0


def answer_probs(model: FactLM, prompts: torch.Tensor, vocab: Vocab, chunk: int = 8192) -> torch.Tensor:
    """(n, V): the model's next-token probabilities of the value tokens (their sum can fall
    short of 1 when the model puts mass on other tokens)."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(prompts), chunk):
            probs = model(prompts[i:i + chunk]).float().softmax(-1)
            out.append(probs[:, vocab.value0:vocab.value0 + vocab.spec.values])
    model.train()
    return torch.cat(out).cpu()


def measure(model: FactLM, world: World, stats: dict, vocab: Vocab, device: str) -> dict:
    f = world.spec.facts
    prompts = torch.from_numpy(vocab.prompts(np.arange(f))).to(device)
    probs = answer_probs(model, prompts, vocab).double().numpy()          # (F, V)
    idx = np.arange(f)
    p_true, p_alt = probs[idx, world.truth], probs[idx, world.alternative]
    # greedy over the whole vocabulary: a non-value token counts as wrong
    full_best = probs.max(1)
    greedy = (probs.argmax(1) == world.truth) & (full_best >= 1 - probs.sum(1) - 1e-12)
    counts = world.counts
    by_count = []
    for k in np.unique(counts):
        sel = counts == k
        by_count.append({"count": int(k), "facts": int(sel.sum()), "right": int(greedy[sel].sum()),
                         "p_true": float(p_true[sel].mean()),
                         "majority_right": int((stats["true_claims"][sel] > stats["alt_claims"][sel]).sum())})
    corrupted = np.flatnonzero(stats["alt_claims"] > 0)
    # the questions as training asks them: fact f with probability counts[f] / n
    pi = counts / counts.sum()
    wrong_conf = (~greedy) & (full_best >= CONFIDENT)
    # miscalibration: total variation, over bins of the model's answer probability, between the
    # model's mass on (fact, value) answers and the true answers' mass (Kalai-Vempala's binned
    # form, with questions weighted as in training)
    bins = np.minimum((probs * CALIBRATION_BINS).astype(np.int64), CALIBRATION_BINS - 1)
    g_mass = np.bincount(bins.ravel(), weights=(pi[:, None] * probs).ravel(), minlength=CALIBRATION_BINS)
    is_true = np.zeros_like(probs, dtype=bool)
    is_true[idx, world.truth] = True
    p_mass = np.bincount(bins[is_true], weights=pi, minlength=CALIBRATION_BINS)
    return {"errors": int(f - greedy.sum()), "by_count": by_count,
            "corrupted": {"facts": corrupted.tolist(), "count": counts[corrupted].tolist(),
                          "eta_f": (stats["alt_claims"][corrupted] / counts[corrupted]).round(6).tolist(),
                          "p_true": p_true[corrupted].round(6).tolist(),
                          "p_alt": p_alt[corrupted].round(6).tolist(),
                          "greedy_right": greedy[corrupted].astype(int).tolist()},
            "hallucination": {"rate": float((pi * (1 - p_true)).sum()),
                              "confident_wrong": float(pi[wrong_conf].sum()),
                              "greedy_wrong": float(pi[~greedy].sum()),
                              "bins_model": g_mass.tolist(), "bins_true": p_mass.tolist(),
                              "miscalibration": float(0.5 * np.abs(g_mass - p_mass).sum())}}


def train(spec: TrainSpec, device: str = "cpu") -> dict:
    started = time.time()
    world = make_world(spec.world)
    corpus: Corpus = make_corpus(world, spec.eta, spec.seed)
    stats = corpus_stats(world, corpus)
    vocab = Vocab(spec.world)
    torch.manual_seed(spec.seed)
    model = FactLM(spec.model, len(vocab), spec.world.seq_len).to(device)
    prompts = torch.from_numpy(vocab.prompts(corpus.facts)).to(device)
    targets = torch.from_numpy(corpus.values + vocab.value0).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=spec.lr, betas=(0.9, 0.98), weight_decay=0.0)
    warmup = max(1, spec.steps // 20)
    rng = np.random.default_rng([spec.seed, 3])
    order = np.empty(0, dtype=np.int64)
    losses = []
    for step in range(spec.steps):
        if len(order) < spec.batch:
            order = np.concatenate([order, rng.permutation(len(corpus))])
        index, order = order[:spec.batch], order[spec.batch:]
        progress = (step - warmup) / max(1, spec.steps - warmup)
        lr = spec.lr * ((step + 1) / warmup if step < warmup
                        else 0.05 + 0.475 * (1 + math.cos(math.pi * progress)))
        for group in optimiser.param_groups:
            group["lr"] = lr
        i = torch.from_numpy(index).to(device)
        loss = F.cross_entropy(model(prompts[i]), targets[i])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        if (step + 1) % max(1, spec.steps // 10) == 0:
            losses.append({"step": step + 1, "loss": float(loss.detach())})
    float_result = measure(model, world, stats, vocab, device)
    quantized, bits = quantize(model, spec.bits)
    quant_result = measure(quantized, world, stats, vocab, device)
    return {"params": model.parameter_count(), "bits": bits, "facts": spec.world.facts,
            "values": spec.world.values, "claims": stats["claims"], "corrupted_share": stats["corrupted"],
            "monofacts": stats["monofacts"], "monofact_rate": stats["monofact_rate"],
            "epochs": spec.steps * spec.batch / stats["claims"], "losses": losses,
            "float": float_result, "quantized": quant_result, "seconds": round(time.time() - started, 2)}
