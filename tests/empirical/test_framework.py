"""The measurement machinery: model loading, attention rows, resumable results."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from checker.statements import load_statement

torch = pytest.importorskip("torch")

from empirical import models  # noqa: E402
from empirical.attention import forward_rows  # noqa: E402
from empirical.framework import ConfigMismatch, ProbeRun, Verdict  # noqa: E402
from empirical.haystack import passkey_prompt  # noqa: E402
from empirical.probes import needle  # noqa: E402
from empirical.stats import linear_fit, wilson  # noqa: E402
from empirical.store import CorruptResults, SampleStore  # noqa: E402


def test_captured_rows_equal_eager_attention(smollm2):
    torch.manual_seed(0)
    n = 48
    ids = torch.randint(100, 5000, (1, n))
    recorder, out = forward_rows(smollm2.model, ids, [-1, 10])
    previous = smollm2.model.config._attn_implementation
    assert previous != "probe"  # capture() restored the model's own implementation
    smollm2.model.set_attn_implementation("eager")
    try:
        with torch.inference_mode():
            eager = smollm2.model(input_ids=ids, output_attentions=True)
    finally:
        smollm2.model.set_attn_implementation(previous)
    assert len(recorder.logits) == smollm2.model.config.num_hidden_layers
    for layer, attentions in enumerate(eager.attentions):
        mine = recorder.weights(layer)                       # (heads, rows, keys)
        assert torch.allclose(mine[:, 0], attentions[0, :, -1], atol=1e-5)
        assert torch.allclose(mine[:, 1], attentions[0, :, 10], atol=1e-5)
    assert torch.allclose(out.logits[0, -1], eager.logits[0, -1], atol=1e-3)


def test_packaged_model_info_and_cache(smollm2):
    info = smollm2.info()
    assert info["layers"] == 30 and info["heads"] == 9 and info["head_dim"] == 64
    assert info["rope_theta"] == 100000.0
    assert len(info["source_sha256"]) == 64
    again = models.load("smollm2", "cpu")
    assert again.load_seconds < 10  # the dequantized weights come from the cache


def test_unknown_model_names_the_install_command():
    with pytest.raises(models.ModelUnavailable) as err:
        models.load("/nonexistent/model-folder", "cpu")
    assert "without downloading" in str(err.value)


def test_cuda_absent_gives_a_clear_message():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(models.ModelUnavailable) as err:
        models.pick_device("cuda")
    assert "no GPU" in str(err.value)


def test_passkey_prompt_has_exact_length_and_spans(smollm2):
    p = passkey_prompt(smollm2.tokenizer, 300, 0.5, seed=3)
    assert len(p.ids) == 300
    digits = smollm2.tokenizer.decode(p.ids[p.digits_span[0]:p.digits_span[1]])
    assert digits.strip() == p.answer
    assert p.needle_span[0] <= p.digits_span[0] < p.digits_span[1] <= p.needle_span[1]


def test_store_resumes_and_rejects_corrupt_lines(tmp_path: Path):
    path = tmp_path / "samples.jsonl"
    store = SampleStore(path)
    store.append({"key": "a", "x": 1})
    store.append({"key": "b", "x": 2})
    again = SampleStore(path)
    assert "a" in again and "b" in again and again.records["b"]["x"] == 2
    path.write_text(path.read_text() + '{"key": "c", "x": \n')
    with pytest.raises(CorruptResults) as err:
        SampleStore(path)
    assert f"{path}:3:" in str(err.value)
    path.write_text('{"key": "a"}\n{"key": "b"')  # stopped mid-write: no final newline
    with pytest.raises(CorruptResults) as err:
        SampleStore(path)
    assert "incomplete" in str(err.value)


@dataclass(frozen=True)
class _Tiny:
    seed: int = 0


def test_probe_run_refuses_a_changed_config(tmp_path: Path):
    ProbeRun("p", "m", _Tiny(0), {}, "cpu", root=tmp_path)
    ProbeRun("p", "m", _Tiny(0), {}, "cpu", root=tmp_path)  # same config: fine
    with pytest.raises(ConfigMismatch):
        ProbeRun("p", "m", _Tiny(1), {}, "cpu", root=tmp_path)


def test_verdict_values_are_checked():
    with pytest.raises(ValueError):
        Verdict("p", "m", "C-3", "maybe", "")


def test_needle_probe_measures_and_resumes(smollm2, tmp_path: Path):
    config = needle.Config(lengths=(96, 160), depths=(0.5,), answer_tokens=4, top_heads=3)
    run = ProbeRun(needle.NAME, "smollm2", config, smollm2.info(), "cpu", root=tmp_path)
    verdicts = needle.run(run, smollm2)
    sandwich = verdicts[0]
    assert sandwich.theorem == "C-3.sandwich-measured" and sandwich.verdict == "consistent", sandwich.text
    assert sandwich.numbers["inside"] == sandwich.numbers["met"] == sandwich.numbers["total"] > 0
    lines = (run.dir / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert (run.dir / "accuracy_heatmap.png").exists() and (run.dir / "margin_vs_lnN.png").exists()
    # Interrupted and started again: nothing is redone.
    rerun = ProbeRun(needle.NAME, "smollm2", config, smollm2.info(), "cpu", root=tmp_path)
    assert rerun.pending(needle.keys(config)) == []
    needle.run(rerun, smollm2)
    assert (run.dir / "samples.jsonl").read_text().splitlines() == lines
    record = json.loads(lines[0])
    head = record["heads"]["0"][0]
    # the stored margins put the measured weight inside C-3's sandwich, read through proofs/
    holds = load_statement("C-3.sandwich-measured").evaluate(
        N=head["N"], Dmax=head["dmax"], Dmean=head["dmean"], Dlse=head["dlse"], wm=head["w"])
    assert holds.holds, holds


def test_head_metrics_on_a_constructed_row():
    # 1 head, 1 row, 5 keys: the digit token at position 2 with logit 3, the others 0.
    logits = torch.tensor([[[0.0, 0.0, 3.0, 0.0, 0.0]]])
    (m,) = needle.head_metrics(logits, (2, 3), (1, 4))
    e3 = math.exp(3.0)
    assert m["N"] == 5 and abs(m["w"] - e3 / (e3 + 4)) < 1e-12
    assert abs(m["dmax"] - 3) < 1e-12 and abs(m["dmean"] - 3) < 1e-12 and abs(m["dlse"] - 3) < 1e-12


def test_stats():
    lo, hi = wilson(5, 10)
    assert 0.2 < lo < 0.5 < hi < 0.8
    fit = linear_fit([0, 1, 2, 3], [1, 3, 5, 7])
    assert abs(fit["c1"] - 2) < 1e-12 and abs(fit["c0"] - 1) < 1e-12 and fit["c1_se"] < 1e-9


def test_a_context_longer_than_the_model_reads_gets_a_clear_message(smollm2, tmp_path: Path):
    config = needle.Config(lengths=(16384,), depths=(0.5,))
    run = ProbeRun(needle.NAME, "smollm2", config, smollm2.info(), "cpu", root=tmp_path)
    with pytest.raises(models.ContextTooLong) as err:
        needle.run(run, smollm2)
    assert "at most 8192 tokens" in str(err.value) and "16384" in str(err.value)
