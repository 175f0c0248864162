"""The benchmark's machinery: scaled checks, hard stops, FLOP counting and the target table.

No timing is asserted here (speed is measured by `make bench`, not by tests)."""
from __future__ import annotations

import copy
import time

import pytest

from bench import checker_bench
from bench.report import attention_need, markdown, targets
from checker.api import load_text

SLOW_CLAIM = """theorem C-3.bench "a hard instance" {
  param x : int in [1, inf)
  param y : int in [1, inf)
  param z : int in [1, inf)
  claim x^3 + y^3 != z^3
  check symbolic expect proved
}"""


def test_every_finite_check_of_the_corpus_is_listed_with_its_scaling_binding():
    entries = checker_bench.finite_checks()
    assert len(entries) >= 20
    assert all(e["expect"] in ("verified", "refuted") for e in entries)
    c3 = [e for e in entries if e["theorem"] == "C-3"]
    assert c3 and c3[0]["binding"] == "N"


def test_scaled_source_keeps_one_check_with_the_new_bound():
    entry = next(e for e in checker_bench.finite_checks() if e["theorem"] == "C-3")
    text = checker_bench.scaled_source(entry["source_text"], entry["file"], "C-3", entry["check"], "N", 9000)
    (thm,) = load_text(text)
    assert len(thm.checks) == 1 and thm.checks[0].kind == "finite"
    assert "N in 2..9000" in text and "timeout" not in text.split("check", 1)[1]


def test_an_overrunning_attempt_is_killed_and_reported_as_a_timeout():
    started = time.perf_counter()
    got = checker_bench.run_attempt(SLOW_CLAIM, 0.2)
    assert got["status"] in ("timeout", "unknown")          # never "proved"
    assert time.perf_counter() - started < 30


def test_reach_stops_at_a_wrong_verdict():
    entry = next(e for e in checker_bench.finite_checks() if e["theorem"] == "C-3")
    # expecting "refuted" of a check that verifies: the first attempt already stops the doubling
    got = checker_bench.reach_one({**entry, "expect": "refuted"}, budgets=(1.0, 5.0))
    assert len(got["trail"]) == 1 and got["reach_10s"] is None and got["stopped"].startswith("verified")


def test_diagonal_text_forms_load():
    for witness in (True, False):
        for symbolic in (True, False):
            (thm,) = load_text(checker_bench._diagonal_text(16, witness, symbolic))
            assert thm.checks[0].kind == ("symbolic" if symbolic else "finite")


def test_forward_flops_counts_linear_attention_and_head():
    torch = pytest.importorskip("torch")
    from transformers import LlamaConfig, LlamaForCausalLM

    from bench.model_child import forward_flops
    cfg = LlamaConfig(vocab_size=50, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg)
    head_dim = 16 // 4
    per_layer = 16 * 16 + 2 * (16 * 2 * head_dim) + 16 * 16 + 3 * 16 * 24   # q, k, v, o, gate, up, down
    n = 10
    expected = 2 * n * 2 * per_layer + 2 * 2 * 2 * 4 * head_dim * (n * (n + 1) // 2) + 2 * 50 * 16
    assert forward_flops(model, n) == expected


STATE = {
    "started": "2026-01-01 00:00:00", "environment": {"cores": 2, "threads": 2},
    "sections": {
        "verify": {"make_verify": {"cold": {"seconds": 30.0, "exit": 0}, "warm": {"seconds": 14.0, "exit": 0},
                                   "checks": 109, "theorems": 95, "checks_seconds": 9.0, "per_theorem": {"C-3": 1.0}},
                   "import": {"seconds": 0.3, "runs": [0.3], "torch_imported": False,
                              "interpreter_start_seconds": 0.02}},
        "attention": {"cap_bytes": 12 << 30, "machine_bytes": 24 << 30,
                      "plain": {"points": [{"N": 2048, "seconds": 4.0, "peak_bytes": 100 << 20},
                                           {"N": 8192, "seconds": 30.0, "peak_bytes": 400 << 20}]},
                      "probe": {"points": [{"N": 2048, "seconds": 4.2, "peak_bytes": 110 << 20},
                                           {"N": 8192, "seconds": 33.0, "peak_bytes": 450 << 20}],
                                "agreement_max_abs": 1e-6, "agreement_N": 512},
                      "eager": {"points": [{"N": 2048, "seconds": 9.0, "peak_bytes": 5 << 30},
                                           {"N": 8192, "oom": True, "error": "can't allocate"}]}},
        "sweep": {"supported": True, "cells": 15, "lengths": [512], "depths": [0.5], "decode_tokens": 8,
                  "independent_seconds": 60.0, "shared_seconds": 50.0, "independent_peak_bytes": 1,
                  "shared_peak_bytes": 1, "independent_tokens": 1000, "shared_tokens": 700,
                  "flops_independent": 100e9, "flops_shared": 80e9, "same_answers": 15, "max_abs_logit_diff": 1e-5},
        "flops": {"matmul_rate": 100e9, "matmul_size": 2048, "threads": 2,
                  "points": [{"N": 512, "seconds": 1.0, "flops": 40e9, "rate": 40e9, "share_of_matmul": 0.4}]},
    }}


def test_targets_are_judged_from_the_measurements():
    rows = {r["what"]: r for r in targets(STATE)}
    assert rows["warm `make verify`, whole corpus"]["met"] is True
    memory = next(r for w, r in rows.items() if w.startswith("peak memory"))
    assert memory["met"] is True and memory["measured"].startswith("46.5x")
    assert next(r for w, r in rows.items() if w.startswith("N = 8192"))["met"] is True
    assert next(r for w, r in rows.items() if w.startswith("time, probe"))["met"] is True      # 1.1x
    sweep = next(r for w, r in rows.items() if w.startswith("depth x length"))
    assert sweep["met"] is False and "short by 0.30x" in sweep["why"]
    text, missed = markdown(STATE)
    assert [m["what"] for m in missed] == [sweep["what"]]
    assert "Missed:" in text and "| 8192 |" in text and "OOM" in text


def test_a_slow_warm_verify_and_a_slow_probe_are_missed_targets():
    state = copy.deepcopy(STATE)
    state["sections"]["verify"]["make_verify"]["warm"]["seconds"] = 25.0
    state["sections"]["attention"]["probe"]["points"][1]["seconds"] = 60.0
    _, missed = markdown(state)
    whys = {m["what"]: m["why"] for m in missed}
    assert "over by 5.0 s" in whys["warm `make verify`, whole corpus"]
    assert "over by 0.50x" in whys["time, probe / plain forward pass, N = 8192"]


def test_attention_need_of_smollm2_at_8192_is_about_72_gb():
    assert attention_need(8192) == 30 * 9 * 8192 * 8192 * 4


def test_a_check_with_fixed_values_scales_its_first_integer_value():
    entry = next(e for e in checker_bench.finite_checks() if e["theorem"] == "C-1.far-pairs")
    assert entry["binding"] == "L"
    text = checker_bench.scaled_source(entry["source_text"], entry["file"], entry["theorem"], entry["check"], "L", 4096)
    (thm,) = load_text(text)
    assert "L = 4096" in text and len(thm.checks) == 1
