"""E-R2 and E-R3: the model's own reasoning traces on arithmetic chains, checked step by step.

The tasks are arithmetic chains (empirical/tasks.py's ArithmeticTask, here with one-digit
operands: "Compute 7 + 3 - 5 + 4."), whose every intermediate value is known exactly. The model
writes its own trace greedily, from a reply that starts with its first step's operands
("Step 1: 7 + 3 ="), up to the largest trace budget (max new tokens); the trace is cut where it
writes "Answer", and for each budget B its first B tokens are kept and the answer is read after
them (prompt, trace cut to B tokens, then "Answer:", a number read greedily over digit tokens).

- R-2 (proofs/reasoning.lim): the outcome-only reward 1[answer correct] sees only the answer on
  the trace taken. Each trace at the largest budget is parsed into its steps "a op b = c" and is
  valid when it has the task's steps in order, each on the previous value and each computed right.
  Measured: the share of rewarded answers (right at the largest budget) whose trace is invalid,
  which the reward pays exactly like a valid one.
- R-3: quality Q = 1[answer right] against compute C = trace tokens + 1 (the answer) at each
  budget; the efficiency eta = E[Q / C] as R-3 defines it and the ratio of means E[Q] / E[C]
  (R-3.ratio's `eta`, `EQ`, `EC`, evaluated through the checker on the measured tasks), with the
  difference between them, which R-3.ratio's refutation says need not vanish.
"""
from __future__ import annotations

import random
import re
import sys
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from checker.statements import load_statement

from .. import power
from ..decode import greedy
from ..framework import ProbeRun, Verdict, preset_name
from ..stats import wilson
from ..tasks import ArithmeticTask, Reader, chat_ids

NAME = "traces"
R2, R3, R3_RATIO = "R-2", "R-3", "R-3.ratio"
THEOREMS = (R2, R3, R3_RATIO)
INSTRUCTION = (" Work it out one operation at a time, one step per line ('Step 1: ...', 'Step 2: ...'), "
               "then write 'Answer:' and the result.")
STEP = re.compile(r"(-?\d+)\s*([+\-])\s*(\d+)\s*=\s*(-?\d+)")


@dataclass(frozen=True)
class Config:
    steps: tuple[int, ...] = (1, 2)             # operations per chain
    tasks: int = 2                              # tasks per chain length
    budgets: tuple[int, ...] = (8, 16, 24)      # trace budgets in tokens (the last: the full trace)
    max_digits: int = 3
    bootstrap: int = 2000
    seed: int = 0

    @classmethod
    def preset(cls, preset: bool | str = False) -> Config:
        """"cpu" (or False), "standard" (sized by `plan`) or "full" (or True)."""
        name = preset_name(preset)
        if name == "full":
            return cls(steps=(2, 3, 4, 5), tasks=100, budgets=(8, 16, 24, 32, 48, 64, 96))
        if name == "standard":
            return cls(steps=(2, 3, 4), tasks=43, budgets=(8, 16, 24, 32, 48, 64))
        return cls()


def keys(config: Config) -> list[str]:
    return [f"steps={n}|task={i}" for n in config.steps for i in range(config.tasks)]


def cost(key: str, config: Config) -> float:
    return 1.0


# Design values for the power analysis:
INVALID_SHARE = 0.1     # the smallest share of rewarded answers with an invalid trace worth showing
REWARDED = 0.5          # share of tasks answered right (a small model on two- and three-step chains)
REL_GAP, REL_SD = 0.1, 0.4   # eta against E[Q]/E[C]: a 10% gap, per-task sd 40% of eta


def plan(config: Config, observed: dict | None = None) -> list[power.Requirement]:
    """The power analysis of each verdict, and what `config` gives (see empirical/power.py)."""
    tasks = len(config.steps) * config.tasks
    rewarded = power.n_any_event(INVALID_SHARE)
    return [
        power.Requirement(
            R2, "share of rewarded answers whose trace is invalid",
            "95% Wilson lower bound above 0 (one invalid rewarded trace shows it)",
            f"{INVALID_SHARE:.0%} of rewarded traces invalid, {REWARDED:.0%} of tasks rewarded",
            "tasks", int(np.ceil(rewarded / REWARDED)), tasks, "chain lengths x tasks"),
        power.Requirement(
            R3, "R-3 evaluated on the measured (Q, C) of the tasks at every budget", "exact evaluation",
            "none: the statement holds or fails on the data", "tasks", 1, tasks, "chain lengths x tasks",
            note="exact, no sampling"),
        power.Requirement(
            R3_RATIO, "E[Q/C] - E[Q]/E[C] at the largest budget",
            "95% bootstrap interval over tasks excluding 0",
            f"a gap of {REL_GAP:.0%} of eta with a per-task sd of {REL_SD:.0%} of eta",
            "tasks", power.n_mean(REL_GAP, REL_SD, alpha=0.025), tasks, "chain lengths x tasks"),
    ]


# --------------------------------------------------------------------------------------------
# Traces


def small_task(seed: int, steps: int) -> ArithmeticTask:
    """A chain of one-digit operands with every running value in 1..20: small enough that a
    135M model gets some right, so that rewarded answers exist to inspect."""
    rng = random.Random(f"traces:{seed}:{steps}")
    while True:
        task = ArithmeticTask(rng.randint(2, 9), tuple((rng.choice("+-"), rng.randint(1, 6)) for _ in range(steps)))
        if all(1 <= v <= 20 for v in task.values()):
            return task


def parse_steps(trace: str) -> list[tuple[int, str, int, int]]:
    """Every 'a op b = c' the trace writes, in order."""
    return [(int(a), op, int(b), int(c)) for a, op, b, c in STEP.findall(trace)]


def trace_errors(task: ArithmeticTask, trace: str) -> list[str]:
    """Why a trace is not a valid computation of the task (empty: valid). Valid: exactly the
    task's steps in order, each on the previous written value (the start first) and each right."""
    steps = parse_steps(trace)
    errors = []
    if len(steps) != task.steps:
        errors.append(f"{len(steps)} steps written, the task has {task.steps}")
    previous = task.start
    for i, ((a, op, b, c), (want_op, want_b)) in enumerate(zip(steps, task.ops), start=1):
        if (a, op, b) != (previous, want_op, want_b):
            errors.append(f"step {i} computes {a} {op} {b}, the task's step is {previous} {want_op} {want_b}")
        if c != (a + b if op == "+" else a - b):
            errors.append(f"step {i} writes {a} {op} {b} = {c}")
        previous = c
    return errors


def _user(task: ArithmeticTask) -> str:
    return task.question() + INSTRUCTION


def reply(task: ArithmeticTask) -> str:
    """The start of the model's reply: its first step's operands, so that the trace is the task's."""
    op, b = task.ops[0]
    return f"Step 1: {task.start} {op} {b} ="


def measure(loaded, reader: Reader, task: ArithmeticTask, config: Config) -> dict:
    tokenizer = loaded.tokenizer
    head = reply(task)
    prompt = chat_ids(tokenizer, _user(task), head)
    out = greedy(loaded, prompt, max(config.budgets), stop=lambda text: "Answer" in text)
    written = out.tokens
    # the trace ends where the model starts its answer
    for i in range(len(written)):
        if "Answer" in tokenizer.decode(written[: i + 1], skip_special_tokens=True):
            written = written[:i]
            break
    by_budget = {}
    for budget in config.budgets:
        kept = written[:budget]
        trace = head + tokenizer.decode(kept, skip_special_tokens=True).rstrip()
        ids = chat_ids(tokenizer, _user(task), trace + "\nAnswer:")
        text, value = reader.number([], ids, config.max_digits)
        by_budget[str(budget)] = {"trace_tokens": len(kept), "trace": trace, "answer": value,
                                  "correct": value == task.answer, "compute": len(kept) + 1}
    full = by_budget[str(max(config.budgets))]
    errors = trace_errors(task, full["trace"])
    return {"expression": task.expression(), "expected": task.answer, "values": task.values(),
            "generated": out.text, "stopped": out.stopped, "by_budget": by_budget,
            "trace_valid": not errors, "trace_errors": errors, "rewarded": full["correct"]}


def setup(config: Config, loaded) -> tuple:
    """(the model, its answer reader), once per worker (empirical/executor.py)."""
    return loaded, Reader(loaded)


def sample(key: str, config: Config, ctx: tuple) -> dict:
    """One sample from its key alone."""
    loaded, reader = ctx
    fields = dict(part.split("=") for part in key.split("|"))
    task = small_task(config.seed * 100_003 + int(fields["task"]), int(fields["steps"]))
    return measure(loaded, reader, task, config)


def run(run: ProbeRun, loaded) -> list[Verdict]:
    config: Config = run.config
    run.sweep(sys.modules[__name__], loaded)
    samples = run.samples(keys(config))
    verdicts, curve = analyse(run.model_name, samples, config)
    plot(run, curve, verdicts)
    return verdicts


# --------------------------------------------------------------------------------------------
# Analysis


def efficiencies(Q: np.ndarray, C: np.ndarray) -> dict:
    """eta = E[Q/C], E[Q], E[C] from R-3.ratio's lets at uniform weights over the tasks; Q and C
    are (tasks,) or (resamples, tasks) arrays."""
    statement = load_statement(R3_RATIO)
    n = Q.shape[-1]
    bindings = {"n": np.full(Q.shape[:-1], n) if Q.ndim > 1 else n, "w": np.full(Q.shape, 1.0 / n),
                "Q": Q.astype(float), "C": C.astype(float)}
    return {name: np.asarray(statement.term_many(name, bindings)) for name in ("eta", "EQ", "EC")}


def analyse(model_name: str, samples: list[dict], config: Config) -> tuple[list[Verdict], list[dict]]:
    n = len(samples)
    rng = np.random.default_rng(config.seed)
    draws = rng.integers(0, n, (config.bootstrap, n))
    curve = []
    r3 = load_statement(R3)
    statuses: list[str] = []
    for budget in config.budgets:
        cells = [s["by_budget"][str(budget)] for s in samples]
        Q = np.array([float(c["correct"]) for c in cells])
        C = np.array([float(c["compute"]) for c in cells])
        point = efficiencies(Q, C)
        boot = efficiencies(Q[draws], C[draws])
        gap = boot["eta"] - boot["EQ"] / boot["EC"]
        evaluation = r3.evaluate(n=n, w=[Fraction(1, n)] * n, Q=list(Q), C=list(C))
        statuses.append(evaluation.status)
        lo, hi = wilson(int(Q.sum()), n)
        curve.append({"budget": budget, "accuracy": float(Q.mean()), "accuracy_ci": [lo, hi],
                      "compute": float(C.mean()), "eta": float(point["eta"]),
                      "ratio": float(point["EQ"] / point["EC"]),
                      "gap": float(point["eta"] - point["EQ"] / point["EC"]),
                      "gap_ci": [float(np.quantile(gap, 0.025)), float(np.quantile(gap, 0.975))],
                      "gap_sd": float(np.std(gap)),
                      "r3": evaluation.status})
    return [_r2(model_name, samples), _r3(model_name, curve, n, statuses),
            _ratio(model_name, curve, n, config)], curve


def _r2(model_name: str, samples: list[dict]) -> Verdict:
    rewarded = [s for s in samples if s["rewarded"]]
    invalid = [s for s in rewarded if not s["trace_valid"]]
    n, k = len(rewarded), len(invalid)
    valid_all = sum(s["trace_valid"] for s in samples)
    lo, hi = wilson(k, n) if n else (0.0, 1.0)
    example = ""
    if invalid:
        s = invalid[0]
        example = (f"; e.g. {s['expression']} = {s['expected']}, rewarded, with the trace "
                   f"\"{s['by_budget'][max(s['by_budget'], key=int)]['trace'][:120]}\" ({s['trace_errors'][0]})")
    share = f"share {k / n:.2f} [{lo:.2f}, {hi:.2f}] (95% Wilson)" if n else "no share to measure"
    head = (f"{len(samples)} arithmetic chains, greedy traces: {n} answers rewarded by 1[answer correct], {k} of "
            f"them on an invalid trace, {share}; valid traces {valid_all}/{len(samples)} overall")
    if n and lo > 0:
        verdict = "consistent"
        reading = ("the outcome-only reward pays these answers exactly as it pays right answers on valid traces: "
                   "it sees only the answer on the trace taken, as R-2 states (no measurement can contradict that "
                   "reading of the reward; what is measured is how often it matters)")
        needed = None
    else:
        verdict = "inconclusive"
        reading = ("no rewarded answer on an invalid trace here: the reward's blindness to the trace is not "
                   "exercised on this sample")
        needed = int(np.ceil(power.n_any_event(INVALID_SHARE) / max(n / max(len(samples), 1), 0.05)))
    return Verdict(NAME, model_name, R2, verdict, f"{head}{example}; {reading}",
                   {"rewarded": n, "invalid_rewarded": k, "valid": valid_all, "tasks": len(samples)},
                   n=n, unit="rewarded answers", quantity="share of rewarded answers with an invalid trace",
                   interval=[lo, hi], needed=needed)


def _table(curve: list[dict]) -> str:
    return "; ".join(f"B={c['budget']}: accuracy {c['accuracy']:.2f}, mean compute {c['compute']:.1f} tokens, "
                     f"E[Q/C] = {c['eta']:.4f}, E[Q]/E[C] = {c['ratio']:.4f}" for c in curve)


def _r3(model_name: str, curve: list[dict], n: int, statuses: list[str]) -> Verdict:
    best = max(curve, key=lambda c: c["eta"])
    text = (f"{n} tasks, quality 1[answer right] against compute (trace tokens + 1) by trace budget: {_table(curve)}; "
            f"eta is highest at B={best['budget']}")
    if all(s == "holds" for s in statuses):
        verdict = "consistent"
        text += ("; at every budget R-3 holds on the measured tasks (eta between the smallest and largest "
                 "per-task Q/C, and >= 0), which any data must satisfy: this is a check of the measurement")
    elif "fails" in statuses:
        verdict = "violated"
        text += "; R-3 fails on the measured tasks at some budget: the measurement is wrong"
    else:
        verdict = "inconclusive"
        text += f"; R-3 could not be evaluated on the measured tasks ({', '.join(sorted(set(statuses)))})"
    acc = curve[-1]
    return Verdict(NAME, model_name, R3, verdict, text, {"curve": curve}, n=n, unit="tasks",
                   quantity=f"accuracy at the largest budget B={acc['budget']}", interval=acc["accuracy_ci"])


def _ratio(model_name: str, curve: list[dict], n: int, config: Config) -> Verdict:
    last = curve[-1]
    apart = [c for c in curve if c["gap_ci"][0] > 0 or c["gap_ci"][1] < 0]
    cells = "; ".join(f"B={c['budget']}: E[Q/C] - E[Q]/E[C] = {c['gap']:+.5f} [{c['gap_ci'][0]:+.5f}, "
                      f"{c['gap_ci'][1]:+.5f}]" for c in curve)
    text = f"{n} tasks, the paper's efficiency against the ratio of means (95% bootstrap over tasks): {cells}"
    needed = None
    if apart:
        verdict = "violated"
        text += (f"; they differ at {len(apart)}/{len(curve)} budgets, so eta = E[Q]/E[C] fails on real traces as the "
                 "checker refutes it (R-3.ratio is the WRONG form; R-3.ratio-fixed says when they agree)")
    else:
        verdict = "inconclusive"
        text += "; no budget separates them at this sample"
        needed = power.n_for_se_test(last["gap"], 0.0, last["gap_sd"], n) if last["gap"] else power.MAX_N
    return Verdict(NAME, model_name, R3_RATIO, verdict, text, {"curve": curve}, n=n, unit="tasks",
                   quantity=f"E[Q/C] - E[Q]/E[C] at B={last['budget']}", interval=last["gap_ci"], needed=needed)


def plot(run: ProbeRun, curve: list[dict], verdicts: list[Verdict]) -> None:
    """traces_budget.png: accuracy and the two efficiencies against the trace budget."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10.5, 4.2))
    xs = [c["budget"] for c in curve]
    ys = [c["accuracy"] for c in curve]
    ax.errorbar(xs, ys, yerr=[[y - c["accuracy_ci"][0] for y, c in zip(ys, curve)],
                              [c["accuracy_ci"][1] - y for y, c in zip(ys, curve)]], marker="o", capsize=4)
    ax.set_xlabel("trace budget (max new tokens)")
    ax.set_ylabel("accuracy Q (95% Wilson)")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title(f"quality by budget, {run.model_name}")
    bx.plot(xs, [c["eta"] for c in curve], "o-", label="eta = E[Q/C] (R-3)")
    bx.plot(xs, [c["ratio"] for c in curve], "s--", label="E[Q]/E[C] (R-3.ratio)")
    bx.set_xlabel("trace budget (max new tokens)")
    bx.set_ylabel("right answers per token")
    bx.set_title(f"efficiency by budget, {run.model_name}")
    bx.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(run.dir / "traces_budget.png", dpi=110)
    plt.close(fig)
