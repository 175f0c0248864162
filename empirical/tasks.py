"""Deterministic task generators shared by the probes, and a small prompting helper.

- arithmetic chains with a written step-by-step trace (E-R1, probes/mediation.py);
- tiny register-machine programs whose halting is decided exactly by bounded simulation
  with cycle detection (E-H3, probes/halting.py);
- a generated corpus of facts about fictional people (E-Rt, probes/retrieval.py).

Every generator is a pure function of its arguments and a seed, so a sample key names its
task and an interrupted run regenerates exactly the same tasks when it resumes.

`Reader` runs a causal LM on prompt ids built as a shared prefix plus a suffix: the prefix's
key-value cache is kept, so prompts that differ only in their tail (the conditions of one
task, the questions after one chat header) are prefilled once.
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass

from .haystack import bos_ids  # noqa: F401  (re-exported for the probes)

# --------------------------------------------------------------------------------------------
# Prompting


def encode(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False).input_ids


def has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def chat_text(tokenizer, user: str, assistant: str = "") -> str:
    """The user turn and the start of the assistant's reply, through the chat template when the
    tokenizer has one, else as plain 'user text, blank line, reply'."""
    if has_chat_template(tokenizer):
        head = tokenizer.apply_chat_template([{"role": "user", "content": user}], tokenize=False,
                                             add_generation_prompt=True)
        return head + assistant
    return user + "\n\n" + assistant


def chat_ids(tokenizer, user: str, assistant: str = "") -> list[int]:
    text = chat_text(tokenizer, user, assistant)
    ids = encode(tokenizer, text)
    bos = bos_ids(tokenizer)
    if bos and ids[: len(bos)] != bos:
        ids = bos + ids
    return ids


def split_prompt(tokenizer, user_head: str, user_tail: str, assistant: str = "") -> tuple[list[int], list[int]]:
    """Prompt ids as (prefix, suffix), the prefix being everything up to and including
    `user_head`. The split is where the ids of the whole prompt and of the head part agree,
    so prefix + suffix are exactly the ids of the whole prompt."""
    whole = chat_ids(tokenizer, user_head + user_tail, assistant)
    text = chat_text(tokenizer, user_head + user_tail, assistant)
    cut = text.index(user_head) + len(user_head)
    head = encode(tokenizer, text[:cut])
    bos = bos_ids(tokenizer)
    if bos and head[: len(bos)] != bos:
        head = bos + head
    n = 0
    while n < min(len(head), len(whole) - 1) and head[n] == whole[n]:
        n += 1
    return whole[:n], whole[n:]


class Reader:
    """Next-token logits and greedy continuations, reusing the cache of the last prefix."""

    def __init__(self, loaded):
        self.model, self.tokenizer = loaded.model, loaded.tokenizer
        self._key: tuple[int, ...] | None = None
        self._cache = None

    def _prefill(self, prefix: list[int]):
        import torch
        key = tuple(prefix)
        if key != self._key:
            with torch.inference_mode():
                out = self.model(input_ids=torch.tensor([prefix], device=self.model.device),
                                 use_cache=True, logits_to_keep=1)
            self._key, self._cache = key, out.cache
        return copy.deepcopy(self._cache)

    def logits(self, prefix: list[int], suffix: list[int]):
        """(logits of the next token after prefix + suffix, cache). suffix must not be empty."""
        import torch
        if not suffix:
            raise ValueError("the suffix needs at least one token")
        cache = self._prefill(prefix) if prefix else None
        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([suffix], device=self.model.device),
                             cache=cache, use_cache=True, logits_to_keep=1)
        return out.logits[0, -1].float(), out.cache

    def _digit_tokens(self) -> tuple[list[int], list[int]]:
        """(ids that decode to digits only, ids that decode to a space optionally followed by digits)."""
        if not hasattr(self, "_digits"):
            digits, lead = [], []
            for i in range(len(self.tokenizer)):
                text = self.tokenizer.decode([i])
                if text.isascii() and text.isdigit():
                    digits.append(i)
                elif text.startswith(" ") and (text == " " or (text[1:].isascii() and text[1:].isdigit())):
                    lead.append(i)
            self._digits = (digits, lead)
        return self._digits

    def number(self, prefix: list[int], suffix: list[int], max_digits: int = 4) -> tuple[str, int | None]:
        """The model's number: greedy decoding restricted to digit tokens (a leading space
        allowed first). It stops when the unrestricted argmax is no longer a digit token, so it
        reads the number the model would write next, without letting it write a computation."""
        import torch
        digits, lead = self._digit_tokens()
        device = self.model.device
        first = torch.tensor(digits + lead, device=device)
        rest = torch.tensor(digits, device=device)
        digit_set = set(digits) | {i for i in lead if self.tokenizer.decode([i]).strip()}
        logits, cache = self.logits(prefix, suffix)
        generated: list[int] = []
        text = ""
        with torch.inference_mode():
            while len(text.strip()) < max_digits:
                if text.strip() and int(logits.argmax()) not in digit_set:
                    break
                allowed = rest if text.strip() or generated else first
                nxt = int(allowed[int(logits[allowed].argmax())])
                generated.append(nxt)
                text = self.tokenizer.decode(generated)
                out = self.model(input_ids=torch.tensor([[nxt]], device=device), cache=cache, use_cache=True)
                logits, cache = out.logits[0, -1].float(), out.cache
        value = text.strip()
        return value, int(value) if value.isdigit() else None

    def greedy(self, prefix: list[int], suffix: list[int], max_tokens: int, stop: str = "\n") -> str:
        """Greedy text after prefix + suffix, cut at the first `stop` (and at end of sequence)."""
        import torch
        logits, cache = self.logits(prefix, suffix)
        eos = self.tokenizer.eos_token_id
        eos = set(eos if isinstance(eos, list) else [eos]) - {None}
        generated: list[int] = []
        with torch.inference_mode():
            for step in range(max_tokens):
                nxt = int(logits.argmax())
                if nxt in eos:
                    break
                generated.append(nxt)
                text = self.tokenizer.decode(generated)
                if stop and stop in text.lstrip():
                    break
                if step + 1 == max_tokens:
                    break
                out = self.model(input_ids=torch.tensor([[nxt]], device=self.model.device),
                                 cache=cache, use_cache=True)
                logits, cache = out.logits[0, -1].float(), out.cache
        text = self.tokenizer.decode(generated)
        if stop:
            lead = len(text) - len(text.lstrip())
            cut = text.find(stop, lead)
            text = text if cut < 0 else text[:cut]
        return text.strip()


# --------------------------------------------------------------------------------------------
# Arithmetic chains (E-R1)


@dataclass(frozen=True)
class ArithmeticTask:
    """start op1 b1 op2 b2 ...: evaluated left to right, one step per operation."""
    start: int
    ops: tuple[tuple[str, int], ...]

    @property
    def steps(self) -> int:
        return len(self.ops)

    def expression(self) -> str:
        return " ".join([str(self.start)] + [f"{op} {b}" for op, b in self.ops])

    def question(self) -> str:
        return f"Compute {self.expression()}."

    def values(self, corrupt: tuple[int, int] | None = None) -> list[int]:
        """Running results r_1..r_n. corrupt = (j, delta) adds delta to r_j (1-based) and
        recomputes every later step from the corrupted value (a consistent wrong trace)."""
        out, acc = [], self.start
        for i, (op, b) in enumerate(self.ops, start=1):
            acc = acc + b if op == "+" else acc - b
            if corrupt is not None and i == corrupt[0]:
                acc += corrupt[1]
            out.append(acc)
        return out

    @property
    def answer(self) -> int:
        return self.values()[-1]

    def trace(self, shown: int | None = None, corrupt: tuple[int, int] | None = None) -> str:
        """'Step 1: 23 + 14 = 37. Step 2: 37 - 5 = 32.' for the first `shown` steps (all by default)."""
        values = self.values(corrupt)
        shown = self.steps if shown is None else shown
        parts, previous = [], self.start
        for i in range(shown):
            op, b = self.ops[i]
            parts.append(f"Step {i + 1}: {previous} {op} {b} = {values[i]}.")
            previous = values[i]
        return " ".join(parts)


def arithmetic_task(seed: int, steps: int) -> ArithmeticTask:
    """Small numbers, every running result in 1..99 (no negatives)."""
    rng = random.Random(f"arith:{seed}:{steps}")
    while True:
        start = rng.randint(10, 49)
        ops, acc = [], start
        for _ in range(steps):
            op = rng.choice("+-")
            b = rng.randint(2, 19)
            acc = acc + b if op == "+" else acc - b
            ops.append((op, b))
        task = ArithmeticTask(start, tuple(ops))
        if all(1 <= v <= 99 for v in task.values()):
            return task


def corruption(task: ArithmeticTask, seed: int) -> tuple[int, int]:
    """(step, delta): an intermediate step (not the last, unless there is only one) and a
    nonzero shift that keeps every corrupted value in 1..99."""
    rng = random.Random(f"corrupt:{seed}:{task}")
    candidates = list(range(1, task.steps)) or [1]
    while True:
        j = rng.choice(candidates)
        delta = rng.choice([d for d in range(-9, 10) if d != 0])
        values = task.values((j, delta))
        if all(1 <= v <= 99 for v in values):
            return j, delta


# --------------------------------------------------------------------------------------------
# Tiny programs with exactly decidable halting (E-H3)
#
# A register machine: registers start at 0 and hold values modulo `modulus`; lines are
#   ("set", r, c)  r = c          ("add", r, c)  r = r + c      ("sub", r, c)  r = r - c
#   ("jz", r, L)   if r == 0 goto L               ("jnz", r, L)  if r != 0 goto L
#   ("goto", L)    goto L         ("halt",)      stop
# and the machine stops after its last line. Its state (line, registers) ranges over a finite
# set of lines x modulus^registers values, and the machine is deterministic, so a run either
# halts or repeats a state (and then loops forever): simulation with cycle detection decides
# every program within states + 1 steps.


@dataclass(frozen=True)
class Program:
    lines: tuple[tuple, ...]
    registers: tuple[str, ...] = ("x", "y")
    modulus: int = 10

    @property
    def size(self) -> int:
        return len(self.lines)

    def state_bound(self) -> int:
        return (len(self.lines) + 1) * self.modulus ** len(self.registers)

    def text(self) -> str:
        regs = " and ".join(self.registers) if len(self.registers) > 1 else self.registers[0]
        m = self.modulus
        head = (f"Registers {regs} start at 0. Arithmetic is modulo {m} ({m - 1} + 1 = 0, 0 - 1 = {m - 1}). "
                f"The program stops at a halt line or after its last line.")
        return head + "\n" + "\n".join(f"{i}: {_line_text(line)}" for i, line in enumerate(self.lines, start=1))


def _line_text(line: tuple) -> str:
    op = line[0]
    if op == "set":
        return f"{line[1]} = {line[2]}"
    if op == "add":
        return f"{line[1]} = {line[1]} + {line[2]}"
    if op == "sub":
        return f"{line[1]} = {line[1]} - {line[2]}"
    if op == "jz":
        return f"if {line[1]} == 0 goto {line[2]}"
    if op == "jnz":
        return f"if {line[1]} != 0 goto {line[2]}"
    if op == "goto":
        return f"goto {line[1]}"
    if op == "halt":
        return "halt"
    raise ValueError(f"unknown instruction {line!r}")


@dataclass(frozen=True)
class Outcome:
    halts: bool | None     # None: undecided within max_steps
    steps: int             # instructions executed
    reason: str            # "halt" | "end" | "cycle" | "bound"


def simulate(program: Program, max_steps: int | None = None) -> Outcome:
    """Run from the all-zero state. A repeated state proves non-termination (the machine is
    deterministic); without max_steps the run is always decided (finite state space)."""
    regs = {r: 0 for r in program.registers}
    m, pc, steps = program.modulus, 1, 0
    seen: set[tuple] = set()
    limit = program.state_bound() + 1 if max_steps is None else max_steps
    while True:
        if pc < 1 or pc > len(program.lines):
            return Outcome(True, steps, "end")
        state = (pc, *regs.values())
        if state in seen:
            return Outcome(False, steps, "cycle")
        if steps >= limit:
            return Outcome(None, steps, "bound")
        seen.add(state)
        line = program.lines[pc - 1]
        op, steps, pc = line[0], steps + 1, pc + 1
        if op == "halt":
            return Outcome(True, steps, "halt")
        if op == "set":
            regs[line[1]] = line[2] % m
        elif op == "add":
            regs[line[1]] = (regs[line[1]] + line[2]) % m
        elif op == "sub":
            regs[line[1]] = (regs[line[1]] - line[2]) % m
        elif op == "jz":
            pc = line[2] if regs[line[1]] == 0 else pc
        elif op == "jnz":
            pc = line[2] if regs[line[1]] != 0 else pc
        elif op == "goto":
            pc = line[1]
        else:
            raise ValueError(f"unknown instruction {line!r}")


def random_program(size: int, seed: int, halts: bool | None = None, modulus: int = 10,
                   registers: tuple[str, ...] = ("x", "y")) -> Program:
    """A program of `size` lines (size >= 2): the registers are set first, then a random mix
    of arithmetic and jumps with at least one backward jump (a loop) from size 3 on. With
    `halts` given, programs are drawn until the simulated truth matches it."""
    if size < 2:
        raise ValueError("programs have at least 2 lines")
    rng = random.Random(f"program:{seed}:{size}:{halts}:{modulus}:{registers}")
    for _ in range(100000):
        n_set = min(len(registers), size - 1)
        lines: list[tuple] = [("set", r, rng.randint(1, modulus - 1)) for r in registers[:n_set]]
        for _ in range(n_set + 1, size + 1):
            roll = rng.random()
            r = rng.choice(registers)
            if roll < 0.45:
                lines.append((rng.choice(["add", "sub"]), r, rng.randint(1, modulus - 1)))
            elif roll < 0.85:
                target = rng.randint(1, size)
                lines.append((rng.choice(["jz", "jnz"]), r, target))
            elif roll < 0.95:
                lines.append(("goto", rng.randint(1, size)))
            else:
                lines.append(("halt",))
        jumps_back = any(line[0] in ("jz", "jnz", "goto") and line[-1] <= i
                         for i, line in enumerate(lines, start=1))
        if size >= 3 and not jumps_back:
            continue
        program = Program(tuple(lines), registers, modulus)
        if halts is None or simulate(program).halts == halts:
            return program
    raise RuntimeError(f"no program of size {size} with halts={halts} found")


# --------------------------------------------------------------------------------------------
# A generated fact corpus (E-Rt)

FIRST = ["Mira", "Tomas", "Aiko", "Lena", "Oskar", "Priya", "Jonas", "Selin", "Dario", "Nadia",
         "Elias", "Yara", "Kofi", "Ines", "Ravi", "Hana", "Milo", "Zora", "Anton", "Leila"]
LAST = ["Tanaka", "Okafor", "Lindqvist", "Moreau", "Petrov", "Castillo", "Novak", "Haddad",
        "Brennan", "Kowalski", "Sato", "Adeyemi", "Ferreira", "Janssen", "Morozov", "Quinlan"]
CITIES = ["Velora", "Dorun", "Korvel", "Ambrest", "Tirana Vale", "Quessa", "Marlow Bay", "Ostrel",
          "Penwick", "Saldora", "Brightmoor", "Caldris", "Elmvar", "Fenhollow", "Gravik", "Hollis",
          "Istren", "Juno Falls", "Kestmere", "Lorvik", "Myrrh", "Norrith", "Orsk", "Palisar"]
JOBS = ["baker", "pilot", "chemist", "librarian", "carpenter", "nurse", "architect", "tailor",
        "farmer", "journalist", "engineer", "violinist"]

# How a person's birthplace is stated (the gold passage) and what else is said about them.
# The first templates repeat the question's words, the later ones do not, so BM25 finds
# some gold passages easily and ranks others below the person's other passages.
BIRTH = ["{name} was born in the city of {city}.",
         "{name} was born in {city} and grew up there.",
         "The birthplace of {name} is the city of {city}.",
         "{name} comes from {city}, a small town in the hills."]
OTHER = ["{name} was working in the city of {city} as a {job}.",
         "{name} was a student in the city of {city} for two years.",
         "In the summer {name} was visiting the city of {city}."]
POISON = ["In which city was {name} born? {name} was born in the city of {city}.",
          "{name} was born in the city of {city}. Which city was {name} born in? {city}.",
          "Where was {name} born? In which city? {name} was born in {city}, a city in the north.",
          "Born in {city}: in which city was {name} born? The city of {city}.",
          "Question: in which city was {name} born? Answer: {name} was born in the city of {city}.",
          "{name}, born in the city of {city}. In which city was {name} born? In {city}."]


@dataclass(frozen=True)
class Person:
    name: str
    birth: str            # the city asked about
    others: tuple[str, ...]  # cities named in the other passages (all differ from birth)
    job: str


@dataclass(frozen=True)
class Passage:
    pid: int
    text: str
    person: int           # index of the person it is about, -1 for none
    kind: str             # birth | other | poison
    city: str


@dataclass(frozen=True)
class FactCorpus:
    people: tuple[Person, ...]
    passages: tuple[Passage, ...]

    def gold(self, person: int) -> Passage:
        return next(p for p in self.passages if p.person == person and p.kind == "birth")

    def question(self, person: int) -> str:
        return f"In which city was {self.people[person].name} born?"


def fact_corpus(n_people: int, seed: int) -> FactCorpus:
    """n_people fictional people (distinct full names, shared first and last names), each with
    one birth passage and len(OTHER) passages naming other cities."""
    rng = random.Random(f"corpus:{seed}:{n_people}")
    names = [f"{f} {l}" for f in FIRST for l in LAST]
    if n_people > len(names):
        raise ValueError(f"at most {len(names)} people")
    # reuse a few first and last names so that names alone do not identify passages
    firsts = rng.sample(FIRST, max(2, min(len(FIRST), n_people // 2)))
    lasts = rng.sample(LAST, max(2, min(len(LAST), n_people // 2)))
    pool = [f"{f} {l}" for f in firsts for l in lasts]
    rng.shuffle(pool)
    chosen = pool[:n_people] if len(pool) >= n_people else pool + rng.sample(
        [n for n in names if n not in pool], n_people - len(pool))
    people, passages = [], []
    for i, name in enumerate(chosen):
        cities = rng.sample(CITIES, 1 + len(OTHER))
        person = Person(name, cities[0], tuple(cities[1:]), rng.choice(JOBS))
        people.append(person)
        template = BIRTH[i % len(BIRTH)]
        passages.append(Passage(len(passages), template.format(name=name, city=person.birth), i, "birth", person.birth))
        for t, city in zip(OTHER, person.others):
            passages.append(Passage(len(passages), t.format(name=name, city=city, job=person.job), i, "other", city))
    order = list(range(len(passages)))
    rng.shuffle(order)
    shuffled = [passages[j] for j in order]
    passages = [Passage(n, p.text, p.person, p.kind, p.city) for n, p in enumerate(shuffled)]
    return FactCorpus(tuple(people), tuple(passages))


def attacker_city(corpus: FactCorpus, person: int, seed: int) -> str:
    """A city the corpus never associates with this person."""
    p = corpus.people[person]
    rng = random.Random(f"target:{seed}:{person}:{p.name}")
    return rng.choice([c for c in CITIES if c != p.birth and c not in p.others])


def poison_passages(corpus: FactCorpus, person: int, city: str, m: int) -> list[Passage]:
    """m passages that state `city` as the person's birthplace, written to outscore the gold
    passage in BM25 by repeating the question's words (PoisonedRAG's 'S + I' construction)."""
    name = corpus.people[person].name
    start = len(corpus.passages)
    return [Passage(start + i, POISON[i % len(POISON)].format(name=name, city=city), person, "poison", city)
            for i in range(m)]
