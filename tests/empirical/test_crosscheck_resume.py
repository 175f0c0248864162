"""A crosscheck with nothing left to do loads no model, and says where its table is."""
from __future__ import annotations

import dataclasses
import json

from checker.statements import statement_hash
from empirical import cli
from empirical.probes import halting
from empirical.store import SampleStore


def _finished_results(out, model="smollm2"):
    config = halting.Config.preset(False)
    folder = out / halting.NAME / model
    folder.mkdir(parents=True)
    store = SampleStore(folder / "samples.jsonl")
    for key in halting.keys(config):
        store.append({"key": key, "answer": "yes"})
    verdict = {"theorem": "H-3", "statement_sha256": statement_hash("H-3"), "probe": halting.NAME,
               "model": model, "verdict": "consistent", "text": "a measurement"}
    summary = {"probe": halting.NAME, "config": dataclasses.asdict(config), "samples": len(store.records),
               "verdicts": [verdict], "probe_code_sha256": cli.probe_code_sha256(halting)}
    (folder / "config.json").write_text(json.dumps(dataclasses.asdict(config)))
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder, summary


def test_finished_needs_every_sample_the_same_code_and_unchanged_statements(tmp_path):
    folder, summary = _finished_results(tmp_path)
    assert cli.finished(halting, "smollm2", tmp_path, full=False)
    assert not cli.finished(halting, "smollm2", tmp_path, full=True)           # another preset
    stale = {**summary, "verdicts": [{**summary["verdicts"][0], "statement_sha256": "0" * 64}]}
    (folder / "summary.json").write_text(json.dumps(stale))
    assert not cli.finished(halting, "smollm2", tmp_path, full=False)          # the statement changed
    (folder / "summary.json").write_text(json.dumps({**summary, "probe_code_sha256": "old"}))
    assert not cli.finished(halting, "smollm2", tmp_path, full=False)          # the probe changed
    (folder / "summary.json").write_text(json.dumps(summary))
    lines = (folder / "samples.jsonl").read_text().splitlines()
    (folder / "samples.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    assert not cli.finished(halting, "smollm2", tmp_path, full=False)          # a sample is missing


def test_a_crosscheck_with_nothing_to_do_loads_no_model(tmp_path, monkeypatch, capsys):
    _finished_results(tmp_path)

    def no_load(*args, **kwargs):
        raise AssertionError("a model was loaded although every result was current")
    monkeypatch.setattr(cli, "load", no_load)
    args = cli._parser().parse_args(["crosscheck", "--probes", "halting", "--models", "smollm2",
                                     "--out", str(tmp_path)])
    assert cli.run(args) == 0
    out, err = capsys.readouterr()
    assert "finished by an earlier run" in err
    assert out.count("a measurement") == 0 and "1 verdicts (1 consistent)" in out   # not printed twice
    table = (tmp_path / "CROSSCHECK.md").read_text()
    assert f"`limits crosscheck --out {tmp_path}`" in table and "make crosscheck" not in table


def test_the_probe_names_are_in_the_help():
    import argparse
    top = argparse.ArgumentParser()
    cli.register(top.add_subparsers(dest="command"))
    helps = top._subparsers._group_actions[0].choices["crosscheck"].format_help()     # type: ignore[union-attr]
    for name in cli.PROBES:
        assert name in helps
