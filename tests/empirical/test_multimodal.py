"""E-M: the generated two-modality data, the small model, its measurements and the probe.

Every model here is really trained (tiny, on one thread); nothing stands in for it.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from empirical.framework import ConfigMismatch, ProbeRun  # noqa: E402
from empirical.multimodal import data as D  # noqa: E402
from empirical.multimodal.model import ModelSpec, TwoModalityLM, answer_nll, loss_split, modality_dominance, text_loss  # noqa: E402
from empirical.multimodal.train import TrainSpec, dominance, train  # noqa: E402
from empirical.probes import multimodal as probe  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


TINY = probe.Config(sizes=((8, 1, 2), (12, 1, 2), (16, 1, 2)), steps=24, batch=32, data_model=(8, 1, 2),
                    data_sizes=(64, 128, 256), mix_model=(8, 1, 2), text_fractions=(0.25, 0.5, 0.75),
                    extra_fractions=(0.25, 0.5, 0.75), entities=16, eval_samples=256, checkpoints=2, seeds=(0,))


# ---------------------------------------------------------------- data

def test_generator_is_deterministic():
    spec = D.DataSpec()
    a, b, c = D.generate(200, spec, 5), D.generate(200, spec, 5), D.generate(200, spec, 6)
    for field in ("patches", "tokens", "question", "canonical", "objects"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.tokens, c.tokens) and not np.array_equal(a.patches, c.patches)
    assert a.patches.shape == (200, 9, 75) and a.tokens.shape == (200, D.TEXT_LEN)


def test_every_answer_is_computable_from_the_image():
    spec = D.DataSpec(noise=0.05, max_objects=4)
    batch, vocab = D.generate(400, spec, 11), D.Vocab(spec)
    assert 0.35 < batch.vision.mean() < 0.65 and set(np.unique(batch.question)) == {0, 1, 2, 3}
    for i in range(len(batch)):
        scene = D.read_scene(batch.patches[i])
        objects = {tuple(o) for o in batch.objects[i].tolist() if o[0] >= 0}
        assert set(scene) == objects                      # the pixels show exactly the objects
        assert D.answer_from_scene(scene, batch.tokens[i], vocab, spec) == batch.tokens[i, D.ANSWER_INDEX]
        words = vocab.decode(batch.tokens[i])
        assert words[0] == "<bos>" and words[3] == "?" and words[5] == "<eos>"
    # the image of one sample does not answer another sample's question in general
    wrong = sum(D.answer_from_scene(D.read_scene(batch.patches[i]), batch.tokens[i + 1], vocab, spec)
                != batch.tokens[i + 1, D.ANSWER_INDEX]
                for i in range(len(batch) - 1) if batch.vision[i + 1]
                and _answerable(D.read_scene(batch.patches[i]), batch.tokens[i + 1], vocab, spec))
    assert wrong > 20


def _answerable(scene, tokens, vocab, spec):
    try:
        D.answer_from_scene(scene, tokens, vocab, spec)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("rate", [0.0, 0.5, 0.9])
def test_cooccurrence_rate_is_what_was_asked(rate):
    batch = D.generate(3000, D.DataSpec(cooccur=rate, text_fraction=0.3), 3)
    objects = batch.objects[batch.objects[:, :, 0] >= 0]
    observed = float((objects[:, 0] == objects[:, 1]).mean())
    se = math.sqrt(max(rate * (1 - rate), 1e-12) / len(objects))
    assert abs(observed - rate) < 4 * se + 1e-12, (observed, rate)
    assert abs(batch.canonical[batch.vision].mean() - rate) < 0.05
    assert abs((~batch.vision).mean() - 0.3) < 0.03
    for scene in batch.objects:                              # colours stay distinct in a scene
        colours = [c for s, c, _ in scene.tolist() if s >= 0]
        assert len(set(colours)) == len(colours)


def test_text_answers_need_no_image_and_visual_ones_do():
    spec = D.DataSpec(entities=16, cooccur=0.5)
    vocab = D.Vocab(spec)
    nll = D.text_only_nll(D.generate(6000, spec, 1), test := D.generate(1000, spec, 2), vocab)
    assert nll[~test.vision].mean() < 0.1                   # facts: the text determines them
    assert nll[test.vision].mean() > 1.0                    # the image-blind prior leaves > 1 nat
    colour_q = test.question == 0                            # the prior helps on canonical objects
    assert nll[colour_q & test.canonical].mean() < nll[colour_q & ~test.canonical].mean() - 1.0


# ---------------------------------------------------------------- model and measurements

def test_forward_shapes_and_attention():
    spec = D.DataSpec()
    batch = D.generate(5, spec, 0)
    torch.manual_seed(0)
    model = TwoModalityLM(ModelSpec(d=16, layers=2, heads=4), len(D.Vocab(spec)), spec.patch_dim, spec.patches,
                          D.TEXT_LEN)
    patches, tokens = torch.from_numpy(batch.patches), torch.from_numpy(batch.tokens)
    with torch.no_grad():
        logits, attention = model(patches, tokens, want_attention=True)
        fast, none = model(patches, tokens)                 # the SDPA path
        other, _ = model(patches.flip(0), tokens)
    assert logits.shape == (5, D.TEXT_LEN, len(D.Vocab(spec)))
    assert len(attention) == 2 and attention[0].shape == (5, 4, 15, 15)
    assert torch.allclose(attention[1].sum(-1), torch.ones(5, 4, 15), atol=1e-5)
    assert float(attention[0].triu(1).abs().max()) == 0.0   # causal
    assert none is None and torch.allclose(fast, logits, atol=1e-5)
    # the image reaches the text: changing the pixels changes the answer logits
    assert not torch.allclose(other[:, 3], logits[:, 3])
    assert text_loss(logits, tokens).ndim == 0


def test_loss_split_sums_to_the_combined_loss():
    nll = torch.tensor([1.0, 2.0, 3.0, 6.0, 0.5])
    vision = torch.tensor([True, True, False, True, False])
    s = loss_split(nll, vision)
    assert s["vision"] == pytest.approx(3.0) and s["text"] == pytest.approx(1.75)
    assert s["combined"] == pytest.approx(12.5 / 5)
    assert s["combined"] == pytest.approx((3 * s["vision"] + 2 * s["text"]) / 5)
    spec = D.DataSpec()
    batch = D.generate(64, spec, 4)
    model = TwoModalityLM(ModelSpec(d=8, layers=1, heads=2), len(D.Vocab(spec)), spec.patch_dim, spec.patches,
                          D.TEXT_LEN)
    tokens = torch.from_numpy(batch.tokens)
    with torch.no_grad():
        nll = answer_nll(model(torch.from_numpy(batch.patches), tokens)[0], tokens, D.ANSWER_INDEX)
    s = loss_split(nll, torch.from_numpy(batch.vision))
    f_v = s["n_vision"] / 64
    assert s["combined"] == pytest.approx(f_v * s["vision"] + (1 - f_v) * s["text"], rel=1e-6)
    assert s["n_vision"] + s["n_text"] == 64


def test_mdi_on_a_hand_made_attention_tensor():
    text_keys = torch.tensor([False, False, True, True, True])       # 2 image keys, 3 text keys
    rows = torch.tensor([[0.1, 0.3, 0.2, 0.2, 0.2],                   # equal per token: MDI 1
                         [0.05, 0.05, 0.3, 0.3, 0.3]])                # (0.9/3)/(0.1/2) = 6
    assert modality_dominance(rows[:1], text_keys)["mdi"] == pytest.approx(1.0)
    assert modality_dominance(rows[1:], text_keys)["mdi"] == pytest.approx(6.0)
    # pooled over rows: text mass 0.75, image mass 0.25 -> (0.75/3)/(0.25/2) = 2
    assert modality_dominance(rows, text_keys)["mdi"] == pytest.approx(2.0)
    # a full attention tensor: 2 patches + 6 text positions, the answer-predicting query at 2 + 3
    patches, n, heads = 2, 4, 2
    probs = torch.zeros(n, heads, 8, 8)
    probs[:, :, 5, :6] = torch.tensor([0.1, 0.1, 0.2, 0.2, 0.2, 0.2])  # text 0.8 over 4, image 0.2 over 2
    (layer,) = dominance([probs], torch.ones(n, dtype=torch.bool), patches)
    assert layer["mdi"] == pytest.approx((0.8 / 4) / (0.2 / 2))
    assert layer["lo"] == pytest.approx(2.0) and layer["hi"] == pytest.approx(2.0)
    assert layer["text_share"] == pytest.approx(0.8) and layer["token_share"] == pytest.approx(4 / 6)


def test_a_trained_tiny_model_uses_the_image():
    spec = D.DataSpec(entities=16, text_fraction=0.2, min_objects=2, max_objects=2, cooccur=0.0, noise=0.05)
    held_out = D.generate(512, spec, [0, 99])
    result = train(TrainSpec(model=ModelSpec(d=32, layers=2, heads=2), data=spec, steps=200, lr=0.01,
                             checkpoints=2), held_out)
    vision = result["final"]["vision"]
    blind = D.text_only_nll(D.generate(8000, spec, 5), held_out, D.Vocab(spec))[held_out.vision].mean()
    assert vision < blind - 0.1                               # below the best image-blind loss
    assert result["image_blanked"]["vision"] > vision + 0.3   # blanking the image hurts
    assert result["checkpoints"][-1]["combined"] < result["checkpoints"][0]["combined"] + 1e-9
    g = result["held_out_grads"]
    assert len(g) == 8 and all(x["visual"] > 0 and x["text"] > 0 for x in g)
    assert all(0 < r["lo"] <= r["mdi"] <= r["hi"] for r in result["final"]["mdi_vision"])
    assert result["params"] == result["visual_params"] + result["text_params"] + sum(
        p.numel() for name, p in TwoModalityLM(ModelSpec(d=32, layers=2, heads=2), len(D.Vocab(spec)),
                                               spec.patch_dim, spec.patches, D.TEXT_LEN).named_parameters()
        if not name.startswith(("patch_proj", "img_pos", "tok_emb", "txt_pos")))


# ---------------------------------------------------------------- fits and verdicts

def _points(xs, lv, lt, f_v=0.5):
    return [{"x": x, "vision": v, "text": t, "combined": f_v * v + (1 - f_v) * t,
             "n_vision": round(1000 * f_v), "n_text": round(1000 * (1 - f_v))} for x, v, t in zip(xs, lv, lt)]


def test_the_exponent_fit_recovers_a_known_exponent():
    xs = [1e3, 3e3, 1e4, 3e4, 1e5]
    exact = probe.fit_power(xs, [4.0 * x ** -0.35 for x in xs])
    assert exact["alpha"] == pytest.approx(0.35) and exact["se"] < 1e-9 and exact["r2"] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    noisy = probe.fit_power(xs, [4.0 * x ** -0.35 * math.exp(rng.normal(0, 0.03)) for x in xs])
    assert abs(noisy["alpha"] - 0.35) < 3 * noisy["se"] and 0 < noisy["se"] < 0.05


def test_fractured_scaling_verdicts_on_synthetic_losses():
    xs = [1e3, 3e3, 1e4, 3e4, 1e5]
    lv = [5 * x ** -0.15 for x in xs]           # the slower modality
    lt = [60 * x ** -0.6 for x in xs]
    sc = probe.scaling(_points(xs, lv, lt))
    fv, ft, fc = (sc["fits"][m]["alpha"] for m in ("vision", "text", "combined"))
    assert fv == pytest.approx(0.15) and ft == pytest.approx(0.6) and fv < fc < ft
    assert sc["segments_inside"] == len(sc["segments"]) == 4
    assert sc["slow"] == "vision" and sc["slow_share"][-1] > sc["slow_share"][0]
    locals_ = [s["combined"] for s in sc["segments"]]
    assert locals_ == sorted(locals_, reverse=True)             # tends to the smaller exponent
    baseline = {"vision": 2.0, "text": 2.0}
    assert probe.scaling_verdict("m", sc, "parameters", baseline).verdict == "consistent"
    same = probe.scaling(_points(xs, lv, [3 * x ** -0.15 for x in xs]))
    # equal exponents are shown equal within the stated margin (an equivalence test): M-1 holds trivially
    assert probe.scaling_verdict("m", same, "parameters", baseline).verdict == "consistent"
    flat = probe.scaling(_points(xs, [2.0, 2.1, 1.9, 2.05, 2.0], lt))
    v = probe.scaling_verdict("m", flat, "parameters", baseline)
    assert v.verdict == "inconclusive" and "not determined" in v.text
    assert probe.scaling_verdict("m", probe.scaling(_points(xs[:2], lv[:2], lt[:2])), "data",
                                 baseline).verdict == "inconclusive"


def test_inverse_scaling_verdict():
    rising = _points([1e3, 2e3, 4e3, 8e3], [1.0, 1.2, 1.45, 1.7], [2.0, 1.5, 1.1, 0.8])
    assert probe.inverse_verdict("m", probe.inverse(rising), "fixed compute").verdict == "consistent"
    falling = _points([1e3, 2e3, 4e3, 8e3], [1.7, 1.45, 1.2, 1.0], [2.0, 1.5, 1.1, 0.8])
    v = probe.inverse_verdict("m", probe.inverse(falling), "fixed image data")
    assert v.verdict == "inconclusive" and "positive transfer" in v.text


# ---------------------------------------------------------------- the probe: resume and CLI

def test_every_key_of_both_presets_names_one_training():
    for full in (False, True):
        config = probe.Config.preset(full)
        keys = probe.keys(config)
        assert len(keys) == len(set(keys)) == len(config.seeds) * (
            len(config.sizes) + len(config.data_sizes) + len(config.text_fractions) + len(config.extra_fractions))
        specs = [probe.train_spec(k, config) for k in keys]
        extra = [s for k, s in zip(keys, specs) if k.startswith("extra")]
        images = {round(s.steps * s.batch * (1 - s.data.text_fraction), -2) for s in extra}
        assert len(images) == 1                                  # the same image data at every point
        assert all(s.train_samples > 0 for k, s in zip(keys, specs) if k.startswith("data"))
    assert len(probe.keys(probe.Config.preset(False))) == 34          # 17 trainings x 2 seeds


def _without_timings(data):
    """`data` with every timing field (a key naming seconds) removed, at any depth."""
    if isinstance(data, dict):
        return {k: _without_timings(v) for k, v in data.items() if "seconds" not in k}
    if isinstance(data, list):
        return [_without_timings(v) for v in data]
    return data


def _keys(data):
    if isinstance(data, dict):
        for k, v in data.items():
            yield k
            yield from _keys(v)
    elif isinstance(data, list):
        for v in data:
            yield from _keys(v)


def test_probe_resumes_and_skips_finished_trainings(tmp_path, monkeypatch):
    monkeypatch.setattr(probe, "BASELINE_SAMPLES", 2000)
    recorded = []

    class Counting(ProbeRun):
        def record(self, key, data, timing=None):
            recorded.append(key)
            super().record(key, data, timing)

    keys = probe.keys(TINY)
    first = Counting(probe.NAME, probe.LABEL, TINY, probe.model_info("cpu"), "cpu", root=tmp_path)
    verdicts = probe.run(first, None)
    assert recorded == keys and len(set(keys)) == len(keys) == 12
    assert {v.theorem for v in verdicts} == {"M-1", "M-1.inverse", "M-2"} and len(verdicts) >= 6
    for v in verdicts:
        json.dumps(v.to_json(), allow_nan=False)
    assert (first.dir / "scaling.png").exists() and (first.dir / "dominance.png").exists()
    # drop the last two trainings: a resumed run trains exactly those, and the rest stay
    samples = first.dir / "samples.jsonl"
    lines = samples.read_text().splitlines()
    samples.write_text("\n".join(lines[:-2]) + "\n")
    recorded.clear()
    again = Counting(probe.NAME, probe.LABEL, TINY, probe.model_info("cpu"), "cpu", root=tmp_path)
    assert again.pending(keys) == keys[-2:]
    second = probe.run(again, None)
    assert recorded == keys[-2:]
    strip = lambda text: [{k: v for k, v in json.loads(line).items() if k != "seconds"}  # noqa: E731
                          for line in text]
    assert strip(samples.read_text().splitlines()) == strip(lines)   # deterministic retraining
    # Verdicts carry wall-clock training time, which differs between runs (more so on a loaded
    # machine); everything else must be the same after resuming.
    dump = lambda vs: json.dumps([_without_timings(v.to_json()) for v in vs], sort_keys=True)  # noqa: E731
    assert dump(second) == dump(verdicts)
    assert all("seconds" not in key for key in _keys(json.loads(dump(second))))
    with pytest.raises(ConfigMismatch):
        ProbeRun(probe.NAME, probe.LABEL, probe.Config(steps=25), {}, "cpu", root=tmp_path)


def test_crosscheck_runs_the_probe_once_without_a_pretrained_model(tmp_path, monkeypatch):
    from empirical import cli

    def no_pretrained(*args, **kwargs):
        raise AssertionError("the multimodal probe must not load a pretrained model")

    monkeypatch.setattr(cli, "load", no_pretrained)
    monkeypatch.setattr(probe, "BASELINE_SAMPLES", 2000)
    monkeypatch.setattr(probe.Config, "preset", classmethod(lambda cls, full: TINY))
    other = tmp_path / "temperature" / "smollm2"                   # another probe's earlier result
    other.mkdir(parents=True)
    (other / "summary.json").write_text(json.dumps({"verdicts": [
        {"probe": "temperature", "model": "smollm2", "theorem": "H-8", "verdict": "inconclusive",
         "text": "kept", "numbers": {}}]}))
    assert cli.main(["crosscheck", "--probes", "multimodal", "--out", str(tmp_path), "--device", "cpu"]) == 0
    summary = json.loads((tmp_path / "multimodal" / "trained-here" / "summary.json").read_text())
    assert summary["model"]["model"] == "trained-here" and len(summary["verdicts"]) == 6
    report = json.loads((tmp_path / "crosscheck.json").read_text())
    assert {v["probe"] for v in report["verdicts"]} == {"multimodal", "temperature"}
    assert "| M-2 | multimodal | trained-here |" in (tmp_path / "CROSSCHECK.md").read_text()


def test_cuda_asked_without_a_gpu_is_a_clear_error(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    from empirical import cli
    assert cli.main(["crosscheck", "--probes", "multimodal", "--out", str(tmp_path), "--device", "cuda"]) == 2
    assert "no GPU" in capsys.readouterr().err
    assert not (tmp_path / "multimodal").exists()
