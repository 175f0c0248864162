"""E-H3: halting questions about tiny programs, with exact ground truth.

H-3: every computable halting predictor fails on an infinite set of programs. Its finite
companion is a program class whose halting *is* decidable, so a model's answers can be
scored: a register machine with two registers modulo 10 (empirical/tasks.py). Its state
(line, x, y) takes finitely many values and the machine is deterministic, so simulation with
cycle detection decides every program: halting (a halt line, or running past the last line)
or a repeated state, which means it loops forever.

Programs are drawn per size (number of lines), half halting and half looping, each with a
loop from 3 lines on. The model reads the program and "Does this program halt? Answer yes
or no."; its answer is the larger of the next-token probability masses of the yes and no
tokens. Error rate versus size with 95% Wilson intervals; the samples keep the program text,
its lines, the truth, the simulated steps and the model's answer, so each failure can be
replayed as a counterexample.

A class decidable by simulation has a finite failure set for *some* predictor (the
simulator itself); what H-3's companion confronts is whether a real model's failure set
shrinks as programs grow, or stays (a non-vanishing error, here against a balanced set
where always answering one way errs half the time).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import torch

from .. import power
from ..framework import ProbeRun, Verdict, preset_name
from ..stats import linear_fit, wilson
from ..tasks import Program, Reader, encode, random_program, simulate, split_prompt

NAME = "halting"
THEOREMS = ("H-3",)

QUESTION = "Does this program halt? Answer yes or no."
INTRO = "Here is a program for a simple machine.\n"


@dataclass(frozen=True)
class Config:
    sizes: tuple[int, ...] = (3, 6, 10, 14)   # program lengths in lines
    programs: int = 20                        # programs per size, alternately halting / looping
    modulus: int = 10                         # registers hold values modulo this
    registers: tuple[str, ...] = ("x", "y")
    seed: int = 0

    @classmethod
    def preset(cls, preset: bool | str = False) -> Config:
        """"cpu" (or False), "standard" (sized by `plan`) or "full" (or True)."""
        name = preset_name(preset)
        if name == "full":
            return cls(sizes=(2, 3, 4, 6, 8, 10, 12, 16, 20, 24), programs=60)
        if name == "standard":
            return cls(programs=40)        # 40 programs per size (>= 32, and even: half halting); see plan()
        return cls()


def keys(config: Config) -> list[str]:
    return [f"size={s}|prog={i}" for s in config.sizes for i in range(config.programs)]


SMALLEST_ERROR = 0.05   # the smallest error rate worth reporting: one program in twenty


def cost(key: str, config: Config) -> float:
    return 1.0


def plan(config: Config, observed: dict | None = None) -> list[power.Requirement]:
    """The power analysis of each verdict, and what `config` gives (see empirical/power.py)."""
    return [power.Requirement(
        "H-3", "error rate of the model's halting answers at each program size",
        "at least one error at every size: Wilson 95% lower bound above 0",
        f"an error rate of {SMALLEST_ERROR} at each size (one program in twenty: the smallest non-vanishing "
        "failure set worth reporting), seen with 80% probability", "programs per size",
        power.n_any_event(SMALLEST_ERROR), config.programs, "programs (alternately halting and looping)")]


def program_for(config: Config, size: int, index: int) -> Program:
    return random_program(size, config.seed * 1_000_003 + index, halts=index % 2 == 0,
                          modulus=config.modulus, registers=config.registers)


def answer_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """Single-token spellings of yes and of no (with and without a leading space)."""
    def group(word: str) -> list[int]:
        ids = set()
        for w in (word, word.capitalize(), word.upper()):
            for text in (w, " " + w):
                enc = encode(tokenizer, text)
                if len(enc) == 1:
                    ids.add(enc[0])
        return sorted(ids)
    return group("yes"), group("no")


def prompt_parts(program: Program) -> tuple[str, str]:
    """(shared head, program-specific tail) of the user turn."""
    header, _, listing = program.text().partition("\n")
    return INTRO + header + "\n", listing + "\n" + QUESTION


def measure(reader: Reader, tokenizer, program: Program, yes: list[int], no: list[int]) -> dict:
    head, tail = prompt_parts(program)
    prefix, suffix = split_prompt(tokenizer, head, tail, "Answer:")
    logits, _ = reader.logits(prefix, suffix)
    logp = torch.log_softmax(logits.double(), dim=-1)
    lp_yes, lp_no = float(torch.logsumexp(logp[yes], 0)), float(torch.logsumexp(logp[no], 0))
    outcome = simulate(program)
    said = "yes" if lp_yes > lp_no else "no"
    return {
        "size": program.size, "program": program.text(), "lines": [list(line) for line in program.lines],
        "modulus": program.modulus, "registers": list(program.registers), "prompt": head + tail,
        "halts": outcome.halts, "reason": outcome.reason, "steps": outcome.steps,
        "logp_yes": lp_yes, "logp_no": lp_no, "answer": said, "top_token": tokenizer.decode([int(logits.argmax())]),
        "correct": (said == "yes") == outcome.halts,
    }


def setup(config: Config, loaded) -> tuple:
    """What every sample reads (once per worker, empirical/executor.py)."""
    return loaded, Reader(loaded), answer_tokens(loaded.tokenizer)


def sample(key: str, config: Config, ctx) -> dict:
    """One sample from its key alone: the program it names."""
    loaded, reader, (yes, no) = ctx
    fields = dict(part.split("=") for part in key.split("|"))
    program = program_for(config, int(fields["size"]), int(fields["prog"]))
    return measure(reader, loaded.tokenizer, program, yes, no)


def run(run: ProbeRun, loaded) -> list[Verdict]:
    config: Config = run.config
    run.sweep(sys.modules[__name__], loaded)
    samples = run.samples(keys(config))
    verdicts = analyse(run.model_name, samples, config)
    plot(run, samples)
    return verdicts


def auc(scores: list[float], labels: list[bool]) -> float | None:
    """Probability that a halting program scores above a looping one (ties count 1/2)."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def per_size(samples: list[dict]) -> list[dict]:
    rows = []
    for size in sorted({s["size"] for s in samples}):
        sub = [s for s in samples if s["size"] == size]
        errors = sum(not s["correct"] for s in sub)
        lo, hi = wilson(errors, len(sub))
        area = auc([s["logp_yes"] - s["logp_no"] for s in sub], [s["halts"] for s in sub])
        rows.append({"size": size, "n": len(sub), "errors": errors, "error": errors / len(sub),
                     "lo": lo, "hi": hi, "yes_rate": sum(s["answer"] == "yes" for s in sub) / len(sub),
                     "auc": area})
    return rows


def analyse(model_name: str, samples: list[dict], config: Config) -> list[Verdict]:
    rows = per_size(samples)
    last = rows[-1]
    fit = linear_fit([r["size"] for r in rows], [r["error"] for r in rows]) if len(rows) > 1 else None
    nonzero = all(r["errors"] > 0 for r in rows)
    persists = last["lo"] > 0
    verdict = "consistent" if nonzero and persists else "inconclusive"
    cells = ", ".join(f"{r['size']}: {r['error']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}]" for r in rows)
    aucs = [r["auc"] for r in rows if r["auc"] is not None]
    yes_rate = sum(s["answer"] == "yes" for s in samples) / len(samples)
    slope = (f"; fitted slope {fit['c1']:+.3f} per line" + (f" (se {fit['c1_se']:.3f})" if fit["c1_se"] else "")
             if fit else "")
    text = (f"halting error by program size (lines): {cells} (95% Wilson, {last['n']} programs per size, "
            f"half halting){slope}; the model says yes on {yes_rate:.2f} of programs"
            + (" (one answer to every program, so its error is the balanced set's 1/2)" if yes_rate in (0, 1) else "")
            + f", AUC of its yes-no margin "
            f"{min(aucs):.2f}..{max(aucs):.2f} (0.5 = no signal); "
            + ("the failure set does not vanish with size: the error stays above 0 at the largest size"
               if verdict == "consistent" else
               "no failure at some size, or the error at the largest size is not significantly above 0"))
    numbers = {"per_size": rows, "fit": fit, "yes_rate": yes_rate,
               "failures": [s["key"] for s in samples if not s["correct"]]}
    needed = None
    if verdict == "inconclusive":
        pooled = sum(r["errors"] for r in rows) / sum(r["n"] for r in rows)
        needed = power.n_any_event(pooled)     # at the observed (pooled) error rate, every size shows one
        text += f" (about {power.fmt_n(needed)} programs per size would decide it at the pooled error rate)"
    return [Verdict(NAME, model_name, "H-3", verdict, text, numbers, n=min(r["n"] for r in rows),
                    unit="programs per size", quantity=f"error rate at {last['size']} lines",
                    interval=[last["lo"], last["hi"]], needed=needed)]


def plot(run: ProbeRun, samples: list[dict]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = per_size(samples)
    xs = [r["size"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.errorbar(xs, [r["error"] for r in rows],
                yerr=[[r["error"] - r["lo"] for r in rows], [r["hi"] - r["error"] for r in rows]],
                marker="o", capsize=4, label="model error (95% Wilson)")
    ax.plot(xs, [r["yes_rate"] for r in rows], "s--", color="tab:gray", label="fraction answered yes")
    ax.axhline(0.5, color="k", lw=0.8, ls=":", label="always one answer (balanced set)")
    ax.set_xlabel("program size (lines)")
    ax.set_ylabel("rate")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"halting questions, {run.model_name}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(run.dir / "halting_error.png", dpi=110)
    plt.close(fig)

