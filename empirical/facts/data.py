"""A world of facts and a training corpus of claims about them.

The world is a table of F = entities x relations facts whose values are drawn uniformly and
independently from V values (`world_seed`), so that the table holds exactly F log2 V bits and
no rule predicts a value from another: what a model answers right it has stored. An entity is
written as `digits` tokens in base `base`; a claim is the sequence

    <bos> DIGIT ... DIGIT RELATION VALUE

and a model reads everything up to the relation and predicts the value.

Each fact occurs in the corpus a controlled number of times, a long tail: the facts are ranked
by a seeded permutation and the fact of rank r occurs round((F / r)^zipf) times (at least once,
at most max_count), so the last facts are seen once and the first ones hundreds of times. A
fraction eta of the claims is corrupted: each occurrence independently states the fact's one
wrong value (a fixed alternative per fact, drawn from the world) with probability eta, so the
corpus states each fact's true value with empirical rate 1 - eta_f, eta_f the realized share.
Everything is seeded: the same spec and seed give the same arrays.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WorldSpec:
    entities: int = 256
    relations: int = 8
    values: int = 32
    base: int = 16                # entity digits are tokens 0..base-1
    zipf: float = 1.1             # count of the fact of rank r: (F / r)^zipf
    max_count: int = 256
    world_seed: int = 2024

    def __post_init__(self):
        if self.entities < 1 or self.relations < 1 or self.values < 2 or self.base < 2:
            raise ValueError("need entities >= 1, relations >= 1, values >= 2, base >= 2")
        if self.zipf < 0 or self.max_count < 1:
            raise ValueError("need zipf >= 0 and max_count >= 1")

    @property
    def facts(self) -> int:
        return self.entities * self.relations

    @property
    def digits(self) -> int:
        return max(1, math.ceil(math.log(self.entities) / math.log(self.base) - 1e-12))

    @property
    def seq_len(self) -> int:
        """<bos>, the entity's digits, the relation: the prompt whose next token is the value."""
        return self.digits + 2


class Vocab:
    """<bos>, the base digits, the relations, the values (one token each)."""

    def __init__(self, spec: WorldSpec):
        self.spec = spec
        self.bos = 0
        self.digit0 = 1
        self.relation0 = self.digit0 + spec.base
        self.value0 = self.relation0 + spec.relations

    def __len__(self) -> int:
        return self.value0 + self.spec.values

    def prompts(self, facts: np.ndarray) -> np.ndarray:
        """Fact indices (f = entity * relations + relation) -> prompt tokens (n, seq_len)."""
        spec = self.spec
        entity, relation = np.divmod(np.asarray(facts, dtype=np.int64), spec.relations)
        out = np.empty((len(entity), spec.seq_len), dtype=np.int64)
        out[:, 0] = self.bos
        rest = entity.copy()
        for i in range(spec.digits - 1, -1, -1):          # most significant digit first
            rest, digit = np.divmod(rest, spec.base)
            out[:, 1 + i] = self.digit0 + digit
        out[:, -1] = self.relation0 + relation
        return out


@dataclass
class World:
    spec: WorldSpec
    truth: np.ndarray        # (F,) the true value of each fact
    alternative: np.ndarray  # (F,) the one wrong value corrupted claims state
    counts: np.ndarray       # (F,) occurrences of each fact in the corpus


def make_world(spec: WorldSpec) -> World:
    rng = np.random.default_rng([spec.world_seed, 0])
    f = spec.facts
    truth = rng.integers(spec.values, size=f)
    alternative = (truth + rng.integers(1, spec.values, size=f)) % spec.values    # never the truth
    rank = rng.permutation(f) + 1
    counts = np.clip(np.rint((f / rank) ** spec.zipf), 1, spec.max_count).astype(np.int64)
    return World(spec, truth, alternative, counts)


@dataclass
class Corpus:
    facts: np.ndarray        # (n,) the fact each claim is about
    values: np.ndarray       # (n,) the value it states
    eta: float               # the corruption rate asked for

    def __len__(self) -> int:
        return len(self.facts)


def make_corpus(world: World, eta: float, seed) -> Corpus:
    """Every fact `counts` times, each claim corrupted with probability eta, in no order."""
    if not 0 <= eta < 0.5:
        raise ValueError("eta must lie in [0, 1/2): above it the corpus's majority claim is wrong")
    rng = np.random.default_rng([world.spec.world_seed, 1, *np.atleast_1d(seed).tolist()])
    facts = np.repeat(np.arange(world.spec.facts), world.counts)
    wrong = rng.random(len(facts)) < eta
    values = np.where(wrong, world.alternative[facts], world.truth[facts])
    return Corpus(facts, values, eta)


def corpus_stats(world: World, corpus: Corpus) -> dict:
    """Per fact: the claims stating the truth and the alternative (arrays), and the corpus-level
    shares (realized corruption, monofact rate)."""
    f = world.spec.facts
    true_claims = np.bincount(corpus.facts, weights=corpus.values == world.truth[corpus.facts], minlength=f)
    alt_claims = world.counts - true_claims
    once = int((world.counts == 1).sum())
    return {"true_claims": true_claims.astype(np.int64), "alt_claims": alt_claims.astype(np.int64),
            "claims": len(corpus), "corrupted": float(alt_claims.sum() / len(corpus)),
            "monofacts": once, "monofact_rate": once / len(corpus)}
