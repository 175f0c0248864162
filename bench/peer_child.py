"""The probe's peers, measured one method at a time in a child process of their own.

    python -m bench.peer_child TOOL METHOD LENGTHS ROWS_DIR

TOOL METHOD is one of
    probe rows                       (the project's .venv) the probe; saves its rows to ROWS_DIR
    transformer_lens run_with_cache  (build/bench/envs/transformer_lens) every layer's attention
                                     pattern cached (`names_filter`), the last row read from it
    transformer_lens hook            the same bridge, a hook on each layer's pattern keeping the
                                     last row only
    nnsight eager                    (build/bench/envs/nnsight) eager attention, every layer's
                                     weights saved, the last row read from them
    nnsight qk                       the model's own (SDPA) attention; the last query and every key
                                     of each layer saved (before rotary), the row computed from them

Every method gives what the probe gives: the last query's attention weights in every layer and
head. The model is SmolLM2 loaded through `empirical.models.load` in each environment (the same
weights). Time and peak memory are measured as bench/model_child.py measures the probe (its
`Meter`: resident-set high-water mark during the pass minus the resident set before it, the
weights excluded), 3 passes up to 1024 tokens and 1 beyond, after a warm-up pass. A method whose
estimated need exceeds the room it is given (BENCH_CAP_BYTES of address space beyond the set-up
model, enforced with RLIMIT_AS) is not run at that length and says why; one that runs out of
memory all the same is reported as such. Each peer's rows are compared with the probe's rows
saved in ROWS_DIR for the same prompt (largest absolute difference over every layer and head).
Prints one JSON object on stdout.
"""
from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import sys
from pathlib import Path

from .model_child import Meter, _ids, _is_oom, _pass, _status

METHODS = {"probe": ("rows",), "transformer_lens": ("run_with_cache", "hook"), "nnsight": ("eager", "qk")}
FLOAT = 4


def need_bytes(method: str, n: int, layers: int = 30, heads: int = 9) -> int:
    """A rough estimate of the memory one pass needs beyond the weights, for the decision to run.

    Methods that keep every layer's map hold layers x heads x n^2 floats, plus the few maps
    eager attention has alive at once in the layer being computed (scores, weights, copies:
    4 counted); the per-layer methods only the latter; the probe and `qk` are linear in n."""
    one_map = heads * n * n * FLOAT
    if method in ("run_with_cache", "eager"):
        return layers * one_map + 4 * one_map
    if method == "hook":
        return 4 * one_map
    return 0


class Peer:
    """A method: `setup(loaded)` once, then `rows(ids)` -> [per-layer (heads, keys) weights]."""

    def setup(self, loaded) -> None:
        self.loaded = loaded

    def rows(self, ids) -> list:
        raise NotImplementedError

    def versions(self) -> dict:
        from importlib.metadata import version
        return {p: version(p) for p in ("torch", "transformers")}


class Probe(Peer):
    def rows(self, ids) -> list:
        return _pass(self.loaded, "probe", ids)


class TransformerLens(Peer):
    """TransformerLens 4 (TransformerBridge: `HookedTransformer` was removed in 4.0) around the
    already loaded Hugging Face model: no hub access, the same weights; the bridge switches the
    model to eager attention so that its hooks see the patterns."""

    def __init__(self, method: str):
        self.method = method

    def setup(self, loaded) -> None:
        super().setup(loaded)
        from transformer_lens.model_bridge import TransformerBridge
        self.bridge = TransformerBridge.boot_transformers(
            "HuggingFaceTB/SmolLM2-135M-Instruct", hf_model=loaded.model, tokenizer=loaded.tokenizer,
            device=loaded.device)
        self.layers = loaded.model.config.num_hidden_layers

    def rows(self, ids) -> list:
        import torch
        is_pattern = lambda name: name.endswith("attn.hook_pattern")
        with torch.inference_mode():
            if self.method == "run_with_cache":
                # logits_to_keep=1 (passed on to the model) spares the full logits, as the probe does
                _, cache = self.bridge.run_with_cache(ids, names_filter=is_pattern, return_type=None,
                                                      logits_to_keep=1)
                rows = [cache[f"blocks.{layer}.attn.hook_pattern"][0, :, -1].float().cpu()
                        for layer in range(self.layers)]
                del cache
                return rows
            kept: dict[int, object] = {}

            def keep_last_row(pattern, hook):
                kept[hook.layer()] = pattern[0, :, -1].detach().float().cpu().clone()

            self.bridge.run_with_hooks(ids, return_type=None, logits_to_keep=1,
                                       fwd_hooks=[(is_pattern, keep_last_row)])
            return [kept[layer] for layer in range(self.layers)]

    def versions(self) -> dict:
        from importlib.metadata import version
        return {**super().versions(), "transformer-lens": version("transformer-lens")}


class NNsight(Peer):
    """nnsight's TransformersModel (LanguageModel is its deprecated name) around the loaded model."""

    def __init__(self, method: str):
        self.method = method

    def setup(self, loaded) -> None:
        super().setup(loaded)
        from nnsight.modeling.transformers import TransformersModel
        if self.method == "eager":
            loaded.model.set_attn_implementation("eager")      # the weights are only returned by eager
        self.model = TransformersModel(loaded.model, task="text-generation", tokenizer=loaded.tokenizer)
        cfg = loaded.model.config
        self.heads, self.kv_heads = cfg.num_attention_heads, cfg.num_key_value_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads

    def rows(self, ids) -> list:
        import torch
        with torch.inference_mode():
            if self.method == "eager":
                maps = []
                with self.model.trace(ids, logits_to_keep=1, use_cache=False):
                    for layer in self.model.model.layers:
                        maps.append(layer.self_attn.output[1].save())
                rows = [m[0, :, -1].float().cpu() for m in maps]
                del maps
                return rows
            qs, ks = [], []
            with self.model.trace(ids, logits_to_keep=1, use_cache=False):
                cos, sin = self.model.model.rotary_emb.output
                cos, sin = cos.save(), sin.save()
                for layer in self.model.model.layers:
                    qs.append(layer.self_attn.q_proj.output[0, -1].save())
                    ks.append(layer.self_attn.k_proj.output[0].save())
            return [self._row(q, k, cos[0], sin[0]) for q, k in zip(qs, ks)]

    def _row(self, q, k, cos, sin):
        """The last query's weights from its projection and the keys' (before rotary)."""
        import torch
        from transformers.models.llama.modeling_llama import rotate_half
        n, d = k.shape[0], self.head_dim
        q = q.view(self.heads, 1, d)
        k = k.view(n, self.kv_heads, d).transpose(0, 1)                 # (kv_heads, n, d)
        q = q * cos[-1:] + rotate_half(q) * sin[-1:]
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(self.heads // self.kv_heads, dim=0)      # (heads, n, d)
        scores = (q.float() @ k.float().transpose(1, 2))[:, 0] * d ** -0.5   # the last row: every key visible
        return torch.softmax(scores, dim=-1).cpu()

    def versions(self) -> dict:
        from importlib.metadata import version
        return {**super().versions(), "nnsight": version("nnsight")}


def make(tool: str, method: str) -> Peer:
    if method not in METHODS.get(tool, ()):
        raise SystemExit(f"unknown tool/method {tool}/{method}")
    if tool == "probe":
        return Probe()
    return TransformerLens(method) if tool == "transformer_lens" else NNsight(method)


def measure(tool: str, method: str, lengths: list[int], rows_dir: Path) -> dict:
    import torch
    threads = int(os.environ.get("BENCH_THREADS", "0")) or os.cpu_count() or 1
    torch.set_num_threads(threads)
    from empirical.models import load
    loaded = load(os.environ.get("BENCH_MODEL", "smollm2"), os.environ.get("BENCH_DEVICE", "cpu"))
    peer = make(tool, method)
    peer.setup(loaded)
    peer.rows(_ids(loaded, 64))                                     # warm-up: kernels, allocator, tracing
    cap = int(os.environ.get("BENCH_CAP_BYTES", "0"))
    if cap and not loaded.device.startswith("cuda"):
        room = _status("VmSize") + cap
        resource.setrlimit(resource.RLIMIT_AS, (room, room))
    cfg = loaded.model.config
    out: dict = {"tool": tool, "method": method, "points": [], "versions": peer.versions(),
                 "threads": threads, "device": loaded.device, "model": loaded.label,
                 "setup_rss_bytes": _status("VmRSS")}     # interpreter, model, tool and warm-up
    for n in lengths:
        need = need_bytes(method, n, cfg.num_hidden_layers, cfg.num_attention_heads)
        if cap and need > cap:
            out["points"].append({"N": n, "skipped": True, "need_bytes": need,
                                  "why": f"needs about {need / (1 << 30):.1f} GiB, over the "
                                         f"{cap / (1 << 30):.1f} GiB of room"})
            print(f"    {tool}/{method} N={n}: skipped (estimate)", file=sys.stderr)
            continue
        ids = _ids(loaded, n)
        times, peaks, rows = [], [], None
        try:
            for _ in range(3 if n <= 1024 else 1):
                rows = None
                gc.collect()
                with Meter(loaded.device) as m:
                    rows = peer.rows(ids)
                times.append(m.seconds)
                peaks.append(m.peak)
        except (RuntimeError, MemoryError) as err:
            if not _is_oom(err):
                raise
            rows = None
            gc.collect()
            out["points"].append({"N": n, "oom": True, "need_bytes": need, "error": str(err).splitlines()[0][:200]})
            print(f"    {tool}/{method} N={n}: out of memory", file=sys.stderr)
            continue
        point = {"N": n, "seconds": statistics.median(times), "runs": times, "peak_bytes": max(peaks),
                 "need_bytes": need}
        saved = rows_dir / f"probe-{n}.pt"
        if tool == "probe":
            torch.save([r.contiguous() for r in rows], saved)
        elif saved.exists():
            reference = torch.load(saved)
            point["max_abs_diff"] = max(float((a - b).abs().max()) for a, b in zip(reference, rows))
        out["points"].append(point)
        print(f"    {tool}/{method} N={n}: {point['seconds']:.1f} s, {point['peak_bytes'] / (1 << 20):.0f} MiB"
              + (f", row diff {point['max_abs_diff']:.1e}" if "max_abs_diff" in point else ""), file=sys.stderr)
        del rows
    return out


def main(argv: list[str]) -> int:
    tool, method, lengths, rows_dir = argv[0], argv[1], [int(x) for x in argv[2].split(",")], Path(argv[3])
    rows_dir.mkdir(parents=True, exist_ok=True)
    print(json.dumps(measure(tool, method, lengths, rows_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
