"""E-Rt2: the gold passage among more and more retrieved passages, with no token budget.

Rt-2 (proofs/retrieval.lim) is a modelling assumption: the gold passage, scored r = e^Delta
times each of k - 1 equally scored distractors, keeps the share r / (r + k - 1) of the reader's
attention (Rt-2.share's `share`, C-3's softmax weight), and what the context tells about the
answer falls with k. This probe holds both halves against a real reader.

The corpus and retriever are the retrieval probe's (empirical/tasks.py's fact corpus, BM25 from
empirical/probes/retrieval.py). For question q and breadth k the context is the gold passage
among the k - 1 best-ranked other passages (so every k has the answer in it, and what changes is
only how much surrounds it), the gold put at a position drawn from the key; k = 0 is the same
prompt with no passage. One forward pass per (q, k) measures:

- the gold passage's attention share: the attention weight the answer position (the last token
  of "<name> was born in the city of") gives the gold passage's tokens, over the weight it gives
  all passage tokens, per layer and head (empirical/attention.py) and averaged over them; and,
  for reference, the gold's share of the passage tokens (what uniform attention gives, r = 1);
- the information the context gives about the answer: log p(answer | context) - log p(answer |
  no passage), the pointwise mutual information of the gold city under the model, read from the
  same pass by teacher forcing the city's tokens;
- accuracy: whether greedy decoding writes the gold city, i.e. whether each of its tokens is the
  argmax at its place (teacher forced; read where the tokenizer writes the city as " <city>").

Verdicts: Rt-2 (the information falls with k) and Rt-2.share (the attention share falls with
k), each by the mean over questions of a per-question least-squares slope against log2 k, with
its 95% t interval (paired by question, sized by `plan`). The share curve r / (r + k - 1) is
evaluated through Rt-2.share's `share` at the margin r fitted to the measured shares. Rt-2.limit
(the share tends to 0) is read only as far as the grid goes.
"""
from __future__ import annotations

import math
import random
import sys
from dataclasses import dataclass

import numpy as np

from checker.statements import load_statement

from .. import power
from ..framework import ProbeRun, Verdict, preset_name
from ..stats import wilson
from ..tasks import FactCorpus, Passage, bos_ids, chat_ids, chat_text, encode, fact_corpus
from .retrieval import BM25

NAME = "breadth"
RT2, RT2_SHARE = "Rt-2", "Rt-2.share"
THEOREMS = (RT2, RT2_SHARE)
HEADER = "Read the passages and answer the question.\n"
PASSAGES_PER_PERSON = 4          # one birth passage and three naming other cities (tasks.fact_corpus)


@dataclass(frozen=True)
class Config:
    people: int = 40                                # people in the corpus (4 passages each)
    questions: int = 8                              # people asked about (the first ones)
    ks: tuple[int, ...] = (0, 1, 2, 4, 8)           # breadths; 0: no passage (the information's baseline)
    seed: int = 0

    def __post_init__(self):
        if 0 not in self.ks or sum(k >= 2 for k in self.ks) < 2:
            raise ValueError(f"breadth ks must hold 0 (the baseline) and at least two k >= 2, not {self.ks}")
        if any(k < 0 for k in self.ks) or len(set(self.ks)) != len(self.ks):
            raise ValueError(f"breadth ks must be distinct and non-negative, not {self.ks}")
        if max(self.ks) > PASSAGES_PER_PERSON * self.people:
            raise ValueError(f"k = {max(self.ks)} passages asked for, the corpus of {self.people} people has "
                             f"{PASSAGES_PER_PERSON * self.people}")
        if not 2 <= self.questions <= self.people:
            raise ValueError(f"questions must lie in 2..people ({self.people}), not {self.questions}")

    @classmethod
    def preset(cls, preset: bool | str = False) -> Config:
        """"cpu" (or False), "standard" (sized by `plan`) or "full" (or True: k up to 256 passages,
        about 6,500 tokens, inside both models' contexts)."""
        name = preset_name(preset)
        if name == "full":
            return cls(people=160, questions=160, ks=(0, 1, 2, 4, 8, 16, 32, 64, 128, 256))
        if name == "standard":
            return cls(people=80, questions=80, ks=(0, 1, 2, 4, 8, 16, 32, 64))
        return cls()


def keys(config: Config) -> list[str]:
    return [f"q={q}|k={k}" for q in range(config.questions) for k in config.ks]


def cost(key: str, config: Config) -> float:
    k = int(key.split("|k=")[1])
    return 1 + k / 3                                # tokens read: a prompt of about 70 + 22 k


# Design values for the power analysis:
INFO_SLOPE, INFO_SD = 0.1, 0.3      # nats of log p(answer) per doubling of k; sd of per-question slopes
SHARE_SLOPE, SHARE_SD = 0.03, 0.05  # attention share per doubling of k; sd of per-question slopes


def plan(config: Config, observed: dict | None = None) -> list[power.Requirement]:
    """The power analysis of each verdict, and what `config` gives (see empirical/power.py)."""
    q = config.questions
    return [
        power.Requirement(
            RT2, "mean over questions of the slope of log p(answer | k passages) against log2 k",
            "95% t interval below 0 (consistent) or above 0 (violated)",
            f"a fall of {INFO_SLOPE} nats per doubling of k, per-question slopes with sd {INFO_SD}",
            "questions", power.n_mean(INFO_SLOPE, INFO_SD, alpha=0.025), q, "questions (each read at every k)"),
        power.Requirement(
            RT2_SHARE, "mean over questions of the slope of the gold attention share against log2 k (k >= 2)",
            "95% t interval below 0 (consistent) or above 0 (violated)",
            f"a fall of {SHARE_SLOPE} in the share per doubling of k, per-question slopes with sd {SHARE_SD}",
            "questions", power.n_mean(SHARE_SLOPE, SHARE_SD, alpha=0.025), q, "questions (each read at every k)"),
    ]


# --------------------------------------------------------------------------------------------
# Measurement


@dataclass
class Context:
    """What `sample` reads (built once per worker, empirical/executor.py)."""
    loaded: object
    corpus: FactCorpus
    index: BM25


def setup(config: Config, loaded) -> Context:
    corpus = fact_corpus(config.people, config.seed)
    return Context(loaded, corpus, BM25([p.text for p in corpus.passages]))


def context_passages(ctx: Context, q: int, k: int, seed: int) -> tuple[list[Passage], int | None]:
    """The gold passage among the k - 1 best BM25-ranked others, at a position drawn from (q, k)."""
    corpus = ctx.corpus
    if k == 0:
        return [], None
    gold = corpus.gold(q)
    ranked = [corpus.passages[i] for i in ctx.index.rank(corpus.question(q))]
    others = [p for p in ranked if p.pid != gold.pid][: k - 1]
    position = random.Random(f"breadth:{seed}:{q}:{k}").randrange(k)
    return others[:position] + [gold] + others[position:], position


def prompt(tokenizer, corpus: FactCorpus, q: int, passages: list[Passage]) -> tuple[list[int], list[list[int]]]:
    """(the prompt's token ids, each passage's token positions in them). The ids are those of
    tasks.chat_ids; a token belongs to a passage when its characters overlap the passage's text."""
    body = "".join(f"{i + 1}. {p.text}\n" for i, p in enumerate(passages))
    user = f"{HEADER}{body}Question: {corpus.question(q)}"
    reply = f"{corpus.people[q].name} was born in the city of"
    text = chat_text(tokenizer, user, reply)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = list(encoded["input_ids"]), list(encoded["offset_mapping"])
    bos = bos_ids(tokenizer)
    if bos and ids[: len(bos)] != bos:
        ids, offsets = bos + ids, [(0, 0)] * len(bos) + offsets
    if ids != chat_ids(tokenizer, user, reply):
        raise ValueError("the prompt's ids with offsets differ from tasks.chat_ids: the passage spans would be wrong")
    start = text.index(HEADER) + len(HEADER)
    spans = []
    for i, p in enumerate(passages):
        begin = start + len(f"{i + 1}. ")
        end = begin + len(p.text)
        spans.append([t for t, (a, b) in enumerate(offsets) if b > begin and a < end and b > a])
        start = end + 1
    return ids, spans


def measure(ctx: Context, q: int, k: int, config: Config) -> dict:
    import torch

    from ..attention import forward_rows
    from ..models import check_context
    loaded = ctx.loaded
    model, tokenizer = loaded.model, loaded.tokenizer
    corpus = ctx.corpus
    passages, position = context_passages(ctx, q, k, config.seed)
    ids, spans = prompt(tokenizer, corpus, q, passages)
    check_context(loaded, len(ids) + 8)
    city = corpus.people[q].birth
    answer = encode(tokenizer, " " + city)
    recorder, out = forward_rows(model, torch.tensor([ids], device=model.device), [-1], use_cache=True)
    with torch.inference_mode():
        logp = [torch.log_softmax(out.logits[0, -1].float(), dim=-1)]
        if len(answer) > 1:
            rest = model(input_ids=torch.tensor([answer[:-1]], device=model.device), cache=out.cache, use_cache=True)
            logp += list(torch.log_softmax(rest.logits[0].float(), dim=-1))
    answer_logprob = float(sum(float(lp[a]) for lp, a in zip(logp, answer)))
    argmax = [int(lp.argmax()) for lp in logp]
    departs = next((i for i, (a, b) in enumerate(zip(answer, argmax)) if a != b), None)
    record = {"q": q, "k": k, "question": corpus.question(q), "answer": city, "prompt_tokens": len(ids),
              "answer_tokens": len(answer), "answer_logprob": answer_logprob, "correct": departs is None,
              "greedy_departs": None if departs is None else tokenizer.decode(answer[:departs] + [argmax[departs]])}
    if not passages:
        return record
    gold_at = spans[position]
    every = sorted({t for s in spans for t in s})
    if not gold_at:
        raise ValueError(f"q={q} k={k}: the gold passage has no tokens in the prompt")
    by_layer = []
    for layer in sorted(recorder.logits):
        weights = recorder.weights(layer)[:, 0, :]                   # (heads, keys)
        gold = weights[:, gold_at].sum(dim=-1)
        total = weights[:, every].sum(dim=-1)
        by_layer.append(float((gold / total.clamp_min(1e-30)).mean()))
    return {**record, "gold_position": position, "passages": [p.pid for p in passages],
            "passage_tokens": len(every), "gold_tokens": len(gold_at), "token_share": len(gold_at) / len(every),
            "attention_share": float(np.mean(by_layer)), "attention_share_layers": [round(x, 5) for x in by_layer]}


def sample(key: str, config: Config, ctx: Context) -> dict:
    """One sample from its key alone (empirical/executor.py)."""
    fields = dict(part.split("=") for part in key.split("|"))
    return measure(ctx, int(fields["q"]), int(fields["k"]), config)


def run(run: ProbeRun, loaded) -> list[Verdict]:
    config: Config = run.config
    run.sweep(sys.modules[__name__], loaded)
    samples = run.samples(keys(config))
    result = analyse(run.model_name, samples, config)
    plot(run, result)
    return result["verdicts"]


# --------------------------------------------------------------------------------------------
# Analysis


def slopes(by_question: dict[int, dict[int, float]], ks: list[int]) -> np.ndarray:
    """Per question, the least-squares slope of its values against log2 k over `ks`."""
    x = np.log2(np.array(ks, dtype=float))
    x = x - x.mean()
    out = []
    for values in by_question.values():
        y = np.array([values[k] for k in ks], dtype=float)
        out.append(float((x * (y - y.mean())).sum() / (x * x).sum()))
    return np.array(out)


def mean_interval(values: np.ndarray) -> tuple[float, float, float, float]:
    """(mean, 95% t interval low, high, sd)."""
    n = len(values)
    mean = float(values.mean())
    spread = float(values.std(ddof=1)) if n > 1 else float("inf")
    half = power.t_quantile(0.975, n - 1) * spread / math.sqrt(n) if n > 1 else float("inf")
    return mean, mean - half, mean + half, spread


def modelled_share(r: np.ndarray | float, ks: np.ndarray) -> np.ndarray:
    """Rt-2.share's `share` r / (r + k - 1), evaluated through the checker (k2 = k + 1 is bound
    because the statement has it; `share` does not read it)."""
    statement = load_statement(RT2_SHARE)
    r_arr, k_arr = np.broadcast_arrays(np.asarray(r, dtype=float), np.asarray(ks, dtype=float))
    return np.asarray(statement.term_many("share", {"r": r_arr, "k": k_arr, "k2": k_arr + 1}), dtype=float)


def fit_margin(ks: list[int], shares: list[float]) -> float:
    """The r whose modelled share curve is nearest the measured mean shares (least squares over
    a log grid of r from 1e-3 to 1e3, refined once around the best)."""
    k = np.array(ks, dtype=float)
    w = np.array(shares, dtype=float)
    grid = np.logspace(-3, 3, 601)
    for _ in range(2):
        curves = modelled_share(grid[:, None], k[None, :])
        best = int(((curves - w[None, :]) ** 2).sum(axis=1).argmin())
        lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
        grid = np.linspace(lo, hi, 201)
    return float(grid[int(((modelled_share(grid[:, None], k[None, :]) - w[None, :]) ** 2).sum(axis=1).argmin())])


def analyse(model_name: str, samples: list[dict], config: Config) -> dict:
    by = {(s["q"], s["k"]): s for s in samples}
    questions = sorted({s["q"] for s in samples})
    ks = sorted(config.ks)
    wide = [k for k in ks if k >= 1]
    base = {q: by[(q, 0)]["answer_logprob"] for q in questions}
    curve = []
    for k in ks:
        rows = [by[(q, k)] for q in questions]
        right = sum(r["correct"] for r in rows)
        info = np.array([r["answer_logprob"] - base[r["q"]] for r in rows])
        mean, lo, hi, _ = mean_interval(info) if len(info) > 1 else (float(info.mean()), math.nan, math.nan, math.nan)
        cell = {"k": k, "accuracy": right / len(rows), "accuracy_ci": list(wilson(right, len(rows))),
                "information": mean, "information_ci": [lo, hi],
                "logprob": float(np.mean([r["answer_logprob"] for r in rows])),
                "prompt_tokens": float(np.mean([r["prompt_tokens"] for r in rows]))}
        if k >= 1:
            share = np.array([r["attention_share"] for r in rows])
            s_mean, s_lo, s_hi, _ = mean_interval(share)
            cell.update({"attention_share": s_mean, "attention_share_ci": [s_lo, s_hi],
                         "token_share": float(np.mean([r["token_share"] for r in rows])),
                         "implied_r": (s_mean * (k - 1) / (1 - s_mean)) if k > 1 and s_mean < 1 else None})
        curve.append(cell)
    info_by_q = {q: {k: by[(q, k)]["answer_logprob"] - base[q] for k in wide} for q in questions}
    acc_by_q = {q: {k: float(by[(q, k)]["correct"]) for k in wide} for q in questions}
    share_ks = [k for k in ks if k >= 2]
    share_by_q = {q: {k: by[(q, k)]["attention_share"] for k in share_ks} for q in questions}
    info_slopes, acc_slopes, share_slopes = (slopes(info_by_q, wide), slopes(acc_by_q, wide),
                                             slopes(share_by_q, share_ks))
    shares = [c["attention_share"] for c in curve if c["k"] >= 1]
    r = fit_margin(wide, shares)
    fitted = modelled_share(r, np.array(wide))
    uniform = [c["token_share"] for c in curve if c["k"] >= 1]
    # the layer that gives the gold passage the most weight at the widest k, and its own curve
    layers = np.array([[np.mean([by[(q, k)]["attention_share_layers"][i] for q in questions])
                        for i in range(len(by[(questions[0], wide[-1])]["attention_share_layers"]))] for k in wide])
    top = int(layers[-1].argmax())
    numbers_top = {"top_layer": top, "top_layer_share": [float(x) for x in layers[:, top]],
                   "top_layer_r": fit_margin(wide, list(layers[:, top]))}
    numbers = {"questions": len(questions), "ks": ks, "curve": curve, "fitted_r": r, **numbers_top,
               "fitted_share": [float(x) for x in fitted],
               "fit_max_deviation": float(np.max(np.abs(fitted - np.array(shares)))),
               "information_slope": mean_interval(info_slopes), "accuracy_slope": mean_interval(acc_slopes),
               "share_slope": mean_interval(share_slopes)}
    verdicts = [_information(model_name, numbers, config, uniform), _share(model_name, numbers, config)]
    return {"verdicts": verdicts, "numbers": numbers}


def _decide(slope: tuple, theorem: str, n: int) -> tuple[str, int | None, str]:
    mean, lo, hi, spread = slope
    if hi < 0:
        return "consistent", None, "falls with k, as the statement assumes"
    if lo > 0:
        return "violated", None, "rises with k, against the statement's assumption"
    needed = power.n_mean(abs(mean), spread, alpha=0.025) if mean and math.isfinite(spread) else power.MAX_N
    needed = max(needed, n + 1) if needed < power.MAX_N else needed
    return "inconclusive", needed, ("no significant trend on this grid"
                                    + (f" (about {power.fmt_n(needed)} questions would decide it at the observed "
                                       "slope)" if needed < power.MAX_N else ""))


def _cells(curve: list[dict], field: str, fmt: str) -> str:
    return ", ".join(f"k={c['k']}: {format(c[field], fmt)}" for c in curve if field in c)


def _information(model_name: str, numbers: dict, config: Config, uniform: list[float]) -> Verdict:
    n, curve = numbers["questions"], numbers["curve"]
    slope = numbers["information_slope"]
    verdict, needed, reading = _decide(slope, RT2, n)
    acc = numbers["accuracy_slope"]
    text = (f"{n} questions, the gold passage among the k - 1 best BM25 passages, no budget; log p(answer | "
            f"k passages) - log p(answer | none) in nats: {_cells(curve[1:], 'information', '+.2f')}; accuracy "
            f"(greedy writes the city): {_cells(curve, 'accuracy', '.2f')}; per doubling of k the information "
            f"moves {slope[0]:+.3f} [{slope[1]:+.3f}, {slope[2]:+.3f}] nats (mean of per-question slopes, 95% t) "
            f"and the accuracy {acc[0]:+.3f} [{acc[1]:+.3f}, {acc[2]:+.3f}]; what the context tells about the "
            f"answer {reading}")
    return Verdict(NAME, model_name, RT2, verdict, text,
                   {k: numbers[k] for k in ("curve", "information_slope", "accuracy_slope")},
                   n=n, unit="questions", quantity="change of log p(answer | context) per doubling of k (nats)",
                   interval=[slope[1], slope[2]], needed=needed)


def _share(model_name: str, numbers: dict, config: Config) -> Verdict:
    n, curve = numbers["questions"], numbers["curve"]
    slope = numbers["share_slope"]
    verdict, needed, reading = _decide(slope, RT2_SHARE, n)
    r = numbers["fitted_r"]
    last = curve[-1]
    text = (f"{n} questions, attention of the answer position on the gold passage over all passage tokens (mean "
            f"over layers and heads): {_cells(curve[1:], 'attention_share', '.3f')}; the gold's share of the "
            f"passage tokens (uniform attention): {_cells(curve[1:], 'token_share', '.3f')}; per doubling of k "
            f"(k >= 2) the share moves {slope[0]:+.4f} [{slope[1]:+.4f}, {slope[2]:+.4f}] (95% t); the gold share "
            f"{reading}. Rt-2.share's r / (r + k - 1) fitted at r = {r:.3g} (the gold weighted like {r:.3g} "
            f"distractors) is at most {numbers['fit_max_deviation']:.3f} from the measured means; at k = "
            f"{last['k']} the share is {last['attention_share']:.3f}, on the way to Rt-2.limit's 0 only as far "
            f"as the grid goes. The layer most on the gold at k = {last['k']} (layer {numbers['top_layer']}, mean "
            f"over its heads) gives it {_shares(numbers['top_layer_share'], curve[1:])}: r = "
            f"{numbers['top_layer_r']:.3g}")
    return Verdict(NAME, model_name, RT2_SHARE, verdict, text,
                   {k: numbers[k] for k in ("curve", "share_slope", "fitted_r", "fitted_share", "fit_max_deviation",
                                            "top_layer", "top_layer_share", "top_layer_r")},
                   n=n, unit="questions", quantity="change of the gold attention share per doubling of k (k >= 2)",
                   interval=[slope[1], slope[2]], needed=needed)


def _shares(values: list[float], curve: list[dict]) -> str:
    return ", ".join(f"k={c['k']}: {v:.3f}" for v, c in zip(values, curve))


def plot(run: ProbeRun, result: dict) -> None:
    """breadth.png: the gold attention share against k (measured, token share, Rt-2.share's curve
    at the fitted r) and the information and accuracy against k."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    numbers = result["numbers"]
    curve = [c for c in numbers["curve"] if c["k"] >= 1]
    ks = [c["k"] for c in curve]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    ys = [c["attention_share"] for c in curve]
    ax.errorbar(ks, ys, yerr=[[y - c["attention_share_ci"][0] for y, c in zip(ys, curve)],
                              [c["attention_share_ci"][1] - y for y, c in zip(ys, curve)]],
                marker="o", capsize=4, label="attention share of the gold passage (95% t)")
    ax.plot(ks, [c["token_share"] for c in curve], "s:", label="gold share of the passage tokens (r = 1)")
    ax.plot(ks, numbers["top_layer_share"], "d-.", color="tab:red",
            label=f"layer {numbers['top_layer']}, the most on the gold (r = {numbers['top_layer_r']:.3g})")
    dense = np.unique(np.round(np.geomspace(1, max(ks), 60)))
    ax.plot(dense, modelled_share(numbers["fitted_r"], dense), "k--", lw=1,
            label=f"Rt-2.share r / (r + k - 1), r = {numbers['fitted_r']:.3g}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("passages in the context k")
    ax.set_ylabel("share")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title(f"gold attention share, {run.model_name}")
    ax.legend(fontsize=7)
    ys = [c["information"] for c in curve]
    bx.errorbar(ks, ys, yerr=[[y - c["information_ci"][0] for y, c in zip(ys, curve)],
                              [c["information_ci"][1] - y for y, c in zip(ys, curve)]],
                marker="o", capsize=4, color="tab:purple", label="log p(answer | k) - log p(answer | 0) (95% t)")
    bx.axhline(0, color="k", lw=0.6)
    bx.set_xscale("log", base=2)
    bx.set_xlabel("passages in the context k")
    bx.set_ylabel("nats")
    cx = bx.twinx()
    cx.plot(ks, [c["accuracy"] for c in curve], "^--", color="tab:green", label="accuracy (greedy)")
    cx.set_ylim(-0.02, 1.05)
    cx.set_ylabel("accuracy")
    lines = bx.get_legend_handles_labels()
    more = cx.get_legend_handles_labels()
    bx.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7)
    bx.set_title(f"what the context tells about the answer, {run.model_name}")
    fig.tight_layout()
    fig.savefig(run.dir / "breadth.png", dpi=110)
    plt.close(fig)
