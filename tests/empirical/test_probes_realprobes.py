"""The abstention (H-7), traces (R-2, R-3), diagonal (H-1, H-2) and breadth (Rt-2) probes, and the
coverage table.

Without a model: the verdict logic on constructed samples (a calibrated confidence puts the best
threshold at the break-even, a rewarded invalid trace, the mean of ratios against the ratio of
means, a diagonal input answered right), the trace parser, and the coverage of every paper id
by the committed results. With SmolLM2 and tiny configs: run, verdicts, plots and resume.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from empirical import coverage
from empirical.probes import abstention, breadth, diagonal, traces
from empirical.tasks import ArithmeticTask
from tests.empirical.probe_check import run_twice

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- H-7

def test_breakeven_comes_from_the_statement():
    for lam in (0.0, 0.5, 1.0, 3.0):
        assert abstention.breakeven(lam) == pytest.approx(lam / (1 + lam))


def test_best_threshold_range_on_a_hand_example():
    conf = np.array([0.9, 0.8, 0.6, 0.4, 0.2])
    correct = np.array([True, True, False, True, False])
    # lambda = 1: answering the top two scores 2, the top four 2 - 1 + 1 = 2, everything 1
    lo, hi, best = abstention.best_range(conf, correct, 1.0)
    assert best == pytest.approx(2 / 5)
    assert lo == pytest.approx(0.2) and hi == pytest.approx(0.8)
    # lambda = 0: answering everything is best, abstaining on everything is worst
    lo, hi, best = abstention.best_range(conf, correct, 0.0)
    assert lo == 0.0 and best == pytest.approx(3 / 5)
    thresholds, value = abstention.scores(conf, correct, 0.0)
    assert value[0] == 0.0 and thresholds[0] > 1


def _calibrated_samples(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.02, 0.98, n)
    return [{"kind": abstention.KINDS[i % len(abstention.KINDS)], "confidence": float(c),
             "correct": bool(rng.random() < c)} for i, c in enumerate(conf)]


def test_a_calibrated_model_puts_the_best_threshold_at_the_breakeven():
    config = abstention.Config(questions=400, bootstrap=100)
    result = abstention.analyse("constructed", _calibrated_samples(400, 1), config)
    h7, penalty = result["verdicts"]
    assert h7.verdict == "consistent" and h7.interval[0] > 0
    assert penalty.verdict == "consistent", penalty.text
    rows = result["numbers"]["by_lambda"]
    assert all(r["calibrated_agrees"] for r in rows)
    assert result["numbers"]["ece_raw"] < 0.1


def test_an_overconfident_model_is_recalibrated_and_too_few_right_is_inconclusive():
    samples = _calibrated_samples(400, 2)
    for s in samples:   # the same answers, reported with confidence pushed towards 1
        s["confidence"] = s["confidence"] ** 0.25
    config = abstention.Config(questions=400, bootstrap=100)
    result = abstention.analyse("constructed", samples, config)
    rows = result["numbers"]["by_lambda"]
    assert result["numbers"]["ece_raw"] > 0.15 > result["numbers"]["ece_calibrated"]
    assert not all(r["raw_agrees"] for r in rows) and all(r["calibrated_agrees"] for r in rows)
    few = [{"kind": "add1", "confidence": 0.5, "correct": i < 2} for i in range(40)]
    _, penalty = abstention.analyse("constructed", few, abstention.Config(questions=40, bootstrap=50))["verdicts"]
    assert penalty.verdict == "inconclusive" and penalty.needed > 40


# ----------------------------------------------------------------

def test_trace_checker():
    task = ArithmeticTask(7, (("+", 3), ("-", 5)))
    assert traces.reply(task) == "Step 1: 7 + 3 ="
    assert traces.trace_errors(task, "Step 1: 7 + 3 = 10\nStep 2: 10 - 5 = 5") == []
    assert traces.trace_errors(task, "Step 1: 7 + 3 = 11\nStep 2: 11 - 5 = 6") == ["step 1 writes 7 + 3 = 11"]
    wrong_operand = traces.trace_errors(task, "Step 1: 7 + 3 = 10\nStep 2: 3 - 5 = -2")
    assert wrong_operand == ["step 2 computes 3 - 5, the task's step is 10 - 5"]
    assert traces.trace_errors(task, "Step 1: 7 + 3 = 10") == ["1 steps written, the task has 2"]
    small = traces.small_task(4, 3)
    assert small == traces.small_task(4, 3) and all(1 <= v <= 20 for v in small.values())


def _trace_sample(correct: bool, valid: bool, compute: int) -> dict:
    cell = {"trace_tokens": compute - 1, "trace": "", "answer": 1, "correct": correct, "compute": compute}
    return {"expression": "1 + 1", "expected": 2, "by_budget": {"8": cell, "16": cell}, "trace_valid": valid,
            "trace_errors": [] if valid else ["step 1 writes 1 + 1 = 3"], "rewarded": correct}


def test_reasoning_verdicts_on_constructed_traces():
    config = traces.Config(steps=(1,), tasks=40, budgets=(8, 16), bootstrap=500)
    samples = ([_trace_sample(True, False, 4)] * 10 + [_trace_sample(True, True, 30)] * 10
               + [_trace_sample(False, False, 20)] * 20)
    r2, r3, ratio = traces.analyse("constructed", samples, config)[0]
    assert r2.verdict == "consistent" and r2.numbers["invalid_rewarded"] == 10 and r2.interval[0] > 0
    assert r3.verdict == "consistent"
    # eta = (10/4 + 10/30) / 40 = 0.0708, E[Q]/E[C] = 0.5 / 18.5 = 0.0270
    curve = r3.numbers["curve"]
    assert curve[0]["eta"] == pytest.approx((10 / 4 + 10 / 30) / 40)
    assert curve[0]["ratio"] == pytest.approx(0.5 / 18.5)
    assert ratio.verdict == "violated" and ratio.interval[0] > 0
    same = [_trace_sample(True, True, 10)] * 5 + [_trace_sample(False, True, 10)] * 5
    r2, _, ratio = traces.analyse("constructed", same, traces.Config(steps=(1,), tasks=10, budgets=(8, 16)))[0]
    assert r2.verdict == "inconclusive"        # no rewarded invalid trace
    assert ratio.verdict == "inconclusive"     # constant compute: eta = E[Q]/E[C] (R-3.ratio-fixed)


# ---------------------------------------------------------------- H-1, H-2

def test_diagonal_verdicts():
    def sample(theorem, wrong, made_on="m"):
        return {"theorem": theorem, "made_on": made_on, "task": "parity", "prompt": "Is 3 even?",
                "decoding": {"temperature": 0.0, "max_new_tokens": 24}, "expected": "odd", "output": "odd",
                "wrong": wrong, "same_weights": True}
    h1, h2 = diagonal.analyse("m", [sample("H-1", True), sample("H-2", True), sample("H-2", False),
                                     sample("H-2", True, made_on="other")])
    assert h1.verdict == "consistent" and h1.n == 1
    assert h2.verdict == "violated" and h2.n == 2 and "Is 3 even?" in h2.text
    none = diagonal.analyse("m", [])
    assert [v.verdict for v in none] == ["inconclusive", "inconclusive"]


# ---------------------------------------------------------------- Rt-2

def test_share_curve_comes_from_the_statement_and_its_margin_is_recovered():
    ks = np.array([1, 2, 4, 8, 16])
    assert breadth.modelled_share(3.0, ks) == pytest.approx(3.0 / (3.0 + ks - 1))
    assert breadth.fit_margin(list(ks), list(3.0 / (3.0 + ks - 1))) == pytest.approx(3.0, rel=1e-3)
    assert breadth.fit_margin(list(ks), list(1.0 / ks)) == pytest.approx(1.0, rel=1e-3)


def _breadth_samples(questions: int, info_slope, r: float, seed: int, noise: float = 0.3) -> list[dict]:
    """Per question a log p(answer) falling (or rising) by info_slope per doubling of k (one
    number, or one per question), and an attention share r / (r + k - 1), each with noise."""
    rng = np.random.default_rng(seed)
    out = []
    for q in range(questions):
        base = -20.0 + rng.normal()
        slope = info_slope[q] if isinstance(info_slope, list) else info_slope
        for k in (0, 1, 2, 4, 8):
            row = {"q": q, "k": k, "prompt_tokens": 60 + 20 * k, "correct": k == 1,
                   "answer_logprob": base if k == 0 else -2.0 + slope * np.log2(k) + rng.normal(0, noise)}
            if k:
                share = float(np.clip(r / (r + k - 1) + (rng.normal(0, 0.02) if k > 1 else 0), 0.001, 1))
                row.update({"attention_share": share, "token_share": 1 / k,
                            "attention_share_layers": [1 / k, share, float(np.clip(4 * share, 0, 1))]})
            out.append(row)
    return out


def test_breadth_verdicts_on_constructed_samples():
    config = breadth.Config(people=20, questions=16, ks=(0, 1, 2, 4, 8))
    result = breadth.analyse("constructed", _breadth_samples(16, -0.5, 2.0, 0), config)
    info, share = result["verdicts"]
    assert info.verdict == "consistent" and info.interval[1] < 0
    assert share.verdict == "consistent" and share.interval[1] < 0
    assert result["numbers"]["fitted_r"] == pytest.approx(2.0, rel=0.15)
    assert result["numbers"]["top_layer"] == 2 and result["numbers"]["top_layer_r"] > 2.0
    assert "layer 2" in share.text
    first = result["numbers"]["curve"][1]
    assert first["k"] == 1 and first["accuracy"] == 1.0 and first["information"] == pytest.approx(18.0, abs=1.0)
    rising, _ = breadth.analyse("constructed", _breadth_samples(16, +0.5, 2.0, 1), config)["verdicts"]
    assert rising.verdict == "violated" and rising.interval[0] > 0
    # per-question slopes -0.4, +0.3, +0.05: no trend a t interval over 3 questions can tell
    flat, _ = breadth.analyse("constructed", _breadth_samples(3, [-0.4, 0.3, 0.05], 2.0, 2, noise=0.0),
                              breadth.Config(people=20, questions=3, ks=(0, 1, 2, 4, 8)))["verdicts"]
    assert flat.verdict == "inconclusive" and flat.needed > 3


def test_breadth_config_is_checked():
    with pytest.raises(ValueError, match="must hold 0"):
        breadth.Config(ks=(1, 2, 4))
    with pytest.raises(ValueError, match="the corpus of 4 people has 16"):
        breadth.Config(people=4, questions=2, ks=(0, 2, 32))
    with pytest.raises(ValueError, match="questions must lie"):
        breadth.Config(people=4, questions=5)
    assert breadth.keys(breadth.Config(people=4, questions=2, ks=(0, 2, 4)))[:3] == ["q=0|k=0", "q=0|k=2", "q=0|k=4"]


# ---------------------------------------------------------------- coverage

def test_every_paper_id_has_a_row_or_a_reason():
    statements = (ROOT.parent / "shared" / "paper" / "STATEMENTS.md")
    if statements.exists():
        import re
        listed = set(re.findall(r"^\*\*((?:H|C|R|Rt|M)-\d+) ", statements.read_text(), re.M))
        assert listed == set(coverage.PAPER_IDS)
    from checker.statements import statement_ids
    top = {i.split(".")[0] for i in statement_ids()}
    assert set(coverage.PAPER_IDS) <= top
    verdicts = json.loads((ROOT / "results" / "crosscheck.json").read_text())["verdicts"]
    rows = coverage.coverage_rows(verdicts)
    assert [r["id"] for r in rows] == list(coverage.PAPER_IDS)
    assert all(r["verdicts"] or r["reason"] for r in rows)
    table = coverage.coverage_markdown(verdicts)
    assert all(f"| {pid} |" in table for pid in coverage.PAPER_IDS)
    bare = coverage.coverage_rows([])      # no results: each id says what would measure it, or why nothing can
    assert all(r["reason"] for r in bare)
    assert "limits crosscheck --probes diagonal" in bare[0]["reason"]
    saved = coverage.PROBED.pop("H-1")
    try:
        with pytest.raises(coverage.CoverageError, match="H-1 has no crosscheck row, no probe"):
            coverage.coverage_rows([])
    finally:
        coverage.PROBED["H-1"] = saved


def test_the_probe_table_follows_the_probes():
    import importlib

    from empirical.cli import available_probes
    for name in available_probes():
        module = importlib.import_module(f"empirical.probes.{name}")
        ids = {theorem.split(".")[0] for theorem in module.THEOREMS}
        assert ids == {pid for pid, probes in coverage.PROBED.items() if name in probes}, name
    named = {p for probes in coverage.PROBED.values() for p in probes}
    assert set(available_probes()) <= named


# ---------------------------------------------------------------- on SmolLM2

pytest.importorskip("torch")
pytest.importorskip("transformers")


def test_abstention_tiny(smollm2, tmp_path):
    config = abstention.Config(questions=3, lambdas=(1.0,), bootstrap=20)
    verdicts, samples = run_twice(abstention, config, smollm2, tmp_path)
    for s in samples:
        assert 0 <= s["confidence"] <= 1
        assert s["correct"] == (s["answer"] == s["expected"])
    assert (tmp_path / "abstention" / "smollm2" / "abstention_scores.png").exists()


def test_traces_tiny(smollm2, tmp_path):
    config = traces.Config(steps=(1,), tasks=2, budgets=(4, 8), bootstrap=20)
    verdicts, samples = run_twice(traces, config, smollm2, tmp_path)
    for s in samples:
        assert set(s["by_budget"]) == {"4", "8"}
        assert all(c["trace_tokens"] <= int(b) and c["compute"] == c["trace_tokens"] + 1
                   for b, c in s["by_budget"].items())
        assert s["by_budget"]["8"]["trace"].startswith("Step 1: ")


def test_breadth_tiny(smollm2, tmp_path):
    config = breadth.Config(people=4, questions=2, ks=(0, 2, 4))
    ctx = breadth.setup(config, smollm2)
    passages, position = breadth.context_passages(ctx, 1, 4, config.seed)
    ids, spans = breadth.prompt(smollm2.tokenizer, ctx.corpus, 1, passages)
    assert passages[position] == ctx.corpus.gold(1) and len(passages) == 4
    for passage, span in zip(passages, spans):     # each span writes its passage's text
        assert span == list(range(span[0], span[-1] + 1))
        assert smollm2.tokenizer.decode([ids[t] for t in span]).strip() == passage.text
    verdicts, samples = run_twice(breadth, config, smollm2, tmp_path)
    for s in samples:
        assert s["answer_logprob"] < 0 and s["correct"] == (s["greedy_departs"] is None)
        if s["k"]:
            assert 0 < s["attention_share"] <= 1 and s["token_share"] == s["gold_tokens"] / s["passage_tokens"]
            assert len(s["attention_share_layers"]) == smollm2.info()["layers"]
        else:
            assert "attention_share" not in s
    assert (tmp_path / "breadth" / "smollm2" / "breadth.png").exists()


@pytest.mark.slow
def test_diagonal_on_smollm2(smollm2, tmp_path):
    config = diagonal.Config.preset("cpu")
    verdicts, samples = run_twice(diagonal, config, smollm2, tmp_path)
    mine = [s for s in samples if s["made_on"] == "smollm2"]
    assert mine and all(s["wrong"] for s in mine if s["decoding"]["temperature"] == 0)
