"""E-C3: softmax crowding measured at the answer position of a passkey prompt.

For every layer and head we read the attention row of the last prompt token and take the
pass key's best-scoring digit token as the relevant token. Its weight w and the margins
Delta_max (to the strongest distractor), Delta_mean (to the mean distractor logit) and
Delta_lse (to the log-mean-exp of the distractors) are exactly what C-3 relates:
    e^Dmax / (e^Dmax + N - 1)  <=  w  <=  e^Dmean / (e^Dmean + N - 1),
    w = 1 / (1 + (N - 1) e^-Dlse).
The sandwich is a check of the measurement itself. Fitting Delta_lse = c0 + c1 ln N per head
tells whether the heads that find the needle keep up with ln N (c1 >= 1) or are crowded
out (c1 < 1, w falling like N^(c1 - 1)). The same samples give the length x depth accuracy
that E-C1 reads.
"""
from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass

import torch

from checker.statements import load_statement

from .. import power
from ..attention import forward_rows, greedy_continue
from ..framework import ProbeRun, Verdict, preset_name
from ..haystack import passkey_prompt
from ..models import check_context
from ..prefix import PrefixRunner
from ..prefix import order as prefix_order
from ..prefix import supported as prefix_supported
from ..stats import fisher_greater, linear_fit, newcombe_difference, wilson
from ..store import write_json

NAME = "needle"
SANDWICH = "C-3.sandwich-measured"   # the statement the per-head measurements are confronted with
THEOREMS = (SANDWICH, "C-3", "C-4")


@dataclass(frozen=True)
class Config:
    lengths: tuple[int, ...] = (256, 1024, 4096, 8192)   # prompt lengths in tokens
    depths: tuple[float, ...] = (0.1, 0.5, 0.9)          # needle position, 0 = start
    repeats: int = 1                                     # different pass keys and fillers
    answer_tokens: int = 8                               # greedy tokens read for the answer
    top_heads: int = 10                                  # retrieval heads used for the fit
    seed: int = 0

    @classmethod
    def preset(cls, preset: bool | str = False) -> Config:
        """"cpu" (or False), "standard" (sized by `plan`) or "full" (or True)."""
        name = preset_name(preset)
        if name == "full":
            return cls(lengths=(256, 512, 1024, 2048, 4096, 8192),
                       depths=(0.1, 0.3, 0.5, 0.7, 0.9), repeats=3)
        if name == "standard":
            # 8 pass keys per (length, depth): 24 prompts per length (C-4, per length), 48 per half
            # of the grid (C-4 pooled), 96 points per head fit (C-3); see plan()
            return cls(repeats=8)
        return cls()


def keys(config: Config) -> list[str]:
    return [f"N={n}|depth={d}|rep={r}" for n in config.lengths for d in config.depths
            for r in range(config.repeats)]


# Design values for the power analysis, from the committed CPU runs (results/needle/*/fits.json):
SD_RESID = 1.4          # residual sd of Dlse about its line in ln N, top SmolLM2 heads (nats)
HEADS_SEEN = 42         # fewest (layer, head) cells per prompt that see the needle (Gemma 3 at 8192)


def cost(key: str, config: Config) -> float:
    """Relative work of one sample (for time estimates): a forward pass over N tokens, whose
    attention part grows like N^2."""
    n = int(key.split("|")[0].split("=")[1])
    return n / 1024 * (1 + n / 8192)


def plan(config: Config, observed: dict | None = None) -> list[power.Requirement]:
    """The power analysis of each verdict, and what `config` gives (see empirical/power.py)."""
    prompts = len(keys(config))
    half = max(1, len(config.lengths) // 2)
    per_half = min(half, len(config.lengths) - half or half) * len(config.depths) * config.repeats
    lns = [math.log(n) for n in config.lengths]
    mean = sum(lns) / len(lns)
    sd_x = math.sqrt(sum((x - mean) ** 2 for x in lns) / len(lns))
    return [
        power.Requirement(
            SANDWICH, "share of (head, prompt) cells whose weight leaves the sandwich",
            "exhaustive check of every cell; no failure bounds the failure rate (exact binomial, 95%)",
            "a failure rate of 1% (an identity of the measurement: any failure is a bug or a refutation)",
            "(head, prompt) cells", power.n_zero_failures(0.01), prompts * HEADS_SEEN,
            f"{prompts} prompts x at least {HEADS_SEEN} heads that see the needle"),
        power.Requirement(
            "C-3", "slope c1 of Dlse = c0 + c1 ln N, per retrieval head",
            "one-sided t-test c1 < 1 at 2 se (alpha 0.025), in most of the top heads",
            "c1 = 0.5 (w falling like N^-0.5, half the weight lost per 4x length: the smallest crowding "
            "worth reporting), residual sd 1.4 nats (SmolLM2 CPU fits)",
            "prompts per head fit", power.n_slope(0.5, SD_RESID, sd_x, alpha=0.025), prompts,
            "lengths x depths x repeats (every prompt is one point of every head's fit)"),
        power.Requirement(
            "C-4", "passkey accuracy, shorter half of the lengths minus the longer half",
            "one-sided Fisher exact test at 0.05 (continuity-corrected normal sizing)",
            "accuracy 0.8 -> 0.4, half the pass keys lost beyond the shorter lengths (the smallest fall "
            "a reader would call a shorter effective context; RULER's 85.6 threshold is finer than any "
            "CPU sample)", "prompts per half", power.n_two_proportions(0.8, 0.4, continuity=True), per_half,
            "lengths in the half x depths x repeats"),
    ]


def prompt_for(tokenizer, key: str, config: Config):
    fields = dict(part.split("=") for part in key.split("|"))
    n, depth, rep = int(fields["N"]), float(fields["depth"]), int(fields["rep"])
    return passkey_prompt(tokenizer, n, depth, seed=config.seed * 1000 + rep)


def head_metrics(logits: torch.Tensor, digits: tuple[int, int], needle: tuple[int, int]) -> list[dict | None]:
    """Per head: weight, needle mass and the three margins; None where the needle is masked."""
    out = []
    for z in logits[:, 0, :].double():                      # z: (keys,)
        visible = torch.isfinite(z)
        span = z[digits[0]:digits[1]]
        if not torch.isfinite(span).any():
            out.append(None)                                 # outside a sliding window
            continue
        target = digits[0] + int(torch.argmax(span))
        probs = torch.softmax(z, dim=0)
        others = z[visible].clone()
        keep = torch.ones_like(others, dtype=torch.bool)
        keep[int(visible[:target].sum())] = False            # drop the target among visible keys
        others = others[keep]
        n = int(visible.sum())                               # N: visible keys, the target included
        s = float(z[target])
        lse = float(torch.logsumexp(others, 0)) - math.log(len(others))
        dmax, dmean, dlse = s - float(others.max()), s - float(others.mean()), s - lse
        out.append({
            "N": n, "w": float(probs[target]), "mass": float(probs[needle[0]:needle[1]].sum()),
            "dmax": dmax, "dmean": dmean, "dlse": dlse,
        })
    return out


def measure(loaded, prompt, answer_tokens: int, runner: PrefixRunner | None = None) -> dict:
    """One prompt: the last row's per-head metrics and the greedy answer. With a runner, the
    part before the needle comes from the shared cache (see empirical/prefix.py)."""
    model, tokenizer = loaded.model, loaded.tokenizer
    if runner is not None:
        branch = runner.run(prompt.ids, prompt.needle_span[0], [-1], answer_tokens)
        recorder, generated = branch.recorder, branch.generated
    else:
        ids = torch.tensor([prompt.ids], device=model.device)
        recorder, out = forward_rows(model, ids, [-1], use_cache=True)
        generated = greedy_continue(model, out, answer_tokens)
    heads = {layer: head_metrics(recorder.logits[layer], prompt.digits_span, prompt.needle_span)
             for layer in sorted(recorder.logits)}
    text = tokenizer.decode(generated)
    return {"length": prompt.length, "depth": prompt.depth, "answer": prompt.answer,
            "output": text, "correct": prompt.answer in text.replace(" ", ""),
            "heads": {str(k): [_round(h) for h in v] for k, v in heads.items()}}


def _round(h):
    return None if h is None else {k: (v if isinstance(v, int) else float(f"{v:.7g}")) for k, v in h.items()}


def batches(todo: list[str], config: Config) -> list[list[str]]:
    """The prompts of one filler stream (one repeat) together: they share everything before the
    needle (empirical/executor.py runs a batch in one worker)."""
    streams: dict[str, list[str]] = {}
    for key in todo:
        streams.setdefault(key.split("|rep=")[1], []).append(key)
    return list(streams.values())


def sample_batch(batch: list[str], config: Config, loaded):
    """The prompts of one stream, visited so that each prefix extends the last one, only the
    branches run (empirical/prefix.py) on a cache that starts empty for every batch: a sample
    depends on its batch's pending keys, never on what ran before it."""
    prompts = {key: prompt_for(loaded.tokenizer, key, config) for key in batch}
    runner = PrefixRunner(loaded.model) if prefix_supported(loaded.model) else None
    if runner is not None:
        batch = [batch[i] for i in prefix_order([prompts[k].ids[:prompts[k].needle_span[0]] for k in batch])]
    for key in batch:
        yield key, measure(loaded, prompts[key], config.answer_tokens, runner)


def sample(key: str, config: Config, loaded) -> dict:
    """One prompt alone (a batch of one)."""
    ((_, data),) = sample_batch([key], config, loaded)
    return data


def run(run: ProbeRun, loaded) -> list[Verdict]:
    config: Config = run.config
    for length in config.lengths:
        check_context(loaded, length)
    run.sweep(sys.modules[__name__], loaded)
    samples = run.samples(keys(config))
    verdicts = analyse(run.model_name, samples, config)
    # Delta_lse = c0 + c1 ln N for every head that sees the needle, ranked by needle mass.
    every_head = dataclasses.replace(config, top_heads=10**6)
    write_json(run.dir / "fits.json", crowding_fits(samples, every_head))
    plot(run, samples, config)
    return verdicts


def _cells(samples):
    for s in samples:
        for layer, heads in s["heads"].items():
            for h, m in enumerate(heads):
                if m is not None:
                    yield s, int(layer), h, m


def sandwich(samples: list[dict]) -> dict:
    """SANDWICH (proofs/context.lim) at every (head, sample), in bulk: its hypotheses (the margins
    are ordered; the weight is the softmax of the logits within the statement's tolerance) and
    its claims (the weight lies in the sandwich widened by that tolerance)."""
    import numpy as np
    cells = [m for _, _, _, m in _cells(samples)]
    if not cells:
        return {"total": 0, "met": 0, "inside": 0, "read": 0, "jensen": 0, "worst_margin": None}
    column = {name: np.array([float(m[key]) for m in cells])
              for name, key in (("N", "N"), ("Dmax", "dmax"), ("Dmean", "dmean"), ("Dlse", "dlse"), ("wm", "w"))}
    out = load_statement(SANDWICH).evaluate_many(column)
    met = np.asarray(out["hypotheses"], dtype=bool)
    return {"total": len(cells), "met": int(met.sum()), "inside": int((met & out["holds"]).sum()),
            "jensen": int(out["assumptions"]["jensen"].sum()), "read": int(out["assumptions"]["read"].sum()),
            "worst_margin": float(np.nanmin(np.minimum(*out["margins"])))}


def analyse(model_name: str, samples: list[dict], config: Config) -> list[Verdict]:
    verdicts = []
    sw = sandwich(samples)
    total, met, inside = sw["total"], sw["met"], sw["inside"]
    verdict = "consistent" if total and inside == met == total else ("violated" if inside < met else "inconclusive")
    out_lo, out_hi = wilson(met - inside, met)
    verdicts.append(Verdict(
        NAME, model_name, SANDWICH, verdict,
        f"{SANDWICH} at every (head, sample) pair: its hypotheses hold for {met}/{total} (margins ordered "
        f"{sw['jensen']}/{total}, weight equal to the softmax of the logits within the statement's tolerance "
        f"{sw['read']}/{total}); the measured weight lies in the widened sandwich for {inside}/{met} of those"
        f" (share outside {(met - inside) / met if met else 0:.3f}, 95% Wilson [{out_lo:.4f}, {out_hi:.4f}])",
        sw, n=met, unit="(head, prompt) cells", quantity="share of cells outside the sandwich",
        interval=[out_lo, out_hi],
        # hypotheses unmet in some cells: a property of those cells, not of the sample size
        needed=power.MAX_N if verdict == "inconclusive" else None))
    fits = crowding_fits(samples, config)
    if fits:
        below = [f for f in fits if f["c1"] + 2 * (f["c1_se"] or 0) < 1]
        ranked = sorted(fits, key=lambda f: f["c1"])
        mid = ranked[len(ranked) // 2]
        median = mid["c1"]
        c1s = [f["c1"] for f in ranked]
        verdict = "consistent" if len(below) > len(fits) / 2 else "inconclusive"
        se = mid["c1_se"] or 0.0
        needed = None
        if verdict == "inconclusive":
            # at the observed effect: the median head's slope clearing 1 by 2 se (80% power)
            needed = power.n_for_se_test(median, 1.0, se, mid["n"]) if median < 1 else power.MAX_N
        tail = ("crowding wins, w falls like N^(c1-1), as C-3 predicts" if verdict == "consistent"
                else "the margins keep up with ln N in most retrieval heads"
                + (" (the median slope is above 1: more prompts would not show crowding)" if median >= 1 else
                   f" (at the median head's slope, about {power.fmt_n(needed)} prompts per head would decide it)"))
        verdicts.append(Verdict(
            NAME, model_name, "C-3", verdict,
            f"top {len(fits)} retrieval heads: fitted Dlse = c0 + c1 ln N with median c1 = {median:.2f} "
            f"(95% [{median - 1.96 * se:.2f}, {median + 1.96 * se:.2f}], {mid['n']} prompts; "
            f"range {c1s[0]:.2f} .. {c1s[-1]:.2f}); c1 + 2se < 1 in {len(below)}/{len(fits)} heads: " + tail,
            {"fits": fits, "median_c1": median}, n=min(f["n"] for f in fits), unit="prompts per head fit",
            quantity="c1 of the median retrieval head", interval=[median - 1.96 * se, median + 1.96 * se],
            needed=needed))
    by_length = {}
    for s in samples:
        by_length.setdefault(s["length"], []).append(s["correct"])
    lengths = sorted(by_length)
    acc = {n: sum(v) / len(v) for n, v in by_length.items()}
    # Pool the shorter and the longer half of the grid: a handful of prompts per length
    # cannot separate two lengths, the halves can.
    half = max(1, len(lengths) // 2)
    short = [c for n in lengths[:half] for c in by_length[n]]
    long = [c for n in lengths[half:] for c in by_length[n]] or short
    lo_short, hi_short = wilson(sum(short), len(short))
    lo_long, hi_long = wilson(sum(long), len(long))
    p_value = fisher_greater(sum(short), len(short), sum(long), len(long))
    drop = p_value < 0.05
    diff, d_lo, d_hi = newcombe_difference(sum(short), len(short), sum(long), len(long))
    p_short, p_long = sum(short) / len(short), sum(long) / len(long)
    needed = None
    if not drop:
        needed = (power.n_two_proportions(p_short, p_long, continuity=True) if p_short > p_long
                  else power.MAX_N)
    per_length = ", ".join(f"{acc[n]:.2f} at {n}" for n in lengths)
    verdicts.append(Verdict(
        NAME, model_name, "C-4", "consistent" if drop else "inconclusive",
        f"passkey accuracy {per_length}; pooled {p_short:.2f} [{lo_short:.2f}, {hi_short:.2f}] "
        f"up to {lengths[half - 1]} tokens vs {p_long:.2f} [{lo_long:.2f}, {hi_long:.2f}] beyond "
        f"(95% Wilson, {len(short)} and {len(long)} prompts), drop {diff:.2f} [{d_lo:.2f}, {d_hi:.2f}] "
        f"(95% Newcombe), one-sided Fisher p = {p_value:.3f}: "
        + ("accuracy falls well inside the nominal context" if drop else
           "no significant drop on this grid" + (f" ({power.fmt_n(needed)} prompts per half would decide the "
                                                  "observed drop)" if needed and needed < power.MAX_N else "")),
        {"accuracy": acc, "fisher_p": p_value}, n=min(len(short), len(long)), unit="prompts per half of the lengths",
        quantity="passkey accuracy, shorter half minus longer half", interval=[d_lo, d_hi], needed=needed))
    return verdicts


def crowding_fits(samples, config: Config) -> list[dict]:
    """Fit Dlse against ln N for the heads with the most needle mass at the shortest length."""
    shortest = min(s["length"] for s in samples)
    score: dict[tuple[int, int], list[float]] = {}
    series: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for s, layer, h, m in _cells(samples):
        series.setdefault((layer, h), []).append((math.log(m["N"]), m["dlse"]))
        if s["length"] == shortest:
            score.setdefault((layer, h), []).append(m["mass"])
    ranked = sorted(score, key=lambda k: -sum(score[k]) / len(score[k]))
    fits = []
    for layer, h in ranked:
        points = series[(layer, h)]
        if len({x for x, _ in points}) < 2:
            continue
        fit = linear_fit([x for x, _ in points], [y for _, y in points])
        fits.append({"layer": layer, "head": h, **{k: (round(v, 4) if isinstance(v, float) else v)
                                                    for k, v in fit.items()}})
        if len(fits) == config.top_heads:
            break
    return fits


def plot(run: ProbeRun, samples: list[dict], config: Config) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    lengths, depths = sorted({s["length"] for s in samples}), sorted({s["depth"] for s in samples})
    grid = [[0.0] * len(lengths) for _ in depths]
    for i, d in enumerate(depths):
        for j, n in enumerate(lengths):
            cell = [s["correct"] for s in samples if s["length"] == n and s["depth"] == d]
            grid[i][j] = sum(cell) / len(cell) if cell else float("nan")
    fig, ax = plt.subplots(figsize=(1.2 * len(lengths) + 2, 0.6 * len(depths) + 1.6))
    im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto", origin="lower")
    ax.set_xticks(range(len(lengths)), [str(n) for n in lengths])
    ax.set_yticks(range(len(depths)), [f"{d:.1f}" for d in depths])
    ax.set_xlabel("prompt length (tokens)")
    ax.set_ylabel("needle depth")
    ax.set_title(f"passkey accuracy, {run.model_name}")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(run.dir / "accuracy_heatmap.png", dpi=110)
    plt.close(fig)

    fits = crowding_fits(samples, config)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    colors = plt.get_cmap("tab10")
    for i, f in enumerate(fits):
        pts = sorted((math.log(m["N"]), m["dlse"]) for s, layer, h, m in _cells(samples)
                     if layer == f["layer"] and h == f["head"])
        xs = [p[0] for p in pts]
        ax.scatter(xs, [p[1] for p in pts], s=10, color=colors(i % 10))
        ax.plot([min(xs), max(xs)], [f["c0"] + f["c1"] * x for x in (min(xs), max(xs))],
                color=colors(i % 10), label=f"L{f['layer']}H{f['head']}: c1={f['c1']:.2f}")
    if fits:
        x0 = min(math.log(m["N"]) for *_, m in _cells(samples))
        y0 = fits[0]["c0"] + fits[0]["c1"] * x0
        ax.plot([x0, x0 + 3], [y0, y0 + 3], "k--", lw=1, label="slope 1 (keeps w fixed)")
    ax.set_xlabel("ln N (visible keys)")
    ax.set_ylabel("margin Delta_lse of the pass key")
    ax.set_title(f"margin vs ln N, top retrieval heads, {run.model_name}")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(run.dir / "margin_vs_lnN.png", dpi=110)
    plt.close(fig)
