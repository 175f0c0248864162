"""E-Rt: a small retrieval pipeline (BM25 over a generated fact corpus, the model as reader).

The corpus (empirical/tasks.py) states each fictional person's birthplace once (the gold
passage, in one of four phrasings, some of which share few words with the question) and
names three other cities in passages about the same person. The question is "In which city
was <name> born?"; the retriever is BM25 (numpy, below); the reader is the model, prompted
with the passages and the question and starting its reply with "<name> was born in the city
of", so that its next words are the city (greedy, up to `answer_tokens` tokens).

Four measurements, one sample per (question, condition):

- budget (Rt-1): the top-k passages share a fixed budget of B tokens evenly, each cut to its
  first floor(B / k) tokens (a retriever returning k chunks of B / k tokens). Larger k
  finds the gold passage more often, but cuts every passage shorter: the trade-off between
  coverage and what survives of each passage. Rt-1 predicts a possible interior optimum in k.
- position (Rt-2, the reader half of Rt-3): the gold passage among the k - 1 best-ranked
  other passages at each position.
- rt3 (Rt-3): top-k without a budget. A = [gold retrieved]; R = [the reader answers right
  when gold is in its context] (the same context with the gold passage put in place of the
  k-th when BM25 missed it); S = [the pipeline answers right]. The paper's bound
  P(fail) >= 1 - P(A) P(R) needs independence (Rt-3.literal); the corrected bounds are
  1 - P(A and R) and 1 - min(P(A), P(R)) (Rt-3), up to answers right without the gold.
- poison (Rt-4): m passages naming another city, written to outscore the gold passage by
  repeating the question's words (PoisonedRAG), are added to the corpus; top-k retrieval;
  attack success = the reader answers the attacker's city.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass

import numpy as np

from checker.statements import load_statement

from .. import power
from ..framework import ProbeRun, Verdict, preset_name
from ..stats import bootstrap_mean, sd, wilson
from ..tasks import (
    CITIES,
    FactCorpus,
    Passage,
    Reader,
    attacker_city,
    encode,
    fact_corpus,
    poison_passages,
    split_prompt,
)

NAME = "retrieval"
RT3 = "Rt-3"                 # the corrected failure bounds: min(P(A), P(R)) and P(A and R)
RT3_LITERAL = "Rt-3.literal"  # the product bound, which needs independence
THEOREMS = ("Rt-1", RT3, "Rt-4")


@dataclass(frozen=True)
class Config:
    people: int = 40                          # people in the corpus (4 passages each)
    questions: int = 10                       # people asked about (the first ones)
    budget: int = 40                          # context budget in reader tokens for the k sweep
    ks: tuple[int, ...] = (1, 2, 4, 6)        # passages retrieved under the budget
    position_k: int = 3                       # passages in the gold-position sweep
    rt3_k: int = 2                            # passages retrieved for the Rt-3 comparison
    poison_k: int = 3                         # passages retrieved under attack
    injected: tuple[int, ...] = (0, 1, 2, 3)  # poisoned passages added per question
    answer_tokens: int = 6                    # greedy tokens read for the city (enough for every name)
    seed: int = 0

    @classmethod
    def preset(cls, preset: bool | str = False) -> Config:
        """"cpu" (or False), "standard" (sized by `plan`) or "full" (or True)."""
        name = preset_name(preset)
        if name == "full":
            return cls(people=120, questions=60, ks=(1, 2, 3, 4, 5, 6, 8), position_k=5,
                       injected=(0, 1, 2, 3, 4, 5, 6))
        if name == "standard":
            return cls(people=160, questions=128)   # 128 questions (Rt-1's paired test); see plan()
        return cls()


def keys(config: Config) -> list[str]:
    out = []
    for q in range(config.questions):
        out += [f"budget|q={q}|k={k}" for k in config.ks]
        out += [f"position|q={q}|pos={p}" for p in range(config.position_k)]
        out.append(f"rt3|q={q}")
        out += [f"poison|q={q}|m={m}" for m in config.injected]
    return out


# Design values for the power analysis:
SD_PAIRED = 0.6         # sd of a question's accuracy difference between two k (about 40% discordant pairs)
SMALLEST_GAIN = 0.15    # accuracy: the smallest gain from choosing k worth reporting


def cost(key: str, config: Config) -> float:
    kind = key.split("|")[0]
    k = {"budget": 1, "position": config.position_k, "rt3": config.rt3_k, "poison": config.poison_k}[kind]
    return (2 if kind == "rt3" else 1) * (1 + k / 4)          # passages read (rt3 may read twice)


def plan(config: Config, observed: dict | None = None) -> list[power.Requirement]:
    """The power analysis of each verdict, and what `config` gives (see empirical/power.py)."""
    q = config.questions
    return [
        power.Requirement(
            "Rt-1", "reader accuracy at the best interior k minus at each end of the k grid (paired by question)",
            "one-sided paired bootstrap, both differences above 0 (alpha 0.025 each)",
            f"a gain of {SMALLEST_GAIN} in accuracy (the smallest worth choosing k for), sd of the paired "
            f"differences {SD_PAIRED}", "questions", power.n_mean(SMALLEST_GAIN, SD_PAIRED, alpha=0.025), q,
            "questions (each read at every k)",
            note="decides an interior optimum; an optimum at the end of the grid stays inconclusive at any n, "
                 "which Rt-1 allows"),
        power.Requirement(
            RT3, "pipeline success against the corrected bound min(P(A), P(R))",
            "one-sided test of a proportion against the bound (95% Wilson lower bound above it -> violated)",
            "success 0.15 above a bound of 0.5 (a reader right without its gold passage one time in seven)",
            "questions", power.n_one_proportion(0.5, 0.65, alpha=0.025), q, "questions"),
        power.Requirement(
            "Rt-4", "attack success at the most injected passages against none",
            "non-overlapping 95% Wilson intervals (sized as a one-sided two-proportion test at 0.005)",
            "attack success 0.05 -> 0.35 (a third of the answers captured; PoisonedRAG reports 0.9 with five "
            "passages)", "questions", power.n_two_proportions(0.05, 0.35, alpha=0.005), q, "questions"),
    ]


# --------------------------------------------------------------------------------------------
# BM25


def tokenize(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


class BM25:
    """Okapi BM25 (Robertson et al.) with the non-negative idf log(1 + (N - df + 0.5)/(df + 0.5))."""

    def __init__(self, texts: list[str], k1: float = 1.5, b: float = 0.75):
        docs = [tokenize(t) for t in texts]
        self.vocab: dict[str, int] = {}
        for d in docs:
            for w in d:
                self.vocab.setdefault(w, len(self.vocab))
        tf = np.zeros((len(docs), max(1, len(self.vocab))))
        for i, d in enumerate(docs):
            for w in d:
                tf[i, self.vocab[w]] += 1
        lengths = tf.sum(axis=1)
        avg = lengths.mean() if len(docs) and lengths.mean() > 0 else 1.0
        self.tf, self.k1 = tf, k1
        self.norm = k1 * (1 - b + b * lengths / avg)
        df = (tf > 0).sum(axis=0)
        self.idf = np.log(1 + (len(docs) - df + 0.5) / (df + 0.5))

    def scores(self, query: str) -> np.ndarray:
        ids = [self.vocab[w] for w in tokenize(query) if w in self.vocab]
        if not ids:
            return np.zeros(self.tf.shape[0])
        tf = self.tf[:, ids]
        return (self.idf[ids] * tf * (self.k1 + 1) / (tf + self.norm[:, None])).sum(axis=1)

    def rank(self, query: str) -> list[int]:
        """Document indices by decreasing score, ties by index."""
        return [int(i) for i in np.argsort(-self.scores(query), kind="stable")]


# --------------------------------------------------------------------------------------------
# The reader


def which_city(output: str) -> str | None:
    """The city a reply names at its start, in full (a reply that copies a city cut by the
    budget, "Sald" for Saldora, names none)."""
    text = output.strip().lower()
    for city in sorted(CITIES, key=len, reverse=True):
        if text.startswith(city.lower()):
            return city
    return None


def cut(tokenizer, text: str, tokens: int) -> str:
    ids = encode(tokenizer, text)
    return text if len(ids) <= tokens else tokenizer.decode(ids[:tokens]).strip()


class Pipeline:
    def __init__(self, loaded, corpus: FactCorpus, config: Config):
        self.reader, self.tokenizer = Reader(loaded), loaded.tokenizer
        self.corpus, self.config = corpus, config
        self.index = BM25([p.text for p in corpus.passages])

    def retrieve(self, q: int, extra: list[Passage] = ()) -> list[Passage]:
        passages = list(self.corpus.passages) + list(extra)
        index = BM25([p.text for p in passages]) if extra else self.index
        return [passages[i] for i in index.rank(self.corpus.question(q))]

    def read(self, q: int, texts: list[str]) -> dict:
        name = self.corpus.people[q].name
        body = "\n".join(f"{i + 1}. {t}" for i, t in enumerate(texts))
        prefix, suffix = split_prompt(self.tokenizer, "Read the passages and answer the question.\n",
                                      f"{body}\nQuestion: {self.corpus.question(q)}",
                                      f"{name} was born in the city of")
        output = self.reader.greedy(prefix, suffix, self.config.answer_tokens, stop=".")
        city = which_city(output)
        return {"output": output, "city": city, "correct": city == self.corpus.people[q].birth,
                "prompt_tokens": len(prefix) + len(suffix)}


def measure(pipe: Pipeline, key: str, config: Config) -> dict:
    fields = dict(part.split("=") for part in key.split("|")[1:])
    kind, q = key.split("|")[0], int(fields["q"])
    corpus = pipe.corpus
    gold = corpus.gold(q)
    ranked = pipe.retrieve(q)
    gold_rank = next(i for i, p in enumerate(ranked) if p.pid == gold.pid)
    base = {"kind": kind, "q": q, "question": corpus.question(q), "gold": gold.text,
            "answer": corpus.people[q].birth, "gold_rank": gold_rank}
    if kind == "budget":
        k = int(fields["k"])
        share = config.budget // k
        top = ranked[:k]
        texts = [cut(pipe.tokenizer, p.text, share) for p in top]
        gold_in = gold in top
        survives = gold_in and corpus.people[q].birth in texts[top.index(gold)]
        return {**base, "k": k, "share": share, "passages": texts, "gold_retrieved": gold_in,
                "gold_answer_in_context": survives, **pipe.read(q, texts)}
    if kind == "position":
        k, pos = config.position_k, int(fields["pos"])
        others = [p for p in ranked if p.pid != gold.pid][: k - 1]
        context = others[:pos] + [gold] + others[pos:]
        texts = [p.text for p in context]
        return {**base, "k": k, "pos": pos, "passages": texts, **pipe.read(q, texts)}
    if kind == "rt3":
        k = config.rt3_k
        top = ranked[:k]
        texts = [p.text for p in top]
        got = pipe.read(q, texts)
        retrieved = gold in top
        forced = got if retrieved else pipe.read(q, [p.text for p in top[: k - 1]] + [gold.text])
        return {**base, "k": k, "passages": texts, "gold_retrieved": retrieved, **got,
                "reader_right_with_gold": forced["correct"], "forced_output": forced["output"]}
    if kind == "poison":
        m, k = int(fields["m"]), config.poison_k
        target = attacker_city(corpus, q, config.seed)
        poison = poison_passages(corpus, q, target, m)
        top = pipe.retrieve(q, poison)[:k]
        texts = [p.text for p in top]
        got = pipe.read(q, texts)
        return {**base, "k": k, "m": m, "target": target, "passages": texts,
                "poison_retrieved": sum(p.kind == "poison" for p in top),
                "gold_retrieved": any(p.pid == gold.pid and p.kind == "birth" for p in top),
                **got, "attack_success": got["city"] == target}
    raise ValueError(f"unknown sample key {key!r}")


def setup(config: Config, loaded) -> Pipeline:
    """The corpus, its index and the reader (once per worker, empirical/executor.py)."""
    return Pipeline(loaded, fact_corpus(config.people, config.seed), config)


def sample(key: str, config: Config, pipe: Pipeline) -> dict:
    """One sample from its key alone."""
    return measure(pipe, key, config)


def run(run: ProbeRun, loaded) -> list[Verdict]:
    config: Config = run.config
    run.sweep(sys.modules[__name__], loaded)
    samples = run.samples(keys(config))
    verdicts = analyse(run.model_name, samples, config)
    plot(run, samples, config)
    return verdicts


# --------------------------------------------------------------------------------------------
# Analysis


def _rate(flags: list[bool]) -> dict:
    k, n = sum(bool(f) for f in flags), len(flags)
    lo, hi = wilson(k, n)
    return {"rate": k / n if n else float("nan"), "lo": lo, "hi": hi, "n": n}


def _series(samples: list[dict], kind: str, x: str, y: str) -> dict:
    xs = sorted({s[x] for s in samples if s["kind"] == kind})
    return {v: _rate([s[y] for s in samples if s["kind"] == kind and s[x] == v]) for v in xs}


def _paired(samples: list[dict], a: int, b: int, seed: int) -> tuple[float, float, float]:
    """Bootstrap of the per-question accuracy difference, k = a minus k = b."""
    by = {(s["q"], s["k"]): s["correct"] for s in samples if s["kind"] == "budget"}
    qs = sorted({q for q, _ in by})
    return bootstrap_mean([float(by[(q, a)]) - float(by[(q, b)]) for q in qs], seed=seed)


def _paired_values(samples: list[dict], a: int, b: int) -> list[float]:
    by = {(s["q"], s["k"]): s["correct"] for s in samples if s["kind"] == "budget"}
    return [float(by[(q, a)]) - float(by[(q, b)]) for q in sorted({q for q, _ in by})]


def analyse(model_name: str, samples: list[dict], config: Config) -> list[Verdict]:
    return [_rt1(model_name, samples, config), _rt3(model_name, samples, config),
            _rt4(model_name, samples, config)]


def _fmt(r: dict) -> str:
    return f"{r['rate']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}]"


def _rt1(model_name: str, samples: list[dict], config: Config) -> Verdict:
    acc = _series(samples, "budget", "k", "correct")
    recall = _series(samples, "budget", "k", "gold_retrieved")
    kept = _series(samples, "budget", "k", "gold_answer_in_context")
    ks = sorted(acc)
    best = max(ks, key=lambda k: (acc[k]["rate"], -k))
    interior = ks[0] < best < ks[-1]
    low = _paired(samples, best, ks[0], config.seed) if interior else None
    high = _paired(samples, best, ks[-1], config.seed) if interior else None
    significant = interior and low[1] > 0 and high[1] > 0
    cells = ", ".join(f"k={k}: {acc[k]['rate']:.2f} (gold retrieved {recall[k]['rate']:.2f}, "
                      f"its answer kept {kept[k]['rate']:.2f})" for k in ks)
    if significant:
        verdict, reading = "consistent", (f"an interior optimum at k={best}, above both ends (paired bootstrap "
                                          f"{low[0]:+.2f} [{low[1]:+.2f}, {low[2]:+.2f}] and "
                                          f"{high[0]:+.2f} [{high[1]:+.2f}, {high[2]:+.2f}]): coverage and "
                                          "per-passage room cannot both be maximized under the budget")
    elif interior:
        verdict, reading = "inconclusive", (f"the best k={best} is interior but not significantly above both "
                                            "ends on this grid")
    else:
        verdict, reading = "inconclusive", (f"the optimum lies at the end of the grid (k={best}): no interior "
                                            "optimum here, which Rt-1 allows (the trade-off is possible, not forced)")
    questions = acc[ks[0]]["n"]
    needed = None
    if verdict == "inconclusive":
        if interior:
            diffs = _paired_values(samples, best, ks[0]), _paired_values(samples, best, ks[-1])
            needed = max(power.n_mean(sum(d) / len(d), sd(d), alpha=0.025) if sum(d) > 0 else power.MAX_N
                         for d in diffs)
        else:
            needed = power.MAX_N
        reading += (f" (about {power.fmt_n(needed)} questions would decide it at the observed differences)"
                    if needed < power.MAX_N else "; no number of questions decides it at the observed optimum")
    # the interval of the tested quantity: the smaller of the two paired differences (best k against an end)
    pair = min((d for d in (low, high) if d is not None), key=lambda d: d[1], default=None)
    if pair is None:
        pair = _paired(samples, ks[1] if len(ks) > 1 else ks[0], ks[0], config.seed)
    text = (f"reader accuracy at a fixed budget of {config.budget} tokens, split evenly over the top-k BM25 "
            f"passages ({questions} questions): {cells}; {reading}")
    return Verdict(NAME, model_name, "Rt-1", verdict, text,
                   {"accuracy": acc, "gold_retrieved": recall, "answer_kept": kept, "best_k": best,
                    "diff_first": low, "diff_last": high}, n=questions, unit="questions",
                   quantity=("accuracy at the best k minus at the nearer end" if interior else
                             f"accuracy at k={ks[1] if len(ks) > 1 else ks[0]} minus at k={ks[0]}"),
                   interval=[pair[1], pair[2]], needed=needed)


def _rt3(model_name: str, samples: list[dict], config: Config) -> Verdict:
    rows = [s for s in samples if s["kind"] == "rt3"]
    n = len(rows)
    a = [s["gold_retrieved"] for s in rows]
    r = [s["reader_right_with_gold"] for s in rows]
    ok = [s["correct"] for s in rows]
    pa, pr, ps = sum(a) / n, sum(r) / n, sum(ok) / n
    both = sum(x and y for x, y in zip(a, r)) / n
    # The joint law q(A, R) of the two events, measured; the bounds come from proofs/retrieval.lim.
    law = _joint_law(a, r)
    literal, corrected = load_statement(RT3_LITERAL), load_statement(RT3)
    product = 1 - literal.term("product_bound", q=law, s=ps)
    least = 1 - corrected.term("min_bound", q=law, s=ps)
    s_lo, s_hi = wilson(sum(ok), n)
    # the product's uncertainty: bootstrap over questions, each resample's law through the statement
    import random
    rng = random.Random(config.seed)
    resamples = [[rng.randrange(n) for _ in range(n)] for _ in range(2000)]
    laws = np.array([_joint_law([a[i] for i in idx], [r[i] for i in idx]) for idx in resamples])
    prods = sorted(1 - literal.term_many("product_bound", {"q": laws, "s": np.full(len(laws), ps)},
                                         offsets={"q": (0, 0)}))
    p_lo, p_hi = float(prods[50]), float(prods[1949])
    covariance = both - product
    numbers = {"P_retrieved": pa, "P_reader_right": pr, "P_both": both, "P_success": ps,
               "success_ci": [s_lo, s_hi], "product": product, "product_ci": [p_lo, p_hi],
               "min_bound": least, "covariance": covariance, "questions": n, "k": config.rt3_k}
    head = (f"top-{config.rt3_k} BM25 ({n} questions): P(gold retrieved) = {pa:.2f}, P(reader right | gold in "
            f"context) = {pr:.2f}, product {product:.2f} [{p_lo:.2f}, {p_hi:.2f}], P(both) = {both:.2f}, "
            f"min = {least:.2f}; measured success {ps:.2f} [{s_lo:.2f}, {s_hi:.2f}]")
    if s_lo > least + 1e-9:
        verdict = "violated"
        reading = ("success exceeds even min(P(A), P(R)): the reader is right without the gold passage "
                   "more often than the corrected bound allows")
    elif s_lo <= p_hi:
        verdict = "consistent"
        reading = ("success within the product bound's reach (1 - success >= 1 - P(A) P(R) within the "
                   f"intervals); dependence between retrieval and reading: P(both) - P(A)P(R) = {covariance:+.2f}")
    elif covariance > 0:
        verdict = "consistent"
        reading = (f"success above the product bound, explained by dependence: P(both) - P(A)P(R) = "
                   f"{covariance:+.2f} > 0 (questions whose gold BM25 finds are also easier to read), the "
                   "counterexample of Rt-3.literal; the corrected bounds 1 - P(both) and 1 - min hold")
    else:
        verdict = "inconclusive"
        reading = "success above the product bound without visible positive dependence"
    needed = None
    if verdict == "inconclusive":
        needed = power.n_one_proportion(least, ps, alpha=0.025) if ps > least else power.MAX_N
        reading += f" (about {power.fmt_n(needed)} questions would decide it at the observed rates)"
    return Verdict(NAME, model_name, RT3, verdict, f"{head}; {reading}", numbers, n=n, unit="questions",
                   quantity="pipeline success rate", interval=[s_lo, s_hi], needed=needed)


def _joint_law(a: list, r: list) -> list[list[float]]:
    """q[x][y] = the share of questions with [gold retrieved] = x and [reader right with it] = y."""
    n = len(a)
    return [[sum((bool(u) == bool(x)) and (bool(v) == bool(y)) for u, v in zip(a, r)) / n for y in (0, 1)]
            for x in (0, 1)]


def _rt4(model_name: str, samples: list[dict], config: Config) -> Verdict:
    attack = _series(samples, "poison", "m", "attack_success")
    captured = {m: sum(s["poison_retrieved"] for s in samples if s["kind"] == "poison" and s["m"] == m)
                / max(1, sum(1 for s in samples if s["kind"] == "poison" and s["m"] == m)) for m in attack}
    ms = sorted(attack)
    rates = [attack[m]["rate"] for m in ms]
    monotone = all(b >= a - 1e-9 for a, b in zip(rates, rates[1:]))
    significant = attack[ms[-1]]["lo"] > attack[ms[0]]["hi"]
    cells = ", ".join(f"m={m}: {_fmt(attack[m])} (poison in top-{config.poison_k}: {captured[m]:.1f})" for m in ms)
    verdict = "consistent" if significant else "inconclusive"
    reading = ("attack success rises with the injected passages" + (", monotonically" if monotone else
                                                                   " (not monotonically on this grid)")
               + f", significantly higher at m={ms[-1]} than at m={ms[0]}") if significant else (
        "no significant rise of attack success with the injected passages on this grid")
    first, most = attack[ms[0]], attack[ms[-1]]
    needed = None
    if not significant:
        needed = (power.n_two_proportions(first["rate"], most["rate"], alpha=0.005)
                  if most["rate"] > first["rate"] else power.MAX_N)
        reading += f" (about {power.fmt_n(needed)} questions would decide it at the observed rates)"
    text = (f"attack success (reader names the attacker's city) by injected passages ({first['n']} "
            f"questions, 95% Wilson): {cells}; {reading}")
    return Verdict(NAME, model_name, "Rt-4", verdict, text,
                   {"attack": attack, "poison_in_top_k": captured, "monotone": monotone},
                   n=min(first["n"], most["n"]), unit="questions",
                   quantity=f"attack success at m={ms[-1]} (95% Wilson; at m={ms[0]}: "
                            f"[{first['lo']:.2f}, {first['hi']:.2f}])",
                   interval=[most["lo"], most["hi"]], needed=needed)


def plot(run: ProbeRun, samples: list[dict], config: Config) -> None:
    """retrieval_budget.png, retrieval_position.png, retrieval_poison.png."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def errorbar(ax, series, label, **kw):
        xs = sorted(series)
        ys = [series[x]["rate"] for x in xs]
        ax.errorbar(xs, ys, yerr=[[y - series[x]["lo"] for x, y in zip(xs, ys)],
                                  [series[x]["hi"] - y for x, y in zip(xs, ys)]],
                    marker="o", capsize=4, label=label, **kw)

    def save(fig, ax, name, title, xlabel, ylabel):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{title}, {run.model_name}")
        ax.set_ylim(-0.02, 1.05)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(run.dir / name, dpi=110)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    errorbar(ax, _series(samples, "budget", "k", "correct"), "reader accuracy (95% Wilson)")
    for y, label, style in (("gold_retrieved", "gold passage in top-k", "s--"),
                            ("gold_answer_in_context", "gold's city survives the cut", "^:")):
        series = _series(samples, "budget", "k", y)
        ax.plot(sorted(series), [series[k]["rate"] for k in sorted(series)], style, label=label)
    save(fig, ax, "retrieval_budget.png", "accuracy vs k at a fixed budget",
         f"k (a budget of {config.budget} tokens split evenly)", "fraction of questions")

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    errorbar(ax, _series(samples, "position", "pos", "correct"), f"{config.position_k} passages (95% Wilson)")
    save(fig, ax, "retrieval_position.png", "accuracy vs gold position",
         "position of the gold passage (0 = first)", "reader accuracy")

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    errorbar(ax, _series(samples, "poison", "m", "attack_success"), "attack success", color="tab:red")
    errorbar(ax, _series(samples, "poison", "m", "correct"), "correct answer", color="tab:green")
    ax.axvline(config.poison_k, color="k", lw=0.8, ls=":", label=f"m = k = {config.poison_k}")
    save(fig, ax, "retrieval_poison.png", f"corpus poisoning, top-{config.poison_k}",
         "injected poisoned passages m", "fraction of questions (95% Wilson)")
