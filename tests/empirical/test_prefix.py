"""Shared-prefix reuse of the KV cache gives what independent forward passes give."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from empirical.attention import forward_rows, greedy_continue  # noqa: E402
from empirical.haystack import passkey_prompt  # noqa: E402
from empirical.prefix import PrefixRunner, order, supported  # noqa: E402


def test_order_puts_each_prefix_before_its_extensions():
    prefixes = [[1, 2, 3], [1, 2], [5], [1, 2, 3, 4], [1, 9]]
    visited = [prefixes[i] for i in order(prefixes)]
    assert visited == [[1, 2], [1, 2, 3], [1, 2, 3, 4], [1, 9], [5]]


def test_prefix_sweep_matches_independent_passes(smollm2):
    assert supported(smollm2.model)
    prompts = [passkey_prompt(smollm2.tokenizer, n, d, seed=3) for n in (96, 160) for d in (0.2, 0.8)]
    # another filler stream in the middle of the sweep forces a crop back to the shared head
    prompts.append(passkey_prompt(smollm2.tokenizer, 128, 0.5, seed=4))
    runner = PrefixRunner(smollm2.model, chunk=64)
    got = {}
    for i in order([p.ids[:p.needle_span[0]] for p in prompts]):
        p = prompts[i]
        got[i] = runner.run(p.ids, p.needle_span[0], [-1, -2], decode=3)
        assert runner.cache.get_seq_length() == p.needle_span[0]      # branch cropped away
    for i, p in enumerate(prompts):
        recorder, out = forward_rows(smollm2.model, torch.tensor([p.ids]), [-1, -2], use_cache=True)
        assert got[i].generated == greedy_continue(smollm2.model, out, 3)
        assert sorted(got[i].recorder.logits) == sorted(recorder.logits)
        for layer, full in recorder.logits.items():
            assert got[i].recorder.logits[layer].shape == full.shape == (full.shape[0], 2, len(p.ids))
            torch.testing.assert_close(got[i].recorder.logits[layer], full, rtol=1e-3, atol=1e-3)
    total = sum(len(p.ids) for p in prompts)
    assert runner.prefill_tokens < total      # the shared parts were computed once


def test_prefix_runner_refuses_rows_outside_the_branch(smollm2):
    p = passkey_prompt(smollm2.tokenizer, 96, 0.5, seed=0)
    runner = PrefixRunner(smollm2.model)
    with pytest.raises(ValueError):
        runner.run(p.ids, p.needle_span[0], [0], decode=1)
    with pytest.raises(ValueError):
        runner.run(p.ids, p.needle_span[0], [-(len(p.ids) - p.needle_span[0]) - 1], decode=1)
    with pytest.raises(ValueError):
        runner.run(p.ids, 0, [-1], decode=1)
