"""Searched counterexamples (empirical/searched.py): the shrinker, and a small search on SmolLM2."""
from __future__ import annotations

import pytest

from empirical import searched
from empirical.tasks import Program, simulate


def test_shrink_fake_predicate_finds_minimal_failing_sublist():
    items = list(range(12))
    calls = []

    def fails(sub):
        calls.append(tuple(sub))
        return 3 in sub and 7 in sub

    out, history = searched.shrink(items, fails, max_calls=200, seconds=30)
    assert fails(out) and len(out) <= len(items)
    assert out == [3, 7]                      # 1-minimal: neither can be dropped
    assert history["initial"] == 12 and history["final"] == 2
    assert out == sorted(out)                 # order kept


def test_shrink_respects_budget_and_still_fails():
    items = list(range(9))

    def fails(sub):
        return sum(sub) >= 20

    out, history = searched.shrink(items, fails, max_calls=3, seconds=30)
    assert fails(out) and len(out) <= len(items)
    assert history["model_calls"] <= 3
    # min_size is honoured
    out, _ = searched.shrink(items, lambda sub: True, max_calls=50, seconds=30, min_size=2)
    assert len(out) == 2


def test_shrink_is_deterministic():
    items = list(range(10))
    fails = lambda sub: len(sub) >= 3 and sub[0] % 2 == 1  # noqa: E731
    assert searched.shrink(items, fails)[0] == searched.shrink(items, fails)[0]


def test_subprogram_renumbers_jumps():
    p = Program((("set", "x", 3), ("add", "y", 1), ("sub", "x", 1), ("jnz", "x", 2), ("halt",)))
    assert searched.subprogram(p, range(5)) == p
    q = searched.subprogram(p, [0, 2, 3])      # drop line 2: the jump to 2 goes to the old line 3
    assert q.lines == (("set", "x", 3), ("sub", "x", 1), ("jnz", "x", 2))
    assert simulate(q).halts
    loop = Program((("set", "x", 1), ("goto", 1), ("halt",)))
    assert searched.subprogram(loop, [1]).lines == (("goto", 1),)
    assert simulate(searched.subprogram(loop, [1])).halts is False
    assert searched.subprogram(loop, [0, 2]).lines == (("set", "x", 1), ("halt",))


def test_search_on_smollm2_reproduces(smollm2, tmp_path):
    from empirical.counterexamples import Decoding, answer, judge, read_records
    budget = searched.Budget(sizes=(4,), programs=4, questions=3, injected=(1, 2), shrink_calls=10,
                             seconds=12, needle=False)
    records = searched.run(smollm2, tmp_path, budget)
    found = [r for r in records if r.theorem in ("H-3", "Rt-4")]
    assert found, "no H-3 or Rt-4 failure found within the bounds"
    for r in found:
        assert r.correct is False and not judge(r.expected, r.output)
        assert r.model == "smollm2" and r.model_sha256 == smollm2.source_hash
        assert r.meta["shrink"]["final"] <= r.meta["shrink"]["initial"]
        replayed = answer(smollm2, r.prompt, Decoding(**r.decoding))
        assert replayed == r.output and not judge(r.expected, replayed)
    stored = read_records(tmp_path / "searched-smollm2.jsonl")
    assert [s.prompt for s in stored] == [r.prompt for r in records]


@pytest.mark.parametrize("text", ["Yes", "no.", "Yes, it halts"])
def test_said_reads_one_word(text):
    assert searched._said(text) in ("yes", "no")
    assert searched._said("yes or no") is None
