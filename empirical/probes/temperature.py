"""E-H8: the creativity-factuality trade-off as a temperature sweep.

H-8 models accuracy A and creativity C as tied by A + alpha C = kappa: along any family of
decoding settings the points (C, A) lie on a straight line of negative slope -alpha. We sweep
the sampling temperature on a fixed set of short factual questions with known answers
(capitals, small sums, everyday facts), draw several answers per question at each temperature
(pure temperature sampling, no top-k / top-p, seeded) and measure
    A  the share of answers that contain a correct answer (whole word, case-insensitive),
    C  the diversity of the answers to one question: the mean pairwise normalised edit distance
       between their token sequences (0 = all identical, 1 = nothing in common), averaged
       over the questions; the distinct-answer rate is reported beside it.
A least-squares line A = a + b C through the per-temperature points gives the slope b, its
standard error and R^2. Instruction-tuned models are asked through their chat template,
others with a plain "Question: ... Answer:" prompt; an answer is read up to its first line break.
"""
from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass

import torch

from .. import power
from ..framework import ProbeRun, Verdict, preset_name
from ..stats import linear_fit

NAME = "temperature"
THEOREMS = ("H-8",)

# (question, accepted answers): ones a 135M instruction model mostly gets right at temperature 0.
QUESTIONS: list[tuple[str, tuple[str, ...]]] = [
    # SmolLM2-135M-Instruct answers these correctly at temperature 0 (the CPU preset uses the first 12)
    ("What is the capital of France?", ("Paris",)),
    ("What is the capital of Japan?", ("Tokyo",)),
    ("How many legs does a spider have?", ("8", "eight")),
    ("What is the capital of Italy?", ("Rome",)),
    ("How many days are there in a week?", ("7", "seven")),
    ("What is 4 + 4?", ("8", "eight")),
    ("What is the capital of Germany?", ("Berlin",)),
    ("What is the chemical symbol for water?", ("H2O", "H₂O")),
    ("What is the capital of Spain?", ("Madrid",)),
    ("How many hours are there in a day?", ("24", "twenty-four", "twenty four")),
    ("What is the capital of England?", ("London",)),
    ("What is 3 x 3?", ("9", "nine")),
    ("What is the capital of Russia?", ("Moscow",)),
    ("What is the capital of Egypt?", ("Cairo",)),
    ("What is the capital of China?", ("Beijing",)),
    ("What is the freezing point of water in degrees Celsius?", ("0", "zero")),
    ("Who wrote Romeo and Juliet?", ("Shakespeare",)),
    ("What is the capital of Greece?", ("Athens",)),
    # harder for it at temperature 0 (kept in the full preset: accuracy need not start at 1)
    ("What is 2 + 3?", ("5", "five")),
    ("What is 10 - 4?", ("6", "six")),
    ("What color is the sky on a clear day?", ("blue",)),
    ("What is the largest planet in the solar system?", ("Jupiter",)),
    ("Which planet is known as the Red Planet?", ("Mars",)),
    ("How many continents are there?", ("7", "seven")),
]
INSTRUCTION = "Answer in a few words."
R2_LINE = 0.9          # "close to a straight line": the fit explains at least this share of variance


@dataclass(frozen=True)
class Config:
    temperatures: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5)   # 0 = greedy
    samples: int = 6              # answers drawn per question and temperature (one batch)
    questions: int = 12           # the first n of QUESTIONS
    max_new_tokens: int = 12      # answer length cap
    seed: int = 0

    @classmethod
    def preset(cls, preset: bool | str = False) -> Config:
        """"cpu" (or False), "standard" (sized by `plan`) or "full" (or True)."""
        name = preset_name(preset)
        if name == "full":
            return cls(temperatures=(0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0), samples=20,
                       questions=len(QUESTIONS))
        if name == "standard":
            # 8 temperatures, 24 questions x 8 answers = 192 answers at each; see plan()
            return cls(temperatures=(0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0), samples=8,
                       questions=len(QUESTIONS))
        return cls()


def keys(config: Config) -> list[str]:
    return [f"T={t:g}|q={q}" for t in config.temperatures for q in range(config.questions)]


# Design values for the power analysis:
SPREAD_A = 0.1          # variance of the accuracy across the temperatures (0.12 .. 0.15 in the CPU runs)
NOISE_SHARE = 0.02      # sampling noise may take at most this share of R^2 (R^2 >= 0.9 must mean the curve)
CLUSTER = 1.5           # design effect: answers to one question are alike


def cost(key: str, config: Config) -> float:
    t = float(key.split("|")[0].split("=")[1])
    return 1 if t == 0 else config.samples / 4      # greedy runs one row, sampling `samples`


def plan(config: Config, observed: dict | None = None) -> list[power.Requirement]:
    """The power analysis of each verdict, and what `config` gives (see empirical/power.py)."""
    answers = config.questions * config.samples
    needed_answers = math.ceil(0.25 * CLUSTER / (NOISE_SHARE * SPREAD_A))
    return [
        power.Requirement(
            "H-8", "slope b of A = a + b C across the temperatures",
            "one-sided t-test b < 0 at 2 se (alpha 0.025)",
            "b = -0.5 (half the accuracy lost across the diversity range), residual sd 0.1, C spread 0.35",
            "temperatures", power.n_slope(0.5, 0.1, 0.35, alpha=0.025), len(config.temperatures),
            "temperatures", label="slope"),
        power.Requirement(
            "H-8", "R^2 of the line (a straight line: R^2 >= 0.9)",
            "precision: binomial noise of A at each temperature at most 2% of the variance across them",
            f"a truly straight trade-off with var(A) = {SPREAD_A} across temperatures must read R^2 >= 0.9; "
            f"p(1-p) <= 1/4 with a design effect {CLUSTER} for answers to the same question",
            "answers per temperature", needed_answers, answers, "questions x samples", label="line",
            note="a curve that is not straight stays inconclusive at any n"),
    ]


def prompt_ids(tokenizer, question: str) -> list[int]:
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template([{"role": "user", "content": f"{question} {INSTRUCTION}"}],
                                             add_generation_prompt=True, tokenize=False)
        return tokenizer(text, add_special_tokens=False).input_ids
    return tokenizer(f"Question: {question}\nAnswer:", add_special_tokens=True).input_ids


def stop_ids(loaded) -> set[int]:
    ids = set()
    for source in (loaded.tokenizer.eos_token_id, getattr(loaded.model.generation_config, "eos_token_id", None)):
        if isinstance(source, int):
            ids.add(source)
        elif source:
            ids.update(source)
    return ids


def draw(model, prompt: list[int], n: int, temperature: float, max_new: int, seed: int) -> list[list[int]]:
    """n continuations of one prompt, drawn as one batch with the KV cache; temperature 0 is
    greedy (computed once, repeated n times)."""
    rows = 1 if temperature == 0 else n
    device = model.device
    generator = torch.Generator(device=device).manual_seed(seed)
    out = torch.empty((rows, 0), dtype=torch.long, device=device)
    with torch.inference_mode():
        step = model(input_ids=torch.tensor([prompt] * rows, device=device), use_cache=True, logits_to_keep=1)
        for _ in range(max_new):
            logits = step.logits[:, -1].float()
            if temperature == 0:
                nxt = logits.argmax(-1, keepdim=True)
            else:
                probs = torch.softmax(logits / temperature, dim=-1)
                nxt = torch.multinomial(probs, 1, generator=generator)
            out = torch.cat([out, nxt], dim=1)
            step = model(input_ids=nxt, cache=step.cache, use_cache=True)
    result = out.tolist()
    return result * n if temperature == 0 else result


def cut(tokens: list[int], stops: set[int]) -> list[int]:
    for i, t in enumerate(tokens):
        if t in stops:
            return tokens[:i]
    return tokens


def answer_text(tokenizer, tokens: list[int]) -> str:
    """The decoded answer up to its first line break after some text."""
    text = tokenizer.decode(tokens, skip_special_tokens=True).strip()
    return text.split("\n")[0].strip()


def is_correct(text: str, accepted: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<![\w]){re.escape(a)}(?![\w])", text, re.IGNORECASE) for a in accepted)


def edit_distance(a: list, b: list) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def diversity(answers: list[list[int]]) -> float:
    """Mean pairwise edit distance between token sequences, each divided by the longer length."""
    pairs = [(a, b) for i, a in enumerate(answers) for b in answers[i + 1:]]
    if not pairs:
        return 0.0
    return sum(edit_distance(a, b) / max(len(a), len(b), 1) for a, b in pairs) / len(pairs)


def setup(config: Config, loaded) -> tuple:
    """The model and its stop tokens (once per worker, empirical/executor.py)."""
    return loaded, stop_ids(loaded)


def sample(key: str, config: Config, ctx) -> dict:
    """One sample from its key alone: the question and temperature it names, seeded by them."""
    loaded, stops = ctx
    tokenizer = loaded.tokenizer
    fields = dict(part.split("=") for part in key.split("|"))
    t, q = float(fields["T"]), int(fields["q"])
    question, accepted = QUESTIONS[q]
    seed = config.seed * 1_000_003 + q * 1009 + round(t * 1000)
    raw = draw(loaded.model, prompt_ids(tokenizer, question), config.samples, t, config.max_new_tokens, seed)
    answers = [cut(r, stops) for r in raw]
    texts = [answer_text(tokenizer, a) for a in answers]
    return {"temperature": t, "question": question, "accepted": list(accepted), "answers": texts,
            "tokens": answers, "correct": [is_correct(x, accepted) for x in texts]}


def run(run: ProbeRun, loaded) -> list[Verdict]:
    config: Config = run.config
    run.sweep(sys.modules[__name__], loaded)
    samples = run.samples(keys(config))
    points = sweep(samples)
    verdicts = analyse(run.model_name, points)
    plot(run, points, verdicts)
    return verdicts


def sweep(samples: list[dict]) -> list[dict]:
    """Per temperature: accuracy A, diversity C (mean over questions), distinct-answer rate."""
    by_t: dict[float, list[dict]] = {}
    for s in samples:
        by_t.setdefault(s["temperature"], []).append(s)
    points = []
    for t in sorted(by_t):
        cells = by_t[t]
        correct = [c for s in cells for c in s["correct"]]
        distinct = [(len({a.lower() for a in s["answers"]}) - 1) / max(len(s["answers"]) - 1, 1) for s in cells]
        points.append({"temperature": t, "A": sum(correct) / len(correct), "n": len(correct),
                       "C": sum(diversity(s["tokens"]) for s in cells) / len(cells),
                       "distinct": sum(distinct) / len(distinct), "questions": len(cells)})
    return points


def analyse(model_name: str, points: list[dict]) -> list[Verdict]:
    table = "; ".join(f"T={p['temperature']:g}: A={p['A']:.2f}, C={p['C']:.2f}" for p in points)
    numbers = {"points": points}
    if len(points) < 3 or len({round(p["C"], 9) for p in points}) < 2:
        return [Verdict(NAME, model_name, "H-8", "inconclusive",
                        f"{table}; too few distinct points for a line", numbers, n=len(points),
                        unit="temperatures", quantity="slope of A on C", needed=3)]
    xs, ys = [p["C"] for p in points], [p["A"] for p in points]
    fit = linear_fit(xs, ys)
    my = sum(ys) / len(ys)
    total = sum((y - my) ** 2 for y in ys)
    residual = sum((y - fit["c0"] - fit["c1"] * x) ** 2 for x, y in zip(xs, ys))
    r2 = 1 - residual / total if total > 0 else float("nan")
    slope, se = fit["c1"], fit["c1_se"] or 0.0
    numbers.update({"fit": fit, "r2": r2})
    line = (f"{table}; A = {fit['c0']:.2f} + ({slope:.2f} ± {se:.2f}) C, R^2 = {r2:.3f} over "
            f"{len(points)} temperatures")
    if slope + 2 * se < 0 and r2 >= R2_LINE:
        verdict, why = "consistent", "a straight line of negative slope, as A + alpha C = kappa models it"
    elif slope - 2 * se > 0:
        verdict, why = "violated", "accuracy rises with diversity: no trade-off"
    elif slope + 2 * se < 0:
        verdict = "inconclusive"
        why = f"a significant trade-off, but not close to a straight line (R^2 < {R2_LINE})"
    else:
        verdict, why = "inconclusive", "no significant slope"
    needed = None
    answers = min(p["n"] for p in points)
    if verdict == "inconclusive":
        # the part of 1 - R^2 that sampling noise explains; the rest is the curve itself
        noise = sum(p["A"] * (1 - p["A"]) for p in points) / len(points) * CLUSTER / answers
        var_a = total / len(ys)
        shortfall = (1 - r2) * var_a if r2 == r2 else float("inf")
        if slope + 2 * se < 0 and shortfall > 3 * noise:
            needed = power.MAX_N
            why += "; sampling noise explains little of it, so more answers would not straighten it"
        else:
            target = max(1e-9, min(shortfall, (1 - R2_LINE) * var_a) / 4)
            needed = max(answers, math.ceil(answers * noise / target))
            why += f" (about {power.fmt_n(needed)} answers per temperature would decide it)"
    half = 1.96 * se
    return [Verdict(NAME, model_name, "H-8", verdict, f"{line}: {why}", numbers, n=answers,
                    unit=f"answers at each of {len(points)} temperatures", quantity="slope b of A on C",
                    interval=[slope - half, slope + half], needed=needed)]


def plot(run: ProbeRun, points: list[dict], verdicts: list[Verdict]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.8, 4.3))
    xs, ys = [p["C"] for p in points], [p["A"] for p in points]
    ax.scatter(xs, ys, zorder=3)
    for p in points:
        ax.annotate(f"T={p['temperature']:g}", (p["C"], p["A"]), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)
    fit = verdicts[0].numbers.get("fit")
    if fit:
        lo, hi = min(xs), max(xs)
        ax.plot([lo, hi], [fit["c0"] + fit["c1"] * lo, fit["c0"] + fit["c1"] * hi], "k--", lw=1,
                label=f"A = {fit['c0']:.2f} + {fit['c1']:.2f} C (R^2 {verdicts[0].numbers['r2']:.2f})")
        ax.legend(fontsize=8)
    ax.set_xlabel("diversity C (mean pairwise normalised edit distance)")
    ax.set_ylabel("accuracy A")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(f"temperature sweep, {run.model_name}")
    fig.tight_layout()
    fig.savefig(run.dir / "accuracy_vs_diversity.png", dpi=110)
    plt.close(fig)
