"""Model measurements, each run in a child process of its own so its memory is its own.

    python -m bench.model_child attention MODE LENGTHS   (MODE: plain | probe | eager)
    python -m bench.model_child sweep LENGTHS DEPTHS
    python -m bench.model_child flops LENGTHS

Options (environment): BENCH_MODEL (default smollm2), BENCH_DEVICE (cpu), BENCH_THREADS,
BENCH_CAP_BYTES (address-space room granted above what the loaded model uses; an allocation
beyond it fails as out of memory instead of driving the machine into swap or the OOM killer).
Prints one JSON object on stdout.

Peak memory is the high-water mark of the resident set (VmHWM, reset through
/proc/self/clear_refs before each pass) minus the resident set before the pass: what the
pass itself needed, the weights excluded. On CUDA it is torch's peak allocated memory.
"""
from __future__ import annotations

import gc
import json
import os
import re
import resource
import statistics
import sys
import time


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        return int(re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M).group(1)) * 1024


def _reset_peak() -> None:
    gc.collect()
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)        # hand freed heap pages back first
    except OSError:
        pass
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                                   # resets VmHWM to the current VmRSS


class Meter:
    """Wall time and peak extra memory of one block."""

    def __init__(self, device: str):
        self.device = device

    def __enter__(self):
        import torch
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            _reset_peak()
            self.base = _status("VmRSS")
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        import torch
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated() - self.base
        else:
            self.peak = _status("VmHWM") - self.base
        self.seconds = time.perf_counter() - self.start
        return False


def _setup():
    import torch
    threads = int(os.environ.get("BENCH_THREADS", "0")) or os.cpu_count() or 1
    torch.set_num_threads(threads)
    from empirical.models import load
    loaded = load(os.environ.get("BENCH_MODEL", "smollm2"), os.environ.get("BENCH_DEVICE", "cpu"))
    cap = int(os.environ.get("BENCH_CAP_BYTES", "0"))
    if cap and not loaded.device.startswith("cuda"):
        room = _status("VmSize") + cap
        resource.setrlimit(resource.RLIMIT_AS, (room, room))
    return loaded, threads


def _ids(loaded, length: int):
    import torch

    from empirical.haystack import passkey_prompt
    return torch.tensor([passkey_prompt(loaded.tokenizer, length, 0.5, seed=0).ids], device=loaded.device)


def _is_oom(err: BaseException) -> bool:
    text = str(err).lower()
    return isinstance(err, MemoryError) or "allocate" in text or "out of memory" in text


def _pass(loaded, mode: str, ids):
    """One forward pass of the given kind; returns the last row's attention weights per layer
    (None for a plain pass)."""
    import torch

    from empirical.attention import forward_rows
    model = loaded.model
    with torch.inference_mode():
        if mode == "plain":
            model(input_ids=ids, logits_to_keep=1, use_cache=False)
            return None
        if mode == "probe":
            recorder, _ = forward_rows(model, ids, [-1])
            return [recorder.weights(layer)[:, 0] for layer in sorted(recorder.logits)]
        if mode == "eager":
            previous = model.config._attn_implementation
            model.set_attn_implementation("eager")
            try:
                out = model(input_ids=ids, logits_to_keep=1, use_cache=False, output_attentions=True)
                rows = [a[0, :, -1].float().cpu() for a in out.attentions]
                del out
                return rows
            finally:
                model.set_attn_implementation(previous)
    raise ValueError(f"unknown mode {mode!r}")


def attention(loaded, mode: str, lengths: list[int]) -> dict:
    out = {"mode": mode, "points": []}
    _pass(loaded, "plain", _ids(loaded, 64))                 # warm-up: kernels, allocator
    for n in lengths:
        # every length is tried, even after a failure: the report rests on a measurement at
        # each length rather than on an inference from a shorter one
        ids = _ids(loaded, n)
        repeats = 3 if n <= 1024 else 1
        times, peaks = [], []
        try:
            for _ in range(repeats):
                with Meter(loaded.device) as m:
                    rows = _pass(loaded, mode, ids)
                del rows
                times.append(m.seconds)
                peaks.append(m.peak)
            out["points"].append({"N": n, "seconds": statistics.median(times), "runs": times,
                                  "peak_bytes": max(peaks)})
        except (RuntimeError, MemoryError) as err:
            if not _is_oom(err):
                raise
            gc.collect()
            out["points"].append({"N": n, "oom": True, "error": str(err).splitlines()[0][:200]})
    if mode == "probe":
        # the probe's rows against the baseline's at a length where both fit
        ids = _ids(loaded, min(lengths))
        a, b = _pass(loaded, "probe", ids), _pass(loaded, "eager", ids)
        out["agreement_max_abs"] = max(float((x - y).abs().max()) for x, y in zip(a, b))
        out["agreement_N"] = min(lengths)
    return out


def sweep(loaded, lengths: list[int], depths: list[float], decode: int = 8) -> dict:
    """The needle probe's depth x length grid, by independent passes and by prefix reuse."""
    import torch

    from empirical.attention import forward_rows, greedy_continue
    from empirical.haystack import passkey_prompt
    from empirical.prefix import PrefixRunner, order, supported
    prompts = [passkey_prompt(loaded.tokenizer, n, d, seed=0) for n in lengths for d in depths]
    model = loaded.model
    _pass(loaded, "plain", _ids(loaded, 64))
    with Meter(loaded.device) as m:
        independent = []
        for p in prompts:
            recorder, out = forward_rows(model, torch.tensor([p.ids], device=loaded.device), [-1], use_cache=True)
            independent.append((recorder, greedy_continue(model, out, decode)))
            del out
    t_independent, peak_independent = m.seconds, m.peak
    if not supported(model):
        return {"supported": False, "independent_seconds": t_independent}
    with Meter(loaded.device) as m:
        runner = PrefixRunner(model)
        shared = {}
        for i in order([p.ids[:p.needle_span[0]] for p in prompts]):
            p = prompts[i]
            shared[i] = runner.run(p.ids, p.needle_span[0], [-1], decode)
        prefill = runner.prefill_tokens
        del runner
    same_answers = sum(independent[i][1] == shared[i].generated for i in range(len(prompts)))
    diff = max(float((independent[i][0].logits[layer] - shared[i].recorder.logits[layer]).abs().max())
               for i in range(len(prompts)) for layer in independent[i][0].logits)
    # The work each way, counted as `forward_flops` counts it: the shared run computes the
    # longest prefix once (every prompt here is cut from one filler stream) and each branch;
    # the greedy answer tokens cost the same either way.
    def decode_flops(n: int) -> int:
        return sum(forward_flops(model, n + i + 1) - forward_flops(model, n + i) for i in range(decode))
    longest = max(p.needle_span[0] for p in prompts)
    flops_independent = sum(forward_flops(model, len(p.ids)) + decode_flops(len(p.ids)) for p in prompts)
    flops_shared = forward_flops(model, longest) + sum(
        forward_flops(model, len(p.ids)) - forward_flops(model, p.needle_span[0]) + decode_flops(len(p.ids))
        for p in prompts)
    return {"supported": True, "cells": len(prompts), "lengths": lengths, "depths": depths,
            "flops_independent": flops_independent, "flops_shared": flops_shared,
            "shared_prefill_matches_count": prefill == longest + sum(len(p.ids) - p.needle_span[0] for p in prompts),
            "decode_tokens": decode,
            "independent_seconds": t_independent, "shared_seconds": m.seconds,
            "independent_peak_bytes": peak_independent, "shared_peak_bytes": m.peak,
            "independent_tokens": sum(len(p.ids) for p in prompts), "shared_tokens": prefill,
            "same_answers": same_answers, "max_abs_logit_diff": diff}


def forward_flops(model, n: int) -> int:
    """Floating-point operations of one forward pass over n tokens that keeps one row of logits:
    2 per multiply-add of every linear layer in the decoder blocks, the causal attention
    products (QK^T and AV over the n(n+1)/2 visible pairs) and the one row of the output head."""
    import torch
    cfg = model.config
    linear = sum(mod.weight.numel() for layer in model.model.layers for mod in layer.modules()
                 if isinstance(mod, torch.nn.Linear))
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    pairs = n * (n + 1) // 2
    attention = 2 * 2 * cfg.num_hidden_layers * cfg.num_attention_heads * head_dim * pairs
    head = 2 * model.get_output_embeddings().weight.numel()
    return 2 * n * linear + attention + head


def matmul_rate(device: str, size: int = 2048, repeats: int = 7) -> float:
    """The machine's float32 matrix-multiply rate (FLOP/s), best of several runs."""
    import torch
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        torch.matmul(a, b)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best


def flops(loaded, lengths: list[int]) -> dict:
    rate = matmul_rate(loaded.device)
    _pass(loaded, "plain", _ids(loaded, 64))
    points = []
    for n in lengths:
        ids = _ids(loaded, n)
        times = []
        for _ in range(3 if n <= 1024 else 1):
            with Meter(loaded.device) as m:
                _pass(loaded, "plain", ids)
            times.append(m.seconds)
        seconds = statistics.median(times)
        work = forward_flops(loaded.model, n)
        points.append({"N": n, "seconds": seconds, "flops": work, "rate": work / seconds,
                       "share_of_matmul": work / seconds / rate})
    return {"matmul_rate": rate, "matmul_size": 2048, "points": points}


def main(argv: list[str]) -> int:
    loaded, threads = _setup()
    kind = argv[0]
    if kind == "attention":
        result = attention(loaded, argv[1], [int(x) for x in argv[2].split(",")])
    elif kind == "sweep":
        result = sweep(loaded, [int(x) for x in argv[1].split(",")], [float(x) for x in argv[2].split(",")])
    elif kind == "flops":
        result = flops(loaded, [int(x) for x in argv[1].split(",")])
    else:
        raise SystemExit(f"unknown measurement {kind!r}")
    result.update({"threads": threads, "device": loaded.device, "model": loaded.label})
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
