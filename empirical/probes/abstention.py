"""E-H7: answering against abstaining, with the model's own confidence as the abstention rule.

H-7 (proofs/hallucination.lim): under binary grading (lambda = 0) an abstention scores 0 and an
answer scores its probability p of being right, so answering is never worse; with a penalty
lambda for a wrong answer, answering pays exactly when p >= lambda / (1 + lambda) (H-7.penalty,
whose break-even the probe reads from its `guess` through the checker).

The measurement: arithmetic questions of mixed difficulty (sums, differences and products of
one- to three-digit numbers, answers computed by Python) asked greedily; the model's confidence
is the probability it gives the number it writes (the product of the softmax probabilities of
the tokens that write it). For each lambda the score of a policy "answer when the confidence is
at least tau, else abstain" is measured over the questions (+1 right, -lambda wrong, 0 abstained)
and the thresholds tau that maximize it are found. H-7.penalty puts that best threshold at the
break-even when the confidence is the probability of being right, i.e. when the model is
calibrated. So the confidence is also recalibrated (a logistic fit of correctness on the
log-odds of the confidence, Platt scaling) and the best threshold read on the recalibrated
scale, where the theorem places it at lambda / (1 + lambda); 95% intervals by bootstrap over
questions (the fit redone in each resample), Bonferroni-adjusted over the penalties.
"""
from __future__ import annotations

import math
import random
import re
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from checker.statements import load_statement

from .. import power
from ..decode import greedy, span_probability
from ..framework import ProbeRun, Verdict, preset_name
from ..stats import wilson
from ..tasks import chat_ids

NAME = "abstention"
H7, H7_PENALTY = "H-7", "H-7.penalty"
THEOREMS = (H7, H7_PENALTY)
KINDS = ("add1", "add2", "sub2", "mul1", "add3", "mul2")   # from easy to hard for a small model


@dataclass(frozen=True)
class Question:
    index: int
    kind: str
    text: str
    answer: int
    reply: str          # the start of the model's reply, after which it writes the number


def question(index: int, seed: int) -> Question:
    """The index-th question: kinds in turn, numbers drawn from a generator seeded by both."""
    kind = KINDS[index % len(KINDS)]
    rng = random.Random(f"abstention:{seed}:{index}")
    if kind == "add1":
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        op, value = "+", a + b
    elif kind == "add2":
        a, b = rng.randint(11, 89), rng.randint(11, 89)
        op, value = "+", a + b
    elif kind == "sub2":
        a, b = sorted((rng.randint(11, 99), rng.randint(11, 99)), reverse=True)
        op, value = "-", a - b
    elif kind == "mul1":
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        op, value = "x", a * b
    elif kind == "add3":
        a, b = rng.randint(101, 899), rng.randint(101, 899)
        op, value = "+", a + b
    else:
        a, b = rng.randint(11, 49), rng.randint(3, 9)
        op, value = "x", a * b
    return Question(index, kind, f"What is {a} {op} {b}?", value, f"{a} {op} {b} =")


@dataclass(frozen=True)
class Config:
    questions: int = 12
    lambdas: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)   # wrong-answer penalties (0 is always added)
    max_new_tokens: int = 5
    bootstrap: int = 1000
    seed: int = 0

    @classmethod
    def preset(cls, preset: bool | str = False) -> Config:
        """"cpu" (or False), "standard" (sized by `plan`) or "full" (or True)."""
        name = preset_name(preset)
        if name == "full":
            return cls(questions=1200, lambdas=(0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0), bootstrap=2000)
        if name == "standard":
            return cls(questions=480, bootstrap=2000)
        return cls()


def keys(config: Config) -> list[str]:
    return [f"q={i}" for i in range(config.questions)]


def cost(key: str, config: Config) -> float:
    return 1.0


# Design values for the power analysis:
BAND_SHARE = 0.2        # share of questions whose confidence lies near a given break-even
MIN_CLASS = 5           # right and wrong answers each, at least, for a calibration fit
MAX_WIDTH = 0.5         # a threshold interval wider than this places the threshold nowhere
THRESHOLD_GAP = 0.15    # accuracy: a threshold this far from the break-even must be told apart


def plan(config: Config, observed: dict | None = None) -> list[power.Requirement]:
    """The power analysis of each verdict, and what `config` gives (see empirical/power.py)."""
    band = power.n_one_proportion(0.5, 0.5 + THRESHOLD_GAP, alpha=0.025)
    return [
        power.Requirement(
            H7, "expected score of answering minus abstaining at lambda = 0 (the accuracy)",
            "95% Wilson lower bound of the accuracy above 0",
            "an accuracy of 0.3 (a small model on mixed arithmetic); one right answer decides it",
            "questions", power.n_any_event(0.3), config.questions, "questions"),
        power.Requirement(
            H7_PENALTY, "best abstention threshold on the recalibrated confidence against lambda / (1 + lambda)",
            "the break-even inside the 95% bootstrap interval of the maximizing thresholds, at every lambda",
            f"the accuracy at a threshold {THRESHOLD_GAP} from the break-even (0.5 at lambda = 1) told from it, "
            f"with about {BAND_SHARE:.0%} of the questions near the threshold",
            "questions", math.ceil(band / BAND_SHARE), config.questions, "questions",
            note="a disagreement measures the recalibration's misfit as well as the model"),
    ]


def _prompt(tokenizer, q: Question) -> list[int]:
    return chat_ids(tokenizer, q.text, q.reply)


NUMBER = re.compile(r"-?\d[\d,]*")


def read_answer(text: str) -> tuple[int | None, tuple[int, int] | None]:
    """The first integer written (thousands commas allowed) and its character span."""
    m = NUMBER.search(text)
    if m is None:
        return None, None
    digits = m.group().replace(",", "")
    try:
        return int(digits), (m.start(), m.end())
    except ValueError:
        return None, None


def measure(loaded, q: Question, config: Config) -> dict:
    out = greedy(loaded, _prompt(loaded.tokenizer, q), config.max_new_tokens,
                 stop=lambda text: re.search(r"\d[^\d,]", text) is not None)
    value, span = read_answer(out.text)
    if span is None:   # no number: the confidence of the whole reply (always wrong)
        confidence = math.exp(sum(out.logprobs)) if out.logprobs else 0.0
    else:
        confidence = span_probability(loaded.tokenizer, out.tokens, out.logprobs, *span)
    return {"kind": q.kind, "question": q.text, "expected": q.answer, "output": out.text.strip(),
            "answer": value, "correct": value == q.answer, "confidence": confidence}


def sample(key: str, config: Config, loaded) -> dict:
    """One sample from its key alone (empirical/executor.py): the model is the context."""
    return measure(loaded, question(int(key.split("=")[1]), config.seed), config)


def run(run: ProbeRun, loaded) -> list[Verdict]:
    config: Config = run.config
    run.sweep(sys.modules[__name__], loaded)
    samples = run.samples(keys(config))
    result = analyse(run.model_name, samples, config)
    plot(run, samples, result)
    return result["verdicts"]


# --------------------------------------------------------------------------------------------
# Analysis


def breakeven(lam: float) -> float:
    """The p at which H-7.penalty's expected score of a guess, its `guess` (linear in p), is 0,
    read through the checker from its values at p = 0 and p = 1; the statement's claim is that
    guessing pays exactly from there on, which is evaluated at that point before it is used."""
    statement = load_statement(H7_PENALTY)
    at0, at1 = (statement.term("guess", {"p": p, "lambda": lam}) for p in (0, 1))
    point = at0 / (at0 - at1) + 0.0          # + 0.0: no negative zero at lambda = 0
    if statement.evaluate({"p": point, "lambda": lam}).status != "holds":
        raise ValueError(f"H-7.penalty does not hold at its own break-even {point} for lambda = {lam}")
    return point


def scores(conf: np.ndarray, correct: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """(thresholds, mean score of answering when conf >= threshold): the thresholds are 0, each
    distinct confidence, and above 1 (abstain on everything)."""
    gain = np.where(correct, 1.0, -lam)
    order = np.argsort(-conf, kind="stable")
    c, g = conf[order], gain[order]
    distinct = np.unique(c)[::-1]
    # answering every question with conf >= t: the prefix of the sorted list up to the last one with c >= t
    cum = np.concatenate([[0.0], np.cumsum(g)])
    counts = np.searchsorted(-c, -distinct, side="right")
    thresholds = np.concatenate([[1.0 + 1e-9], distinct, [0.0]])
    totals = np.concatenate([[0.0], cum[counts], [cum[-1]]])
    return thresholds, totals / len(conf)


def best_range(conf: np.ndarray, correct: np.ndarray, lam: float) -> tuple[float, float, float]:
    """(lowest, highest threshold reaching the best score, best score). A threshold t answers the
    questions with conf >= t, so every t between a maximizing confidence and the next lower one
    gives the same policy: the range is widened down to just above that next confidence."""
    thresholds, value = scores(conf, correct, lam)
    best = value.max()
    at = np.flatnonzero(np.isclose(value, best, rtol=0, atol=1e-12))
    hi = float(min(thresholds[at.min()], 1.0))
    last = at.max()
    lo = float(thresholds[last + 1]) if last + 1 < len(thresholds) else 0.0
    return lo, hi, float(best)


def platt(conf: np.ndarray, correct: np.ndarray, iters: int = 50) -> tuple[float, float]:
    """(a, b) of P(correct) = sigmoid(a + b logit(conf)), maximum likelihood by Newton's method
    with a small ridge (so that separable data still give a finite fit)."""
    x = _logit(conf)
    y = correct.astype(float)
    w = np.zeros(2)
    design = np.stack([np.ones_like(x), x], axis=1)
    ridge = 1e-3
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(design @ w)))
        grad = design.T @ (y - p) - ridge * w
        hess = design.T @ (design * (p * (1 - p))[:, None]) + ridge * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w = w + step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])


def _logit(conf: np.ndarray) -> np.ndarray:
    c = np.clip(conf, 1e-6, 1 - 1e-6)
    return np.log(c / (1 - c))


def calibrate(conf: np.ndarray, a: float, b: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(a + b * _logit(conf))))


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width confidence bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for k in range(bins):
        mask = which == k
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(total)


def analyse(model_name: str, samples: list[dict], config: Config) -> dict:
    conf = np.array([s["confidence"] for s in samples], dtype=float)
    correct = np.array([bool(s["correct"]) for s in samples])
    n = len(samples)
    rng = np.random.default_rng(config.seed)
    draws = [rng.integers(0, n, n) for _ in range(config.bootstrap)]
    a, b = platt(conf, correct)
    fits = [platt(conf[i], correct[i]) for i in draws]
    rows: list[dict[str, Any]] = []
    # one interval per penalty, Bonferroni-adjusted so that all of them hold together at 95%
    tail = 0.025 / len(config.lambdas)
    for lam in (0.0, *config.lambdas):
        t0 = breakeven(lam)
        raw = best_range(conf, correct, lam)
        cal = best_range(calibrate(conf, a, b), correct, lam)
        boot_raw = np.array([best_range(conf[i], correct[i], lam)[:2] for i in draws])
        boot_cal = np.array([best_range(calibrate(conf[i], *f), correct[i], lam)[:2] for i, f in zip(draws, fits)])
        answer_all = float(np.where(correct, 1.0, -lam).mean())
        at_t0 = float(np.where(calibrate(conf, a, b) >= t0, np.where(correct, 1.0, -lam), 0.0).mean())
        rows.append({
            "lambda": lam, "breakeven": t0, "answer_all": answer_all, "best_score": raw[2],
            "score_at_breakeven_calibrated": at_t0,
            "raw_best": [raw[0], raw[1]], "calibrated_best": [cal[0], cal[1]],
            "raw_interval": [float(np.quantile(boot_raw[:, 0], tail)), float(np.quantile(boot_raw[:, 1], 1 - tail))],
            "calibrated_interval": [float(np.quantile(boot_cal[:, 0], tail)),
                                    float(np.quantile(boot_cal[:, 1], 1 - tail))],
        })
    for r in rows:
        r["raw_agrees"] = r["raw_interval"][0] <= r["breakeven"] <= r["raw_interval"][1]
        r["calibrated_agrees"] = r["calibrated_interval"][0] <= r["breakeven"] <= r["calibrated_interval"][1]
    right = int(correct.sum())
    acc_lo, acc_hi = wilson(right, n)
    numbers = {"questions": n, "accuracy": right / n, "accuracy_ci": [acc_lo, acc_hi], "platt": [a, b],
               "ece_raw": ece(conf, correct), "ece_calibrated": ece(calibrate(conf, a, b), correct),
               "mean_confidence": float(conf.mean()), "by_lambda": rows,
               "by_kind": {k: {"n": int(sum(s["kind"] == k for s in samples)),
                               "accuracy": float(np.mean([s["correct"] for s in samples if s["kind"] == k]))}
                           for k in KINDS if any(s["kind"] == k for s in samples)}}
    verdicts = [_h7(model_name, rows[0], numbers), _penalty(model_name, rows[1:], numbers, config)]
    return {"verdicts": verdicts, "numbers": numbers, "calibrated": calibrate(conf, a, b), "conf": conf,
            "correct": correct}


def _h7(model_name: str, row: dict, numbers: dict) -> Verdict:
    n, acc = numbers["questions"], numbers["accuracy"]
    lo, hi = numbers["accuracy_ci"]
    text = (f"binary grading (lambda = 0), {n} arithmetic questions: answering every question scores the "
            f"accuracy {acc:.2f} [{lo:.2f}, {hi:.2f}] (95% Wilson) per question, abstaining 0; the best "
            f"confidence threshold is {row['raw_best'][0]:.2g} (answer everything)")
    if lo > 0:
        verdict = "consistent"
        text += ("; answering beats abstaining, as H-7 says (under this grading no measurement can make it "
                 "worse: a wrong answer costs nothing)")
        needed = None
    else:
        verdict = "inconclusive"
        text += "; no right answer, so answering ties with abstaining here"
        needed = power.n_any_event(0.3)
    return Verdict(NAME, model_name, H7, verdict, text, {k: v for k, v in numbers.items() if k != "by_lambda"},
                   n=n, unit="questions", quantity="score of answering minus abstaining at lambda = 0",
                   interval=[lo, hi], needed=needed)


def _penalty(model_name: str, rows: list[dict], numbers: dict, config: Config) -> Verdict:
    n = numbers["questions"]
    a, b = numbers["platt"]
    cells = "; ".join(
        f"lambda={r['lambda']:g}: break-even {r['breakeven']:.2f}, best threshold raw "
        f"[{r['raw_interval'][0]:.2f}, {r['raw_interval'][1]:.2f}], recalibrated "
        f"[{r['calibrated_interval'][0]:.2f}, {r['calibrated_interval'][1]:.2f}], "
        f"score answer-all {r['answer_all']:+.2f}, best {r['best_score']:+.2f}" for r in rows)
    agree_cal = [r for r in rows if r["calibrated_agrees"]]
    agree_raw = [r for r in rows if r["raw_agrees"]]
    calibration = (f"raw confidence mean {numbers['mean_confidence']:.2f} against accuracy {numbers['accuracy']:.2f}, "
                   f"ECE {numbers['ece_raw']:.2f}; Platt fit sigmoid({a:.2f} + {b:.2f} logit c) brings the ECE to "
                   f"{numbers['ece_calibrated']:.2f}; the raw threshold agrees with the break-even at "
                   f"{len(agree_raw)}/{len(rows)} penalties, the recalibrated one at {len(agree_cal)}/{len(rows)}")
    key = min(rows, key=lambda r: abs(r["lambda"] - 1.0))
    right = round(numbers["accuracy"] * n)
    if min(right, n - right) < MIN_CLASS:
        verdict = "inconclusive"
        reading = (f"{right} right and {n - right} wrong answers: too few of one kind to fit a calibration "
                   "map, so the threshold cannot be read on the scale of the probability of being right")
        needed = max(plan(config)[1].needed, math.ceil(MIN_CLASS / max(min(right, n - right) / n, 1 / n)))
    elif len(agree_cal) == len(rows) and _width(key) > MAX_WIDTH:
        verdict = "inconclusive"
        reading = (f"the break-even lies inside every recalibrated interval, but at lambda = {key['lambda']:g} "
                   f"that interval is {_width(key):.2f} wide (more than {MAX_WIDTH}): it places the threshold nowhere")
        needed = max(n + 1, power.se_scale(_width(key), n, MAX_WIDTH))
    elif len(agree_cal) == len(rows):
        verdict = "consistent"
        reading = ("the best threshold on the recalibrated confidence contains lambda / (1 + lambda) at every "
                   "penalty, as H-7.penalty places it")
        needed = None
    else:
        verdict = "inconclusive"
        off = ", ".join(f"{r['lambda']:g}" for r in rows if not r["calibrated_agrees"])
        reading = (f"the break-even lies outside the recalibrated best-threshold interval at lambda = {off}: "
                   "the fitted calibration map, not the arithmetic of H-7.penalty, is what such a gap measures")
        needed = plan(config)[1].needed
        needed = max(needed, n + 1)
    text = (f"{n} arithmetic questions, confidence = probability of the written number; {cells}; {calibration}; "
            f"{reading}")
    return Verdict(NAME, model_name, H7_PENALTY, verdict, text, numbers, n=n, unit="questions",
                   quantity=f"best recalibrated threshold at lambda = {key['lambda']:g} "
                            f"(break-even {key['breakeven']:.2f})",
                   interval=key["calibrated_interval"], needed=needed)


def _width(row: dict) -> float:
    return row["calibrated_interval"][1] - row["calibrated_interval"][0]


def plot(run: ProbeRun, samples: list[dict], result: dict) -> None:
    """abstention_scores.png (score against threshold per lambda, break-even marked) and
    abstention_calibration.png (accuracy against confidence, raw and recalibrated)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    conf, correct, calibrated = result["conf"], result["correct"], result["calibrated"]
    rows = result["numbers"]["by_lambda"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, values, title in ((axes[0], conf, "raw confidence"), (axes[1], calibrated, "recalibrated (Platt)")):
        for r, color in zip(rows, plt.cm.viridis(np.linspace(0, 0.9, len(rows)))):
            t, s = scores(values, correct, r["lambda"])
            ax.step(np.clip(t, 0, 1), s, where="post", color=color, label=f"lambda={r['lambda']:g}")
            ax.axvline(r["breakeven"], color=color, ls=":", lw=1)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xlabel(f"threshold on the {title} (dotted: lambda / (1 + lambda))")
        ax.set_title(f"{title}, {run.model_name}")
    axes[0].set_ylabel("mean score per question (abstain = 0)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(run.dir / "abstention_scores.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    edges = np.linspace(0, 1, 6)
    for values, label, marker in ((conf, "raw", "o"), (calibrated, "recalibrated", "s")):
        which = np.clip(np.digitize(values, edges[1:-1]), 0, len(edges) - 2)
        xs, ys, lo, hi = [], [], [], []
        for k in range(len(edges) - 1):
            mask = which == k
            if mask.any():
                right, count = int(correct[mask].sum()), int(mask.sum())
                w = wilson(right, count)
                xs.append(float(values[mask].mean()))
                ys.append(right / count)
                lo.append(right / count - w[0])
                hi.append(w[1] - right / count)
        ax.errorbar(xs, ys, yerr=[lo, hi], marker=marker, capsize=3, label=label)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set_xlabel("confidence (bin mean)")
    ax.set_ylabel("accuracy (95% Wilson)")
    ax.set_title(f"calibration, {run.model_name}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(run.dir / "abstention_calibration.png", dpi=110)
    plt.close(fig)
