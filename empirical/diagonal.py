"""Diagonal sets (H-1, H-2) on real models: inputs where each model of a listed family is wrong.

The theorem (STATEMENTS.md H-1): for a family h_0, h_1, ... over enumerated inputs s_0, s_1, ...,
every h_i errs on its own diagonal input. Here the family is finite and listed (`FAMILY`: a model
and a decoding setting each), the inputs are an enumerated query family with answers computed by
Python (`query(n)`), and the construction walks the queries in their fixed order:

* H-1: model i takes the first query it fails that no earlier model took, so the diagonal inputs
  s_0, s_1, ... are distinct, as in the proof.
* H-2: model i takes b queries it fails (default 3), disjoint from the blocks of earlier models,
  the finite analogue of "errs on infinitely many inputs" (b inputs per model).

Every failure is verified by asking the same model again with the same decoding (sampling is
seeded, so it is reproducible); only reproduced failures become records.
"""
from __future__ import annotations

import dataclasses
import random
import re
from dataclasses import dataclass

from .counterexamples import Decoding, Record, answer, judge

TASKS = ("addition", "parity", "reverse", "sort", "subtraction")

# The listed family: (model key, decoding). Models are grouped so each loads once.
FAMILY: list[tuple[str, Decoding]] = [
    ("smollm2", Decoding(max_new_tokens=24)),
    ("smollm2", Decoding(temperature=0.7, seed=0, max_new_tokens=24)),
    ("gemma3", Decoding(max_new_tokens=24)),
]


@dataclass(frozen=True)
class Query:
    index: int          # position in the enumeration s_0, s_1, ...
    task: str
    prompt: str
    expected: str
    how: str
    params: dict


def query(n: int) -> Query:
    """The n-th query of the enumeration: deterministic, with its answer computed by Python."""
    task = TASKS[n % len(TASKS)]
    rng = random.Random(f"limits-diagonal-{n}")
    if task == "addition":
        a, b = rng.randint(10, 999), rng.randint(10, 999)
        return Query(n, task, f"What is {a} + {b}? Answer with the number only.",
                     str(a + b), f"computed by Python: {a} + {b}", {"a": a, "b": b})
    if task == "subtraction":
        a, b = sorted((rng.randint(10, 999), rng.randint(10, 999)), reverse=True)
        return Query(n, task, f"What is {a} - {b}? Answer with the number only.",
                     str(a - b), f"computed by Python: {a} - {b}", {"a": a, "b": b})
    if task == "parity":
        x = rng.randint(10, 9999)
        return Query(n, task, f"Is the number {x} even or odd? Answer with one word: even or odd.",
                     "even" if x % 2 == 0 else "odd", f"computed by Python: {x} % 2 == {x % 2}", {"x": x})
    if task == "reverse":
        word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 6)))
        return Query(n, task, f'Reverse the string "{word}" letter by letter. Answer with the reversed string only.',
                     word[::-1], f"computed by Python: {word!r}[::-1]", {"word": word})
    numbers = [rng.randint(0, 20) for _ in range(rng.randint(3, 5))]
    listed = ", ".join(map(str, numbers))
    return Query(n, task, f"Sort these numbers in ascending order: {listed}. "
                          "Answer with the sorted numbers separated by commas only.",
                 ", ".join(map(str, sorted(numbers))), f"computed by Python: sorted([{listed}])",
                 {"numbers": numbers})


def _ints(text: str) -> list[int]:
    return [int(t) for t in re.findall(r"-?\d+", re.sub(r"(?<=\d),(?=\d{3}\b)", "", text))]


def clearly_wrong(q: Query, output: str) -> bool:
    """`judge` says wrong and a lenient reading agrees, so formatting alone never makes a failure
    (for instance "1,2,5" for "1, 2, 5", or "1,085" for "1085")."""
    if judge(q.expected, output):
        return False
    if q.task in ("addition", "subtraction"):
        return int(q.expected) not in _ints(output)
    if q.task == "sort":
        want, got = sorted(q.params["numbers"]), _ints(output)
        return not any(got[i:i + len(want)] == want for i in range(len(got) - len(want) + 1))
    if q.task == "reverse":
        return q.expected not in re.sub(r"[^a-z]", "", output.lower())
    return True


def committed(q: Query, output: str) -> bool:
    """The reply commits to an answer (a wrong one, given `clearly_wrong`), rather than being cut
    off before answering: a number other than the operands, the other parity word, a full list."""
    if q.task in ("addition", "subtraction"):
        return any(n not in (q.params["a"], q.params["b"]) for n in _ints(output))
    if q.task == "parity":
        other = "odd" if q.expected == "even" else "even"
        return judge(other, output)
    if q.task == "sort":
        return len(_ints(output)) >= 2 * len(q.params["numbers"]) or \
            output.count(",") >= len(q.params["numbers"]) - 1 and len(_ints(output)) >= len(q.params["numbers"])
    return True


@dataclass
class _Entry:
    """One member of the family while the construction runs: its answers so far, by query index."""
    model: str
    decoding: Decoding
    position: int                         # i, its index in the family
    answers: dict = dataclasses.field(default_factory=dict)   # n -> (output, verified failure)


def _failure(loaded, entry: _Entry, q: Query) -> tuple[str, bool, str]:
    """(output, reproduced failure, second output), asking at most twice per query."""
    if q.index not in entry.answers:
        output = answer(loaded, q.prompt, entry.decoding)
        wrong = clearly_wrong(q, output) and committed(q, output)
        again = answer(loaded, q.prompt, entry.decoding) if wrong else output
        entry.answers[q.index] = (output, wrong and again == output, again)
    output, failed, again = entry.answers[q.index]
    return output, failed, again


def _record(theorem: str, q: Query, loaded, entry: _Entry, output: str, again: str, **extra) -> Record:
    return Record(theorem=theorem, task=q.task, prompt=q.prompt, expected=q.expected, how=q.how,
                  model=loaded.name, model_sha256=loaded.info()["source_sha256"],
                  decoding=dataclasses.asdict(entry.decoding), output=output, correct=False,
                  meta={"query_index": q.index, "params": q.params, "family_index": entry.position,
                        "family": [f"{m} {d.label}" for m, d in FAMILY], "device": loaded.device,
                        "verified": True, "verify_output": again, **extra})


class Diagonal:
    """Runs the construction across the family; call `run_model` once per loaded model, in
    family order, so the H-1 inputs stay distinct and the H-2 blocks disjoint across models."""

    def __init__(self, family=None, b: int = 3, max_queries: int = 60, ask=None, wave: int = 1):
        self.family = list(FAMILY if family is None else family)
        self.b, self.max_queries = b, max_queries
        # ask(model, decoding, indices) -> {index: (output, failed, again)}: queries answered elsewhere
        # (on Ray workers, `wave` at a time, ahead of the construction); None: asked here, one by one
        self.ask, self.wave = ask, max(1, wave)
        self.used_h1: set[int] = set()
        self.used_h2: set[int] = set()
        self.records: list[Record] = []
        self.searched: dict[int, int] = {}   # family index -> queries asked

    def run_model(self, loaded, name: str | None = None) -> list[Record]:
        name = name or loaded.name
        found = []
        for position, (model, decoding) in enumerate(self.family):
            if model != name:
                continue
            entry = _Entry(model, decoding, position)
            h1 = None
            h2: list[Record] = []
            asked = 0
            for n in range(self.max_queries):
                if h1 is not None and len(h2) >= self.b:
                    break
                q = query(n)
                if (h1 is not None or n in self.used_h1) and (len(h2) >= self.b or n in self.used_h2):
                    continue
                asked += 1
                if self.ask is not None and n not in entry.answers:
                    ahead = [m for m in range(n, min(n + self.wave, self.max_queries)) if m not in entry.answers]
                    entry.answers.update(self.ask(model, entry.decoding, ahead))
                output, failed, again = _failure(loaded, entry, q)
                if not failed:
                    continue
                if h1 is None and n not in self.used_h1:
                    self.used_h1.add(n)
                    h1 = _record("H-1", q, loaded, entry, output, again, diagonal_i=position,
                                 construction="first query this model fails that no earlier model took")
                if len(h2) < self.b and n not in self.used_h2:
                    self.used_h2.add(n)
                    h2.append(_record("H-2", q, loaded, entry, output, again, block_of=position, b=self.b,
                                      construction=f"{self.b} failing queries per model, blocks disjoint"))
            self.searched[position] = asked
            found += ([h1] if h1 else []) + h2
        self.records += found
        return found


def sample(key: str, decoding: Decoding, loaded) -> dict:
    """Query `n=<index>` asked under `decoding` (twice where it fails), from its key alone: what a Ray
    worker computes for `limits counterexamples --executor ray` (empirical/executor.py)."""
    q = query(int(key.split("=")[1]))
    output, failed, again = _failure(loaded, _Entry(loaded.name, decoding, -1), q)
    return {"output": output, "failed": failed, "again": again}


def build(loaded, b: int = 3, max_queries: int = 60, family=None) -> list[Record]:
    """The H-1 and H-2 records of one loaded model over its entries of the family."""
    return Diagonal(family, b, max_queries).run_model(loaded)
