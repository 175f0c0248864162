"""The Ray executor against the local one, on a local Ray instance and the real SmolLM2.

Samples are compared key by key with their timing fields left out (they are measured, never
equal); everything else, the model's outputs included, must be the same whichever executor
computed a sample, and a sample must never be recorded twice."""
from __future__ import annotations

import dataclasses
import json
import os
import signal

import pytest

from empirical.framework import ProbeRun, TimedRun, TimingDone

ray = pytest.importorskip("ray", reason="needs Ray: pip install -r requirements-ray.txt")

from empirical.executor import LOCAL, RayExecutor, RemoteModel  # noqa: E402
from empirical.probes import halting, mediation, needle  # noqa: E402

TIMING = {"seconds", "cpu_seconds", "warmup"}


def lines(run: ProbeRun) -> list[dict]:
    return [json.loads(line) for line in (run.dir / "samples.jsonl").read_text().splitlines()]


def by_key(run: ProbeRun) -> dict[str, dict]:
    records = lines(run)
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)), "a sample recorded twice"
    return {r["key"]: {k: v for k, v in r.items() if k not in TIMING} for r in records}


def verdicts(found) -> str:
    return json.dumps([v.to_json() for v in found], sort_keys=True)


@pytest.fixture(scope="module")
def executor():
    ex = RayExecutor(num_cpus=2, workers=2, threads=1)
    yield ex
    ex.shutdown()


def local_run(module, config, loaded, root):
    run = ProbeRun(module.NAME, loaded.name, config, loaded.info(), loaded.device, root=root)
    run.executor = LOCAL
    return run, module.run(run, loaded)


def test_ray_gives_the_local_samples_and_resumes_a_local_run(smollm2, executor, tmp_path):
    config = dataclasses.replace(halting.Config(), sizes=(3, 6), programs=2)     # 4 samples
    keys = halting.keys(config)
    local, local_verdicts = local_run(halting, config, smollm2, tmp_path / "local")

    # one sample recorded by a local run that stopped, then the rest on Ray workers
    first = TimedRun(halting.NAME, "smollm2", config, smollm2.info(), "cpu", root=tmp_path / "ray", only=[keys[2]])
    with pytest.raises(TimingDone):
        halting.run(first, smollm2)
    remote = executor.remote_model("smollm2", "cpu")
    assert isinstance(remote, RemoteModel) and remote.info() == smollm2.info()
    with pytest.raises(AttributeError, match="Ray workers"):
        remote.tokenizer  # noqa: B018
    resumed = ProbeRun(halting.NAME, "smollm2", config, remote.info(), "cpu", root=tmp_path / "ray")
    resumed.executor = executor
    ray_verdicts = halting.run(resumed, remote)

    records = lines(resumed)
    assert records[0]["key"] == keys[2] and records[0].get("warmup")     # kept, not computed again
    assert len(records) == len(keys)
    assert all("seconds" in r and "cpu_seconds" in r for r in records)  # timed where they ran
    assert by_key(resumed) == by_key(local)
    assert verdicts(ray_verdicts) == verdicts(local_verdicts)
    # nothing left: a run again records nothing, on either executor
    again = ProbeRun(halting.NAME, "smollm2", config, remote.info(), "cpu", root=tmp_path / "ray")
    again.executor = executor
    halting.run(again, remote)
    assert lines(again) == records


class KillsAWorker(ProbeRun):
    """Kills (SIGKILL) a worker that is computing a batch as soon as the first sample comes back."""

    killed: list[int] = []

    def record(self, key, data, timing=None):
        super().record(key, data, timing)
        if not self.killed and self.executor.busy():
            victim = self.executor.busy()[0]
            pid = ray.get(victim.pid.remote())
            os.kill(pid, signal.SIGKILL)
            self.killed.append(pid)


@pytest.mark.slow
def test_a_killed_worker_loses_nothing_and_records_nothing_twice(smollm2, executor, tmp_path):
    config = dataclasses.replace(mediation.Config(), steps=(2, 3), tasks=3)
    local, local_verdicts = local_run(mediation, config, smollm2, tmp_path / "local")
    remote = executor.remote_model("smollm2", "cpu")
    replaced = executor.replaced
    run = KillsAWorker(mediation.NAME, "smollm2", config, remote.info(), "cpu", root=tmp_path / "ray")
    run.executor = executor
    found = mediation.run(run, remote)
    assert run.killed and executor.replaced == replaced + 1
    assert run.killed[0] not in ray.get([a.pid.remote() for a in executor.pool("smollm2", "cpu")])
    assert by_key(run) == by_key(local)
    assert len(lines(run)) == len(mediation.keys(config))
    assert verdicts(found) == verdicts(local_verdicts)


@pytest.mark.slow
def test_needle_streams_as_batches_give_the_local_samples(smollm2, executor, tmp_path):
    config = dataclasses.replace(needle.Config(), lengths=(256, 512), depths=(0.1, 0.9), repeats=2)
    assert sorted(map(len, needle.batches(needle.keys(config), config))) == [4, 4]
    local, local_verdicts = local_run(needle, config, smollm2, tmp_path / "local")
    remote = executor.remote_model("smollm2", "cpu")
    run = ProbeRun(needle.NAME, "smollm2", config, remote.info(), "cpu", root=tmp_path / "ray")
    run.executor = executor
    found = needle.run(run, remote)
    assert by_key(run) == by_key(local)
    assert verdicts(found) == verdicts(local_verdicts)


def test_a_probe_error_on_a_worker_reaches_the_driver_as_itself(executor, tmp_path):
    """A sample that fails on a worker fails the run with the probe's own exception, as a local run
    would, and nothing is recorded."""
    config = dataclasses.replace(needle.Config(), lengths=(8,), depths=(0.5,), repeats=1)
    remote = executor.remote_model("smollm2", "cpu")
    run = ProbeRun(needle.NAME, "smollm2", config, remote.info(), "cpu", root=tmp_path)
    run.executor = executor
    with pytest.raises(ValueError, match="too short for the passkey prompt"):
        executor.sweep(run, needle, remote)
    assert not (run.dir / "samples.jsonl").exists()


@pytest.mark.slow
def test_the_diagonal_construction_asking_on_workers_gives_the_local_records(smollm2, executor):
    """counterexamples --executor ray: queries asked on the workers, a wave ahead; the records equal
    the local construction's."""
    from empirical import diagonal
    from empirical.counterexamples import Decoding
    family = [("smollm2", Decoding()), ("smollm2", Decoding(temperature=1.0, seed=3))]
    local = diagonal.Diagonal(family, b=2, max_queries=6).run_model(smollm2, "smollm2")
    assert {r.theorem for r in local} == {"H-1", "H-2"}
    remote = executor.remote_model("smollm2", "cpu")

    def ask(model, decoding, indices):
        got = executor.map(diagonal, decoding, model, "cpu", [f"n={i}" for i in indices])
        return {int(k.split("=")[1]): (d["output"], d["failed"], d["again"]) for k, d in got.items()}
    on_ray = diagonal.Diagonal(family, b=2, max_queries=6, ask=ask, wave=2).run_model(remote, "smollm2")
    assert [r.to_json() for r in on_ray] == [r.to_json() for r in local]


@pytest.mark.slow
def test_trainings_on_workers_that_load_no_model_give_the_local_samples(executor, tmp_path):
    """The multimodal probe (its own models, trained here) on a pool that loads nothing; making
    that pool ends the previous model's workers, which hold the cluster's CPUs."""
    import torch

    from empirical.executor import Placement
    from empirical.probes import multimodal
    from tests.empirical.test_multimodal import TINY
    config = dataclasses.replace(TINY, sizes=((8, 1, 2), (12, 1, 2)), data_sizes=(64,), text_fractions=(0.5,),
                                 extra_fractions=(0.5,))
    before = executor.pool("smollm2", "cpu")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)                    # the workers' thread count
    try:
        local = ProbeRun(multimodal.NAME, multimodal.LABEL, config, multimodal.model_info("cpu"), "cpu",
                         root=tmp_path / "local")
        LOCAL.sweep(local, multimodal, Placement("cpu"))
    finally:
        torch.set_num_threads(previous)
    on_ray = ProbeRun(multimodal.NAME, multimodal.LABEL, config, multimodal.model_info("cpu"), "cpu",
                      root=tmp_path / "ray")
    executor.sweep(on_ray, multimodal, Placement("cpu"))
    assert ("smollm2", "cpu") not in executor.pools and (None, "cpu") in executor.pools
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(before[0].pid.remote(), timeout=60)
    assert len(lines(on_ray)) == len(multimodal.keys(config)) == 5
    assert by_key(on_ray) == by_key(local)
