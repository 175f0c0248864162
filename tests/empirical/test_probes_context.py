"""The position_loss, attenuation and temperature probes on SmolLM2 with tiny configs.

Each probe's run() must return well-formed verdicts, write its plot, and record nothing new
when run again on the same folder (resume). The analytic C-2 numbers are checked against the
values proofs/context.lim quotes. Tests that need the model skip when it is not installed.
"""
from __future__ import annotations

import json
import math

import pytest

from tests.empirical.probe_check import run_twice

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from empirical.probes import attenuation, position_loss, temperature  # noqa: E402


def test_rotary_average_matches_the_proofs():
    # proofs/context.lim C-2.rotary-literal: about 0.72, 0.56, 0.40, 0.17, 0.32 at base 1e5, d = 64
    for delta, expected in ((10, 0.72), (100, 0.56), (1000, 0.40), (4096, 0.17), (8192, 0.32)):
        assert abs(attenuation.rotary_average(delta, 1e5, 64) - expected) < 0.01
    assert attenuation.rotary_average(10, 1e5, 64) > 2 / 10          # the literal bound fails
    # C-2.roformer-decay: about 9.7 at Delta = 10, 2.9 at 4096, 4.7 at 8192
    for delta, expected in ((10, 9.7), (4096, 2.9), (8192, 4.7)):
        assert abs(attenuation.roformer_relative(delta, 1e5, 64) - expected) < 0.05
    for row in attenuation.analytic(1e5, 64, 8192, 60):
        assert row["weighted"] <= row["roformer"] + 1e-12             # RoFormer's bound holds
    assert attenuation.rotary_average(0, 1e5, 64) == pytest.approx(1.0)


def test_literal_verdict_is_violated_without_a_model():
    info = {"rope_theta": 1e5, "head_dim": 64, "max_positions": 8192}
    curves = attenuation.analytic(1e5, 64, 8192, 50)
    measured = {"heads": 0, "layers": [], "all": [], "top": [], "top_heads": []}
    verdicts = attenuation.analyse("x", info, curves, measured, attenuation.Config())
    assert verdicts[0].verdict == "violated" and "literal lemma is violated" in verdicts[0].text
    assert verdicts[1].verdict == "inconclusive"


def test_temperature_helpers():
    assert temperature.is_correct("The capital of France is Paris.", ("Paris",))
    assert not temperature.is_correct("It is 15.", ("5", "five"))
    assert temperature.is_correct("Five.", ("5", "five"))
    assert temperature.diversity([[1, 2, 3]] * 4) == 0.0
    assert temperature.diversity([[1, 2], [3, 4]]) == 1.0
    points = [{"temperature": t, "A": 1 - 0.5 * c, "C": c, "n": 10, "distinct": c, "questions": 1}
              for t, c in ((0, 0.0), (0.5, 0.3), (1.0, 0.6), (1.5, 0.9))]
    (v,) = temperature.analyse("x", points)
    assert v.verdict == "consistent" and v.numbers["fit"]["c1"] == pytest.approx(-0.5)
    rising = [{**p, "A": 0.1 + 0.5 * p["C"] + 0.01 * i} for i, p in enumerate(points)]
    assert temperature.analyse("x", rising)[0].verdict == "violated"


def test_effective_length_from_needle_samples():
    samples = [{"length": n, "correct": ok} for n, ok in
               ((256, True), (256, True), (1024, True), (1024, False), (4096, False), (4096, False))]
    eff = position_loss.effective_length(samples)
    assert eff["effective"] == 256 and eff["longest"] == 4096
    assert position_loss.effective_length([]) is None


# ---------------------------------------------------------------- the probes on SmolLM2

def test_position_loss_tiny(smollm2, tmp_path):
    seq = position_loss.build_sequence(smollm2.tokenizer, 256, 8, 1 / 8, seed=3)
    assert len(seq["ids"]) == 256
    for r in seq["reminders"]:
        a, b = r["reminder_digits"]
        assert smollm2.tokenizer.decode(seq["ids"][a:b]).strip() == r["code"]
        if r["fact_digits"] is not None:
            fa, fb = r["fact_digits"]
            assert seq["ids"][fa:fb] == seq["ids"][a:b] and r["distance"] == a - fa > 0
    # a fake needle result beside it gives the C-4 verdict
    needle = tmp_path / "needle" / "smollm2"
    needle.mkdir(parents=True)
    # eight prompts per length: the fall from 8/8 to 0/8 is significant (Fisher p < 0.001)
    rows = [{"key": f"N={n}|r={i}", "length": n, "correct": ok}
            for n, ok in ((256, True), (1024, True), (4096, False)) for i in range(8)]
    (needle / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = position_loss.Config(length=256, sequences=1, reminders_per_1k=32, near_fraction=1 / 8)
    verdicts, _ = run_twice(position_loss, config, smollm2, tmp_path)
    c1 = [v for v in verdicts if v.theorem == "C-1"]
    c4 = [v for v in verdicts if v.theorem == "C-4"]
    assert len(c1) == 1 and len(c4) == 1
    assert c4[0].verdict == "consistent" and c4[0].numbers["effective"] == 1024
    rows = c1[0].numbers["loss_by_position"]
    assert rows[0]["lo"] == 1 and rows[-1]["hi"] == 256
    assert all(math.isfinite(r["mean"]) and r["mean"] >= 0 for r in rows)


def test_attenuation_tiny(smollm2, tmp_path):
    config = attenuation.Config(deltas=(1, 4, 16, 64), passes=1, pairs_per_delta=2, margin=8,
                                analytic_points=30, top_heads=3)
    built = attenuation.build_pass(smollm2.tokenizer, config, seed=0)
    for p in built["pairs"]:
        assert built["ids"][p["a"]] == built["ids"][p["b"]] and p["b"] - p["a"] == p["delta"]
    verdicts, _ = run_twice(attenuation, config, smollm2, tmp_path)
    assert len(verdicts) == 2
    assert verdicts[0].verdict == "violated"          # SmolLM2: base 1e5, head size 64
    measured = verdicts[1].numbers["measured"]
    assert [r["delta"] for r in measured["top"]] == [1, 4, 16, 64]
    assert measured["heads"] == 30 * 9


def test_temperature_tiny(smollm2, tmp_path):
    config = temperature.Config(temperatures=(0.0, 1.0, 2.0), samples=2, questions=2, max_new_tokens=6)
    verdicts, _ = run_twice(temperature, config, smollm2, tmp_path)
    (v,) = verdicts
    points = v.numbers["points"]
    assert [p["temperature"] for p in points] == [0.0, 1.0, 2.0]
    assert all(0 <= p["A"] <= 1 and 0 <= p["C"] <= 1 for p in points)
    assert points[0]["C"] == 0.0                       # greedy answers are identical
    # seeded: the same cell drawn again gives the same answers
    q, accepted = temperature.QUESTIONS[0]
    ids = temperature.prompt_ids(smollm2.tokenizer, q)
    one = temperature.draw(smollm2.model, ids, 2, 1.0, 4, seed=7)
    assert one == temperature.draw(smollm2.model, ids, 2, 1.0, 4, seed=7)


def test_c4_needs_a_significant_drop_not_a_point_reading(tmp_path):
    """RULER's point reading puts the effective length below the nominal one on a single prompt
    per length, but that is no evidence: the verdict stays inconclusive and names the sample that
    would decide it; eight prompts per length with the same fall decide it."""
    from types import SimpleNamespace

    def verdict(per_length: int):
        folder = tmp_path / str(per_length)
        (folder / "needle" / "m").mkdir(parents=True)
        (folder / "position_loss" / "m").mkdir(parents=True)
        rows = [{"key": f"N={n}|r={i}", "length": n, "correct": ok}
                for n, ok in ((256, True), (1024, True), (4096, False)) for i in range(per_length)]
        (folder / "needle" / "m" / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        run = SimpleNamespace(dir=folder / "position_loss" / "m", model_name="m")
        return position_loss.effective_length_verdict(run, {"max_positions": 8192})

    one = verdict(1)
    assert one.verdict == "inconclusive" and "not significant on 1 prompts" in one.text
    assert one.needed is not None and one.needed > 1
    eight = verdict(8)
    assert eight.verdict == "consistent" and eight.numbers["fisher_p"] < 0.001 and eight.n == 8
