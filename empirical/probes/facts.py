"""E-F: facts stored by small causal language models trained here (H-4, H-5, H-6, H-9).

The models are trained on a generated world (empirical.facts): F facts (entity, relation) ->
value with values drawn uniformly from V, written as token sequences, each fact occurring in the
corpus a long-tailed number of times (Zipf over facts: the last ones once, the first ones
hundreds of times), a fraction eta of the claims corrupted (the fact's one wrong value). Each
trained configuration is one sample, so an interrupted run resumes at the next training.

Two families of trainings, each over seeds:
    size    model sizes on the clean corpus (eta = 0)          -> H-4, H-5, H-9
    noise   the largest size on corpora of growing eta         -> H-5, H-6

H-4 (H-4.measured): each trained model, its weights quantized to the stated bits per parameter,
is a description of c = parameters x bits (+ 32 bits a tensor for its scale) bits; its d wrong
answers out of F pin down stored = F log2 V - log2 B(F, d, V) bits of a table drawn at random,
and the counting bound says 2^log2_bound = 2^(c + 1 - stored) bounds the probability of doing
that well. A log2_bound below log2(ALPHA) is a refutation at level ALPHA; the distance from the
bound is c + 1 - stored bits, and stored / parameters the facts stored per parameter.

H-5 (H-5.per-fact): n = ceil(ln(2m/delta) / (2 eps^2)) occurrences per fact suffice, by Hoeffding
and the union bound, for the majority of each fact's claims to be its truth (m = F facts,
eps = 1/2 - eta). On the noisy corpora: the corpus's majority on facts seen at least n times
(wrong on any: an event of probability at most delta), the trained model's accuracy there, and
its accuracy by occurrence count, with the count from which it answers nine in ten right.

H-6 (H-6, H-6.tv, H-6.greedy): on the corrupted facts, the model's sampled-answer error
(1 - its probability of the truth, exactly) against the corpus's share eta_f of wrong claims,
and its total-variation distance t to the corpus's claims: H-6.tv (error >= eta_f - t) is
evaluated through the checker on every fact; H-6 (a model that reproduces the corpus errs at
eta) on the mean error against eta; H-6.greedy, the refuted literal form, on the greedy error.

H-9 (H-9, H-9.measured): the hallucination rate (the mass of wrong answers, questions asked as
often as training asks them), the confident wrong answers, the monofact rate MF (facts seen once
over training claims) and the binned miscalibration, with the Kalai-Vempala bound's terms
evaluated through H-9.measured and H-9's hypotheses evaluated at the measured values.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from checker.statements import load_statement

from .. import power
from ..executor import Placement
from ..framework import ProbeRun, Verdict, preset_name
from ..stats import bootstrap_mean, wilson
from .multimodal import parse  # the key format both trained-here probes use

NAME = "facts"
THEOREMS = ("H-4.measured", "H-5.per-fact", "H-6", "H-6.tv", "H-6.greedy", "H-9", "H-9.measured")
NEEDS_MODEL = False            # trains its own models: the crosscheck runs it once
LABEL = "trained-here"
ALPHA = 0.001                  # H-4: a model doing what the counting bound gives probability < ALPHA refutes it
MIN_COUNT = 4                  # H-6: corrupted facts seen at least this often (a share of wrong claims to reproduce)


@dataclass(frozen=True)
class Config:
    sizes: tuple = ((4, 1, 1), (6, 1, 2), (8, 1, 2), (16, 1, 2), (32, 1, 2))   # (d, layers, heads)
    etas: tuple = (0.1, 0.2, 0.3)          # noise family, on the largest size (eta = 0 is the size family's)
    entities: int = 256
    relations: int = 8
    values: int = 32
    base: int = 16
    zipf: float = 1.1
    max_count: int = 256
    steps: int = 900
    batch: int = 256
    lr: float = 0.01
    bits: int = 8                  # bits per parameter of the description H-4 is evaluated at
    delta: float = 0.05            # H-5's failure probability
    seeds: tuple = (0, 1)
    seed: int = 0

    @classmethod
    def preset(cls, preset: bool | str = False) -> Config:
        """"cpu" (or False), "standard" (the seeds `plan` asks for) or "full" (or True)."""
        name = preset_name(preset)
        if name == "standard":
            return cls(etas=(0.05, 0.1, 0.2, 0.3), steps=1800, seeds=(0, 1, 2, 3, 4))
        if name == "full":
            return cls(sizes=((4, 1, 1), (6, 1, 2), (8, 1, 2), (12, 1, 2), (16, 1, 2), (32, 1, 2), (64, 2, 4)),
                       etas=(0.05, 0.1, 0.2, 0.3), steps=4000, seeds=tuple(range(10)))
        return cls()


def world_spec(config: Config):
    from ..facts.data import WorldSpec
    return WorldSpec(entities=config.entities, relations=config.relations, values=config.values,
                     base=config.base, zipf=config.zipf, max_count=config.max_count, world_seed=2024 + config.seed)


def keys(config: Config) -> list[str]:
    d, layers, heads = config.sizes[-1]
    out = []
    for s in config.seeds:
        out += [f"size|d={d_}|L={l_}|h={h_}|eta=0|seed={s}" for d_, l_, h_ in config.sizes]
        out += [f"noise|d={d}|L={layers}|h={heads}|eta={e:g}|seed={s}" for e in config.etas]
    return out


def train_spec(key: str, config: Config):
    from ..facts.model import ModelSpec
    from ..facts.train import TrainSpec
    k = parse(key)
    if k["family"] not in ("size", "noise"):
        raise ValueError(f"unknown family in {key!r}")
    d = int(k["d"])
    return TrainSpec(model=ModelSpec(d, int(k["L"]), int(k["h"])), world=world_spec(config), eta=float(k["eta"]),
                     steps=config.steps, batch=config.batch, lr=config.lr * math.sqrt(16 / max(d, 16)),
                     bits=config.bits, seed=config.seed * 1000 + int(k["seed"]))


def cost(key: str, config: Config) -> float:
    k = parse(key)
    d, layers = int(k["d"]), int(k["L"])
    return config.steps / 1000 * (1 + 0.02 * d * layers)


def model_info(device: str) -> dict:
    return {"model": LABEL, "label": "causal language models trained here on generated facts (E-F)",
            "source_sha256": None, "quantization": "float32 (and the stated bits for H-4)", "device": device}


def sample(key: str, config: Config, placement: Placement) -> dict:
    """One training from its key alone (seeded by it), on the placement's device
    (empirical/executor.py: the same locally and on a Ray worker)."""
    from ..facts.train import train
    spec = train_spec(key, config)
    return {**parse(key), "lr": spec.lr, "steps": spec.steps, **train(spec, placement.device)}


def run(run: ProbeRun, loaded=None) -> list[Verdict]:
    config: Config = run.config
    run.sweep(sys.modules[__name__], loaded if loaded is not None else Placement(run.device))
    samples = {s["key"]: s for s in run.samples(keys(config))}
    analysis = analyse_samples(config, samples)
    verdicts = verdicts_from(run.model_name, analysis)
    plot(run, analysis)
    return verdicts


# ---------------------------------------------------------------- analysis

def capacity_terms(c: int, facts: int, values: int, errors: int) -> dict:
    """H-4.measured's terms at one model: capacity c + 1, stored bits and log2 of the bound
    (remembered per statement text: the exact ball sum takes seconds at thousands of errors)."""
    return _capacity_terms(load_statement("H-4.measured").sha256, c, facts, values, errors)


@lru_cache(maxsize=512)
def _capacity_terms(sha256: str, c: int, facts: int, values: int, errors: int) -> dict:
    stmt = load_statement("H-4.measured")
    at = {"c": c, "F": facts, "V": values, "d": errors}
    capacity = stmt.term("capacity", at)
    log2_bound = stmt.term("log2_bound", at)
    return {"capacity": capacity, "log2_bound": log2_bound, "stored": capacity - log2_bound}


def capacity_table(samples: dict, bits_per_param: int) -> list[dict]:
    rows = []
    for s in sorted(samples.values(), key=lambda s: (s["params"], float(s["eta"]), s["key"])):
        q = s["quantized"]
        terms = capacity_terms(int(s["bits"]), int(s["facts"]), int(s["values"]), int(q["errors"]))
        rows.append({"key": s["key"], "family": s["family"], "eta": float(s["eta"]), "params": s["params"],
                     "bits": s["bits"], "bits_per_param": bits_per_param, "errors": q["errors"],
                     "error_rate": q["errors"] / s["facts"],
                     "float_errors": s["float"]["errors"], "facts": s["facts"],
                     "table_bits": s["facts"] * math.log2(s["values"]), **terms,
                     "stored_per_param": terms["stored"] / s["params"]})
    return rows


def n_needed(facts: int, delta: float, eta: float) -> int:
    """H-5.per-fact's n at m = facts, delta and eps = 1/2 - eta, from the statement."""
    return int(load_statement("H-5.per-fact").term("n", m=facts, delta=delta, eps=0.5 - eta))


def occurrences(samples: list[dict], delta: float) -> dict:
    """Accuracy by occurrence count pooled over seeds, and the facts seen at least n times."""
    eta = float(samples[0]["eta"])
    facts = int(samples[0]["facts"])
    n = n_needed(facts, delta, eta) if eta < 0.5 else None
    by: dict[int, dict] = {}
    for s in samples:
        for row in s["float"]["by_count"]:
            b = by.setdefault(row["count"], {"count": row["count"], "facts": 0, "right": 0, "majority_right": 0,
                                            "p_true": 0.0})
            b["facts"] += row["facts"]
            b["right"] += row["right"]
            b["majority_right"] += row["majority_right"]
            b["p_true"] += row["p_true"] * row["facts"]
    rows = [by[k] for k in sorted(by)]
    for b in rows:
        b["p_true"] /= b["facts"]
        b["accuracy"] = b["right"] / b["facts"]
    above = [b for b in rows if n is not None and b["count"] >= n]
    total = sum(b["facts"] for b in above)
    right = sum(b["right"] for b in above)
    # the smallest count from which every count's accuracy (pooled in groups of at least 20 facts) is >= 0.9
    needed = None
    for i in range(len(rows)):
        tail = rows[i:]
        if all(b["accuracy"] >= 0.9 for b in _groups(tail, 20)):
            needed = rows[i]["count"]
            break
    return {"eta": eta, "n": n, "rows": rows, "facts_above": total, "right_above": right,
            "majority_wrong_above": sum(b["facts"] - b["majority_right"] for b in above),
            "model_needs": needed, "trainings": len(samples)}


def _groups(rows: list[dict], least: int) -> list[dict]:
    """Consecutive counts merged until each group has at least `least` facts."""
    out, current = [], {"facts": 0, "right": 0}
    for b in rows:
        current = {"facts": current["facts"] + b["facts"], "right": current["right"] + b["right"]}
        if current["facts"] >= least:
            out.append({**current, "accuracy": current["right"] / current["facts"]})
            current = {"facts": 0, "right": 0}
    if current["facts"]:
        out.append({**current, "accuracy": current["right"] / current["facts"]})
    return out


def noise_floor(samples: list[dict], seed: int = 0) -> dict:
    """On the corrupted facts of one eta (pooled over seeds): those seen at least MIN_COUNT times
    with a share eta_f of wrong claims in (0, 1/2), so that their truth is the corpus's majority.
    Sampled and greedy error, the model's distance to the corpus's claims, H-6.tv at every fact."""
    def field(name):
        return np.concatenate([np.asarray(s["float"]["corrupted"][name], dtype=float) for s in samples])
    eta_f, count = field("eta_f"), field("count")
    keep = (count >= MIN_COUNT) & (eta_f > 0) & (eta_f < 0.5)
    eta_f, p_true, p_alt, greedy = eta_f[keep], field("p_true")[keep], field("p_alt")[keep], field("greedy_right")[keep]
    if not len(eta_f):
        return {"eta": float(samples[0]["eta"]), "facts": 0}
    # the corpus q and the model p over K = 3 answers: 1 the truth, 2 the corpus's wrong value,
    # 3 every other token (the model's remaining mass)
    q = np.stack([1 - eta_f, eta_f, np.zeros_like(eta_f)], axis=-1)
    p = np.stack([p_true, p_alt, np.clip(1 - p_true - p_alt, 0, None)], axis=-1)
    p = p / p.sum(-1, keepdims=True)                  # rounding of the stored probabilities
    tv = np.abs(p - q).sum(-1) / 2
    # t: the measured distance, with 1e-9 of slack for float rounding in the hypothesis 'close'
    found = load_statement("H-6.tv").evaluate_many({"K": 3, "eta": eta_f, "t": np.minimum(tv + 1e-9, 1.0),
                                                    "q": q, "p": p})
    met = np.asarray(found["hypotheses"], dtype=bool) & np.ones(len(eta_f), dtype=bool)
    holds = np.asarray(found["holds"], dtype=bool) & met
    sampled = 1 - p_true
    mean, lo, hi = bootstrap_mean(sampled.tolist(), seed=seed)
    g_lo, g_hi = wilson(int((1 - greedy).sum()), len(greedy))
    return {"eta": float(samples[0]["eta"]), "facts": int(len(eta_f)), "eta_f": float(eta_f.mean()),
            "sampled": mean, "sampled_lo": lo, "sampled_hi": hi, "sd_sampled": float(sampled.std()),
            "greedy": float(1 - greedy.mean()), "greedy_lo": g_lo, "greedy_hi": g_hi,
            "tv": float(tv.mean()), "floor": float(np.maximum(eta_f - tv, 0).mean()),
            "tv_checked": int(met.sum()), "tv_holds": int(holds.sum()),
            "tv_margin": float(np.min(np.asarray(found["margins"][0])[met])) if met.any() else None}


def hallucination(s: dict) -> dict:
    """H-9 at one trained model: the measured rates and the bound's terms through the checker."""
    h = s["float"]["hallucination"]
    facts, values, claims = int(s["facts"]), int(s["values"]), int(s["claims"])
    possible = facts * (values - 1)
    at = {"MF": s["monofact_rate"], "Mis": h["miscalibration"], "F": facts, "H": possible, "n": claims}
    measured = load_statement("H-9.measured")
    terms = {name: measured.term(name, at) for name in ("facts_term", "data_term", "bound")}
    h9 = load_statement("H-9")
    found = h9.evaluate_many({"hr": h["rate"], **at})
    failing = [label for label, ok in found["assumptions"].items() if not bool(ok)]
    status = h9.evaluate(hr=h["rate"], **at)
    return {"key": s["key"], "params": s["params"], "rate": h["rate"], "confident_wrong": h["confident_wrong"],
            "greedy_wrong": h["greedy_wrong"], "miscalibration": h["miscalibration"], "MF": s["monofact_rate"],
            "facts": facts, "possible": possible, "claims": claims, **terms,
            "h9_status": status.status, "h9_failing": failing}


def analyse_samples(config: Config, samples: dict) -> dict:
    size = [s for s in samples.values() if s["family"] == "size"]
    largest = max((s["params"] for s in size), default=None)
    top = [s for s in size if s["params"] == largest]
    noise: dict[float, list[dict]] = {}
    for s in samples.values():
        if s["family"] == "noise":
            noise.setdefault(float(s["eta"]), []).append(s)
    return {"capacity": capacity_table(samples, config.bits), "alpha": ALPHA, "bits_per_param": config.bits,
            "occurrences": [occurrences(group, config.delta) for _, group in sorted(noise.items())],
            "occurrences_clean": occurrences(top, config.delta) if top else None,
            "noise": [noise_floor(group, config.seed) for _, group in sorted(noise.items())],
            "hallucination": [hallucination(s) for s in sorted(size, key=lambda s: (s["params"], s["key"]))],
            "delta": config.delta, "seeds": len(config.seeds),
            "training_seconds": round(sum(s.get("seconds", 0) for s in samples.values()), 1)}


# ---------------------------------------------------------------- verdicts

def capacity_verdict(model: str, rows: list[dict], alpha: float = ALPHA) -> Verdict:
    unit = "trainings (sizes x corpora x seeds)"
    if not rows:
        return Verdict(NAME, model, "H-4.measured", "inconclusive", "no trained model", {}, n=0, unit=unit,
                       needed=power.MAX_N)
    worst = min(rows, key=lambda r: r["log2_bound"])
    biting = [r for r in rows if r["stored"] > 0 and r["capacity"] < r["table_bits"]]
    per_param = [r["stored_per_param"] for r in rows]
    sizes = "; ".join(f"{r['params']:,} params ({r['bits']:,} bits): {r['errors']}/{r['facts']} wrong, "
                      f"{r['stored']:,.0f} bits stored" for r in rows if r["family"] == "size")
    text = (f"{len(rows)} trained models, weights at {rows[0]['bits_per_param']} bits a parameter "
            f"(c = parameters x bits + 32 a tensor), a table of {rows[0]['facts']:,} facts "
            f"({rows[0]['table_bits']:,.0f} bits): {sizes}; stored bits per parameter "
            f"{min(per_param):.3f} .. {max(per_param):.3f}; the closest to the counting bound is "
            f"{worst['key']} at {worst['log2_bound']:,.0f} bits below capacity (c + 1 - stored); the bound is "
            f"non-vacuous (capacity below the table's bits) for {len(biting)} of them")
    numbers = {"models": rows, "alpha": alpha}
    sample: dict[str, Any] = {"n": len(rows), "unit": unit, "quantity": "log2 of the counting bound, closest model",
                              "interval": [worst["log2_bound"], worst["log2_bound"]]}
    if worst["log2_bound"] < math.log2(alpha):
        return Verdict(NAME, model, "H-4.measured", "violated",
                       f"{text}: a model answers more facts right than its description length allows "
                       f"(probability below 2^{worst['log2_bound']:.0f})", numbers, **sample)
    if not biting:
        return Verdict(NAME, model, "H-4.measured", "inconclusive",
                       f"{text}: every model's capacity exceeds the table's bits, so the bound cannot bite",
                       numbers, **sample, needed=power.MAX_N)
    return Verdict(NAME, model, "H-4.measured", "consistent",
                   f"{text}: no model stores more than its bits allow, including the ones whose capacity is below "
                   f"the table's", numbers, **sample)


def occurrences_verdict(model: str, occ: dict | None) -> Verdict:
    unit = "facts seen at least n times (pooled over seeds)"
    if occ is None or occ["n"] is None:
        return Verdict(NAME, model, "H-5.per-fact", "inconclusive", "no noisy corpus trained", {}, n=0, unit=unit,
                       needed=power.MAX_N)
    eps = 0.5 - occ["eta"]
    total, right = occ["facts_above"], occ["right_above"]
    text = (f"corpus with eta = {occ['eta']:g}: H-5.per-fact gives n = {occ['n']} occurrences a fact "
            f"(m = facts, delta, eps = 1/2 - eta = {eps:g}) for the majority of its claims to be its truth; "
            f"{total} facts were seen that often, the corpus's majority is wrong on "
            f"{occ['majority_wrong_above']} of them, "
            f"the trained model on {total - right}; it answers nine in ten right from "
            + (f"{occ['model_needs']} occurrences on" if occ["model_needs"] is not None else "no count on")
            + " (accuracy by count: "
            + ", ".join(f"{b['count']}: {b['accuracy']:.2f}" for b in occ["rows"][:8]) + ", ...)")
    numbers = {k: v for k, v in occ.items()}
    if total == 0:
        return Verdict(NAME, model, "H-5.per-fact", "inconclusive", f"{text}: no fact occurs that often", numbers,
                       n=0, unit=unit, needed=power.MAX_N)
    lo, hi = wilson(total - right, total)
    sample: dict[str, Any] = {"n": total, "unit": unit, "quantity": "model's error on facts seen at least n times",
                              "interval": [lo, hi]}
    if occ["majority_wrong_above"] > 0:
        return Verdict(NAME, model, "H-5.per-fact", "violated",
                       f"{text}: the majority is wrong on a fact seen n times, which the union bound gives "
                       f"probability at most delta", numbers, **sample)
    if hi < eps:
        return Verdict(NAME, model, "H-5.per-fact", "consistent",
                       f"{text}: the occurrences the derivation says suffice do suffice, for the corpus's majority and "
                       f"for the trained model (its error's 95% upper bound {hi:.3f} < eps)"
                       + ("; the model needs fewer: the derivation's n is sufficient, not necessary (H-5 proves no "
                          "lower bound)" if occ["model_needs"] is not None and occ["model_needs"] < occ["n"] else ""),
                       numbers, **sample)
    err = (total - right) / total
    needed = power.n_for_se_test(err, eps, math.sqrt(max(err * (1 - err), 1e-4) / total), total, k=1.96) \
        if err < eps else power.MAX_N
    return Verdict(NAME, model, "H-5.per-fact", "inconclusive",
                   f"{text}: the model's error there is not shown below eps (a trained model is not the counting "
                   "learner the derivation is about)", numbers, **sample, needed=needed)


def noise_verdicts(model: str, noise: list[dict]) -> list[Verdict]:
    unit = "corrupted facts (pooled over seeds)"
    rows = [r for r in noise if r.get("facts")]
    if not rows:
        return [Verdict(NAME, model, t, "inconclusive", "no corrupted facts", {}, n=0, unit=unit, needed=power.MAX_N)
                for t in ("H-6", "H-6.tv", "H-6.greedy")]
    n = sum(r["facts"] for r in rows)
    table = "; ".join(f"eta {r['eta']:g} ({r['facts']} facts, corpus share {r['eta_f']:.3f}): sampled error "
                      f"{r['sampled']:.3f} [{r['sampled_lo']:.3f}, {r['sampled_hi']:.3f}], greedy {r['greedy']:.3f}, "
                      f"TV to the corpus {r['tv']:.3f}" for r in rows)
    numbers = {"etas": rows}
    out = []
    # H-6.tv: an inequality between any two distributions, checked at every measured fact
    checked = sum(r["tv_checked"] for r in rows)
    holds = sum(r["tv_holds"] for r in rows)
    margin = min(r["tv_margin"] for r in rows if r["tv_margin"] is not None) if checked else None
    text = (f"H-6.tv evaluated through the checker at {checked} of {n} corrupted facts (eta_f, t and the two "
            f"distributions as measured): holds at {holds}"
            + (f", smallest margin {margin:.2e}" if margin is not None else ""))
    if checked == 0:
        out.append(Verdict(NAME, model, "H-6.tv", "inconclusive", f"{text}: hypotheses not met at any fact", numbers,
                           n=0, unit=unit, needed=power.MAX_N))
    else:
        out.append(Verdict(NAME, model, "H-6.tv", "consistent" if holds == checked else "violated",
                           f"{text}; mean floor eta_f - t = {sum(r['floor'] * r['facts'] for r in rows) / n:.3f}",
                           numbers, n=checked, unit=unit, quantity="share of facts where error >= eta_f - t",
                           interval=list(wilson(holds, checked))))
    # H-6: the sampled error against eta (a model that reproduces the corpus errs at eta)
    below = [r for r in rows if r["sampled_hi"] < r["eta_f"]]
    gap = min(rows, key=lambda r: r["sampled"] - r["eta_f"])
    sample: dict[str, Any] = {"n": n, "unit": unit, "quantity": f"sampled error minus eta_f at eta {gap['eta']:g}",
                              "interval": [gap["sampled_lo"] - gap["eta_f"], gap["sampled_hi"] - gap["eta_f"]]}
    if not below:
        out.append(Verdict(NAME, model, "H-6", "consistent",
                           f"{table}: at every eta the sampled error is not below the corpus's share of wrong claims, "
                           "the floor H-6 states for a model that reproduces the corpus", numbers, **sample))
    else:
        out.append(Verdict(NAME, model, "H-6", "inconclusive",
                           f"{table}: hypotheses not met at eta "
                           f"{', '.join(format(r['eta'], 'g') for r in below)}: the model "
                           "errs below the corpus's share, so it does not reproduce the corpus (its distance t to it "
                           "is what H-6.tv subtracts)", numbers, **sample, needed=power.MAX_N))
    # H-6.greedy, the literal form: greedy decoding beats eta
    stmt = load_statement("H-6.greedy")
    literal = [stmt.evaluate(eta=min(max(r["eta_f"], 1e-6), 0.499999)).status for r in rows]
    beaten = [r for r in rows if r["greedy_hi"] < r["eta_f"]]
    g = max(rows, key=lambda r: r["eta"])
    text = (f"{table}; the statement itself comes out {'/'.join(sorted(set(literal)))} at the measured eta_f "
            f"(greedy_error = {stmt.term('greedy_error', eta=0.25):g} for eta < 1/2)")
    sample = {"n": n, "unit": unit, "quantity": f"greedy error at eta {g['eta']:g}",
              "interval": [g["greedy_lo"], g["greedy_hi"]]}
    if len(beaten) == len(rows):
        out.append(Verdict(NAME, model, "H-6.greedy", "violated",
                           f"{text}: greedy decoding errs significantly below eta at every eta, as the refutation "
                           "says: "
                           "the noise floor binds sampling, not the majority answer", numbers, **sample))
    else:
        out.append(Verdict(NAME, model, "H-6.greedy", "inconclusive",
                           f"{text}: greedy decoding is not shown below eta at every eta", numbers, **sample,
                           needed=power.MAX_N))
    return out


def hallucination_verdicts(model: str, rows: list[dict]) -> list[Verdict]:
    unit = "trained models (sizes x seeds, clean corpus)"
    if not rows:
        return [Verdict(NAME, model, t, "inconclusive", "no trained model", {}, n=0, unit=unit, needed=power.MAX_N)
                for t in ("H-9", "H-9.measured")]
    top = rows[-1]
    text = (f"largest model ({top['params']:,} parameters): hallucination rate {top['rate']:.3f} (mass of wrong "
            f"answers, questions as often as in training), confident wrong answers {top['confident_wrong']:.3f}, "
            f"greedy wrong {top['greedy_wrong']:.3f}; MF = {top['MF']:.4f} ({top['claims']:,} claims), "
            f"miscalibration {top['miscalibration']:.3f}; Kalai-Vempala's terms from H-9.measured: "
            f"300 F / H = {top['facts_term']:.2f} (F = {top['facts']:,}, H = {top['possible']:,}), "
            f"7 / sqrt(n) = {top['data_term']:.3f}, bound {top['bound']:.2f}; by size "
            + ", ".join(f"{r['params']:,}: rate {r['rate']:.2f}, Mis {r['miscalibration']:.2f}" for r in rows))
    numbers = {"models": rows}
    sample: dict[str, Any] = {"n": len(rows), "unit": unit, "quantity": "Kalai-Vempala bound at the largest model",
                              "interval": [top["bound"], top["bound"]]}
    violated = [r for r in rows if r["bound"] > 0 and r["rate"] < r["bound"]]
    out = []
    if violated:
        out.append(Verdict(NAME, model, "H-9.measured", "violated",
                           f"{text}: a model hallucinates less than the bound", numbers, **sample))
    elif all(r["bound"] <= 0 for r in rows):
        out.append(Verdict(NAME, model, "H-9.measured", "inconclusive",
                           f"{text}: the bound is at most 0 at every model, so no rate can contradict it (300 F / H "
                           "exceeds MF: the corpus's wrong answers are too few for the bound to bite)",
                           numbers, **sample, needed=power.MAX_N))
    else:
        out.append(Verdict(NAME, model, "H-9.measured", "consistent",
                           f"{text}: every model hallucinates at least at the bound where it is positive", numbers,
                           **sample))
    failing = sorted({label for r in rows for label in r["h9_failing"]})
    statuses = sorted({r["h9_status"] for r in rows})
    if failing:
        out.append(Verdict(NAME, model, "H-9", "inconclusive",
                           f"{text}: H-9 evaluated at the measured values: {', '.join(statuses)}; its hypotheses "
                           f"{', '.join(failing)} do not hold here, so its conclusion (rate >= MF/4) is not tested",
                           numbers, **sample, needed=power.MAX_N))
    else:
        ok = all(r["h9_status"] == "holds" for r in rows)
        out.append(Verdict(NAME, model, "H-9", "consistent" if ok else "violated",
                           f"{text}: H-9 evaluated at the measured values: {', '.join(statuses)}", numbers, **sample))
    return out


def verdicts_from(model: str, analysis: dict) -> list[Verdict]:
    first = capacity_verdict(model, analysis["capacity"], analysis.get("alpha", ALPHA))
    first.numbers["training_seconds"] = analysis["training_seconds"]
    occ = analysis["occurrences"]
    return [first, occurrences_verdict(model, occ[-1] if occ else None),
            *noise_verdicts(model, analysis["noise"]), *hallucination_verdicts(model, analysis["hallucination"])]


# ---------------------------------------------------------------- power analysis

SD_SAMPLED = 0.2         # sd of a corrupted fact's sampled error (CPU runs)


def plan(config: Config, observed: dict | None = None) -> list[power.Requirement]:
    """The power analysis of each verdict, and what `config` gives (see empirical/power.py)."""
    from ..facts.data import make_world
    world = make_world(world_spec(config))
    seeds = len(config.seeds)
    out = [power.Requirement(
        "H-4.measured", "log2 of the counting bound at each trained model's bits and errors",
        "exact evaluation of H-4.measured (a model below log2 alpha refutes it at level alpha)",
        "none: each model is one exact reading; the bound bites where capacity is below the table's bits",
        "trainings", 1, len(keys(config)), "sizes x corpora x seeds", note="exact, no sampling")]
    eta = max(config.etas)
    n = n_needed(world.spec.facts, config.delta, eta)
    above = int((world.counts >= n).sum())
    out.append(power.Requirement(
        "H-5.per-fact", f"model's error on facts seen at least n = {n} times (eta {eta:g})",
        "95% Wilson upper bound below eps = 1/2 - eta",
        f"no error among them (a learner as good as the corpus's majority); eps = {0.5 - eta:g}",
        "facts seen at least n times (pooled over seeds)", power.n_zero_failures(0.5 - eta), above * seeds,
        f"{above} facts x {seeds} seeds"))
    e = min(config.etas)        # expected facts seen >= MIN_COUNT times with a wrong claim (most below half)
    corrupted = int(sum(1 - (1 - e) ** c for c in world.counts if c >= MIN_COUNT))
    out.append(power.Requirement(
        "H-6", "sampled error on corrupted facts minus their share of wrong claims",
        "one-sided: bootstrap 95% interval of the error entirely below eta_f -> hypotheses not met",
        f"an error 0.05 below eta (a model sharpening one wrong claim in ten of them); sd {SD_SAMPLED} over facts",
        "corrupted facts (pooled over seeds)", power.n_mean(0.05, SD_SAMPLED, alpha=0.025), corrupted * seeds,
        f"~{corrupted} corrupted facts at eta {min(config.etas):g} x {seeds} seeds"))
    out.append(power.Requirement(
        "H-6.tv", "error >= eta_f - t at every corrupted fact", "exact evaluation of H-6.tv at each fact",
        "none: an inequality between two distributions, a check of the measurement", "corrupted facts", 1,
        corrupted * seeds, "every corrupted fact", note="exact, no sampling"))
    out.append(power.Requirement(
        "H-6.greedy", "greedy error on corrupted facts", "95% Wilson upper bound below eta at every eta",
        f"greedy error 0.02 against eta = {min(config.etas):g}", "corrupted facts (pooled over seeds)",
        power.n_one_proportion(min(config.etas), 0.02, alpha=0.025), corrupted * seeds,
        f"~{corrupted} corrupted facts x {seeds} seeds"))
    for theorem in ("H-9", "H-9.measured"):
        out.append(power.Requirement(
            theorem, "hallucination rate against the Kalai-Vempala bound",
            "the bound's terms and H-9's hypotheses evaluated exactly at each trained model",
            f"none: exact at the measured values; the bound bites only where 300 F / H < MF, i.e. more than "
            f"300 / MF wrong values a fact, and the world has V - 1 = {config.values - 1}",
            "trained models", 1, len(config.sizes) * seeds, "sizes x seeds",
            note="exact, no sampling; no sample size meets the hypotheses in this world (a world with far more "
                 "values a fact would)"))
    return out


# ---------------------------------------------------------------- plots

def plot(run: ProbeRun, analysis: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    rows = analysis["capacity"]
    if rows:
        cap = np.array([r["capacity"] for r in rows])
        stored = np.array([r["stored"] for r in rows])
        clean = np.array([r["family"] == "size" for r in rows])
        ax = axes[0]
        ax.scatter(cap[clean], stored[clean], color="tab:blue", label="clean corpus", zorder=3)
        ax.scatter(cap[~clean], stored[~clean], color="tab:orange", marker="s", label="noisy corpora", zorder=3)
        xs = np.geomspace(cap.min() / 2, cap.max() * 2, 50)
        ax.plot(xs, xs + math.log2(1 / analysis["alpha"]), color="black", lw=1,
                label=f"counting bound: stored <= c + 1 + log2(1/{analysis['alpha']:g})")
        ax.axhline(rows[0]["table_bits"], color="grey", ls=":", lw=1, label="bits of the whole table")
        ax.set_xscale("log")
        ax.set_xlabel("model's description c + 1 (bits)")
        ax.set_ylabel("bits its answers pin down")
        ax.set_title(f"H-4: facts stored against model bits ({analysis['bits_per_param']} bits/param)")
        ax.legend(fontsize=7)
        ax = axes[1]
        size = [r for r in rows if r["family"] == "size"]
        ax.scatter([r["params"] for r in size], [r["error_rate"] for r in size], color="tab:blue",
                   label="quantized, clean corpus")
        ax.scatter([r["params"] for r in size], [r["float_errors"] / r["facts"] for r in size], color="tab:blue",
                   marker="x", label="float32")
        ax.set_xscale("log")
        ax.set_xlabel("parameters")
        ax.set_ylabel("share of facts answered wrong (greedy)")
        ax.set_title("H-4: error against model size")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(run.dir / "capacity.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    ax = axes[0]
    series = ([analysis["occurrences_clean"]] if analysis.get("occurrences_clean") else []) + analysis["occurrences"]
    for occ in series:
        groups = occ["rows"]
        line = ax.plot([b["count"] for b in groups], [b["accuracy"] for b in groups], marker="o", ms=3,
                       label=f"eta {occ['eta']:g}")
        if occ["n"] is not None and occ["eta"] > 0:
            ax.axvline(occ["n"], color=line[0].get_color(), ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("occurrences of the fact in the corpus")
    ax.set_ylabel("greedy accuracy (largest model)")
    ax.set_title("H-5: accuracy by occurrences (dotted: n of H-5.per-fact)")
    ax.legend(fontsize=7)
    ax = axes[1]
    noise = [r for r in analysis["noise"] if r.get("facts")]
    if noise:
        e = [r["eta_f"] for r in noise]
        ax.errorbar(e, [r["sampled"] for r in noise],
                    yerr=[[r["sampled"] - r["sampled_lo"] for r in noise],
                          [r["sampled_hi"] - r["sampled"] for r in noise]],
                    marker="o", capsize=3, label="sampled-answer error")
        ax.errorbar(e, [r["greedy"] for r in noise],
                    yerr=[[r["greedy"] - r["greedy_lo"] for r in noise], [r["greedy_hi"] - r["greedy"] for r in noise]],
                    marker="s", capsize=3, label="greedy error")
        ax.plot(e, [r["floor"] for r in noise], ls="--", color="grey", label="eta_f - t (H-6.tv)")
        top = max(e) * 1.1
        ax.plot([0, top], [0, top], color="black", lw=1, label="error = eta (H-6)")
    ax.set_xlabel("share of wrong claims on corrupted facts (eta_f)")
    ax.set_ylabel("error on corrupted facts")
    ax.set_title("H-6: noise floor, sampling against greedy")
    ax.legend(fontsize=7)
    ax = axes[2]
    hall = analysis["hallucination"]
    if hall:
        xs = [r["params"] for r in hall]
        ax.scatter(xs, [r["rate"] for r in hall], label="hallucination rate")
        ax.scatter(xs, [r["confident_wrong"] for r in hall], marker="x", label="confident wrong (p >= 0.5)")
        ax.scatter(xs, [r["miscalibration"] for r in hall], marker="^", label="miscalibration")
        ax.axhline(hall[0]["MF"], color="grey", ls=":", label="monofact rate MF")
        ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("rate (questions weighted as in training)")
    ax.set_title("H-9: hallucination, MF and miscalibration")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(run.dir / "facts.png", dpi=110)
    plt.close(fig)
