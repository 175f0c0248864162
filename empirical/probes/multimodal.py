"""E-M: fractured scaling (M-1) and language dominance (M-2), on two-modality models trained here.

No pretrained vision-language model can be installed offline, so this probe trains its own:
small causal transformers over [image patches ; text] (empirical.multimodal) on generated
scenes and questions, where some answers need the image (colour, shape, cell of an object)
and some are predicted by the text alone (facts of a fixed table). Each trained
configuration is one sample of the run, so an interrupted run resumes at the next training.

Four families of trainings:
    params  model sizes at a fixed number of fresh samples          -> exponents in N
    data    one model, pools of D distinct samples at fixed steps    -> exponents in D
    mix     one model at fixed compute, a growing share of text-only questions
    extra   one model, fixed image-question data, growing text-only data on top
For each, the held-out answer loss of the image-dependent tokens (L_v), of the text-predictable
tokens (L_t) and of both (L = f_v L_v + f_t L_t) at the checkpoint with the lowest held-out L.

M-1: ln L = c0 - alpha ln N fitted by least squares for L_v, L_t and L, with standard errors;
alpha_eff (of L) must lie between alpha_v and alpha_t, and the slower modality's share of L
should grow with N (so the local exponent tends to the smaller exponent). Because L is a
token-weighted mix, every segment's exponent is a mediant of the two and lies between them
exactly: that is counted as a check of the measurement. The mix and extra families look for
inverse scaling of L_v as text data grows (M-1's interaction term).

M-2: per layer, the Modality Dominance Index MDI = (A_T/|T|)/(A_O/|O|) of the attention row
at the position that predicts an image-dependent answer (heads averaged, masses pooled over
samples, 95% bootstrap interval), and the ratio of gradient norms ||grad text pathway|| /
||grad visual pathway|| (token + text-position embeddings against patch projection +
image-position embeddings), averaged over training steps between checkpoints and measured on
held-out batches after training.
"""
from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from checker.statements import load_statement

from .. import power
from ..executor import Placement
from ..framework import ProbeRun, Verdict, preset_name
from ..stats import bootstrap_mean, linear_fit

NAME = "multimodal"
SEGMENT = "M-1.segment"    # a token-weighted mix falls at a rate between its parts' rates
INVERSE = "M-1.inverse"     # an interaction term produces inverse scaling
THEOREMS = ("M-1", INVERSE, "M-2")
NEEDS_MODEL = False            # trains its own models: the crosscheck runs it once
LABEL = "trained-here"
BASELINE_SAMPLES = 20000       # samples for the text-only (image-blind) count baseline


@dataclass(frozen=True)
class Config:
    sizes: tuple = ((8, 1, 2), (16, 2, 2), (24, 2, 4), (32, 3, 4), (48, 3, 4))   # (d, layers, heads)
    steps: int = 1000
    batch: int = 64
    base_lr: float = 0.01          # lr = base_lr * sqrt(16 / d)
    data_model: tuple = (24, 2, 4)
    data_sizes: tuple = (2000, 4000, 8000, 16000)
    mix_model: tuple = (24, 2, 4)
    text_fractions: tuple = (0.2, 0.4, 0.6, 0.8)      # fixed compute: steps x batch samples
    extra_fractions: tuple = (0.2, 0.4, 0.6, 0.8)     # fixed image data, text added on top:
    extra_image_share: float = 0.25                   # image questions = steps x batch x this, at every f
    entities: int = 512
    max_objects: int = 3
    noise: float = 0.1
    cooccur: float = 0.5
    eval_samples: int = 2048
    checkpoints: int = 5
    seeds: tuple = (0, 1)          # two seeds in the CPU preset: the spread between them enters the fits
    seed: int = 0

    @classmethod
    def preset(cls, preset: bool | str = False) -> Config:
        """"cpu" (or False), "standard" (the larger grid with the seeds `plan` asks for) or "full" (or True)."""
        name = preset_name(preset)
        if name in ("full", "standard"):
            # the larger grid; standard runs it with 5 seeds, enough to tell the exponents over data
            # apart by 0.1 or show them equal within 0.05; full with 10, what showing the exponents over
            # parameters equal asks for: a GPU run (--device cuda). See plan().
            return cls(sizes=((8, 1, 2), (16, 2, 2), (24, 2, 4), (32, 3, 4), (48, 3, 4), (64, 4, 4), (96, 4, 4)),
                       steps=3000, data_sizes=(1000, 2000, 4000, 8000, 16000, 32000, 64000),
                       data_model=(48, 3, 4), mix_model=(48, 3, 4),
                       text_fractions=(0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9),
                       extra_fractions=(0.1, 0.2, 0.4, 0.6, 0.8, 0.9), eval_samples=4096,
                       seeds=tuple(range(10)) if name == "full" else (0, 1, 2, 3, 4))
        return cls()


def keys(config: Config) -> list[str]:
    out = []
    for s in config.seeds:
        out += [f"params|d={d}|L={l}|h={h}|seed={s}" for d, l, h in config.sizes]
        out += [f"data|D={n}|seed={s}" for n in config.data_sizes]
        out += [f"mix|text={f:g}|seed={s}" for f in config.text_fractions]
        out += [f"extra|text={f:g}|seed={s}" for f in config.extra_fractions]
    return out


# ---------------------------------------------------------------- power analysis

EQUAL_MARGIN = 0.05      # two exponents within this are "equal": one power law for the range measured
# residual sd of ln L about its power law (per training), from the CPU runs' fits: (vision, text)
SD_RESID = {"params": (0.17, 0.065), "data": (0.13, 0.048)}
SD_INVERSE = 0.09        # residual sd of ln L_v about its line in ln(text data), CPU runs
SMALLEST_INVERSE = 0.1   # slope of ln L_v on ln text data: L_v up 7% a doubling of the text data
SE_MDI = 0.03            # se of a layer's MDI at 2048 held-out questions (CPU runs)
SD_GRAD_RATIO = 0.63     # sd of the text/visual gradient-norm ratio over held-out batches (CPU runs)
GRAD_BATCHES = 8         # held-out batches per trained model (empirical/multimodal/train.py)
CPU_SEEDS = 5            # the most seeds of the larger grid a few CPU hours allow (the standard preset)


def _approx_params(d: int, layers: int) -> float:
    return 12 * d * d * layers + 1200 * d       # within 15% of the counted parameters on the CPU grid


def _sd(xs: list[float]) -> float:
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))


def cost(key: str, config: Config) -> float:
    spec = train_spec(key, config)
    d, layers = spec.model.d, spec.model.layers
    return spec.steps / 1000 * (1 + 0.015 * d * layers * (1 + d / 128))


def plan(config: Config, observed: dict | None = None) -> list[power.Requirement]:
    """The power analysis of each verdict, and what `config` gives (see empirical/power.py)."""
    seeds = len(config.seeds)
    z_equal = power.z(0.95) + power.z(0.9)     # TOST at 0.05 with 80% power when the exponents are equal
    z_apart = power.z(0.975) + power.z(0.8)    # 2 se apart with 80% power
    out = []
    for axis, xs in (("params", [_approx_params(d, layers) for d, layers, _ in config.sizes]),
                     ("data", list(config.data_sizes))):
        sd_x = _sd([math.log(x) for x in xs])
        resid = math.hypot(*SD_RESID[axis])
        apart = math.ceil((z_apart * resid / (2 * EQUAL_MARGIN * sd_x)) ** 2)
        equal = math.ceil((z_equal * resid / (EQUAL_MARGIN * sd_x)) ** 2)
        per_seed = len(xs)
        planned = per_seed * seeds
        symbol = "N" if axis == "params" else "D"
        for label, needed, test, effect in (
                ("apart", apart, "alpha_vision - alpha_text beyond 2 se (alpha 0.025)",
                 f"exponents {2 * EQUAL_MARGIN} apart (the smallest fracture worth reporting)"),
                ("equal", equal, f"TOST: |alpha_vision - alpha_text| + 1.645 se < {EQUAL_MARGIN} (alpha 0.05)",
                 f"equal exponents, shown within +-{EQUAL_MARGIN}")):
            gpu = needed > per_seed * CPU_SEEDS
            out.append(power.Requirement(
                "M-1", f"exponents of L_v and L_t in {symbol} (least-squares fits over sizes x seeds)", test,
                effect + f"; residual sd {SD_RESID[axis][0]} (vision), {SD_RESID[axis][1]} (text) per training",
                "trainings (sizes x seeds)", needed, planned, f"{per_seed} sizes x {seeds} seeds",
                label=f"{axis}, {label}", gpu=gpu,
                note=(f"needs {math.ceil(needed / per_seed)} seeds, more than a few CPU hours: on a GPU, "
                      f"--preset full --device cuda runs {len(Config.preset('full').seeds)}" if gpu else "")))
    for family, fractions in (("mix", config.text_fractions), ("extra", config.extra_fractions)):
        xs = [math.log(f) for f in fractions]
        needed = power.n_slope(SMALLEST_INVERSE, SD_INVERSE, _sd(xs), alpha=0.025)
        out.append(power.Requirement(
            INVERSE, f"slope of ln L_v on ln(text samples), {family} family",
            "one-sided t-test slope > 0 at 2 se (alpha 0.025)",
            f"slope {SMALLEST_INVERSE} (L_v up 7% a doubling of the text data), residual sd {SD_INVERSE}",
            "trainings (fractions x seeds)", needed, len(fractions) * seeds,
            f"{len(fractions)} fractions x {seeds} seeds",
            label=family, note="no inverse scaling stays inconclusive at any n (M-1.inverse allows, not forces)"))
    out.append(power.Requirement(
        "M-2", "MDI at image-dependent answers, every layer of the largest model",
        "95% bootstrap interval above 1 in every layer",
        f"MDI = 1.2 (a fifth more attention per text token than per image token); se {SE_MDI} at 2048 questions",
        "held-out questions", power.se_scale(SE_MDI, 2048, 0.2 / z_apart), config.eval_samples,
        "eval_samples", label="MDI"))
    out.append(power.Requirement(
        "M-2", "text/visual gradient-norm ratio on held-out batches, largest model (all seeds pooled)",
        "95% bootstrap interval above 1",
        f"ratio 1.5 (the text pathway's gradient half again the visual one's); sd {SD_GRAD_RATIO} over batches",
        "held-out batches", power.n_mean(0.5, SD_GRAD_RATIO, alpha=0.025), GRAD_BATCHES * seeds,
        f"{GRAD_BATCHES} batches x {seeds} seeds", label="gradients"))
    return out


def parse(key: str) -> dict:
    family, *rest = key.split("|")
    return {"family": family, **dict(part.split("=") for part in rest)}


def train_spec(key: str, config: Config):
    from ..multimodal.data import DataSpec
    from ..multimodal.model import ModelSpec
    from ..multimodal.train import TrainSpec
    k = parse(key)
    family, seed = k["family"], int(k["seed"])
    data = DataSpec(entities=config.entities, max_objects=config.max_objects, noise=config.noise,
                    cooccur=config.cooccur)
    steps, pool = config.steps, 0
    if family == "params":
        size = (int(k["d"]), int(k["L"]), int(k["h"]))
    elif family == "data":
        size, pool = config.data_model, int(k["D"])
    elif family == "mix":
        size = config.mix_model
        data = dataclasses.replace(data, text_fraction=float(k["text"]))
    elif family == "extra":
        size, f = config.mix_model, float(k["text"])
        data = dataclasses.replace(data, text_fraction=f)
        steps = round(config.steps * config.extra_image_share / (1 - f))   # same image data at every f
    else:
        raise ValueError(f"unknown family in {key!r}")
    d, layers, heads = size
    return TrainSpec(model=ModelSpec(d, layers, heads), data=data, steps=steps, batch=config.batch,
                     lr=config.base_lr * math.sqrt(16 / d), train_samples=pool,
                     checkpoints=config.checkpoints, seed=config.seed * 1000 + seed)


def eval_data(config: Config):
    from ..multimodal.data import DataSpec, generate
    spec = DataSpec(entities=config.entities, max_objects=config.max_objects, noise=config.noise,
                    cooccur=config.cooccur, text_fraction=0.5)
    return spec, generate(config.eval_samples, spec, [config.seed, 99])


def model_info(device: str) -> dict:
    return {"model": LABEL, "label": "two-modality transformers trained here on generated scenes (E-M)",
            "source_sha256": None, "quantization": "float32", "device": device}


class Trainer:
    """What every training reads: the held-out data and the device (once per worker)."""

    def __init__(self, config: Config, device: str):
        self.held_out, self.device = eval_data(config)[1], device


def setup(config: Config, loaded) -> Trainer:
    """(empirical/executor.py) `loaded` stands for the device: no pretrained model is read."""
    return Trainer(config, loaded.device)


def sample(key: str, config: Config, trainer: Trainer) -> dict:
    """One training from its key alone (seeded by it)."""
    from ..multimodal.train import train
    spec = train_spec(key, config)
    result = train(spec, trainer.held_out, trainer.device)
    return {**parse(key), "d": spec.model.d, "layers": spec.model.layers, "heads": spec.model.heads,
            "lr": spec.lr, "steps": spec.steps, "text_fraction": spec.data.text_fraction, **result}


def run(run: ProbeRun, loaded=None) -> list[Verdict]:
    config: Config = run.config
    run.sweep(sys.modules[__name__], loaded if loaded is not None else Placement(run.device))
    samples = {s["key"]: s for s in run.samples(keys(config))}
    analysis = analyse_samples(config, samples)
    verdicts = verdicts_from(run.model_name, analysis)
    plot(run, analysis)
    return verdicts


# ---------------------------------------------------------------- analysis

def fit_power(xs: list[float], ys: list[float]) -> dict:
    """ln y = c0 - alpha ln x by least squares: alpha, its standard error, R^2."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    fit = linear_fit(lx, ly)
    my = sum(ly) / len(ly)
    total = sum((y - my) ** 2 for y in ly)
    resid = sum((y - fit["c0"] - fit["c1"] * x) ** 2 for x, y in zip(lx, ly))
    return {"alpha": -fit["c1"], "se": fit["c1_se"], "c0": fit["c0"], "n": fit["n"],
            "r2": 1 - resid / total if total > 0 else float("nan")}


def best(sample: dict) -> dict:
    """The checkpoint with the lowest held-out combined loss (early stopping)."""
    return min(sample["checkpoints"], key=lambda c: c["combined"])


def points(samples: dict, family: str, x_of) -> list[dict]:
    out = []
    for s in samples.values():
        if s["family"] != family:
            continue
        c = best(s)
        out.append({"key": s["key"], "x": x_of(s), "vision": c["vision"], "text": c["text"],
                    "combined": c["combined"], "step": c["step"], "n_vision": c["n_vision"],
                    "n_text": c["n_text"], "acc_vision": c["acc_vision"], "acc_text": c["acc_text"]})
    return sorted(out, key=lambda p: p["x"])


def scaling(pts: list[dict]) -> dict | None:
    """Per-modality and combined exponents over one axis, segment checks, the slow share."""
    if len({p["x"] for p in pts}) < 3:
        return None
    xs = [p["x"] for p in pts]
    fits = {m: fit_power(xs, [p[m] for p in pts]) for m in ("vision", "text", "combined")}
    # segment exponents between consecutive x values (means over seeds at each x)
    by_x: dict[float, list[dict]] = {}
    for p in pts:
        by_x.setdefault(p["x"], []).append(p)
    grid = sorted(by_x)
    mean = {m: [sum(p[m] for p in by_x[x]) / len(by_x[x]) for x in grid] for m in ("vision", "text", "combined")}
    counts = {m: [sum(p["n_" + m] for p in by_x[x]) / len(by_x[x]) for x in grid] for m in ("vision", "text")}
    segments, inside = [], 0
    segment = load_statement(SEGMENT)
    for i in range(len(grid) - 1):
        dx = math.log(grid[i + 1] / grid[i])
        local = {m: -math.log(mean[m][i + 1] / mean[m][i]) / dx for m in mean}
        # SEGMENT: the mix of the two measured losses falls at a rate between theirs
        ok = segment.evaluate(nv=counts["vision"][i], nt=counts["text"][i],
                              Lv1=mean["vision"][i], Lv2=mean["vision"][i + 1],
                              Lt1=mean["text"][i], Lt2=mean["text"][i + 1]).holds
        inside += ok
        segments.append({"from": grid[i], "to": grid[i + 1], **local, "inside": ok})
    slow = "vision" if fits["vision"]["alpha"] < fits["text"]["alpha"] else "text"
    f_slow = pts[0]["n_" + slow] / (pts[0]["n_vision"] + pts[0]["n_text"])
    share = [f_slow * mean[slow][i] / mean["combined"][i] for i in range(len(grid))]
    return {"fits": fits, "segments": segments, "segments_inside": inside, "slow": slow,
            "slow_share": share, "x": grid, "mean": mean}


def mdi_table(sample: dict) -> dict:
    final = sample["final"]
    return {"vision": [{k: row[k] for k in ("mdi", "lo", "hi", "text_share", "token_share")}
                       for row in final["mdi_vision"]],
            "text": [{k: row[k] for k in ("mdi", "lo", "hi")} for row in final["mdi_text"]],
            "during": [{"step": c["step"], "vision": [r["mdi"] for r in c["mdi_vision"]]}
                       for c in sample["checkpoints"]]}


def grad_table(sample: dict, seed: int) -> dict:
    ratios = [g["text"] / g["visual"] for g in sample["held_out_grads"] if g["visual"] > 0]
    mean, lo, hi = bootstrap_mean(ratios, seed=seed)
    return {"held_out": {"ratio": mean, "lo": lo, "hi": hi, "batches": len(ratios), "ratios": ratios,
                         "visual": sum(g["visual"] for g in sample["held_out_grads"]) / len(sample["held_out_grads"]),
                         "text": sum(g["text"] for g in sample["held_out_grads"]) / len(sample["held_out_grads"])},
            "during": [{"step": c["step"], "ratio": c["grad_ratio"], "visual": c["grad_visual"],
                        "text": c["grad_text"]} for c in sample["checkpoints"]]}


def analyse_samples(config: Config, samples: dict) -> dict:
    from ..multimodal.data import Vocab, generate, text_only_nll
    spec, held_out = eval_data(config)
    baseline_nll = text_only_nll(generate(BASELINE_SAMPLES, spec, [config.seed, 98]), held_out, Vocab(spec))
    baseline = {"vision": float(baseline_nll[held_out.vision].mean()),
                "text": float(baseline_nll[~held_out.vision].mean())}
    params = points(samples, "params", lambda s: s["params"])
    data = points(samples, "data", lambda s: s["train_samples"])
    mix = points(samples, "mix", lambda s: s["text_fraction"] * s["samples_seen"])
    extra = points(samples, "extra", lambda s: s["text_fraction"] * s["samples_seen"])
    sized = sorted((s for s in samples.values() if s["family"] == "params"), key=lambda s: (s["params"], s["key"]))
    dominance = [{"key": s["key"], "params": s["params"], "layers": s["layers"], "mdi": mdi_table(s),
                  "grad": grad_table(s, config.seed), "image_blanked": s["image_blanked"],
                  "vision_by_prior": s["vision_by_prior"], "final_vision": s["final"]["vision"]}
                 for s in sized]
    return {"baseline": baseline, "params": params, "data": data, "mix": mix, "extra": extra,
            "eval_samples": config.eval_samples, "seed": config.seed,
            "training_seconds": round(sum(s["seconds"] for s in samples.values()), 1),
            "scaling_params": scaling(params), "scaling_data": scaling(data),
            "inverse_mix": inverse(mix), "inverse_extra": inverse(extra), "dominance": dominance}


def _means_by_x(pts: list[dict]) -> list[dict]:
    """One point per x: the mean over seeds of each loss."""
    by_x: dict[float, list[dict]] = {}
    for p in pts:
        by_x.setdefault(p["x"], []).append(p)
    return [{"x": x, **{m: sum(p[m] for p in group) / len(group) for m in ("vision", "text")}}
            for x, group in sorted(by_x.items())]


def inverse(pts: list[dict]) -> dict | None:
    """ln L_v against ln(text samples seen): a positive slope is inverse scaling."""
    pts = [p for p in pts if p["x"] > 0]
    if len({p["x"] for p in pts}) < 3:
        return None
    fit = linear_fit([math.log(p["x"]) for p in pts], [math.log(p["vision"]) for p in pts])
    text = linear_fit([math.log(p["x"]) for p in pts], [math.log(p["text"]) for p in pts])
    means = _means_by_x(pts)                  # the ends shown are seed means
    return {"slope": fit["c1"], "se": fit["c1_se"], "text_slope": text["c1"], "text_se": text["c1_se"],
            "first": means[0], "last": means[-1], "n": fit["n"]}


# ---------------------------------------------------------------- verdicts

def _fmt_fit(f: dict) -> str:
    return f"{f['alpha']:.3f} ± {f['se']:.3f}" if f["se"] is not None else f"{f['alpha']:.3f}"


def scaling_verdict(model: str, sc: dict | None, axis: str, baseline: dict) -> Verdict:
    unit = "trainings (sizes x seeds)"
    if sc is None:
        return Verdict(NAME, model, "M-1", "inconclusive", f"{axis}: fewer than three points to fit", {},
                       n=0, unit=unit, needed=power.MAX_N)
    fv, ft, fc = sc["fits"]["vision"], sc["fits"]["text"], sc["fits"]["combined"]
    lo, hi = sorted((fv["alpha"], ft["alpha"]))
    se = {m: sc["fits"][m]["se"] or 0.0 for m in sc["fits"]}
    share = sc["slow_share"]
    numbers = {**sc, "baseline_text_only": baseline}
    symbol = "N" if axis == "parameters" else "D"
    diff, se_diff = fv["alpha"] - ft["alpha"], math.hypot(se["vision"], se["text"])
    z95 = power.z(0.95)
    text = (f"{axis} ({symbol} = {sc['x'][0]:,.0f} .. {sc['x'][-1]:,.0f}, {len(sc['x'])} values): "
            f"L ~ {symbol}^-alpha with "
            f"alpha_vision = {_fmt_fit(fv)} (R^2 {fv['r2']:.2f}), alpha_text = {_fmt_fit(ft)} "
            f"(R^2 {ft['r2']:.2f}), alpha_eff = {_fmt_fit(fc)} for the combined loss; L_v "
            f"{sc['mean']['vision'][0]:.2f} -> {sc['mean']['vision'][-1]:.2f} (image-blind baseline "
            f"{baseline['vision']:.2f}), L_t {sc['mean']['text'][0]:.2f} -> {sc['mean']['text'][-1]:.2f}; "
            f"the slower modality ({sc['slow']})'s share of L {share[0]:.2f} -> {share[-1]:.2f}; segment "
            f"exponents of L between the two in {sc['segments_inside']}/{len(sc['segments'])}; "
            f"alpha_vision - alpha_text = {diff:+.3f} [{diff - 1.96 * se_diff:+.3f}, {diff + 1.96 * se_diff:+.3f}]")
    inside = lo - 2 * se["combined"] <= fc["alpha"] <= hi + 2 * se["combined"]
    distinct = abs(diff) > 2 * se_diff
    # TOST: the 90% interval of the difference inside +-EQUAL_MARGIN shows the exponents equal
    equal = abs(diff) + z95 * se_diff < EQUAL_MARGIN
    determined = all(f["se"] is not None and f["alpha"] > 0 and f["se"] < 0.5 * f["alpha"] for f in (fv, ft, fc))
    points = fv["n"]
    needed = None
    if not determined:
        why = ("an exponent's standard error is more than half its value, or a loss does not fall: "
               "the power laws are not determined")
        verdict = "inconclusive"
        needed = max((power.n_for_se_test(f["alpha"], 0.0, f["se"], points) if f["alpha"] > 0 and f["se"]
                      else power.MAX_N) for f in (fv, ft, fc))
    elif not inside:
        verdict, why = "violated", "alpha_eff lies outside [min, max] by more than 2 se"
    elif not distinct and equal:
        verdict = "consistent"
        why = (f"alpha_eff lies between them, and the two exponents are equal within +-{EQUAL_MARGIN} (TOST, 95%): "
               "one power law over this range, no fracture, which M-1 allows")
    elif not distinct:
        verdict = "inconclusive"
        apart = power.n_for_se_test(diff, 0.0, se_diff, points)
        gap = EQUAL_MARGIN - abs(diff)
        same = power.se_scale(se_diff, points, gap / (z95 + power.z(0.8))) if gap > 0 else power.MAX_N
        needed = min(apart, same)
        why = ("alpha_eff lies between them, but the two exponents are neither told apart (2 se) nor shown equal "
               f"within +-{EQUAL_MARGIN}: about {power.fmt_n(needed)} trainings would decide it at the observed "
               "difference")
    elif share[-1] <= share[0]:
        verdict = "inconclusive"
        needed = power.MAX_N
        why = "alpha_eff lies between them, but the slower modality's share of the loss does not grow"
    else:
        verdict = "consistent"
        why = (f"alpha_eff lies between the two exponents, and the slower modality's share grows, so the local "
               f"exponent moves toward the smaller one ({lo:.3f}), as M-1 says")
    return Verdict(NAME, model, "M-1", verdict, f"{text}: {why}", numbers, n=points, unit=unit,
                   quantity=f"alpha_vision - alpha_text over {'parameters' if symbol == 'N' else 'data'}",
                   interval=[diff - 1.96 * se_diff, diff + 1.96 * se_diff], needed=needed)


def inverse_verdict(model: str, inv: dict | None, label: str) -> Verdict:
    unit = "trainings (fractions x seeds)"
    if inv is None:
        return Verdict(NAME, model, INVERSE, "inconclusive", f"{label}: fewer than three points", {},
                       n=0, unit=unit, needed=power.MAX_N)
    se = inv["se"] or 0.0
    a, b = inv["first"], inv["last"]
    sample: dict[str, Any] = {"n": inv.get("n"), "unit": unit, "quantity": "slope of ln L_v on ln text data",
              "interval": [inv["slope"] - 1.96 * se, inv["slope"] + 1.96 * se]}
    text = (f"interaction ({label}): text-only samples {a['x']:,.0f} -> {b['x']:,.0f} move the image-dependent "
            f"loss L_v {a['vision']:.2f} -> {b['vision']:.2f} (slope of ln L_v on ln text data "
            f"{inv['slope']:+.3f} ± {se:.3f}) while L_t goes {a['text']:.2f} -> {b['text']:.2f}")
    if inv["slope"] - 2 * se > 0:
        how = (" (at fixed compute the text samples displace image samples: a zero-sum data budget)"
               if label == "fixed compute"
               else " (the image data is the same at every point: the text data itself hurts)")
        return Verdict(NAME, model, INVERSE, "consistent",
                       f"{text}: inverse scaling of the image-dependent loss as text data grows{how}, the case "
                       f"M-1.inverse allows once an interaction term is present", inv, **sample)
    if inv["slope"] + 2 * se < 0:
        why = "text data helps the image-dependent loss here (positive transfer): no inverse scaling"
        needed = power.MAX_N
    elif inv["slope"] > 0 and inv.get("n"):
        needed = power.n_for_se_test(inv["slope"], 0.0, se, inv["n"])
        why = (f"no significant change (2 se): no inverse scaling seen (about {power.fmt_n(needed)} trainings would "
               "decide the observed slope)")
    else:
        needed = power.MAX_N
        why = "no significant change (2 se): no inverse scaling seen, and more trainings would not show one"
    return Verdict(NAME, model, INVERSE, "inconclusive", f"{text}: {why}", inv, **sample, needed=needed)


def mdi_verdict(model: str, dominance: list[dict], questions: int | None = None) -> Verdict:
    unit = "held-out questions"
    if not dominance:
        return Verdict(NAME, model, "M-2", "inconclusive", "no trained model to measure", {}, n=0, unit=unit,
                       needed=power.MAX_N)
    top = dominance[-1]
    rows = top["mdi"]["vision"]
    per_layer = ", ".join(f"{r['mdi']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}]" for r in rows)
    others = "; ".join(f"{d['params']:,}: " + "/".join(f"{r['mdi']:.1f}" for r in d["mdi"]["vision"])
                       for d in dominance[:-1])
    text_rows = "/".join(f"{r['mdi']:.1f}" for r in top["mdi"]["text"])
    text = (f"largest model ({top['params']:,} parameters, {top['layers']} layers): MDI at the position predicting "
            f"an image-dependent answer, per layer {per_layer} (95% bootstrap; 1 = attention per token equal for "
            f"text and image; token share of text {rows[0]['token_share']:.2f}, its attention share "
            + "/".join(f"{r['text_share']:.2f}" for r in rows)
            + f"); at text-predictable answers {text_rows}; smaller models {others}")
    numbers = {"models": dominance}
    # the layer nearest to deciding against the verdict: one whose interval holds 1, else the nearest edge
    weakest = min(rows, key=lambda r: -1.0 if r["lo"] <= 1 <= r["hi"] else min(abs(r["lo"] - 1), abs(r["hi"] - 1)))
    sample: dict[str, Any] = {"n": questions, "unit": unit, "quantity": "MDI of the layer nearest to 1",
              "interval": [weakest["lo"], weakest["hi"]]}
    if all(r["lo"] > 1 for r in rows):
        return Verdict(NAME, model, "M-2", "consistent",
                       f"{text}: text gets more attention per token than the image in every layer, even where the "
                       "answer needs the image: language dominance", numbers, **sample)
    if all(r["hi"] < 1 for r in rows):
        return Verdict(NAME, model, "M-2", "violated",
                       f"{text}: the image gets more attention per token in every layer: no language dominance",
                       numbers, **sample)
    needed = power.MAX_N
    sides = {r["mdi"] > 1 for r in rows}
    if len(sides) == 1 and questions:           # every layer on one side: a narrower interval would decide
        needed = max(power.n_for_se_test(r["mdi"], 1.0, (r["hi"] - r["lo"]) / 3.92, questions, k=1.96)
                     for r in rows)
    return Verdict(NAME, model, "M-2", "inconclusive",
                   f"{text}: the layers disagree or their intervals include 1", numbers, **sample, needed=needed)


def grad_verdict(model: str, dominance: list[dict], seed: int = 0) -> Verdict:
    unit = "held-out batches"
    if not dominance:
        return Verdict(NAME, model, "M-2", "inconclusive", "no trained model to measure", {}, n=0, unit=unit,
                       needed=power.MAX_N)
    top = dominance[-1]
    # every seed of the largest size: their held-out batches pooled
    same = [d for d in dominance if d["params"] == top["params"]]
    ratios = [r for d in same for r in d["grad"]["held_out"].get("ratios", [])]
    if ratios:
        mean, lo, hi = bootstrap_mean(ratios, seed=seed)
        g: dict[str, Any] = {"ratio": mean, "lo": lo, "hi": hi, "batches": len(ratios)}
    else:                                       # a summary written before the ratios were kept
        g = top["grad"]["held_out"]
    during = top["grad"]["during"]
    sizes = "; ".join(f"{d['params']:,}: {d['grad']['held_out']['ratio']:.2f}" for d in dominance)
    text = (f"||grad text pathway|| / ||grad visual pathway||, largest model after training ({len(same)} "
            f"seed{'s' if len(same) > 1 else ''}): {g['ratio']:.2f} "
            f"[{g['lo']:.2f}, {g['hi']:.2f}] over {g['batches']} held-out batches; averaged over training steps "
            + " -> ".join(f"{c['ratio']:.2f}" for c in during)
            + f" (checkpoints at {', '.join(str(c['step']) for c in during)}); by size {sizes}")
    sample: dict[str, Any] = {"n": int(g["batches"]), "unit": unit, "quantity": "text/visual gradient-norm ratio",
              "interval": [g["lo"], g["hi"]]}
    if g["lo"] > 1:
        strength = "much" if g["lo"] > 10 else "but not by orders of magnitude"
        return Verdict(NAME, model, "M-2", "consistent",
                       f"{text}: the text pathway gets the larger gradient ({strength}), the direction of "
                       "E||grad_v L|| << E||grad_t L||", {"models": dominance}, **sample)
    if g["hi"] < 1:
        return Verdict(NAME, model, "M-2", "violated",
                       f"{text}: the visual pathway gets the larger gradient", {"models": dominance}, **sample)
    needed = power.n_for_se_test(g["ratio"], 1.0, (g["hi"] - g["lo"]) / 3.92, int(g["batches"]), k=1.96)
    return Verdict(NAME, model, "M-2", "inconclusive",
                   f"{text}: the interval includes 1 (about {power.fmt_n(needed)} batches would decide it)",
                   {"models": dominance}, **sample, needed=needed)


def verdicts_from(model: str, analysis: dict) -> list[Verdict]:
    first = scaling_verdict(model, analysis["scaling_params"], "parameters", analysis["baseline"])
    first.numbers["training_seconds"] = analysis["training_seconds"]   # wall time of all trainings
    return [first,
            scaling_verdict(model, analysis["scaling_data"], "data", analysis["baseline"]),
            inverse_verdict(model, analysis["inverse_mix"], "fixed compute"),
            inverse_verdict(model, analysis["inverse_extra"], "fixed image data"),
            mdi_verdict(model, analysis["dominance"], analysis.get("eval_samples")),
            grad_verdict(model, analysis["dominance"], analysis.get("seed", 0))]


# ---------------------------------------------------------------- plots

def plot(run: ProbeRun, analysis: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter
    colours = {"vision": "tab:red", "text": "tab:blue", "combined": "black"}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    for ax, key, label in ((axes[0], "scaling_params", "parameters N"),
                           (axes[1], "scaling_data", "distinct training samples D")):
        sc = analysis[key]
        pts = analysis["params" if key == "scaling_params" else "data"]
        if sc is None:
            continue
        for m, c in colours.items():
            f = sc["fits"][m]
            ax.scatter([p["x"] for p in pts], [p[m] for p in pts], color=c, s=18, zorder=3)
            xs = np.geomspace(min(sc["x"]), max(sc["x"]), 50)
            ax.plot(xs, np.exp(f["c0"]) * xs ** -f["alpha"], color=c, lw=1,
                    label=f"{'L' if m == 'combined' else 'L_' + m[0]}: alpha = {_fmt_fit(f)}")
        ax.axhline(analysis["baseline"]["vision"], color="tab:red", ls=":", lw=1, label="image-blind L_v")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("held-out answer loss (nats)")
        ax.legend(fontsize=7)
        ax.set_title(f"M-1: loss against {label.split()[-1]}")
    ax = axes[2]
    for key, ls, name in (("mix", "-", "fixed compute"), ("extra", "--", "fixed image data")):
        pts = [p for p in analysis[key] if p["x"] > 0]
        if pts:
            means = _means_by_x(pts)          # a line through the seed means, every run as a dot
            for m, marker, color in (("vision", "o", "tab:red"), ("text", "s", "tab:blue")):
                ax.scatter([p["x"] for p in pts], [p[m] for p in pts], marker=marker, color=color, s=12, alpha=0.5)
                ax.plot([p["x"] for p in means], [p[m] for p in means], ls, color=color,
                        label=f"L_{m[0]}, {name}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("text-only samples seen")
    ax.set_ylabel("held-out answer loss (nats)")
    ax.set_title("M-1 interaction: growing text data")
    ax.legend(fontsize=7)
    for ax, pts in zip(axes, (analysis["params"], analysis["data"], analysis["mix"] + analysis["extra"])):
        ticks = sorted({p["x"] for p in pts if p["x"] > 0})
        if ticks:
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xticks(ticks, [f"{x / 1000:.3g}k" for x in ticks], fontsize=7,
                          rotation=45 if len(ticks) > 5 else 0)
    fig.tight_layout()
    fig.savefig(run.dir / "scaling.png", dpi=110)
    plt.close(fig)

    dom = analysis["dominance"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    cmap = plt.get_cmap("viridis")
    for i, d in enumerate(dom):
        c = cmap(i / max(1, len(dom) - 1))
        rows = d["mdi"]["vision"]
        layers = np.arange(1, len(rows) + 1)
        axes[0].errorbar(layers, [r["mdi"] for r in rows],
                         yerr=[[r["mdi"] - r["lo"] for r in rows], [r["hi"] - r["mdi"] for r in rows]],
                         color=c, marker="o", capsize=2, label=f"{d['params']:,} params, image answers")
        axes[0].plot(layers, [r["mdi"] for r in d["mdi"]["text"]], color=c, ls=":", marker="x")
        during = d["grad"]["during"]
        axes[1].plot([g["step"] for g in during], [g["ratio"] for g in during], color=c, marker="o",
                     label=f"{d['params']:,} params")
    axes[0].axhline(1, color="grey", lw=1)
    axes[0].set_yscale("log")
    axes[0].set_xticks(range(1, max((len(d["mdi"]["vision"]) for d in dom), default=1) + 1))
    axes[0].set_xlabel("layer")
    axes[0].set_ylabel("MDI (attention per text token / per image token)")
    axes[0].set_title("M-2: MDI per layer (dotted: text answers)")
    axes[0].legend(fontsize=7)
    axes[1].axhline(1, color="grey", lw=1)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("training step")
    axes[1].set_ylabel("||grad text pathway|| / ||grad visual pathway||")
    axes[1].set_title("M-2: gradient-norm ratio during training")
    axes[1].legend(fontsize=7)
    if dom:
        top = dom[-1]
        during = top["mdi"]["during"]
        for layer in range(len(during[0]["vision"])):
            axes[2].plot([c["step"] for c in during], [c["vision"][layer] for c in during], marker="o",
                         label=f"layer {layer + 1}")
        axes[2].axhline(1, color="grey", lw=1)
        axes[2].set_yscale("log")
        axes[2].set_xlabel("training step")
        axes[2].set_ylabel("MDI at image-dependent answers")
        axes[2].set_title(f"M-2: MDI during training ({top['params']:,} params)")
        axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(run.dir / "dominance.png", dpi=110)
    plt.close(fig)
