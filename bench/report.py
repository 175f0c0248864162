"""bench/RESULTS.md from the saved sections: the targets first, then every measurement."""
from __future__ import annotations

from . import verify_profile

GiB = 1 << 30
MiB = 1 << 20


def _mb(x: float) -> str:
    return f"{x / GiB:.2f} GiB" if x >= GiB else f"{x / MiB:.0f} MiB"


def _point(section: dict, mode: str, n: int) -> dict | None:
    return next((p for p in section.get(mode, {}).get("points", []) if p["N"] == n), None)


def attention_need(n: int, layers: int = 30, heads: int = 9) -> int:
    """Bytes of the float32 attention maps `output_attentions=True` keeps for one pass (SmolLM2)."""
    return layers * heads * n * n * 4


PEER_LABELS = {
    ("probe", "rows"): ("probe", "rows beside SDPA",
                        "the project's probe (`empirical/attention.py`): the model's SDPA pass, and beside it the "
                        "scores of the last query only"),
    ("transformer_lens", "run_with_cache"): ("TransformerLens", "run_with_cache",
                                             "`run_with_cache` with `names_filter` on every layer's `hook_pattern`, "
                                             "the last row read from the cache"),
    ("transformer_lens", "hook"): ("TransformerLens", "hook",
                                   "`run_with_hooks`, a hook on each layer's `hook_pattern` that keeps the last row "
                                   "only"),
    ("nnsight", "eager"): ("nnsight", "eager weights saved",
                           "eager attention, each layer's attention weights (`self_attn.output[1]`) saved, the last "
                           "row read from them"),
    ("nnsight", "qk"): ("nnsight", "q and k saved",
                        "the model's SDPA attention; each layer's last query and every key saved (projections "
                        "before rotary, with the rotary tables), the row computed from them after the pass"),
}


def peers_table(p: dict) -> list[str]:
    """The peers section: one line per tool, method and length, with ratios to the probe's
    pass at the same length in the same run."""
    probe = {q["N"]: q for q in p["probe"]["points"] if "seconds" in q}
    versions: dict[str, str] = {}
    for m in [p["probe"], *p["methods"]]:
        versions.update(m.get("versions", {}))
    out = ["## 3b. Attention rows: the probe against TransformerLens and nnsight", "",
           "Every method returns what the probe returns: the last query's attention weights in every layer and "
           "head of SmolLM2-135M (float32, the passkey prompt of section 3), loaded through `empirical.models` in "
           "each tool's own virtual environment (`build/bench/envs`, pinned in `bench/peers/`), so the weights "
           "are the same. TransformerLens " + versions.get("transformer-lens", "?") + " wraps the loaded model "
           "in its `TransformerBridge` (`HookedTransformer` was removed in 4.0; the bridge runs eager attention "
           "so that its hooks see the patterns); nnsight " + versions.get("nnsight", "?") + " wraps it in "
           "`TransformersModel`. Every pass keeps one row of logits (`logits_to_keep=1`), as the probe does. "
           "Time and peak as in section 3 (the pass's resident-set high-water mark minus the resident set before "
           f"it, weights excluded); each method may use {_mb(p['cap_bytes'])} of address space beyond its set-up "
           "model, and a length whose estimated need exceeds that is not run. *Row difference*: largest absolute "
           "difference between the method's weights and the probe's, over every layer and head."
           + (f" One-minute load average of the machine at the start and the end of this section: "
              f"{p['load_average'][0]:.1f} and {p['load_average'][-1]:.1f} ({p.get('cores', '?')} cores); "
              "a busy machine stretches every time, so the ratios carry that noise."
              if p.get("load_average") else ""), ""]
    for tool, method, what in PEER_LABELS.values():
        out.append(f"- {tool}, *{method}*: {what}.")
    out += ["",
           "| tool | method | N | seconds | peak | time / probe | peak / probe | max abs row difference |",
           "|---|---|---|---|---|---|---|---|"]
    notes = []
    for m in [p["probe"], *p["methods"]]:
        tool, method, _ = PEER_LABELS.get((m["tool"], m["method"]), (m["tool"], m["method"], ""))
        if m.get("error"):
            out.append(f"| {tool} | {method} | - | failed | | | | |")
            notes.append(f"{tool}, {method}: {m['error']}")
            continue
        for q in m["points"]:
            ref = probe.get(q["N"])
            if q.get("skipped") or q.get("oom"):
                cell = "not run" if q.get("skipped") else "OOM"
                out.append(f"| {tool} | {method} | {q['N']} | {cell} | {cell} | | | |")
                notes.append(f"{tool}, {method}, N = {q['N']}: " + (q["why"] if q.get("skipped") else
                             f"out of memory within the room (estimated need {_mb(q['need_bytes'])})"))
                continue
            t_ratio = m_ratio = ""
            if ref:
                t_ratio = f"{q['seconds'] / ref['seconds']:.2f}x"
                m_ratio = f"{q['peak_bytes'] / max(ref['peak_bytes'], 1):.1f}x"
            diff = f"{q['max_abs_diff']:.1e}" if "max_abs_diff" in q else "-"
            out.append(f"| {tool} | {method} | {q['N']} | {q['seconds']:.2f} | {_mb(q['peak_bytes'])} | "
                       f"{t_ratio} | {m_ratio} | {diff} |")
    if notes:
        out += ["", "Not run or failed:"] + [f"- {n}." for n in notes]
    setups = [(PEER_LABELS.get((m["tool"], m["method"]), (m["tool"], m["method"]))[:2], m["setup_rss_bytes"])
              for m in [p["probe"], *p["methods"]] if m.get("setup_rss_bytes")]
    if setups:
        out += ["", "The peaks above leave out what each process holds before its passes: the resident set after "
                "loading the model, setting up the tool and one warm-up pass (the same float32 weights in each):", "",
                "| tool | method | resident set after set-up |", "|---|---|---|"]
        out += [f"| {tool} | {method} | {_mb(rss)} |" for (tool, method), rss in setups]
    out.append("")
    return out


def targets(state: dict) -> list[dict]:
    s = state["sections"]
    rows = []
    if "verify" in s and "cpu_seconds" in s["verify"]["make_verify"]["cold"]:
        rows += verify_profile.targets(s["verify"]["make_verify"])
    elif "verify" in s:  # a run measured before the tree's CPU and memory were (issue 21)
        warm = s["verify"]["make_verify"]["warm"]["seconds"]
        ok = warm < 20 and s["verify"]["make_verify"]["warm"]["exit"] == 0
        rows.append({"what": "warm `make verify`, whole corpus", "target": "< 20 s",
                     "measured": f"{warm:.1f} s (cold {s['verify']['make_verify']['cold']['seconds']:.1f} s)",
                     "met": ok, "why": "" if ok else f"over by {warm - 20:.1f} s ({warm / 20:.2f}x the target)"})
    att = s.get("attention")
    if att:
        probe, eager = _point(att, "probe", 2048), _point(att, "eager", 2048)
        if probe and eager and not eager.get("oom"):
            ratio = eager["peak_bytes"] / max(probe["peak_bytes"], 1)
            rows.append({"what": "peak memory, eager `output_attentions` / probe, N = 2048", "target": ">= 5x",
                         "measured": f"{ratio:.1f}x ({_mb(eager['peak_bytes'])} vs {_mb(probe['peak_bytes'])})",
                         "met": ratio >= 5, "why": "" if ratio >= 5 else f"short by {5 - ratio:.1f}x"})
        elif probe and eager:
            rows.append({"what": "peak memory, eager `output_attentions` / probe, N = 2048", "target": ">= 5x",
                         "measured": f"eager out of memory; probe {_mb(probe['peak_bytes'])}", "met": True, "why": ""})
        p8, e8, plain8 = _point(att, "probe", 8192), _point(att, "eager", 8192), _point(att, "plain", 8192)
        if p8 is not None and e8 is not None:
            works = not p8.get("oom")
            fails = bool(e8.get("oom"))
            rows.append({"what": "N = 8192: probe works, eager baseline does not", "target": "probe runs, eager OOM",
                         "measured": (f"probe {p8['seconds']:.1f} s, {_mb(p8['peak_bytes'])} peak; " if works
                                      else "probe OOM; ")
                         + (f"eager out of memory (its maps alone need {_mb(attention_need(8192))})" if fails
                            else f"eager ran ({_mb(e8['peak_bytes'])})"),
                         "met": works and fails,
                         "why": "" if works and fails else "see the attention table"})
        if p8 and plain8 and not p8.get("oom") and not plain8.get("oom"):
            ratio = p8["seconds"] / plain8["seconds"]
            rows.append({"what": "time, probe / plain forward pass, N = 8192", "target": "<= 1.5x",
                         "measured": f"{ratio:.2f}x ({p8['seconds']:.1f} s vs {plain8['seconds']:.1f} s)",
                         "met": ratio <= 1.5, "why": "" if ratio <= 1.5 else f"over by {ratio - 1.5:.2f}x"})
    sw = s.get("sweep")
    if sw and sw.get("supported"):
        ratio = sw["independent_seconds"] / sw["shared_seconds"]
        token_ratio = sw["independent_tokens"] / sw["shared_tokens"]
        why = ""
        if ratio < 1.5:
            bound = sw["flops_independent"] / sw["flops_shared"] if sw.get("flops_shared") else None
            why = (f"short by {1.5 - ratio:.2f}x. The grid bounds the saving: each prompt still runs "
                   f"everything after its needle, so the tokens run fall {token_ratio:.2f}x"
                   + (f" and the floating-point work only {bound:.2f}x (the tokens after the needle are the "
                      f"late, expensive ones under causal attention; the {sw['decode_tokens']} greedy answer "
                      f"tokens per prompt cost the same either way); the measured {ratio:.2f}x is "
                      f"{ratio / bound:.0%} of that bound, the rest being the short branches' lower matmul "
                      "efficiency" if bound else ""))
        rows.append({"what": f"depth x length sweep ({sw['cells']} prompts), independent / shared prefix",
                     "target": ">= 1.5x", "measured": f"{ratio:.2f}x ({sw['independent_seconds']:.1f} s vs "
                     f"{sw['shared_seconds']:.1f} s; tokens {token_ratio:.2f}x fewer)", "met": ratio >= 1.5,
                     "why": why})
    fl = s.get("flops")
    if fl:
        best = max(fl["points"], key=lambda p: p["share_of_matmul"])
        rows.append({"what": "forward-pass FLOP rate / machine matmul rate", "target": "reported",
                     "measured": f"{best['share_of_matmul']:.0%} at N = {best['N']} "
                     f"({best['rate'] / 1e9:.1f} vs {fl['matmul_rate'] / 1e9:.1f} GFLOP/s)", "met": None, "why": ""})
    return rows


def executor_table(e: dict) -> list[str]:
    """Section 6: `--executor local` against `--executor ray` (bench/executor_child.py)."""
    diff = e.get("largest_difference", {})
    return ["## 6. Executors: one process against Ray workers", "",
            f"The halting probe on SmolLM2, {e['samples']} samples (sizes {', '.join(map(str, e['sizes']))}, "
            f"{e['programs']} programs each). Local: one process, on {e['local_threads']} torch threads and on "
            f"one. Ray: a local instance with {e['workers']} workers of {e['worker_threads']} thread each, every "
            "sample a task (`--executor ray --workers 2`); the driver records. Both with the model loaded already; "
            "Ray's start and the workers' loading are counted apart.", "",
            f"| | local, {e['local_threads']} threads | local, 1 thread | Ray, 2 x 1 thread | "
            f"local {e['local_threads']} threads / Ray | local 1 thread / Ray |", "|---|---|---|---|---|---|",
            f"| sweep, seconds | {e['local_seconds']:.1f} | {e['single_seconds']:.1f} | {e['ray_seconds']:.1f} | "
            f"{e['local_seconds'] / e['ray_seconds']:.2f}x | {e['single_seconds'] / e['ray_seconds']:.2f}x |",
            f"| seconds in samples, summed where they ran | {e['local_sample_seconds']:.1f} | | "
            f"{e['worker_sample_seconds']:.1f} | | |",
            f"| start (Ray) and loading on the workers, seconds | | | {e['ray_start_seconds']:.1f} + "
            f"{e['ray_loading_seconds']:.1f} | | |", "",
            f"Ray's overhead per task: {e['empty_call_seconds'] * 1000:.1f} ms for the round trip of an empty actor "
            f"call; {e['overhead_per_task_seconds']:.2f} s of the workers' time per task outside their samples in "
            "the sweep (the round trip, shipping the record, and a worker idle at the end while the other finishes). "
            "Samples (timing fields left out) against the workers': "
            f"{'identical' if e['identical_single'] else '**not identical**'} to the local run on one thread; "
            + ("identical" if e["identical"] else
               f"not identical on {e['local_threads']} threads (largest difference of a number "
               f"{diff.get('float', float('nan')):.1e}, {diff.get('samples_otherwise_different', '?')} samples "
               "differing otherwise): torch sums in another order on another thread count") + ". "
            f"Load average during the run {e['load_average']:.1f} on {e.get('cores', '?')} cores: the machine is "
            "shared, and a process on 2 threads suffers more from a busy machine than two on one.", ""]


def headline_block(state: dict) -> str:
    """The targets table, for the README's `bench` block (written by `limits bench`)."""
    lines = ["| measurement | target | measured | met |", "|---|---|---|---|"]
    for r in targets(state):
        met = "yes" if r["met"] is True else ("reported" if r["met"] is None else "**no**")
        lines.append(f"| {r['what']} | {r['target']} | {r['measured']} | {met} |")
    env = state.get("environment", {})
    lines += ["", f"Measured by `make bench` on {env.get('cores', '?')} cores ({env.get('device', 'cpu')}); "
                  "every figure is in `bench/RESULTS.md`."]
    return "\n".join(lines) + "\n"


def markdown(state: dict) -> tuple[str, list[dict]]:
    s, env = state["sections"], state.get("environment", {})
    rows = targets(state)
    missed = [r for r in rows if r["met"] is False]
    out = ["# Benchmarks", "",
           f"`make bench` (`python -m bench`), run started {state['started']}"
           + (f" at commit {env['commit']}" if env.get("commit") else "") + ".",
           f"Machine: {env.get('cpu', '?')}, {env.get('cores', '?')} cores, torch threads {env.get('threads', '?')}, "
           f"models on {env.get('device', 'cpu')}; "
           f"Python {env.get('python', '?')}, torch {env.get('torch', '?')}, "
           f"transformers {env.get('transformers', '?')}, "
           f"z3 {env.get('z3', '?')}, cvc5 {env.get('cvc5', '?')}.",
           "The machine is shared, so absolute times move from run to run; each target is a ratio of two "
           "measurements taken in this run, side by side.", ""]
    for r in state.get("redone", []):
        out += [f"The section *{r['section']}* was {'added' if r.get('added') else 'measured again'} on {r['at']} "
                f"(`python -m bench --redo {r['section']}`); every ratio still comes from measurements taken "
                "side by side.", ""]
    if env.get("quick"):
        out += ["**Quick (smoke) run: short lengths only; not the figures the README quotes.**", ""]
    out += ["## Targets", "", "| measurement | target | measured | met |", "|---|---|---|---|"]
    for r in rows:
        met = "n/a" if r["met"] is None else ("yes" if r["met"] else "**no**")
        out.append(f"| {r['what']} | {r['target']} | {r['measured']} | {met} |")
    if missed:
        out += ["", "Missed:"] + [f"- {r['what']}: {r['why']}." for r in missed]
    out.append("")
    if "verify" in s and "cpu_seconds" in s["verify"]["make_verify"]["cold"]:
        v = s["verify"]
        mv, imp = v["make_verify"], v["import"]
        out += ["## 1. Verify", "",
                f"`make verify` over {mv['checks']} checks of {mv['theorems']} theorems (the necessity rows "
                "included), cold (no build folder, no result cache, no bytecode) and then warm; then `make audit` "
                "(the tightness probes, the cvc5 re-check and the catalogue on top) cold and warm:",
                ""] + verify_profile.markdown(mv) + [
                "Importing the checker (`checker.api`, `checker.decide.engine`, `checker.cli`) takes "
                f"{imp['seconds'] * 1000:.0f} ms "
                f"(median of {len(imp['runs'])} fresh interpreters); torch or transformers imported: "
                f"{'**yes**' if imp['torch_imported'] else 'no'}.", ""]
    elif "verify" in s:
        v = s["verify"]
        mv, imp = v["make_verify"], v["import"]
        out += ["## 1. Verify", "",
                f"`make verify` over {mv['checks']} checks of {mv['theorems']} theorems (necessity analysis and "
                f"catalogue included): cold {mv['cold']['seconds']:.1f} s (no build folder, no bytecode), warm "
                f"{mv['warm']['seconds']:.1f} s; exit codes {mv['cold']['exit']} and {mv['warm']['exit']}. "
                "The checks' own "
                f"times add up to {mv['checks_seconds']:.1f} s, spread over one worker process per core; the "
                "necessity and tightness analyses, the cvc5 re-check (from its cache when warm), start-up and "
                "the catalogue make up the rest.", "",
                "Importing the checker (`checker.api`, `checker.engine`, `checker.cli`) takes "
                f"{imp['seconds'] * 1000:.0f} ms "
                f"(median of {len(imp['runs'])} fresh interpreters; the interpreter itself starts in "
                f"{imp['interpreter_start_seconds'] * 1000:.0f} ms); torch or transformers imported: "
                f"{'**yes**' if imp['torch_imported'] else 'no'}.", "",
                "Slowest theorems (seconds of their checks, warm run):", "", "| theorem | s |", "|---|---|"]
        for name, sec in list(mv["per_theorem"].items())[:10]:
            out.append(f"| {name} | {sec:.2f} |")
        out.append("")
    if "reach" in s:
        out += ["## 2. Reach of finite checks", "",
                "Each finite check's first integer range (or, failing one, its first parameter fixed to an "
                "integer) grows from the corpus's bound (x4 while an attempt takes under 0.5 s, x2 after) "
                "while the check is still decided as the corpus expects; the table gives the largest bound "
                "decided within "
                f"1 s and within 10 s (cap {s['reach']['cap']:,}; `>=` means the cap was reached).", "",
                "| check | range | corpus bound | within 1 s | within 10 s | stopped by |", "|---|---|---|---|---|---|"]
        for r in s["reach"]["checks"]:
            name = f"{r['theorem']} #{r['check'] + 1} ({r['file']}:{r['line']})"
            if r["binding"] is None:
                out.append(f"| {name} | - | - | - | - | {r.get('note', '')} |")
                continue
            capped = r.get("stopped") == "cap"
            fmt = (lambda x, capped=capped, top=r['reach_10s']:
                   "-" if x is None else (f">= {x:,}" if capped and x == top else f"{x:,}"))
            out.append(f"| {name} | {r['binding']} | {r['corpus_bound']:,} | {fmt(r['reach_1s'])} | "
                       f"{fmt(r['reach_10s'])} | {r['stopped']} |")
        out.append("")
    if "encodings" in s:
        e = s["encodings"]
        out += ["## 2b. Encodings compared", "",
                "The diagonal argument (H-1) at k = n, m = 2, n doubling up to 16,384, 10 s per attempt:", "",
                "| encoding | largest n within 1 s | within 10 s | last attempt |", "|---|---|---|---|"]
        for name, d in e["diagonal"].items():
            last = d["trail"][-1]
            more = " (cap reached)" if d.get("capped") else ""
            out.append(f"| {name} | {d['reach_1s'] or '-'} | {d['reach_10s'] or '-'}{more} | "
                       f"n = {last['n']}: {last['status']}, {last['seconds']:.2f} s |")
        c = e["crowding"]
        out += ["", "C-3's equivalence (w >= p exactly when Delta >= ln(p (N-1)/(1-p))), 10 s limit:", "",
                f"- exp and ln eliminated (the checker, Z3): {c['eliminated']['status']} in "
                f"{c['eliminated']['seconds']:.2f} s;"]
        for label, d in c["direct_cvc5"].items():
            out.append(f"- direct, exp kept as cvc5's transcendental function, {label}: {d['status']} after "
                       f"{d['seconds']:.1f} s;")
        out += ["- Z3 has no exponential function, so it has no direct encoding to compare.", ""]
    if "attention" in s:
        a = s["attention"]
        out += ["## 3. Attention rows: the probe against eager `output_attentions=True`", "",
                "SmolLM2-135M, float32, one passkey prompt per length. *plain*: the model's SDPA forward pass; "
                "*probe*: the same pass plus the last row's attention in every layer and head "
                "(`empirical/attention.py`); *eager*: Hugging Face eager attention returning every attention map, "
                "as TransformerLens-style caching does. Peak = resident-set high-water mark during the pass minus "
                f"the resident set before it. The eager baseline may use {_mb(a['cap_bytes'])} of address space "
                f"beyond the loaded model (the machine has {_mb(a['machine_bytes'])}).", "",
                "| N | plain s | probe s | eager s | plain peak | probe peak | eager peak | eager maps need |",
                "|---|---|---|---|---|---|---|---|"]
        def oom(mode, n):
            if mode == "eager" and attention_need(n) < a["machine_bytes"]:
                return "OOM (cap)"           # would fit the machine, not the room the baseline was given
            return "OOM"
        for n in sorted({p["N"] for p in a["plain"]["points"]}):
            cells = []
            for mode in ("plain", "probe", "eager"):
                p = _point(a, mode, n)
                cells.append(oom(mode, n) if p is None or p.get("oom") else f"{p['seconds']:.2f}")
            for mode in ("plain", "probe", "eager"):
                p = _point(a, mode, n)
                cells.append(oom(mode, n) if p is None or p.get("oom") else _mb(p["peak_bytes"]))
            out.append(f"| {n} | " + " | ".join(cells) + f" | {_mb(attention_need(n))} |")
        out += ["", "OOM: the eager pass failed to allocate. *(cap)*: its maps alone would fit this machine's "
                "memory but not the room the baseline is given (so the benchmark cannot push the shared "
                "machine into swap); where they need more than the machine has, no cap is involved."]
        if "agreement_max_abs" in a["probe"]:
            out += ["", f"The probe's rows equal the eager maps' last rows to {a['probe']['agreement_max_abs']:.1e} "
                    f"(largest absolute difference of a weight, N = {a['probe']['agreement_N']})."]
        out.append("")
    if "peers" in s:
        out += peers_table(s["peers"])
    if "sweep" in s:
        w = s["sweep"]
        out += ["## 4. Depth x length sweeps with shared-prefix reuse", ""]
        if not w.get("supported"):
            out += ["The model's cache cannot be cropped (sliding-window layers): independent passes only.", ""]
        else:
            out += [f"The needle probe's grid: lengths {', '.join(map(str, w['lengths']))} x depths "
                    f"{', '.join(map(str, w['depths']))} ({w['cells']} prompts), each with {w['decode_tokens']} "
                    "greedy answer tokens. Independent: one full pass per prompt. Shared prefix "
                    "(`empirical/prefix.py`): the haystack before each needle comes from one cache that grows "
                    "along the filler stream and is cropped back after each branch.", "",
                    "| | independent | shared prefix | ratio |", "|---|---|---|---|",
                    f"| seconds | {w['independent_seconds']:.1f} | {w['shared_seconds']:.1f} | "
                    f"{w['independent_seconds'] / w['shared_seconds']:.2f}x |",
                    f"| tokens through the model | {w['independent_tokens']:,} | {w['shared_tokens']:,} | "
                    f"{w['independent_tokens'] / w['shared_tokens']:.2f}x |",
                    f"| floating-point work (GFLOP) | {w['flops_independent'] / 1e9:,.0f} | "
                    f"{w['flops_shared'] / 1e9:,.0f} | {w['flops_independent'] / w['flops_shared']:.2f}x |",
                    f"| peak memory | {_mb(w['independent_peak_bytes'])} | {_mb(w['shared_peak_bytes'])} | |", "",
                    f"Same greedy answers in {w['same_answers']}/{w['cells']} prompts; largest difference of a "
                    f"captured attention logit {w['max_abs_logit_diff']:.1e} (chunked against whole prefill).", ""]
    if "flops" in s:
        f = s["flops"]
        out += ["## 5. Floating-point rate against the machine's matmul rate", "",
                f"Machine: float32 {f['matmul_size']}x{f['matmul_size']} matrix multiply, best of 7: "
                f"{f['matmul_rate'] / 1e9:.1f} GFLOP/s on {f['threads']} threads. Forward-pass FLOPs are counted "
                "as 2 per multiply-add of every linear layer in the decoder blocks, plus the causal attention "
                "products (QK^T and AV over the visible pairs) and one row of the output head.", "",
                "| N | seconds | GFLOP | GFLOP/s | share of matmul rate |", "|---|---|---|---|---|"]
        for p in f["points"]:
            out.append(f"| {p['N']} | {p['seconds']:.2f} | {p['flops'] / 1e9:.1f} | {p['rate'] / 1e9:.1f} | "
                       f"{p['share_of_matmul']:.0%} |")
        out.append("")
    if "executor" in s:
        out += executor_table(s["executor"])
    total = sum(sec.get("section_seconds", 0) for sec in s.values())
    out += [f"Sections took {total / 60:.1f} min in all.", ""]
    return "\n".join(out), missed
