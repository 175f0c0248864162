"""Presets, each probe's power analysis, `limits crosscheck --plan`, and verdicts that carry
their sample: no model is loaded here."""
from __future__ import annotations

import dataclasses
import importlib
import json
import types
from dataclasses import dataclass

import pytest

from checker.statements import statement_hash
from empirical import cli, power
from empirical.figures import crosscheck_block
from empirical.framework import PRESETS, ProbeRun, TimedRun, TimingDone, Verdict, preset_name, preset_root

PROBES = [importlib.import_module(f"empirical.probes.{p}") for p in cli.PROBES]


@pytest.mark.parametrize("probe", PROBES, ids=lambda m: m.NAME)
def test_presets_by_name_and_by_the_old_bool(probe):
    assert probe.Config.preset(False) == probe.Config.preset("cpu") == probe.Config()
    assert probe.Config.preset(True) == probe.Config.preset("full")
    with pytest.raises(ValueError):
        probe.Config.preset("huge")
    # the CPU preset is the committed one: its results folder must still match it
    assert len(probe.keys(probe.Config.preset("standard"))) >= len(probe.keys(probe.Config.preset("cpu")))


@pytest.mark.parametrize("probe", PROBES, ids=lambda m: m.NAME)
def test_every_verdict_has_a_power_analysis_the_standard_preset_meets(probe):
    reqs = probe.plan(probe.Config.preset("standard"))
    assert {r.theorem for r in reqs} == set(probe.THEOREMS)
    for r in reqs:
        assert r.needed >= 1 and r.quantity and r.test and r.effect and r.unit and r.mapping
        json.dumps(r.to_json())
        # the standard preset gives what each analysis asks for, except where it says a GPU is needed
        assert r.met or r.gpu, (probe.NAME, r.theorem, r.label, r.needed, r.planned)
    cpu = probe.plan(probe.Config.preset("cpu"))
    assert [r.theorem for r in cpu] == [r.theorem for r in reqs]
    config = probe.Config.preset("standard")
    if hasattr(probe, "cost"):
        assert all(probe.cost(k, config) > 0 for k in probe.keys(config))


def test_the_cpu_preset_is_short_where_the_issue_said():
    from empirical.probes import needle, retrieval
    short = {r.theorem for r in needle.plan(needle.Config.preset("cpu")) if not r.met}
    assert {"C-3", "C-4"} <= short                       # three prompts per length
    assert not any(r.met for r in retrieval.plan(retrieval.Config.preset("cpu")))   # ten questions


def test_preset_folders():
    assert preset_name(False) == "cpu" and preset_name(True) == "full" and preset_name("standard") == "standard"
    root = cli.RESULTS
    assert preset_root(root, "cpu") == root and preset_root(root, "standard") == root / "standard"
    assert set(PRESETS) == {"cpu", "standard", "full"}


def test_a_verdict_carries_its_sample_and_old_summaries_still_load():
    v = Verdict("p", "m", "C-4", "inconclusive", "t", {}, n=6, unit="prompts per half", quantity="drop",
                interval=[-0.1234567891, 0.7], needed=54)
    data = v.to_json()
    assert data["n"] == 6 and data["interval"] == [-0.123457, 0.7] and data["needed"] == 54
    assert "n = 6 prompts per half" in v.sample_note and "decided at n = 54" in v.sample_note
    old = {k: data[k] for k in ("probe", "model", "theorem", "verdict", "text", "numbers", "statement_sha256")}
    again = Verdict(**old)
    assert again.n is None and again.interval is None and again.sample_note == ""


def _summary(folder, probe, model, verdict, preset=None, **extra):
    folder.mkdir(parents=True, exist_ok=True)
    v = {"probe": probe, "model": model, "theorem": "H-3", "verdict": verdict, "text": f"{verdict} text",
         "numbers": {}, "statement_sha256": statement_hash("H-3"), **extra}
    (folder / "summary.json").write_text(json.dumps({"verdicts": [v]}))


def test_the_report_takes_the_largest_preset_and_shows_n_and_the_interval(tmp_path):
    _summary(tmp_path / "halting" / "smollm2", "halting", "smollm2", "inconclusive")
    _summary(tmp_path / "halting" / "gemma3", "halting", "gemma3", "consistent")
    _summary(tmp_path / "standard" / "halting" / "smollm2", "halting", "smollm2", "consistent",
             n=40, unit="programs per size", quantity="error rate", interval=[0.3, 0.6])
    verdicts = cli.collect_verdicts(tmp_path)
    by = {(v["model"], v["preset"]): v["verdict"] for v in verdicts}
    assert by == {("gemma3", "cpu"): "consistent", ("smollm2", "standard"): "consistent"}
    table = cli.markdown(verdicts, "limits crosscheck --preset standard")
    assert "| H-3 | halting | smollm2 | standard | consistent | 40 programs per size | error rate: [0.3, 0.6] |" \
        in table
    assert "| H-3 | halting | gemma3 | cpu | consistent | - | - |" in table
    block = crosscheck_block({"verdicts": verdicts})
    assert "CPU preset: 1" in block and "standard preset: 1" in block
    # every verdict from the CPU preset reads as before
    assert "(CPU preset)" in crosscheck_block({"verdicts": [{**verdicts[0], "preset": "cpu"}]})


def test_an_inconclusive_verdict_names_the_sample_that_would_decide_it():
    row = {"theorem": "C-1", "probe": "position_loss", "model": "m", "verdict": "inconclusive", "text": "t",
           "n": 24, "unit": "reminders per group", "interval": [-0.02, 0.25], "needed": 280}
    assert "inconclusive (n = 280 would decide it)" in cli.markdown([row])
    assert "no sample decides it" in cli.markdown([{**row, "needed": power.MAX_N}])


def test_finished_reads_the_presets_own_folder(tmp_path):
    from empirical.probes import halting
    config = halting.Config.preset("standard")
    folder = tmp_path / "standard" / "halting" / "smollm2"
    run = ProbeRun(halting.NAME, "smollm2", config, {}, "cpu", root=tmp_path / "standard")
    assert run.dir == folder
    for key in halting.keys(config):
        run.record(key, {"answer": "no"})
    _summary(folder, "halting", "smollm2", "consistent")
    summary = json.loads((folder / "summary.json").read_text())
    summary.update(config=dataclasses.asdict(config), samples=len(halting.keys(config)),
                   probe_code_sha256=cli.probe_code_sha256(halting))
    (folder / "summary.json").write_text(json.dumps(summary))
    assert cli.finished(halting, "smollm2", tmp_path, "standard")
    assert not cli.finished(halting, "smollm2", tmp_path, full=False)       # the CPU folder is empty
    record = json.loads((folder / "samples.jsonl").read_text().splitlines()[0])
    assert record["seconds"] >= 0 and record["cpu_seconds"] >= 0            # every sample carries its time


@dataclass(frozen=True)
class _Config:
    n: int = 4
    seed: int = 0

    @classmethod
    def preset(cls, preset=False):
        return cls(n={"cpu": 4, "standard": 6, "full": 8}[preset_name(preset)])


def _fake_probe():
    module = types.ModuleType("fake")
    module.NAME, module.THEOREMS, module.NEEDS_MODEL, module.LABEL = "fake", ("H-3",), False, "trained-here"
    module.Config = _Config
    module.keys = lambda config: [f"i={i}" for i in range(config.n)]
    module.cost = lambda key, config: 1 + int(key.split("=")[1])
    module.model_info = lambda device: {"model": "trained-here"}
    measured = []

    def run(run, loaded):
        for key in run.progress(module.keys(run.config)):
            measured.append(key)
            run.record(key, {"value": 1})
        return [Verdict("fake", run.model_name, "H-3", "consistent", "all measured", {}, n=run.config.n)]
    module.run = run
    module.plan = lambda config, observed=None: [power.Requirement(
        "H-3", "q", "t", "e", "samples", 5, config.n, "n")]
    module.measured = measured
    return module


def test_a_timed_run_measures_only_what_it_was_asked_and_keeps_it(tmp_path):
    fake = _fake_probe()
    run = TimedRun("fake", "trained-here", _Config(6), {}, "cpu", root=tmp_path, only=["i=5", "i=0"])
    with pytest.raises(TimingDone):
        fake.run(run, None)
    assert sorted(fake.measured) == ["i=0", "i=5"]
    again = ProbeRun("fake", "trained-here", _Config(6), {}, "cpu", root=tmp_path)
    assert again.pending(fake.keys(_Config(6))) == ["i=1", "i=2", "i=3", "i=4"]


def test_plan_times_untimed_probes_and_prints_the_tables(tmp_path, capsys, monkeypatch):
    fake = _fake_probe()

    def no_load(*args, **kwargs):
        raise AssertionError("no pretrained model is needed")
    monkeypatch.setattr(cli, "load", no_load)
    args = cli._parser().parse_args(["crosscheck", "--preset", "standard", "--plan", "--markdown",
                                     "--out", str(tmp_path), "--device", "cpu"])
    assert cli.plan_main(args, "standard", {"fake": fake}, tmp_path) == 0
    out = capsys.readouterr().out
    assert fake.measured[0] == "i=0" and "i=5" in fake.measured and len(fake.measured) == 3
    # the first sample paid for the warm-up: kept, marked, left out of the estimate
    records = [json.loads(line) for line in (tmp_path / "standard" / "fake" / "trained-here" / "samples.jsonl")
               .read_text().splitlines()]
    assert [r.get("warmup", False) for r in records] == [True, False, False]
    assert "| fake | trained-here | 6 | 3 |" in out and "2 timed samples (standard)" in out
    assert "| fake | H-3 | q | t | e. | 5 | 6 | samples (n) |" in out
    fake.measured.clear()
    assert cli.plan_main(args, "standard", {"fake": fake}, tmp_path) == 0    # timed already: nothing runs
    assert fake.measured == []
    args.time_samples = 0
    assert cli.plan_main(args, "full", {"fake": fake}, tmp_path) == 0        # another preset's timings serve
    assert "2 timed samples (standard)" in capsys.readouterr().out


def test_full_is_an_alias_of_the_full_preset(tmp_path, monkeypatch):
    seen = {}

    def fake_plan(args, preset, modules, out):
        seen["preset"] = preset
        return 0
    monkeypatch.setattr(cli, "plan_main", fake_plan)
    assert cli.main(["crosscheck", "--full", "--plan", "--probes", "halting", "--out", str(tmp_path)]) == 0
    assert seen["preset"] == "full"
    assert cli.main(["crosscheck", "--preset", "standard", "--plan", "--probes", "halting",
                     "--out", str(tmp_path)]) == 0
    assert seen["preset"] == "standard"
