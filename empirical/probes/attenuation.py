"""E-C2: encoding attenuation, analytically for the model's rotary frequencies and in the model.

(a) Analytic, for the model's rotary base and head size d (m = d/2 frequencies
omega_k = base^(-2k/d), k = 0 .. m-1), on a log grid of distances Delta up to the context:
    the average        (1/m) sum_k cos(omega_k Delta),
    the literal bound  2/Delta (Lemma 3 read with rotary frequencies; proofs/context.lim
                       C-2.rotary-literal refutes it at base 1e5, d = 64),
    RoFormer's bound   (1/m) sum_j |S_j|, S_j = sum_{k<=j} e^{i omega_k Delta}, which bounds
                       |sum_k h_k e^{i omega_k Delta}| for weights h_k = (m - k)/m (Su et al. 2021).
(b) In the model: random background tokens with pairs of copies of a random token t at
positions a and a + Delta. From one forward pass with the second copies as query rows we read,
per layer and head, the pre-softmax score of the second copy's query on the first copy's key
(the copy score), and the same query's mean score on the background keys within two positions
of the first copy (the control: keys about as far back, holding other tokens). Their difference,
the excess logit, is what the token match earns at distance Delta, with the purely positional
part (recency) taken out. Most heads do not match tokens at all, so beside the average over all
heads the verdict reads the average over the heads that match copies most strongly at short
distances (4 .. 16), and asks whether it falls like 2/Delta or far slower, from the shortest
distance whose control keys lie on both sides of the copy (Delta >= 4: at Delta = 1 or 2 the
controls are all farther back than the copy, so a head that simply prefers recent keys adds
to the excess there). Several pairs
(distinct tokens) share one pass; for a model with sliding-window layers only the heads that
see every tested distance are averaged.
"""
from __future__ import annotations

import math
import random
import sys
from dataclasses import dataclass
from typing import Any

import torch

from checker.statements import load_statement

from .. import power
from ..attention import forward_rows
from ..framework import ProbeRun, Verdict, preset_name
from ..haystack import bos_ids

NAME = "attenuation"
THEOREMS = ("C-2.rotary-literal", "C-2.roformer-bound")


@dataclass(frozen=True)
class Config:
    deltas: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)  # copy distances
    passes: int = 3               # forward passes: new background, tokens and positions each
    pairs_per_delta: int = 4      # token pairs at each distance in one pass
    margin: int = 32              # background tokens beyond the longest pair
    top_heads: int = 10           # copy-matching heads the verdict reads (at most 1/4 of the heads)
    analytic_points: int = 400    # log grid of the analytic curves, 1 .. context length
    seed: int = 0

    @classmethod
    def preset(cls, preset: bool | str = False) -> Config:
        """"cpu" (or False), "standard" (sized by `plan`) or "full" (or True)."""
        name = preset_name(preset)
        if name == "full":
            return cls(deltas=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512,
                               768, 1024, 1536, 2048, 3072, 4096, 6144, 8000),
                       passes=8, pairs_per_delta=2)
        if name == "standard":
            return cls(passes=52)          # 208 token pairs per distance (C-2.roformer-bound); see plan()
        return cls()


def keys(config: Config) -> list[str]:
    return [f"maxDelta={max(config.deltas)}|pass={i}" for i in range(config.passes)]


# ---------------------------------------------------------------- analytic curves
# Every formula comes from proofs/context.lim, evaluated with the model's own rotary base and
# number of frequencies m = head_dim / 2: the average and the literal bound of LITERAL, the
# RoFormer bound and the weighted sum it bounds of ROFORMER.

LITERAL = "C-2.rotary-literal"
ROFORMER = "C-2.roformer-bound"


def _bindings(base: float, head_dim: int, deltas) -> dict:
    import numpy as np
    return {"base": float(base), "m": head_dim // 2, "Delta": np.asarray(deltas, dtype=float)}


# Design values for the power analysis, from the committed CPU runs:
SD_EXCESS = 1.5         # sd over token pairs of the top heads' excess logit at Delta = 2048 (Gemma 3: 1.49)
SMALLEST_EXCESS = 0.3   # nats: the copy gets e^0.3 = 1.35 times the attention of the keys beside it


def cost(key: str, config: Config) -> float:
    length = max(config.deltas) + config.margin
    return length / 1024 * (1 + length / 8192)


def plan(config: Config, observed: dict | None = None) -> list[power.Requirement]:
    """The power analysis of each verdict, and what `config` gives (see empirical/power.py)."""
    pairs = config.passes * config.pairs_per_delta
    return [
        power.Requirement(
            LITERAL, "share of log-spaced distances where (1/m) sum cos(omega_k Delta) exceeds 2/Delta",
            "exact evaluation of the statement on the model's rotary frequencies", "none: no sampling",
            "analytic grid", 1, 1, f"{config.analytic_points} distances, computed exactly",
            note="exact: decided without samples"),
        power.Requirement(
            ROFORMER, "excess logit of a token's second copy on its first at the longest distance, top heads",
            "one-sided test that the mean over token pairs exceeds 0 by 2 se (alpha 0.025)",
            f"{SMALLEST_EXCESS} nats left at Delta = {max(config.deltas)} (the copy gets 1.35x the attention of "
            f"its neighbours: far above the ~0.001 nats 2/Delta leaves of the short-distance match); sd "
            f"{SD_EXCESS} nats over pairs (Gemma 3 CPU run)",
            "token pairs per distance", power.n_mean(SMALLEST_EXCESS, SD_EXCESS, alpha=0.025), pairs,
            "passes x pairs_per_delta"),
    ]


def rotary_average(delta: float, base: float, head_dim: int) -> float:
    """LITERAL's average (1/m) sum cos(omega_k Delta), omega_k = base^(-k/m), at one distance."""
    return float(load_statement(LITERAL).term_many("average", _bindings(base, head_dim, delta)))


def roformer_relative(delta: float, base: float, head_dim: int) -> float:
    """ROFORMER's relative bound (1/m) sum_j |S_j|, S_j the partial sums of e^{i omega_k Delta}."""
    return float(load_statement(ROFORMER).term_many("roformer", _bindings(base, head_dim, delta)))


def log_grid(hi: float, points: int) -> list[float]:
    return sorted({round(math.exp(math.log(hi) * i / (points - 1)), 6) for i in range(points)})


def analytic(base: float, head_dim: int, context: int, points: int) -> list[dict]:
    """The four curves on a log grid of distances, with each statement's verdict per distance:
    `literal_holds` (LITERAL's claim) and `roformer_holds` (ROFORMER's claim)."""
    deltas = log_grid(context, points)
    bindings = _bindings(base, head_dim, deltas)
    literal, roformer = load_statement(LITERAL), load_statement(ROFORMER)
    lit = literal.evaluate_many(bindings)
    rof = roformer.evaluate_many(bindings)
    columns = {"average": literal.term_many("average", bindings),
               "literal": literal.term_many("literal", bindings),
               "roformer": roformer.term_many("roformer", bindings),
               "weighted": roformer.term_many("weighted", bindings)}
    return [{"delta": d, **{k: float(v[i]) for k, v in columns.items()},
             "literal_holds": bool(lit["holds"][i]), "roformer_holds": bool(rof["holds"][i])}
            for i, d in enumerate(deltas)]


# ---------------------------------------------------------------- in-model measurement

def token_pool(tokenizer, size: int = 32000) -> list[int]:
    """Ordinary vocabulary ids to draw background and copies from: ids 1000 .. size, without
    special, added (Gemma's <unused..>) or byte-fallback (<0x..>) tokens."""
    skip = set(tokenizer.all_special_ids) | set(getattr(tokenizer, "added_tokens_decoder", {}) or {})
    hi = min(len(tokenizer), size)
    ids = [t for t in range(min(1000, hi // 4), hi) if t not in skip]
    names = tokenizer.convert_ids_to_tokens(ids)
    return [t for t, name in zip(ids, names) if not (name.startswith("<0x") and name.endswith(">"))]


def build_pass(tokenizer, config: Config, seed: int) -> dict:
    rng = random.Random(seed)
    head = bos_ids(tokenizer)
    pool = token_pool(tokenizer)
    length = len(head) + max(config.deltas) + config.margin
    pairs, used = [], set()
    tokens = rng.sample(pool, len(config.deltas) * config.pairs_per_delta)
    for delta in sorted(config.deltas, reverse=True):
        for _ in range(config.pairs_per_delta):
            for _attempt in range(10000):
                a = rng.randrange(len(head), length - delta)
                if a not in used and a + delta not in used:
                    break
            else:
                raise ValueError(f"cannot place a pair at distance {delta} in {length} tokens")
            used.update((a, a + delta))
            pairs.append({"delta": delta, "token": tokens[len(pairs)], "a": a, "b": a + delta})
    copies = set(tokens)
    background = [t for t in pool if t not in copies]
    ids = head + [rng.choice(background) for _ in range(length - len(head))]
    for p in pairs:
        ids[p["a"]] = ids[p["b"]] = p["token"]
    return {"ids": ids, "pairs": pairs, "head": len(head)}


def _g(x: float) -> float:
    return float(f"{x:.5g}")


def control_keys(pair: dict, background: torch.Tensor, reach: int = 2) -> list[int]:
    """Background keys within `reach` positions of the first copy, at distance >= 2 from the
    query: keys about as far back as the copy but holding another token."""
    out = []
    for k in range(pair["a"] - reach, pair["a"] + reach + 1):
        if 0 <= k < len(background) and background[k] and pair["b"] - k >= 2:
            out.append(k)
    return out


def measure(loaded, built: dict) -> dict:
    ids, pairs = built["ids"], built["pairs"]
    recorder, _ = forward_rows(loaded.model, torch.tensor([ids], device=loaded.model.device),
                               [p["b"] for p in pairs])
    background = torch.ones(len(ids), dtype=torch.bool)
    background[:built["head"]] = False
    for p in pairs:
        background[p["a"]] = background[p["b"]] = False
    out = []
    for i, p in enumerate(pairs):
        near = control_keys(p, background)
        per_layer = {}
        for layer in sorted(recorder.logits):
            row = recorder.logits[layer][:, i, :].double()        # (heads, keys)
            visible = torch.isfinite(row) & background[None, :]
            everywhere = torch.where(visible, row, torch.zeros_like(row)).sum(1) / visible.sum(1).clamp(min=1)
            local = row[:, near].mean(1)
            cells = zip(row[:, p["a"]].tolist(), local.tolist(), everywhere.tolist(), row[:, p["b"]].tolist())
            per_layer[str(layer)] = [[_g(c), _g(n), _g(e), _g(s)] if math.isfinite(c) and math.isfinite(n)
                                     else None for c, n, e, s in cells]
        # per head: [copy score, mean score on the control keys beside the copy,
        #            mean score on all visible background keys, the query's score on its own key]
        out.append({**p, "controls": near, "scores": per_layer})
    return {"length": len(ids), "pairs": out}


def sample(key: str, config: Config, loaded) -> dict:
    """One sample from its key alone (empirical/executor.py): the pass it names, seeded by it."""
    i = int(key.split("pass=")[1])
    return measure(loaded, build_pass(loaded.tokenizer, config, seed=config.seed * 1000 + i))


def run(run: ProbeRun, loaded) -> list[Verdict]:
    config: Config = run.config
    run.sweep(sys.modules[__name__], loaded)
    samples = run.samples(keys(config))
    info = loaded.info()
    curves = analytic(info["rope_theta"], info["head_dim"], info["max_positions"] or max(config.deltas),
                      config.analytic_points)
    measured = in_model(samples, config)
    verdicts = analyse(run.model_name, info, curves, measured, config)
    plot(run, info, curves, measured)
    return verdicts


def complete_heads(samples: list[dict]) -> list[tuple[str, int]]:
    """The (layer, head) pairs that see the first copy at every distance: a sliding-window layer
    that cannot see the longest pairs is left out, so every curve averages the same heads."""
    complete = None
    for s in samples:
        for p in s["pairs"]:
            seen = {(layer, h) for layer, heads in p["scores"].items() for h, v in enumerate(heads) if v is not None}
            complete = seen if complete is None else complete & seen
    return sorted(complete or set(), key=lambda k: (int(k[0]), k[1]))


SYMMETRIC_FROM = 4   # the smallest Delta whose control keys (reach 2) lie on both sides of the copy


def matching_heads(samples: list[dict], heads: list[tuple[str, int]], top: int,
                   lo: int = SYMMETRIC_FROM, hi: int = 16):
    """The `top` heads with the largest match excess (copy - control) at distances lo..hi: the
    heads that look for an earlier copy of the current token. Selecting them at short distances
    inflates the short-distance end, so the decay measured from there is, if anything, overstated."""
    total = {k: [0.0, 0] for k in heads}
    for s in samples:
        for p in s["pairs"]:
            if lo <= p["delta"] <= hi:
                for layer, h in heads:
                    v = p["scores"][layer][h]
                    total[(layer, h)][0] += v[0] - v[1]
                    total[(layer, h)][1] += 1
    ranked = sorted((k for k in heads if total[k][1]), key=lambda k: -total[k][0] / total[k][1])
    return ranked[:top]


def curve(samples: list[dict], heads: list[tuple[str, int]]) -> list[dict]:
    """Per Delta, averaged over `heads` and then over the token pairs (se over pairs): the copy
    score, the control and global background scores, the excess copy - control."""
    by_delta: dict[int, list[list[float]]] = {}
    for s in samples:
        for p in s["pairs"]:
            vals = [p["scores"][layer][h] for layer, h in heads]
            if vals:
                by_delta.setdefault(p["delta"], []).append([sum(v[j] for v in vals) / len(vals) for j in range(3)])
    rows = []
    for d in sorted(by_delta):
        cells = by_delta[d]
        n = len(cells)
        mean = [sum(c[j] for c in cells) / n for j in range(3)]
        excess = [c[0] - c[1] for c in cells]
        se = (sum((e - sum(excess) / n) ** 2 for e in excess) / (n - 1) / n) ** 0.5 if n > 1 else 0.0
        rows.append({"delta": d, "pairs": n, "copy": _g(mean[0]), "control": _g(mean[1]),
                     "background": _g(mean[2]), "excess": _g(mean[0] - mean[1]), "excess_se": _g(se)})
    return rows


def in_model(samples: list[dict], config: Config) -> dict:
    heads = complete_heads(samples)
    # a minority of specialised heads: at most top_heads, and at most a quarter of those averaged
    top = matching_heads(samples, heads, min(config.top_heads, max(1, len(heads) // 4)))
    return {"heads": len(heads), "layers": sorted({int(layer) for layer, _ in heads}),
            "all": curve(samples, heads), "top": curve(samples, top),
            "top_heads": [f"L{layer}H{h}" for layer, h in top]}


def analyse(model_name: str, info: dict, curves: list[dict], measured: dict, config: Config) -> list[Verdict]:
    base, d = info["rope_theta"], info["head_dim"]
    tested = [c for c in curves if c["delta"] >= 2]
    above = [c for c in tested if not c["literal_holds"]]
    holds = [c for c in curves if c["roformer_holds"]]
    at10 = rotary_average(10, base, d)
    context = curves[-1]["delta"]
    smallest = min(abs(c["average"]) for c in tested)
    verdicts = [Verdict(
        NAME, model_name, LITERAL, "violated" if above else "consistent",
        f"rotary base {base:g}, head size {d}: the average (1/m) sum cos(omega_k Delta) is {at10:.2f} at "
        f"Delta = 10 against 2/Delta = 0.2, and exceeds 2/Delta at {len(above)}/{len(tested)} log-spaced "
        f"distances in [2, {context:g}] (smallest |average| {smallest:.3f}): "
        + ("the literal lemma is violated; " if above else "the literal bound holds here; ")
        + f"the RoFormer bound |sum h_k e^(i omega_k Delta)| <= (1/m) sum_j |S_j| holds at "
        f"{len(holds)}/{len(curves)} distances",
        {"base": base, "head_dim": d, "average_at_10": at10, "above_literal": len(above), "tested": len(tested),
         "roformer_holds": len(holds),
         "curve": [{k: (v if isinstance(v, bool) else _g(v)) for k, v in c.items()}
                   for c in curves[:: max(1, len(curves) // 40)]]},
        n=len(tested), unit="distances (exact, no sampling)",
        quantity="share of distances where the average exceeds 2/Delta",
        interval=[len(above) / len(tested)] * 2)]
    top, every = measured["top"], measured["all"]
    numbers = {"measured": measured}
    if len(top) < 2:
        verdicts.append(Verdict(NAME, model_name, ROFORMER, "inconclusive",
                                "too few distances measured in the model", numbers,
                                n=0, unit="token pairs per distance",
                                needed=power.n_mean(SMALLEST_EXCESS, SD_EXCESS, alpha=0.025)))
        return verdicts
    first = next((r for r in top if r["delta"] >= SYMMETRIC_FROM), top[0])
    last = top[-1]
    anchor = next(r for r in every if r["delta"] == first["delta"])
    literal_ratio = first["delta"] / last["delta"]
    numbers["literal_ratio"] = literal_ratio
    described = (
        f"in the model, the second copy's excess logit on the first copy (copy score minus the score of "
        f"other tokens beside it), averaged over the {len(measured['top_heads'])} strongest copy-matching "
        f"heads ({', '.join(measured['top_heads'][:5])}{', ...' if len(measured['top_heads']) > 5 else ''}) "
        f"and {first['pairs']} token pairs per distance: "
        f"{first['excess']:.2f} ± {first['excess_se']:.2f} at Delta = {first['delta']}, "
        f"{last['excess']:.2f} ± {last['excess_se']:.2f} at Delta = {last['delta']}; over all "
        f"{measured['heads']} heads {anchor['excess']:.2f} -> {every[-1]['excess']:.2f} "
        f"(raw copy score {every[0]['copy']:.2f} at Delta = {every[0]['delta']} -> {every[-1]['copy']:.2f})")
    half = 1.96 * last["excess_se"]
    sample: dict[str, Any] = {"n": last["pairs"], "unit": "token pairs per distance",
              "quantity": f"excess logit at Delta = {last['delta']}, top heads",
              "interval": [last["excess"] - half, last["excess"] + half]}
    if first["excess"] <= 0:
        verdicts.append(Verdict(NAME, model_name, ROFORMER, "inconclusive",
                                described + f"; no positive match at Delta = {first['delta']} to decay", numbers,
                                **sample, needed=power.MAX_N))
        return verdicts
    ratio = last["excess"] / first["excess"]
    numbers["ratio"] = ratio
    significant = last["excess"] > 2 * last["excess_se"] and last["pairs"] > 1
    slow = ratio > 10 * literal_ratio and significant
    if slow:
        why = "the match decays far slower than 2/Delta, as RoFormer's bound allows"
    elif ratio <= 10 * literal_ratio:
        why = "the match decays about as fast as 2/Delta or faster"
    else:
        why = "the match left at the longest distance is not significantly above zero (2 se)"
    needed = None
    if not slow:
        if ratio > 10 * literal_ratio and last["excess"] > 0:
            spread = last["excess_se"] * math.sqrt(last["pairs"])
            needed = power.n_mean(last["excess"], spread, alpha=0.025)
            why += f" (about {power.fmt_n(needed)} pairs per distance would decide the observed excess)"
        else:
            needed = power.MAX_N
    verdicts.append(Verdict(
        NAME, model_name, ROFORMER, "consistent" if slow else "inconclusive",
        described + f"; ratio {ratio:.3g} against {literal_ratio:.3g} for 2/Delta: {why}", numbers,
        **sample, needed=needed))
    return verdicts


def plot(run: ProbeRun, info: dict, curves: list[dict], measured: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax, cx, bx) = plt.subplots(1, 3, figsize=(16, 4.3))
    xs = [c["delta"] for c in curves]
    ax.plot(xs, [c["average"] for c in curves], label="(1/m) sum cos(omega_k Delta)")
    ax.plot(xs, [c["literal"] for c in curves], "k--", lw=1, label="literal bound 2/Delta")
    ax.set_xscale("log")
    ax.set_ylim(-0.6, 2.05)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("Delta (tokens)")
    ax.set_title(f"Lemma 3 as read: base {info['rope_theta']:g}, head size {info['head_dim']}")
    ax.legend(fontsize=7)
    cx.plot(xs, [c["roformer"] for c in curves], label="RoFormer bound (1/m) sum_j |S_j|")
    cx.plot(xs, [c["weighted"] for c in curves], lw=0.8, label="|sum h_k e^(i omega_k Delta)|, h_k = (m-k)/m")
    cx.set_xscale("log")
    cx.set_xlabel("Delta (tokens)")
    cx.set_title("RoFormer's long-term decay bound")
    cx.legend(fontsize=7)
    for rows, label, style in ((measured["top"], f"copy - control, top {len(measured['top_heads'])} heads", "o-"),
                               (measured["all"], f"copy - control, all {measured['heads']} heads", "s-")):
        if rows:
            bx.errorbar([r["delta"] for r in rows], [r["excess"] for r in rows],
                        yerr=[r["excess_se"] for r in rows], fmt=style, capsize=3, ms=4, label=label)
    every, top = measured["all"], measured["top"]
    if every:
        bx.plot([r["delta"] for r in every], [r["copy"] for r in every], ".:", lw=1,
                label="raw copy score, all heads")
    first = next((r for r in top if r["delta"] >= SYMMETRIC_FROM), top[0]) if top else None
    if first and first["excess"] > 0:
        ds = [r["delta"] for r in top if r["delta"] >= first["delta"]]
        bx.plot(ds, [first["excess"] * first["delta"] / d for d in ds], "k--", lw=1, label="2/Delta shape")
    bx.set_xscale("log")
    bx.axhline(0, color="grey", lw=0.5)
    bx.set_xlabel("Delta between the copies (tokens)")
    bx.set_ylabel("pre-softmax score")
    bx.set_title(f"in the model: {run.model_name} ({measured['heads']} heads that see every Delta)", fontsize=10)
    bx.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(run.dir / "attenuation.png", dpi=110)
    plt.close(fig)
