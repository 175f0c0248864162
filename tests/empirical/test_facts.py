"""E-F: the generated facts, the small language models trained on them, the probe's verdicts.

Every model here is really trained (tiny, on one thread); nothing stands in for it. The bounds
the verdicts use come from proofs/ (shown by editing a copy of it).
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from empirical.facts import data as D  # noqa: E402
from empirical.facts.model import FactLM, ModelSpec, quantize  # noqa: E402
from empirical.facts.train import TrainSpec, train  # noqa: E402
from empirical.framework import ConfigMismatch, ProbeRun  # noqa: E402
from empirical.probes import facts as probe  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

TINY = probe.Config(sizes=((4, 1, 1), (16, 1, 2)), etas=(0.2,), entities=16, relations=4, base=4, steps=30,
                    batch=64, seeds=(0,))


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# ---------------------------------------------------------------- data

def test_world_and_corpus_are_seeded_long_tailed_and_corrupted_at_eta():
    spec = D.WorldSpec(entities=256, relations=8)
    a, b = D.make_world(spec), D.make_world(spec)
    assert np.array_equal(a.truth, b.truth) and np.array_equal(a.counts, b.counts)
    assert not np.array_equal(a.truth, D.make_world(D.WorldSpec(entities=256, relations=8, world_seed=7)).truth)
    assert (a.alternative != a.truth).all() and a.truth.max() < spec.values
    # a long tail: facts seen once, facts seen the maximum number of times, and many counts between
    assert (a.counts == 1).sum() > 0.1 * spec.facts and a.counts.max() == spec.max_count
    assert len(np.unique(a.counts)) > 30
    corpus = D.make_corpus(a, 0.2, 5)
    stats = D.corpus_stats(a, corpus)
    assert len(corpus) == a.counts.sum() == stats["claims"]
    assert np.array_equal(stats["true_claims"] + stats["alt_claims"], a.counts)
    se = math.sqrt(0.2 * 0.8 / len(corpus))
    assert abs(stats["corrupted"] - 0.2) < 4 * se
    wrong = corpus.values != a.truth[corpus.facts]
    assert (corpus.values[wrong] == a.alternative[corpus.facts[wrong]]).all()   # the one wrong value
    assert stats["monofact_rate"] == pytest.approx((a.counts == 1).sum() / len(corpus))
    assert np.array_equal(D.make_corpus(a, 0.2, 5).values, corpus.values)
    with pytest.raises(ValueError):
        D.make_corpus(a, 0.5, 0)


def test_prompts_spell_each_entity_once():
    spec = D.WorldSpec(entities=100, relations=3, base=10)
    vocab = D.Vocab(spec)
    prompts = vocab.prompts(np.arange(spec.facts))
    assert prompts.shape == (300, spec.seq_len) and spec.digits == 2
    assert len({tuple(p) for p in prompts.tolist()}) == 300
    assert prompts[0 * 3 + 2].tolist() == [vocab.bos, vocab.digit0, vocab.digit0, vocab.relation0 + 2]
    assert prompts[47 * 3].tolist() == [vocab.bos, vocab.digit0 + 4, vocab.digit0 + 7, vocab.relation0]
    assert prompts.max() < vocab.value0 <= len(vocab) - spec.values


# ---------------------------------------------------------------- model

def test_quantized_weights_take_the_stated_bits():
    torch.manual_seed(0)
    model = FactLM(ModelSpec(d=16, layers=1, heads=2), 40, 4)
    tensors = len(list(model.parameters()))
    q, bits = quantize(model, 4)
    assert bits == model.parameter_count() * 4 + 32 * tensors
    for p in q.parameters():
        levels = torch.unique(p.detach())
        assert len(levels) <= 2 ** 4 - 1              # symmetric: -7..7 times the tensor's scale
    same, full = quantize(model, 32)
    assert full == 32 * model.parameter_count()
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), same.parameters()))
    with pytest.raises(ValueError):
        quantize(model, 1)


def test_a_trained_model_learns_frequent_facts_before_rare_ones():
    world = D.WorldSpec(entities=64, relations=4, base=8, zipf=1.1, max_count=64)
    result = train(TrainSpec(model=ModelSpec(d=32, layers=1, heads=2), world=world, steps=120, batch=64, lr=0.01))
    rows = result["float"]["by_count"]
    rare = [r for r in rows if r["count"] == 1][0]
    frequent = [r for r in rows if r["count"] >= 8]
    acc_frequent = sum(r["right"] for r in frequent) / sum(r["facts"] for r in frequent)
    assert acc_frequent > 0.8 and acc_frequent > rare["right"] / rare["facts"] + 0.2
    assert result["float"]["errors"] == sum(r["facts"] - r["right"] for r in rows)
    h = result["float"]["hallucination"]
    assert 0 <= h["confident_wrong"] <= h["greedy_wrong"] <= 1 and 0 <= h["miscalibration"] <= 1
    assert sum(h["bins_true"]) == pytest.approx(1.0)          # every question's true answer is in some bin
    assert result["bits"] == result["params"] * 8 + 32 * len(list(FactLM(ModelSpec(32, 1, 2), 48, 4).parameters()))


# ---------------------------------------------------------------- verdicts on constructed measurements

def _row(c, errors, facts=512, values=32, family="size"):
    terms = probe.capacity_terms(c, facts, values, errors)
    return {"key": f"{family}|c={c}", "family": family, "eta": 0.0, "params": c // 8, "bits": c, "bits_per_param": 8,
            "errors": errors, "error_rate": errors / facts, "float_errors": errors, "facts": facts,
            "table_bits": facts * math.log2(values), **terms, "stored_per_param": terms["stored"] / (c // 8)}


def test_the_capacity_verdict_follows_the_counting_bound():
    # 200 bits cannot answer 512 facts of 32 values (2,560 bits) with 10 errors
    impossible = _row(200, 10)
    assert impossible["log2_bound"] < -2000
    assert probe.capacity_verdict("m", [impossible]).verdict == "violated"
    # 2,000 bits with 400 errors pin down a few hundred bits: consistent, and the bound bites
    fine = _row(2000, 400)
    assert 0 < fine["stored"] < 2001 and fine["log2_bound"] > 0
    v = probe.capacity_verdict("m", [fine])
    assert v.verdict == "consistent" and v.interval == [pytest.approx(fine["log2_bound"], rel=1e-5)] * 2
    # capacity above the whole table's bits: nothing the model does can contradict the bound
    assert probe.capacity_verdict("m", [_row(20000, 0)]).verdict == "inconclusive"


def _occ(eta, n, above, right, majority_wrong=0, needs=3):
    return {"eta": eta, "n": n, "rows": [{"count": 1, "accuracy": 0.4}, {"count": n, "accuracy": right / above}],
            "facts_above": above, "right_above": right, "majority_wrong_above": majority_wrong,
            "model_needs": needs, "trainings": 2}


def test_the_occurrence_verdict():
    assert probe.occurrences_verdict("m", _occ(0.2, 63, 90, 90)).verdict == "consistent"
    assert "not necessary" in probe.occurrences_verdict("m", _occ(0.2, 63, 90, 90)).text
    assert probe.occurrences_verdict("m", _occ(0.2, 63, 90, 90, majority_wrong=1)).verdict == "violated"
    v = probe.occurrences_verdict("m", _occ(0.3, 142, 40, 30))        # error 0.25 > eps = 0.2
    assert v.verdict == "inconclusive" and v.needed == 10**9
    assert probe.occurrences_verdict("m", None).verdict == "inconclusive"


def _corrupted_sample(eta, p_true, p_alt, greedy, count=20):
    n = len(eta)
    return {"eta": 0.2, "float": {"corrupted": {"facts": list(range(n)), "count": [count] * n, "eta_f": eta,
                                                "p_true": p_true, "p_alt": p_alt, "greedy_right": greedy}}}


def test_a_model_that_reproduces_the_corpus_sits_on_the_noise_floor():
    rng = np.random.default_rng(0)
    eta = np.round(rng.uniform(0.05, 0.45, 100), 4)
    # p = q exactly: t = 0, sampled error = eta_f, and greedy (the majority) never errs
    floor = probe.noise_floor([_corrupted_sample(eta.tolist(), (1 - eta).tolist(), eta.tolist(), [1] * 100)])
    assert floor["facts"] == 100 and floor["tv_checked"] == floor["tv_holds"] == 100
    assert floor["tv"] == pytest.approx(0, abs=1e-6) and floor["sampled"] == pytest.approx(eta.mean(), abs=1e-6)
    verdicts = {v.theorem: v for v in probe.noise_verdicts("m", [floor])}
    assert verdicts["H-6"].verdict == "consistent" and verdicts["H-6.tv"].verdict == "consistent"
    assert verdicts["H-6.greedy"].verdict == "violated"              # greedy beats eta, as the refutation says
    # a model that sharpens toward the truth errs below eta: H-6's hypothesis (reproduces) is not met,
    # and H-6.tv still holds because t grows by as much
    sharp = probe.noise_floor([_corrupted_sample(eta.tolist(), [0.99] * 100, [0.01] * 100, [1] * 100)])
    verdicts = {v.theorem: v for v in probe.noise_verdicts("m", [sharp])}
    assert verdicts["H-6"].verdict == "inconclusive" and "hypotheses not met" in verdicts["H-6"].text
    assert verdicts["H-6.tv"].verdict == "consistent" and sharp["tv"] > 0.2
    # facts seen fewer than MIN_COUNT times, or whose majority is wrong, are left out
    few = probe.noise_floor([_corrupted_sample([0.2, 0.6], [0.8, 0.4], [0.2, 0.6], [1, 0], count=probe.MIN_COUNT - 1)])
    assert few["facts"] == 0


def test_h9_reports_unmet_hypotheses_and_never_a_pass():
    sample = {"key": "size|x", "params": 1000, "facts": 2048, "values": 32, "claims": 16615, "monofact_rate": 0.038,
              "float": {"hallucination": {"rate": 0.3, "confident_wrong": 0.1, "greedy_wrong": 0.2,
                                          "miscalibration": 0.05}}}
    row = probe.hallucination(sample)
    assert row["facts_term"] == pytest.approx(300 / 31) and row["bound"] < 0
    assert row["h9_status"] == "hypotheses not met" and {"calibrated", "few_facts"} <= set(row["h9_failing"])
    verdicts = probe.hallucination_verdicts("m", [row])
    assert [v.verdict for v in verdicts] == ["inconclusive", "inconclusive"]
    assert "hypotheses" in verdicts[1].text and "few_facts" in verdicts[1].text
    # a world with many more possible wrong answers: the bound is positive and the rate is confronted with it
    rich = {**sample, "values": 100000, "monofact_rate": 0.5, "claims": 10**6}
    low = probe.hallucination({**rich, "float": {"hallucination": {**sample["float"]["hallucination"], "rate": 0.1}}})
    assert low["bound"] > 0.3
    assert probe.hallucination_verdicts("m", [low])[0].verdict == "violated"


# ---------------------------------------------------------------- the bounds come from proofs/

@pytest.fixture
def edited_proofs(tmp_path, monkeypatch):
    folder = tmp_path / "proofs"
    shutil.copytree(ROOT / "proofs", folder)
    monkeypatch.setenv("LIMITS_PROOFS", str(folder))
    return folder


def test_the_bounds_are_read_from_the_statements(edited_proofs):
    n = probe.n_needed(2048, 0.05, 0.2)
    before = probe.capacity_terms(1000, 256, 32, 100)
    assert n == math.ceil(math.log(2 * 2048 / 0.05) / (2 * 0.3 ** 2))
    path = edited_proofs / "hallucination.lim"
    text = path.read_text()
    for old, new in (("let n = ceil(ln(2 * m / delta) / (2 * eps^2))", "let n = ceil(ln(2 * m / delta) / (4 * eps^2))"),
                     ("let capacity = c + 1", "let capacity = c + 101")):
        assert text.count(old) >= 1
        text = text.replace(old, new)
    path.write_text(text)
    assert probe.n_needed(2048, 0.05, 0.2) == math.ceil(math.log(2 * 2048 / 0.05) / (4 * 0.3 ** 2))
    after = probe.capacity_terms(1000, 256, 32, 100)
    assert after["capacity"] == before["capacity"] + 100
    assert after["log2_bound"] == pytest.approx(before["log2_bound"] + 100)


# ---------------------------------------------------------------- the probe: keys, plan, resume

def test_keys_name_one_training_each_and_the_plan_covers_every_statement():
    for preset in ("cpu", "standard", "full"):
        config = probe.Config.preset(preset)
        keys = probe.keys(config)
        assert len(keys) == len(set(keys)) == len(config.seeds) * (len(config.sizes) + len(config.etas))
        assert {r.theorem for r in probe.plan(config)} == set(probe.THEOREMS)
    spec = probe.train_spec(probe.keys(probe.Config())[-1], probe.Config())
    assert spec.eta == probe.Config().etas[-1] and spec.model.d == probe.Config().sizes[-1][0]


def test_probe_resumes_and_skips_finished_trainings(tmp_path):
    recorded = []

    class Counting(ProbeRun):
        def record(self, key, data, timing=None):
            recorded.append(key)
            super().record(key, data, timing)

    keys = probe.keys(TINY)
    first = Counting(probe.NAME, probe.LABEL, TINY, probe.model_info("cpu"), "cpu", root=tmp_path)
    verdicts = probe.run(first, None)
    assert recorded == keys and len(keys) == 3
    assert {v.theorem for v in verdicts} == set(probe.THEOREMS)
    for v in verdicts:
        json.dumps(v.to_json(), allow_nan=False)
    assert (first.dir / "capacity.png").exists() and (first.dir / "facts.png").exists()
    samples = first.dir / "samples.jsonl"
    lines = samples.read_text().splitlines()
    samples.write_text("\n".join(lines[:-1]) + "\n")
    recorded.clear()
    again = Counting(probe.NAME, probe.LABEL, TINY, probe.model_info("cpu"), "cpu", root=tmp_path)
    assert again.pending(keys) == keys[-1:]
    second = probe.run(again, None)
    assert recorded == keys[-1:]
    strip = lambda text: [{k: v for k, v in json.loads(line).items() if "seconds" not in k}  # noqa: E731
                          for line in text]
    assert strip(samples.read_text().splitlines()) == strip(lines)       # deterministic retraining
    dump = lambda vs: json.dumps([{**v.to_json(), "numbers": {k: x for k, x in v.numbers.items()  # noqa: E731
                                                              if k != "training_seconds"}} for v in vs],
                                 sort_keys=True)
    assert dump(second) == dump(verdicts)
    with pytest.raises(ConfigMismatch):
        ProbeRun(probe.NAME, probe.LABEL, probe.Config(steps=31), {}, "cpu", root=tmp_path)


@pytest.mark.slow
def test_crosscheck_runs_the_probe_once_without_a_pretrained_model(tmp_path, monkeypatch):
    from empirical import cli

    def no_pretrained(*args, **kwargs):
        raise AssertionError("the facts probe must not load a pretrained model")

    monkeypatch.setattr(cli, "load", no_pretrained)
    monkeypatch.setattr(probe.Config, "preset", classmethod(lambda cls, preset=False: TINY))
    assert cli.main(["crosscheck", "--probes", "facts", "--out", str(tmp_path), "--device", "cpu"]) == 0
    summary = json.loads((tmp_path / "facts" / "trained-here" / "summary.json").read_text())
    assert summary["model"]["model"] == "trained-here" and len(summary["verdicts"]) == 7
    assert "| H-4.measured | facts | trained-here |" in (tmp_path / "CROSSCHECK.md").read_text()
