"""Shared by the probe tests: run a probe twice and check its verdicts and the resume."""
from __future__ import annotations

import json

from empirical.framework import VERDICTS, ProbeRun, Verdict


def run_twice(module, config, loaded, root):
    """Run a probe, check its verdicts and the resume: the second run records nothing."""
    first = ProbeRun(module.NAME, loaded.name, config, loaded.info(), loaded.device, root=root)
    verdicts = module.run(first, loaded)
    samples = first.dir / "samples.jsonl"
    lines = samples.read_text().splitlines()
    assert len(lines) == len(module.keys(config)) == len(set(module.keys(config)))
    assert verdicts and all(isinstance(v, Verdict) for v in verdicts)
    assert {v.theorem for v in verdicts} == set(module.THEOREMS)
    for v in verdicts:
        assert v.probe == module.NAME and v.model == loaded.name
        assert v.verdict in VERDICTS and v.text
        json.dumps(v.to_json(), allow_nan=False)
    first.finish(verdicts)

    class NoRecord(ProbeRun):
        def record(self, key, data, timing=None):
            raise AssertionError(f"resumed run recorded {key}")

    again = NoRecord(module.NAME, loaded.name, config, loaded.info(), loaded.device, root=root)
    assert again.pending(module.keys(config)) == []
    second = module.run(again, loaded)
    assert samples.read_text().splitlines() == lines
    dump = lambda vs: json.dumps([v.to_json() for v in vs], sort_keys=True)  # noqa: E731
    assert dump(second) == dump(verdicts)
    assert list(first.dir.glob("*.png"))
    return verdicts, [json.loads(line) for line in lines]
