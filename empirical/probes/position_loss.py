"""E-C1: next-token loss by position, and recall of facts stated near or far back.

Each sequence is a deterministic log: a short header, filler sentences (the haystack's
FILLER mixed with sentences from a small template generator, so the text is not a loop of
twenty lines), and facts "The code for <name> is <5 digits>." that are repeated later as
"Reminder: the code for <name> is <digits>." All reminders sit in the second half of the
sequence (0.55 L .. 0.95 L), so near and far reminders see the same absolute positions and
the same number of competing codes; what differs is how far back their fact is:
    near     distance 8 .. L/16 (log-uniform)
    mid      L/16 .. L/2 (log-uniform)
    far      beyond L/2 (uniform)
    control  a name whose code was never stated: the loss of guessing (about ln 10 a digit).
One forward pass per sequence gives the loss of every token; the loss on a reminder's digits
measures how well the model uses the fact at that distance. C-1 (positional undertraining:
distances >= L/2 get about a quarter of the training signal, >= 0.9 L about 1%) predicts far
recall to be worse than near recall. The same folder's per-position loss, bucketed on a log
grid, is the classic loss-versus-position curve.

C-4 (effective context shorter than nominal) is read from the needle probe's samples when
they exist (results/needle/<model>/samples.jsonl): effective length = the largest tested
length whose passkey accuracy is at least 90% of the shortest length's.
"""
from __future__ import annotations

import json
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import power
from ..framework import PRESETS, ProbeRun, Verdict, preset_name
from ..haystack import FILLER, bos_ids
from ..models import check_context
from ..stats import bootstrap_mean, fisher_greater, newcombe_difference, sd

NAME = "position_loss"
THEOREMS = ("C-1", "C-4")

FIRST = ["Alice", "Bruno", "Clara", "Daniel", "Elena", "Farid", "Greta", "Hugo", "Irene", "Jonas",
         "Karin", "Leon", "Maya", "Nikolai", "Olga", "Pablo", "Quinn", "Rosa", "Stefan", "Tara",
         "Ulrich", "Vera", "Walter", "Xenia", "Yusuf", "Zoe", "Anton", "Bianca", "Carlos", "Dora",
         "Emil", "Fiona", "Gustav", "Hanna", "Ivan", "Julia", "Kevin", "Lena", "Marco", "Nina"]
LAST = ["Brown", "Fischer", "Garcia", "Novak", "Ivanova", "Rossi", "Silva", "Jensen", "Kowalski",
        "Moreau", "Okafor", "Tanaka", "Weber", "Lindqvist", "Horvat", "Petrov", "Duarte", "Keller",
        "Nakamura", "Olsen", "Bauer", "Costa", "Dumont", "Eriksen", "Ferrara", "Grant", "Haas",
        "Ibarra", "Janssen", "Klein", "Lopez", "Meyer", "Nilsen", "Ortega", "Price", "Quist",
        "Romero", "Schmidt", "Varga", "Young"]
_PLACES = ["market", "harbour", "library", "station", "bakery", "museum", "garden", "bridge", "mill", "school"]
_THINGS = ["apples", "maps", "candles", "letters", "baskets", "books", "tickets", "lanterns", "nets", "rolls"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_TEMPLATES = [
    "On {day} {first} walked to the {place} and bought {n} {thing}.",
    "The {place} received {n} new {thing} on {day}.",
    "{first} {last} counted {n} {thing} near the {place}.",
    "Nobody at the {place} remembers who left the {thing} there on {day}.",
    "{first} says the {place} is quieter on {day} than on any other day.",
    "A crate of {thing} was carried from the {place} to the {place2}.",
]
KINDS = ("near", "mid", "far", "control")


@dataclass(frozen=True)
class Config:
    length: int = 2048                 # tokens per sequence (one forward pass each)
    sequences: int = 3                 # independent logs: other facts, codes and filler
    reminders_per_1k: int = 16         # reminders per 1024 tokens (kinds cycle near/mid/far/control)
    near_fraction: float = 1 / 16      # "near": supporting fact at most this x length back
    seed: int = 0

    @classmethod
    def preset(cls, preset: bool | str = False) -> Config:
        """"cpu" (or False), "standard" (sized by `plan`) or "full" (or True)."""
        name = preset_name(preset)
        if name == "full":
            return cls(length=8192, sequences=8)
        if name == "standard":
            return cls(sequences=24)      # about 170 near and 170 far reminders (C-1); see plan()
        return cls()


def keys(config: Config) -> list[str]:
    return [f"L={config.length}|seq={i}" for i in range(config.sequences)]


# Design values for the power analysis, from the committed CPU runs:
SD_DIGIT_LOSS = 0.3     # sd of a reminder's mean digit loss within the near or far group (0.22 .. 0.29)
PER_GROUP = 7 / 32      # near (or far) reminders per reminder placed (7 of 32 at 2048 tokens)


def cost(key: str, config: Config) -> float:
    return config.length / 1024 * (1 + config.length / 8192)


def plan(config: Config, observed: dict | None = None) -> list[power.Requirement]:
    """The power analysis of each verdict, and what `config` gives (see empirical/power.py)."""
    from . import needle
    reminders = max(4, config.reminders_per_1k * config.length // 1024)
    per_group = int(config.sequences * reminders * PER_GROUP)
    # C-4 reads the needle probe's prompts of the same preset
    same = next((p for p in PRESETS if Config.preset(p) == config), "cpu")
    nc = needle.Config.preset(same)
    return [
        power.Requirement(
            "C-1", "reminder-digit loss, far (> L/2 back) minus near (<= L/16 back)",
            "two-sample difference, 95% bootstrap interval above 0 (one-sided alpha 0.025)",
            f"+0.1 nats a digit (10% of the probability lost: the smallest recall deficit worth reporting); "
            f"sd {SD_DIGIT_LOSS} nats (CPU runs)",
            "reminders per group", power.n_two_means(0.1, SD_DIGIT_LOSS, alpha=0.025), per_group,
            f"sequences x {reminders} reminders x ~{PER_GROUP:.2f} in each of near and far"),
        power.Requirement(
            "C-4", "passkey accuracy, shortest minus longest tested length (needle prompts)",
            "RULER's effective length (a point reading), with a one-sided Fisher exact test at 0.05 of the drop",
            "accuracy 0.8 -> 0.4 between the shortest and the longest length (half the pass keys lost)",
            "needle prompts per length", power.n_two_proportions(0.8, 0.4, continuity=True),
            len(nc.depths) * nc.repeats, "the needle probe's depths x repeats (same preset)"),
    ]


def _encode(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False).input_ids


def _sentence(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return rng.choice(FILLER)
    place, place2 = rng.sample(_PLACES, 2)
    return rng.choice(_TEMPLATES).format(day=rng.choice(_DAYS), first=rng.choice(FIRST), last=rng.choice(LAST),
                                         place=place, place2=place2, n=rng.randint(2, 40),
                                         thing=rng.choice(_THINGS))


def build_sequence(tokenizer, length: int, reminders: int, near_fraction: float, seed: int) -> dict:
    """A log of exactly `length` tokens; returns the ids and, per reminder, where its digits
    and those of its fact sit (fact_digits is None for a control)."""
    rng = random.Random(seed)
    head = bos_ids(tokenizer) + _encode(
        tokenizer, "Staff log. Access codes are noted as they are issued and repeated later as reminders.\n")
    names = rng.sample([f"{a} {b}" for a in FIRST for b in LAST], reminders)
    near_max = max(9.0, near_fraction * length)
    events = []            # (target position, order, kind, reminder index)
    plans = []
    for i in range(reminders):
        kind = KINDS[i % len(KINDS)]
        r = rng.uniform(0.55, 0.95) * length
        room = r - len(head) - 1
        if kind == "near":
            d = math.exp(rng.uniform(math.log(8), math.log(near_max)))
        elif kind == "mid" or (kind == "far" and room <= length / 2 + 1):
            d = math.exp(rng.uniform(math.log(near_max), math.log(length / 2)))
        elif kind == "far":
            d = rng.uniform(length / 2 + 1, room)
        else:
            d = None
        code = str(rng.randint(10000, 99999))
        plans.append({"kind": kind, "name": names[i], "code": code})
        if d is not None:
            events.append((max(len(head), r - d), 0, "fact", i))
        events.append((r, 1, "reminder", i))
    events.sort()
    ids = list(head)
    for target, _, what, i in events:
        while len(ids) < target:
            ids += _encode(tokenizer, " " + _sentence(rng))
        plan = plans[i]
        lead = " The code for" if what == "fact" else " Reminder: the code for"
        ids += _encode(tokenizer, f"{lead} {plan['name']} is")
        digits = _encode(tokenizer, " " + plan["code"])
        # the digit tokens proper (a leading space token, if the tokenizer splits one off, excluded)
        offsets = [k for k, t in enumerate(digits) if any(ch.isdigit() for ch in tokenizer.decode([t]))]
        span = (len(ids) + offsets[0], len(ids) + offsets[-1] + 1)
        ids += digits + _encode(tokenizer, ".")
        plan["fact_digits" if what == "fact" else "reminder_digits"] = span
    while len(ids) < length:
        ids += _encode(tokenizer, " " + _sentence(rng))
    ids = ids[:length]
    items = []
    for plan in plans:
        span = plan["reminder_digits"]
        if span[1] > length:
            continue                                   # cut off by the end of the sequence
        fact = plan.get("fact_digits")
        items.append({"kind": plan["kind"], "code": plan["code"], "reminder_digits": span,
                      "fact_digits": fact, "distance": None if fact is None else span[0] - fact[0]})
    return {"ids": ids, "reminders": items}


def token_losses(model, ids: list[int], chunk: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token loss and argmax of every position 0..L-2 (predicting ids[1:]), with the
    output layer applied in chunks so an 8192 x 262144 logit matrix is never built."""
    x = torch.tensor([ids], device=model.device)
    head = model.get_output_embeddings()
    softcap = getattr(model.config, "final_logit_softcapping", None)
    losses, argmax = [], []
    with torch.inference_mode():
        hidden = model.model(input_ids=x, use_cache=False).last_hidden_state[0, :-1]
        targets = x[0, 1:]
        for start in range(0, hidden.shape[0], chunk):
            logits = head(hidden[start:start + chunk]).float()
            if softcap:
                logits = torch.tanh(logits / softcap) * softcap
            target = targets[start:start + chunk]
            losses.append(torch.nn.functional.cross_entropy(logits, target, reduction="none"))
            argmax.append(logits.argmax(-1))
    return torch.cat(losses).cpu(), torch.cat(argmax).cpu()


def measure(loaded, seq: dict) -> dict:
    ids = seq["ids"]
    loss, pred = token_losses(loaded.model, ids)
    reminders = []
    for item in seq["reminders"]:
        a, b = item["reminder_digits"]
        digit_loss = [float(loss[p - 1]) for p in range(a, b)]          # loss of token p sits at p - 1
        hits = [int(pred[p - 1]) == ids[p] for p in range(a, b)]
        reminders.append({**item, "digit_loss": [round(v, 4) for v in digit_loss],
                          "mean_loss": round(sum(digit_loss) / len(digit_loss), 4), "exact": all(hits)})
    return {"length": len(ids), "loss": [round(float(v), 4) for v in loss], "reminders": reminders}


def sample(key: str, config: Config, loaded) -> dict:
    """One sample from its key alone (empirical/executor.py): the sequence it names, seeded by it."""
    reminders = max(4, config.reminders_per_1k * config.length // 1024)
    i = int(key.split("seq=")[1])
    seq = build_sequence(loaded.tokenizer, config.length, reminders, config.near_fraction,
                         seed=config.seed * 1000 + i)
    return measure(loaded, seq)


def run(run: ProbeRun, loaded) -> list[Verdict]:
    config: Config = run.config
    check_context(loaded, config.length)
    run.sweep(sys.modules[__name__], loaded)
    samples = run.samples(keys(config))
    verdicts = analyse(run.model_name, samples, config)
    verdicts.append(effective_length_verdict(run, loaded.info()))
    plot(run, samples, config)
    return verdicts


def buckets(length: int) -> list[tuple[int, int]]:
    """Log-spaced position buckets [1, 2), [2, 4), ... covering positions 1 .. length - 1."""
    out, lo = [], 1
    while lo < length:
        out.append((lo, min(2 * lo, length)))
        lo *= 2
    return out


def loss_by_position(samples: list[dict], block: int = 16) -> list[dict]:
    """Mean loss of the tokens at positions [lo, hi) (position p = the token predicted), with a
    block bootstrap interval: neighbouring tokens are correlated, so blocks of 16 are resampled."""
    length = min(s["length"] for s in samples)
    rows = []
    for lo, hi in buckets(length):
        blocks = []
        for s in samples:
            values = s["loss"][lo - 1:hi - 1]
            blocks += [sum(values[k:k + block]) / len(values[k:k + block]) for k in range(0, len(values), block)]
        mean, low, high = bootstrap_mean(blocks, seed=lo, rounds=1000)
        tokens = sum(len(s["loss"][lo - 1:hi - 1]) for s in samples)
        mean = sum(sum(s["loss"][lo - 1:hi - 1]) for s in samples) / tokens
        rows.append({"lo": lo, "hi": hi, "tokens": tokens, "mean": round(mean, 4),
                     "ci": [round(low, 4), round(high, 4)]})
    return rows


def bootstrap_difference(a: list[float], b: list[float], seed: int = 0, rounds: int = 2000):
    """mean(a) - mean(b) with a 95% percentile bootstrap interval (independent resampling)."""
    rng = random.Random(seed)
    diffs = sorted(sum(rng.choice(a) for _ in a) / len(a) - sum(rng.choice(b) for _ in b) / len(b)
                   for _ in range(rounds))
    return (sum(a) / len(a) - sum(b) / len(b), diffs[int(0.025 * rounds)], diffs[int(0.975 * rounds) - 1])


def groups(samples: list[dict], config: Config) -> dict[str, list[dict]]:
    """Reminders by the distance of their fact: near (<= near_fraction L), far (> L/2), the rest
    mid; controls apart. Classified by the measured distance, not the planned one."""
    out = {k: [] for k in KINDS}
    for s in samples:
        for r in s["reminders"]:
            d = r["distance"]
            if d is None:
                out["control"].append(r)
            elif d > s["length"] / 2:
                out["far"].append(r)
            elif d <= config.near_fraction * s["length"]:
                out["near"].append(r)
            else:
                out["mid"].append(r)
    return out


def analyse(model_name: str, samples: list[dict], config: Config) -> list[Verdict]:
    g = groups(samples, config)
    stats = {}
    for kind, items in g.items():
        values = [r["mean_loss"] for r in items]
        if not values:
            stats[kind] = {"n": 0, "mean_loss": None, "ci": None, "exact": None}
            continue
        mean, lo, hi = bootstrap_mean(values, seed=1)
        stats[kind] = {"n": len(values), "mean_loss": round(mean, 4), "ci": [round(lo, 4), round(hi, 4)],
                       "exact": round(sum(r["exact"] for r in items) / len(items), 3)}
    positions = loss_by_position(samples)
    numbers = {"groups": stats, "loss_by_position": positions, "length": config.length}

    def fmt(kind):
        s = stats[kind]
        return (f"{kind} {s['mean_loss']:.2f} [{s['ci'][0]:.2f}, {s['ci'][1]:.2f}] nats/digit, "
                f"{s['exact']:.0%} exact (n={s['n']})") if s["n"] else f"{kind}: none"
    near, far = [r["mean_loss"] for r in g["near"]], [r["mean_loss"] for r in g["far"]]
    described = (f"reminder-digit loss at {config.length} tokens: " + "; ".join(fmt(k) for k in KINDS)
                 + f"; all-token loss {positions[0]['mean']:.2f} at position 1 .. "
                 f"{positions[-1]['mean']:.2f} at {positions[-1]['lo']}-{positions[-1]['hi'] - 1}")
    quantity = "far minus near reminder-digit loss (nats)"
    if len(near) < 2 or len(far) < 2:
        return [Verdict(NAME, model_name, "C-1", "inconclusive",
                        described + "; too few near or far reminders to compare", numbers,
                        n=min(len(near), len(far)), unit="reminders per group", quantity=quantity,
                        needed=power.n_two_means(0.1, SD_DIGIT_LOSS, alpha=0.025))]
    diff, lo, hi = bootstrap_difference(far, near, seed=2)
    numbers["far_minus_near"] = {"mean": round(diff, 4), "ci": [round(lo, 4), round(hi, 4)]}
    worse = lo > 0
    needed = None
    if not worse:
        spread = math.sqrt((sd(near) ** 2 + sd(far) ** 2) / 2)
        needed = power.n_two_means(diff, spread, alpha=0.025) if diff > 0 else power.MAX_N
    return [Verdict(
        NAME, model_name, "C-1", "consistent" if worse else "inconclusive",
        described + f"; far - near = {diff:+.2f} [{lo:+.2f}, {hi:+.2f}] (95% bootstrap, {len(far)} far and "
        f"{len(near)} near reminders): "
        + ("distant facts are recalled significantly worse, as positional undertraining predicts"
           if worse else "no significant recall deficit at distances beyond L/2"
           + (f" (about {power.fmt_n(needed)} reminders per group would decide the observed difference)"
              if diff > 0 else "")),
        numbers, n=min(len(near), len(far)), unit="reminders per group", quantity=quantity,
        interval=[lo, hi], needed=needed)]


def needle_samples(run: ProbeRun) -> tuple[Path, list[dict]]:
    path = run.dir.parent.parent / "needle" / run.dir.name / "samples.jsonl"
    if not path.exists():
        return path, []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue                                    # a line cut short by a running probe
        if isinstance(record, dict) and "length" in record and "correct" in record:
            out.append(record)
    return path, out


def effective_length(samples: list[dict], ratio: float = 0.9) -> dict | None:
    by_length: dict[int, list[bool]] = {}
    for s in samples:
        by_length.setdefault(int(s["length"]), []).append(bool(s["correct"]))
    if not by_length:
        return None
    acc = {n: sum(v) / len(v) for n, v in sorted(by_length.items())}
    lengths = sorted(acc)
    threshold = ratio * acc[lengths[0]]
    passing = [n for n in lengths if acc[n] >= threshold]
    return {"accuracy": acc, "counts": {n: len(v) for n, v in by_length.items()},
            "threshold": threshold, "effective": max(passing), "longest": lengths[-1]}


def effective_length_verdict(run: ProbeRun, info: dict) -> Verdict:
    path, samples = needle_samples(run)
    nominal = info.get("max_positions")
    eff = effective_length(samples)
    if eff is None:
        return Verdict(NAME, run.model_name, "C-4", "inconclusive",
                       f"no needle samples at {path}: run the needle probe first for the effective length",
                       {"nominal": nominal})
    acc = ", ".join(f"{n}: {a:.2f} (n={eff['counts'][n]})" for n, a in eff["accuracy"].items())
    shortest, longest = min(eff["accuracy"]), eff["longest"]
    hits = {n: round(eff["accuracy"][n] * eff["counts"][n]) for n in eff["accuracy"]}
    a, na, b, nb = hits[shortest], eff["counts"][shortest], hits[longest], eff["counts"][longest]
    p_value = fisher_greater(a, na, b, nb)
    diff, lo, hi = newcombe_difference(a, na, b, nb)
    numbers = {**eff, "nominal": nominal, "fisher_p": p_value}
    sample: dict[str, Any] = {"n": min(na, nb), "unit": "needle prompts per length",
              "quantity": f"passkey accuracy at {shortest} minus at {longest} tokens", "interval": [lo, hi]}
    head = (f"passkey accuracy by length (needle probe) {acc}; effective length (largest length with "
            f"accuracy >= 90% of the shortest's) {eff['effective']}, nominal {nominal}; accuracy at {shortest} "
            f"minus at {longest} tokens {diff:.2f} [{lo:.2f}, {hi:.2f}] (95% Newcombe), one-sided Fisher "
            f"p = {p_value:.3f}")

    def undecided(text: str) -> Verdict:
        p_a, p_b = a / na, b / nb
        needed = power.n_two_proportions(p_a, p_b, continuity=True) if p_a > p_b else power.MAX_N
        more = (f" (about {power.fmt_n(needed)} prompts per length would decide the observed drop)"
                if needed < power.MAX_N else "")
        return Verdict(NAME, run.model_name, "C-4", "inconclusive", head + text + more, numbers, **sample,
                       needed=needed)
    if eff["accuracy"][shortest] == 0:
        return undecided("; the model fails even the shortest prompts, so there is no reference")
    if nominal is not None and eff["effective"] < min(longest, nominal):
        # C-4 reads the effective length as RULER defines it, a point reading of the accuracies; the
        # verdict also needs Fisher's test to show the drop behind it is more than the sample's noise
        if p_value >= 0.05:
            return undecided(f"; the point reading puts the effective length below the nominal one, but the drop "
                             f"is not significant on {min(na, nb)} prompts per length")
        return Verdict(NAME, run.model_name, "C-4", "consistent",
                       head + ": the effective context is shorter than the nominal one, and the drop is significant",
                       numbers, **sample)
    if nominal is not None and longest < nominal:
        return undecided(f"; no drop within the tested lengths, which stop at {longest} < nominal {nominal}")
    return undecided("; accuracy holds up to the nominal length on this grid")


def plot(run: ProbeRun, samples: list[dict], config: Config) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = loss_by_position(samples)
    g = groups(samples, config)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    mids = [math.sqrt(r["lo"] * max(r["hi"] - 1, r["lo"])) for r in rows]
    means = [r["mean"] for r in rows]
    ax.errorbar(mids, means, yerr=[[m - r["ci"][0] for m, r in zip(means, rows)],
                                   [r["ci"][1] - m for m, r in zip(means, rows)]], marker="o", capsize=3)
    ax.set_xscale("log")
    ax.set_xlabel("position (token predicted)")
    ax.set_ylabel("mean next-token loss (nats)")
    ax.set_title(f"loss vs position, {run.model_name}")
    colours = {"near": "tab:green", "mid": "tab:orange", "far": "tab:red"}
    for kind, colour in colours.items():
        pts = [(r["distance"], r["mean_loss"]) for r in g[kind]]
        if pts:
            bx.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, color=colour, label=kind)
    if g["control"]:
        c = sum(r["mean_loss"] for r in g["control"]) / len(g["control"])
        bx.axhline(c, color="grey", ls="--", lw=1, label=f"no fact stated ({c:.2f})")
    bx.axvline(config.length / 2, color="k", ls=":", lw=1, label="L/2")
    bx.set_xscale("log")
    bx.set_xlabel("distance from the fact to its reminder (tokens)")
    bx.set_ylabel("mean loss of the reminder's digits (nats)")
    bx.set_title(f"recall vs distance, L = {config.length}")
    bx.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(run.dir / "loss_vs_position.png", dpi=110)
    plt.close(fig)
