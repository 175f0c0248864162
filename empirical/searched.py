"""Searched counterexamples: inputs found by search on which a model fails, shrunk with Hypothesis.

- H-3 (halting): tiny register programs (empirical/tasks.py) whose halting the simulation
  oracle decides exactly; the model is asked the halting probe's question (probes/halting.py)
  and answers one word. A program it answers wrongly is shrunk to the fewest lines (a subset
  of its lines, jump targets renumbered) on which the answer is still wrong.
- Rt-4 (corpus poisoning): a question of the fact corpus the model answers right from the
  gold passage alone; injected passages (tasks.poison_passages) ranked with the gold passage
  by BM25 (probes/retrieval.py) flip the answer to the attacker's city. The context is shrunk
  to the fewest passages (the gold passage always kept) that still flip it.
- C-3 (needle, optional): a passkey prompt the model gets wrong, bisected to the shortest
  haystack that still fails.

Every record's prompt is exactly what `counterexamples.answer` is asked, and its expected
answer is what `counterexamples.judge` reads, so replay reproduces each greedy failure.
Searches are deterministic (fixed seeds, greedy decoding, derandomized Hypothesis) and bounded
by a number of model calls and a number of seconds.
"""
from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .counterexamples import Decoding, Record, answer, judge, write_records
from .probes import halting
from .probes.retrieval import BM25
from .tasks import Program, attacker_city, fact_corpus, poison_passages, random_program, simulate


@dataclass(frozen=True)
class Budget:
    """Bounds of one model's search (each part stops at its limit and keeps what it has)."""
    sizes: tuple[int, ...] = (4, 6, 8)   # program sizes tried, in order
    programs: int = 6                    # programs per size (alternately halting and looping)
    people: int = 40                     # fact corpus size
    questions: int = 8                   # questions tried for Rt-4
    injected: tuple[int, ...] = (1, 2, 3, 5)  # poisoned passages tried, fewest first
    context_extra: int = 3               # clean passages ranked in the context besides gold
    shrink_calls: int = 40               # model calls per shrink
    seconds: float = 90.0                # wall-clock bound per search (H-3, Rt-4, needle)
    needle: bool = True
    needle_lengths: tuple[int, ...] = (512, 2048, 4096)
    seed: int = 0


H3_DECODING = Decoding(temperature=0.0, seed=0, max_new_tokens=2, chat=True)
RT4_DECODING = Decoding(temperature=0.0, seed=0, max_new_tokens=4, chat=False)
NEEDLE_DECODING = Decoding(temperature=0.0, seed=0, max_new_tokens=10, chat=False)


# --------------------------------------------------------------------------------------------
# Shrinking


def shrink(items: Sequence, fails: Callable[[list], bool], max_calls: int = 40, seconds: float = 60.0,
           min_size: int = 0) -> tuple[list, dict]:
    """A sub-list of `items` (order kept) on which `fails` still holds, as small as the budget
    allows. `fails(items)` must hold (the caller has verified it). Hypothesis searches masks
    over the items and shrinks toward fewer kept ones; a greedy one-at-a-time deletion pass then
    makes the result 1-minimal (no single item can be dropped) within what budget is left.
    Calls beyond `max_calls` or `seconds` count as not failing, so the answer is always a
    verified failing sub-list no larger than the input."""
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample

    items = list(items)
    n = len(items)
    started = time.monotonic()
    cache: dict[tuple[int, ...], bool] = {tuple(range(n)): True}
    calls = [0]

    def test(idx: tuple[int, ...]) -> bool:
        idx = tuple(idx)
        if idx not in cache:
            if len(idx) < min_size or calls[0] >= max_calls or time.monotonic() - started > seconds:
                cache[idx] = False
            else:
                calls[0] += 1
                cache[idx] = bool(fails([items[i] for i in idx]))
        return cache[idx]

    masks = st.lists(st.booleans(), min_size=n, max_size=n).map(
        lambda keep: tuple(i for i, k in enumerate(keep) if k))
    try:
        best = find(masks, test, settings=settings(
            max_examples=max(1, max_calls // 2), database=None, derandomize=True, deadline=None,
            phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck)))
    except NoSuchExample:
        best = tuple(range(n))
    after_hypothesis = len(best)
    changed = True
    while changed and len(best) > min_size:
        changed = False
        for drop in list(best):
            trial = tuple(i for i in best if i != drop)
            if test(trial):
                best, changed = trial, True
                break
    return [items[i] for i in best], {"initial": n, "after_hypothesis": after_hypothesis,
                                      "final": len(best), "model_calls": calls[0],
                                      "seconds": round(time.monotonic() - started, 2)}


# --------------------------------------------------------------------------------------------
# H-3: halting


def subprogram(program: Program, keep: Sequence[int]) -> Program:
    """The program of the kept lines (0-based indices, in order); a jump to line L goes to the
    first kept line at or after L (past the end, i.e. a halt, when there is none)."""
    kept = sorted(keep)

    def renumber(target: int) -> int:
        return 1 + sum(1 for k in kept if k + 1 < target)

    lines = []
    for k in kept:
        line = program.lines[k]
        if line[0] == "goto":
            line = ("goto", renumber(line[1]))
        elif line[0] in ("jz", "jnz"):
            line = (line[0], line[1], renumber(line[2]))
        lines.append(line)
    return Program(tuple(lines), program.registers, program.modulus)


def halting_prompt(program: Program) -> str:
    head, tail = halting.prompt_parts(program)
    return head + tail + "\nAnswer:"


def _said(output: str) -> str | None:
    yes, no = judge("yes", output), judge("no", output)
    return "yes" if yes and not no else "no" if no and not yes else None


def _halting_wrong(loaded, program: Program) -> tuple[bool, str, str]:
    """(the model is wrong, expected, output): wrong = it says the opposite word, clearly."""
    expected = "yes" if simulate(program).halts else "no"
    output = answer(loaded, halting_prompt(program), H3_DECODING)
    said = _said(output)
    return said is not None and said != expected, expected, output


def search_halting(loaded, budget: Budget) -> list[Record]:
    started = time.monotonic()
    for size in budget.sizes:
        for index in range(budget.programs):
            if time.monotonic() - started > budget.seconds:
                return []
            seed = budget.seed * 1_000_003 + index
            program = random_program(size, seed, halts=index % 2 == 0)
            wrong, _, _ = _halting_wrong(loaded, program)
            if not wrong:
                continue
            left = max(5.0, budget.seconds - (time.monotonic() - started))
            kept, history = shrink(list(range(program.size)),
                                   lambda keep, program=program: _halting_wrong(loaded, subprogram(program, keep))[0],
                                   max_calls=budget.shrink_calls, seconds=left, min_size=1)
            small = subprogram(program, kept)
            wrong, expected, output = _halting_wrong(loaded, small)   # verify by asking again
            if not wrong:
                continue
            outcome = simulate(small)
            prompt = halting_prompt(small)
            tokens = len(loaded.tokenizer(prompt).input_ids)
            return [Record(
                theorem="H-3", task="halting", prompt=prompt, expected=expected,
                how=(f"simulation of the register machine from the all-zero state with cycle detection "
                     f"(empirical.tasks.simulate): it {'halts' if outcome.halts else 'loops forever'} "
                     f"({outcome.reason} after {outcome.steps} steps); state space "
                     f"{small.state_bound()} states, so the simulation decides it"),
                model=loaded.name, model_sha256=loaded.source_hash, decoding=dataclasses.asdict(H3_DECODING),
                output=output, correct=False,
                meta={"search": "searched", "seed": seed, "generator": f"random_program({size}, {seed}, "
                      f"halts={index % 2 == 0})", "original_program": program.text(),
                      "original_lines": [list(x) for x in program.lines], "program": small.text(),
                      "lines": [list(x) for x in small.lines], "kept_line_indices": list(kept),
                      "halts": outcome.halts, "reason": outcome.reason, "steps": outcome.steps,
                      "shrink": {**history, "unit": "program lines",
                                 "prompt_chars": [len(halting_prompt(program)), len(prompt)],
                                 "prompt_tokens": [len(loaded.tokenizer(halting_prompt(program)).input_ids), tokens]},
                      "search_seconds": round(time.monotonic() - started, 2)})]
    return []


# --------------------------------------------------------------------------------------------
# Rt-4: corpus poisoning


def reader_prompt(name: str, question: str, texts: Sequence[str]) -> str:
    """The retrieval probe's reader prompt with its reply prefix in the text itself."""
    body = "\n".join(f"{i + 1}. {t}" for i, t in enumerate(texts))
    return (f"Read the passages and answer the question.\n{body}\nQuestion: {question}\n"
            f"Answer: {name} was born in the city of")


def search_poison(loaded, budget: Budget) -> list[Record]:
    started = time.monotonic()
    corpus = fact_corpus(budget.people, budget.seed)
    for q in range(min(budget.questions, len(corpus.people))):
        if time.monotonic() - started > budget.seconds:
            return []
        person, question = corpus.people[q], corpus.question(q)
        gold = corpus.gold(q)
        clean = answer(loaded, reader_prompt(person.name, question, [gold.text]), RT4_DECODING)
        if not judge(person.birth, clean):
            continue   # the reader must be right from the gold passage alone
        target = attacker_city(corpus, q, budget.seed)
        for m in budget.injected:
            poison = poison_passages(corpus, q, target, m)
            passages = list(corpus.passages) + poison
            ranked = [passages[i] for i in BM25([p.text for p in passages]).rank(question)]
            others = [p for p in ranked if p.pid != gold.pid][: m + budget.context_extra]
            context = sorted(others + [gold], key=ranked.index)   # retrieval order, gold included

            def flips(ctx, person=person, question=question, target=target) -> bool:
                out = answer(loaded, reader_prompt(person.name, question, [p.text for p in ctx]), RT4_DECODING)
                return judge(target, out) and not judge(person.birth, out)

            if not flips(context):
                continue
            gold_at = context.index(gold)
            rest = [p for p in context if p is not gold]
            left = max(5.0, budget.seconds - (time.monotonic() - started))

            def with_gold(sub, gold=gold, context=context):
                ordered = sorted(list(sub) + [gold], key=context.index)
                return ordered

            kept, history = shrink(rest, lambda sub: flips(with_gold(sub)), max_calls=budget.shrink_calls,
                                   seconds=left)
            final = with_gold(kept)
            prompt = reader_prompt(person.name, question, [p.text for p in final])
            output = answer(loaded, prompt, RT4_DECODING)            # verify by asking again
            if not (judge(target, output) and not judge(person.birth, output)):
                continue
            first = reader_prompt(person.name, question, [p.text for p in context])
            return [Record(
                theorem="Rt-4", task="poison", prompt=prompt, expected=person.birth,
                how=(f"the corpus generator's record (empirical.tasks.fact_corpus({budget.people}, {budget.seed})): "
                     f"the gold passage states it, and the model answers it from the gold passage alone "
                     f"(output {clean!r})"),
                model=loaded.name, model_sha256=loaded.source_hash, decoding=dataclasses.asdict(RT4_DECODING),
                output=output, correct=False,
                meta={"search": "searched", "seed": budget.seed, "question_index": q, "question": question,
                      "attacker_city": target, "gold": gold.text, "gold_only_output": clean,
                      "gold_only_prompt": reader_prompt(person.name, question, [gold.text]),
                      "passages": [{"text": p.text, "kind": p.kind, "city": p.city} for p in final],
                      "original_passages": [{"text": p.text, "kind": p.kind, "city": p.city} for p in context],
                      "injected": [m, sum(p.kind == "poison" for p in context),
                                   sum(p.kind == "poison" for p in final)],
                      "gold_position": [gold_at, final.index(gold)],
                      "shrink": {**history, "unit": "context passages besides the gold one",
                                 "injected_in_context": [sum(p.kind == "poison" for p in context),
                                                         sum(p.kind == "poison" for p in final)],
                                 "prompt_chars": [len(first), len(prompt)],
                                 "prompt_tokens": [len(loaded.tokenizer(first).input_ids),
                                                   len(loaded.tokenizer(prompt).input_ids)]},
                      "search_seconds": round(time.monotonic() - started, 2)})]
    return []


# --------------------------------------------------------------------------------------------
# C-3: a passkey the model misses, at the shortest haystack that still fails


def needle_prompt(loaded, length: int, depth: float, seed: int) -> tuple[str, str]:
    """(prompt text, pass key): the passkey prompt of empirical.haystack as text, without the
    leading special tokens (answer() adds them)."""
    from .haystack import bos_ids, passkey_prompt
    p = passkey_prompt(loaded.tokenizer, length, depth, seed)
    ids = p.ids[len(bos_ids(loaded.tokenizer)):]
    return loaded.tokenizer.decode(ids), p.answer


def search_needle(loaded, budget: Budget) -> list[Record]:
    started = time.monotonic()

    def misses(length: int, depth: float, seed: int) -> tuple[bool, str, str, str]:
        prompt, key = needle_prompt(loaded, length, depth, seed)
        out = answer(loaded, prompt, NEEDLE_DECODING)
        return not judge(key, out), prompt, key, out

    for length in budget.needle_lengths:
        for depth in (0.0, 0.5, 1.0):
            seed = budget.seed
            if time.monotonic() - started > budget.seconds:
                return []
            if not misses(length, depth, seed)[0]:
                continue
            lo, hi, probes = 64, length, []   # bisect: hi fails; find the shortest failing length
            while hi - lo > 8 and time.monotonic() - started < budget.seconds:
                mid = (lo + hi) // 2
                try:
                    fail = misses(mid, depth, seed)[0]
                except ValueError:
                    lo = mid
                    continue
                probes.append([mid, fail])
                lo, hi = (lo, mid) if fail else (mid, hi)
            wrong, prompt, key, out = misses(hi, depth, seed)   # verify
            if not wrong:
                continue
            return [Record(
                theorem="C-3", task="passkey", prompt=prompt, expected=key,
                how=f"the pass key drawn by empirical.haystack.passkey_prompt(length={hi}, depth={depth}, seed={seed})",
                model=loaded.name, model_sha256=loaded.source_hash, decoding=dataclasses.asdict(NEEDLE_DECODING),
                output=out, correct=False,
                meta={"search": "searched", "seed": seed, "depth": depth, "length": hi,
                      "shrink": {"unit": "haystack tokens", "initial": length, "final": hi,
                                 "bisection": probes},
                      "search_seconds": round(time.monotonic() - started, 2)})]
    return []


# --------------------------------------------------------------------------------------------


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "model"


SEARCHES = ("halting", "poison", "needle")


def sample(key: str, budget: Budget, loaded) -> dict:
    """One search (`halting`, `poison` or `needle`) on one model, its records as dicts: what a Ray
    worker computes for `limits counterexamples --executor ray` (empirical/executor.py)."""
    search = {"halting": search_halting, "poison": search_poison, "needle": search_needle}[key]
    return {"records": [r.to_json() for r in search(loaded, budget)] if key != "needle" or budget.needle else []}


def run(loaded, out_dir: Path, budget: Budget | None = None) -> list[Record]:
    """Search, shrink and verify one failure per statement for this model; write them to
    out_dir/searched-<model>.jsonl and return them."""
    budget = budget or Budget()
    records: list[Record] = []
    records += search_halting(loaded, budget)
    records += search_poison(loaded, budget)
    if budget.needle:
        records += search_needle(loaded, budget)
    write_records(Path(out_dir) / f"searched-{_slug(loaded.name)}.jsonl", records)
    return records
