"""The mediation, halting and retrieval probes, and their task generators (empirical/tasks.py).

Without a model: the halting oracle on hand-written programs (halting, looping, the cycle
detection and the step bound), the generators' determinism, BM25 on a toy corpus and the
poisoned passages outscoring the gold one. With SmolLM2 and tiny configs: each probe's run()
returns well-formed verdicts, writes its plots, and records nothing new when run again on
the same folder (resume). Tests that need the model skip when it is not installed.
"""
from __future__ import annotations

import pytest

from empirical.tasks import (
    Program,
    arithmetic_task,
    attacker_city,
    corruption,
    fact_corpus,
    poison_passages,
    random_program,
    simulate,
)
from tests.empirical.probe_check import run_twice

# ---------------------------------------------------------------- the halting oracle


def test_countdown_halts():
    # x = 3; x = x - 1; if x != 0 goto 2  ->  runs 1 + 3 * 2 lines, then falls off the end
    program = Program((("set", "x", 3), ("sub", "x", 1), ("jnz", "x", 2)), registers=("x",))
    outcome = simulate(program)
    assert outcome.halts is True and outcome.reason == "end" and outcome.steps == 7


def test_halt_line_stops():
    program = Program((("set", "x", 5), ("halt",), ("goto", 1)), registers=("x",))
    outcome = simulate(program)
    assert outcome.halts is True and outcome.reason == "halt" and outcome.steps == 2


def test_self_loop_is_detected():
    program = Program((("set", "x", 1), ("goto", 2)), registers=("x",))
    outcome = simulate(program)
    assert outcome.halts is False and outcome.reason == "cycle"


def test_cycle_detection_on_a_long_loop():
    # x runs through the odd residues mod 10 and never reaches 0: a cycle of 5 values x 2 lines
    program = Program((("set", "x", 1), ("add", "x", 2), ("jnz", "x", 2)), registers=("x",))
    assert simulate(program, max_steps=4).halts is None          # undecided within the bound
    outcome = simulate(program)
    assert outcome.halts is False and outcome.reason == "cycle" and outcome.steps == 11
    # the same loop with step 5 from 5 reaches 0: 5 -> 0
    halting = Program((("set", "x", 5), ("add", "x", 5), ("jnz", "x", 2)), registers=("x",))
    assert simulate(halting).halts is True


def test_every_generated_program_is_decided_and_balanced():
    for size in (2, 3, 5, 8, 12):
        for seed in range(6):
            for halts in (True, False):
                program = random_program(size, seed, halts=halts)
                assert program.size == size
                assert simulate(program).halts is halts
                assert random_program(size, seed, halts=halts) == program       # deterministic
                if size >= 3:  # every program from 3 lines on has a loop
                    assert any(line[0] in ("jz", "jnz", "goto") and line[-1] <= i
                               for i, line in enumerate(program.lines, start=1))
    text = random_program(4, 0, halts=True).text()
    assert text.splitlines()[1].startswith("1: ") and "modulo 10" in text


def test_arithmetic_trace_and_consistent_corruption():
    task = arithmetic_task(5, 3)
    assert task == arithmetic_task(5, 3) and task.steps == 3
    values = task.values()
    assert task.answer == values[-1] == eval(task.expression())
    j, delta = corruption(task, 5)
    assert 1 <= j < 3 and delta != 0
    bad = task.values((j, delta))
    assert bad[: j - 1] == values[: j - 1] and bad[-1] == values[-1] + delta
    trace = task.trace(corrupt=(j, delta))
    assert f"= {bad[-1]}." in trace and trace.count("Step") == 3
    assert task.trace(0) == "" and task.trace(1).count("Step") == 1


# ---------------------------------------------------------------- BM25 and the corpus

retrieval = pytest.importorskip("empirical.probes.retrieval")


def test_bm25_toy_corpus():
    docs = ["the cat sat on the mat", "dogs chase cats in the park", "the quick brown fox",
            "a cat and a dog", "mat mat mat weaving"]
    index = retrieval.BM25(docs)
    ranking = index.rank("cat on a mat")
    assert ranking[0] == 0                          # shares the most (and rarest) words
    assert set(ranking) == set(range(len(docs)))
    scores = index.scores("fox")
    assert scores[2] > 0 and (scores[[0, 1, 3, 4]] == 0).all()
    assert (index.scores("zebra") == 0).all()
    # a rare word outweighs a common one, and repetition saturates rather than adds linearly
    assert index.scores("fox")[2] > index.scores("the")[2]
    assert index.scores("mat")[4] < 3 * index.scores("mat")[0]


def test_poison_outscores_gold_and_corpus_is_deterministic():
    corpus = fact_corpus(20, 0)
    assert corpus == fact_corpus(20, 0)
    assert len({p.name for p in corpus.people}) == 20
    for q in range(5):
        gold = corpus.gold(q)
        assert corpus.people[q].name in gold.text and corpus.people[q].birth in gold.text
        target = attacker_city(corpus, q, 0)
        poison = poison_passages(corpus, q, target, 3)
        texts = [p.text for p in corpus.passages] + [p.text for p in poison]
        top = retrieval.BM25(texts).rank(corpus.question(q))[:3]
        assert all(i >= len(corpus.passages) for i in top)      # the 3 poisons fill the top 3
        assert retrieval.which_city(f" {target}, a city") == target
    assert retrieval.which_city("Tirana Vale.") == "Tirana Vale"
    assert retrieval.which_city("Tirana") is None                # a name cut by the budget
    assert retrieval.which_city("nowhere") is None


# ---------------------------------------------------------------- the probes on SmolLM2

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from empirical.probes import halting, mediation  # noqa: E402


def test_mediation_tiny(smollm2, tmp_path):
    config = mediation.Config(steps=(2,), tasks=2)
    (verdict,), samples = run_twice(mediation, config, smollm2, tmp_path)
    assert -1 <= verdict.numbers["ie_lo"] <= verdict.numbers["ie_mean"] <= verdict.numbers["ie_hi"] <= 1
    for s in samples:
        assert len(s["early"]) == 2 and s["ie"] in (-1, 0, 1)
        assert s["corrupted_result"] == s["answer"] + s["corrupt_delta"]
    assert (tmp_path / "mediation" / "smollm2" / "mediation.png").exists()


def test_halting_tiny(smollm2, tmp_path):
    config = halting.Config(sizes=(3, 5), programs=2)
    (verdict,), samples = run_twice(halting, config, smollm2, tmp_path)
    assert [r["size"] for r in verdict.numbers["per_size"]] == [3, 5]
    for s in samples:   # enough to replay each sample as a counterexample
        program = Program(tuple(tuple(line) for line in s["lines"]), tuple(s["registers"]), s["modulus"])
        assert program.text() == s["program"] and s["program"] in s["prompt"]
        assert simulate(program).halts == s["halts"]
        assert s["answer"] in ("yes", "no") and s["correct"] == ((s["answer"] == "yes") == s["halts"])
    assert sorted(s["halts"] for s in samples) == [False, False, True, True]


def test_retrieval_tiny(smollm2, tmp_path):
    config = retrieval.Config(people=12, questions=2, ks=(1, 2), position_k=2, rt3_k=2, poison_k=2,
                              injected=(0, 2))
    verdicts, samples = run_twice(retrieval, config, smollm2, tmp_path)
    assert [v.theorem for v in verdicts] == ["Rt-1", "Rt-3", "Rt-4"]
    poisoned = [s for s in samples if s["kind"] == "poison"]
    assert all(s["poison_retrieved"] == min(s["m"], 2) for s in poisoned)
    assert all(not s["attack_success"] for s in poisoned if s["m"] == 0 and s["target"] not in s["output"])
    budget = [s for s in samples if s["kind"] == "budget"]
    assert all(s["share"] == config.budget // s["k"] and len(s["passages"]) == s["k"] for s in budget)
    for name in ("retrieval_budget.png", "retrieval_position.png", "retrieval_poison.png"):
        assert (tmp_path / "retrieval" / "smollm2" / name).exists()
