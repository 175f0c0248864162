"""Where a probe's samples are computed: in this process (`local`) or on Ray workers (`ray`).

A probe opts in to being farmed out by computing one sample from its key alone:

    sample(key, config, ctx) -> dict         required: the sample's record (without "key")
    setup(config, loaded) -> ctx             optional: what `sample` reads (default: the loaded model),
                                             built once per worker and config
    batches(keys, config) -> list[list[str]] optional: keys that must be computed together, in one
                                             worker (default: every key alone)
    sample_batch(keys, config, ctx)          optional: yields (key, record) for one batch, in the
                                             order it computes them (default: `sample` per key)

and its `run(run, loaded)` calls `run.sweep(module, loaded)` where it used to loop over the
pending keys. A sample must depend on its key, the config and the model only (its randomness
seeded by the key): then the executor that computed it makes no difference, sample for sample.
A probe without `sample` keeps its own loop and runs in the driver's process.

Under Ray (`RayExecutor`), a pool of actors per (model, device) loads the model once per actor
and keeps it for every probe of the run; each batch is one task; results stream back to the
driver, which alone appends them to the probe's SampleStore as each task finishes. A sample is
recorded only from a finished task and only if its key is not on disk yet, so a run interrupted
at any point resumes past exactly what was recorded, whichever executor recorded it. A worker
that dies (killed, out of memory, its node lost) is replaced by a new actor and its unfinished
batches are submitted again.
"""
from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

EXECUTORS = ("local", "ray")
# How many times a batch is submitted again after the worker running it died, before the run stops.
MAX_RESUBMITS = 3


def opted_in(module) -> bool:
    """Whether a probe computes a sample from its key alone (and can run on any executor)."""
    return callable(getattr(module, "sample", None))


def context(module, config, loaded):
    """What the probe's `sample` reads: `setup(config, loaded)`, or the loaded model."""
    setup = getattr(module, "setup", None)
    return setup(config, loaded) if setup is not None else loaded


def batches(module, keys: list[str], config) -> list[list[str]]:
    split = getattr(module, "batches", None)
    groups = split(list(keys), config) if split is not None else [[k] for k in keys]
    flat = [k for g in groups for k in g]
    if sorted(flat) != sorted(keys) or len(set(flat)) != len(flat):
        raise ValueError(f"{module.NAME}.batches must split the keys it is given, each key once")
    return [g for g in groups if g]


def compute(module, config, ctx, batch: list[str]) -> Iterator[tuple[str, dict, dict]]:
    """The samples of one batch as (key, record, timing), timing in wall-clock and CPU seconds of
    the process that computed them."""
    clock, cpu = time.time(), time.process_time()
    if hasattr(module, "sample_batch"):
        produced = module.sample_batch(list(batch), config, ctx)
    else:
        produced = ((key, module.sample(key, config, ctx)) for key in batch)
    for key, data in produced:
        now, cpu_now = time.time(), time.process_time()
        yield key, data, {"seconds": round(now - clock, 2), "cpu_seconds": round(cpu_now - cpu, 2)}
        clock, cpu = now, cpu_now


def _progress(run, todo: list[str], total: int):
    from tqdm import tqdm
    return tqdm(total=total, initial=total - len(todo), desc=f"{run.probe} {run.model_name}", unit="sample",
                leave=False, dynamic_ncols=True)


class LocalExecutor:
    """Every batch in this process, one after another."""

    name = "local"

    def sweep(self, run, module, loaded) -> None:
        config = run.config
        keys = module.keys(config)
        todo = run.todo(keys)
        if not todo:
            return
        ctx = context(module, config, loaded)
        with _progress(run, todo, len(keys)) as bar:
            for batch in batches(module, todo, config):
                for key, data, timing in compute(module, config, ctx, batch):
                    run.record(key, data, timing)
                    bar.update(1)


LOCAL = LocalExecutor()


@dataclass(frozen=True)
class Placement:
    """Where a probe that trains its own models runs (it loads no pretrained model): the
    `loaded` its `setup` gets."""
    device: str
    name: None = None


class RemoteModel:
    """The driver's stand-in for a model that lives on Ray workers: its name, device and `info()`
    (read from a worker), never its weights."""

    def __init__(self, name: str, device: str, info: dict, load_seconds: float):
        self.name, self.device, self._info, self.load_seconds = name, device, dict(info), load_seconds
        self.label = info.get("label", name)

    def info(self) -> dict:
        return dict(self._info)

    def __getattr__(self, attr):
        if attr in ("model", "tokenizer"):
            raise AttributeError(f"{self.name} is loaded on the Ray workers, not in the driver: a probe that "
                                 f"reads loaded.{attr} in its run() must compute its samples through "
                                 f"`sample` (empirical/executor.py)")
        raise AttributeError(attr)


class _Worker:
    """A Ray actor: one model on one device, loaded once, computing batches of any probe."""

    def __init__(self, model: str | None, device: str, threads: int, extra_path: list[str]):
        for path in extra_path:             # the driver's project on a local cluster
            if path not in sys.path:
                sys.path.append(path)
        if threads:
            import torch
            torch.set_num_threads(threads)
        self.model, self.device = model, device
        self.loaded = None
        self.load_seconds = 0.0
        if model is not None:
            from .models import load
            self.loaded = load(model, device)
            self.load_seconds = self.loaded.load_seconds
        self.contexts: dict = {}

    def pid(self) -> int:
        return os.getpid()

    def info(self) -> tuple[dict | None, float]:
        return (self.loaded.info() if self.loaded is not None else None), self.load_seconds

    def run_batch(self, module_name: str, config, batch: list[str]) -> list[tuple[str, dict, dict]]:
        module = importlib.import_module(module_name)
        slot = (module_name, repr(config))
        if slot not in self.contexts:
            loaded = self.loaded if self.loaded is not None else Placement(self.device)
            self.contexts[slot] = context(module, config, loaded)
        return list(compute(module, config, self.contexts[slot], batch))


class RayExecutor:
    """Batches as Ray tasks on a pool of actors per (model, device); see the module docstring.

    address: an existing cluster ("auto", "ray://host:10001", ...) or None for a local instance
    with `num_cpus` CPUs. workers: actors per model (default: the cluster's CPUs / threads, or its
    GPUs where device is cuda). threads: torch threads per worker (each worker asks Ray for as
    many CPUs). gpus: GPUs each worker asks for where device is cuda."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, threads: int = 1,
                 num_cpus: int | None = None, gpus: float = 1.0, log=None):
        try:
            import ray
        except ImportError:
            raise RuntimeError("--executor ray needs Ray: pip install -e .[ray] "
                               "(or pip install -r requirements-ray.txt)") from None
        self.ray: Any = ray
        self.started_here = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
                self.started_here = True
        self.threads, self.gpus = max(1, threads), gpus
        self.workers = workers
        self.pools: dict[tuple[str | None, str], list] = {}
        self.resubmitted = 0            # batches submitted again after their worker died
        self.replaced = 0               # workers replaced
        self.in_flight: dict = {}       # ObjectRef -> (actor, batch): what each worker is computing now
        self.log = log or (lambda text: print(text, file=sys.stderr))

    def _pool_size(self, device: str) -> int:
        if self.workers:
            return self.workers
        resources = self.ray.cluster_resources()
        if device.startswith("cuda"):
            return max(1, int(resources.get("GPU", 0) // self.gpus))
        return max(1, int(resources.get("CPU", 1) // self.threads))

    def _actor(self, model: str | None, device: str):
        options: dict[str, Any] = {"num_cpus": self.threads, "max_restarts": 0, "max_concurrency": 1}
        if device.startswith("cuda"):
            options["num_gpus"] = self.gpus
        remote = self.ray.remote(**options)(_Worker)
        return remote.remote(model, device, self.threads, [p for p in sys.path if p])

    def pool(self, model: str | None, device: str) -> list:
        """The actors of a model (created and loaded on first use). One model's workers hold the
        cluster at a time (each holds its CPUs or GPU while it lives): making a pool for another
        model or device ends the previous one, as the commands go model by model."""
        slot = (model, device)
        if slot not in self.pools:
            for other in list(self.pools):
                for actor in self.pools.pop(other):
                    self.ray.kill(actor)
            self.pools[slot] = [self._actor(model, device) for _ in range(self._pool_size(device))]
        return self.pools[slot]

    def remote_model(self, model: str, device: str) -> RemoteModel:
        """Load a model on its workers (all of them, in parallel) and return the driver's stand-in."""
        started = time.time()
        actors = self.pool(model, device)
        answers = self._get_all([a.info.remote() for a in actors])
        info, seconds = answers[0]
        self.log(f"{info['label']}: loaded on {len(actors)} Ray worker(s) in {time.time() - started:.1f} s "
                 f"({seconds:.1f} s each) on {device}")
        return RemoteModel(model, device, info, seconds)

    def _get_all(self, refs: list):
        try:
            return self.ray.get(refs)
        except self.ray.exceptions.RayTaskError as err:
            raise _cause(err) from None

    def busy(self) -> list:
        """The actors computing a batch now (for tests that kill one)."""
        return [actor for actor, _ in self.in_flight.values()]

    def sweep(self, run, module, loaded) -> None:
        config = run.config
        keys = module.keys(config)
        todo = run.todo(keys)
        if not todo:
            return
        model = getattr(loaded, "name", None) if loaded is not None else None
        device = getattr(loaded, "device", None) or run.device
        with _progress(run, todo, len(keys)) as bar:
            def keep(key, data, timing):
                if key not in run.store:            # a sample is recorded once, whoever computed it
                    run.record(key, data, timing)
                    bar.update(1)
            self.farm(module, config, model, device, batches(module, todo, config), keep,
                      f"{module.NAME} on {run.model_name}")

    def map(self, module, config, model: str | None, device: str, keys: list[str]) -> dict[str, dict]:
        """Compute these keys on the model's workers and return their records (nothing written)."""
        out: dict[str, dict] = {}
        self.farm(module, config, model, device, batches(module, keys, config),
                  lambda key, data, timing: out.setdefault(key, data), f"{module.__name__} on {model}")
        return out

    def farm(self, module, config, model: str | None, device: str, work: list[list[str]], keep, what: str) -> None:
        """Every batch on the model's workers, `keep(key, record, timing)` called in the driver for each
        sample of each finished task; a batch whose worker died goes to a new worker."""
        ray = self.ray
        actors = self.pool(model, device)
        queue = [(batch, 0) for batch in reversed(work)]   # popped from the end: in the given order
        idle = list(actors)
        self.in_flight = {}
        tries: dict = {}

        def submit():
            while idle and queue:
                batch, count = queue.pop()
                actor = idle.pop(0)
                ref = actor.run_batch.remote(module.__name__, config, batch)
                self.in_flight[ref] = (actor, batch)
                tries[ref] = count

        submit()
        while self.in_flight:
            done, _ = ray.wait(list(self.in_flight), num_returns=1)
            ref = done[0]
            actor, batch = self.in_flight.pop(ref)
            count = tries.pop(ref)
            try:
                results = ray.get(ref)
            except ray.exceptions.RayTaskError as err:      # the probe's own error: as in a local run
                raise _cause(err) from None
            except ray.exceptions.RayActorError as err:     # the worker died: nothing of its batch is kept
                if count >= MAX_RESUBMITS:
                    raise RuntimeError(f"{what}: the batch {batch} lost its worker {count + 1} times; "
                                       f"the last error: {err}") from None
                replacement = self._actor(model, device)
                pool = self.pools[(model, device)]
                pool[pool.index(actor)] = replacement
                self.replaced += 1
                self.resubmitted += 1
                self.log(f"{what}: a Ray worker died ({type(err).__name__}); {len(batch)} sample(s) submitted "
                         "again to a new worker")
                queue.append((batch, count + 1))
                idle.append(replacement)
                submit()
                continue
            for key, data, timing in results:
                keep(key, data, timing)
            idle.append(actor)
            submit()

    def shutdown(self) -> None:
        for pool in self.pools.values():
            for actor in pool:
                self.ray.kill(actor)
        self.pools = {}
        if self.started_here:
            self.ray.shutdown()


def _cause(err):
    """The exception a probe raised on a worker, as its own type where Ray can rebuild it."""
    cause = getattr(err, "cause", None)
    return cause if isinstance(cause, BaseException) else err


def add_arguments(parser) -> None:
    """--executor, --address, --workers and --worker-threads, for the commands that take them."""
    parser.add_argument("--executor", choices=EXECUTORS, default="local",
                        help="local: every sample in this process (default); ray: samples as tasks on Ray workers, "
                             "each loading its model once, results written here (pip install -e .[ray])")
    parser.add_argument("--address", default=None,
                        help="with --executor ray: an existing Ray cluster (auto, or ray://HEAD:10001); default: a Ray "
                             "instance started on this machine")
    parser.add_argument("--workers", type=int, default=0, metavar="N",
                        help="with --executor ray: workers per model (default: the cluster's CPUs / --worker-threads, "
                             "or its GPUs with --device cuda)")
    parser.add_argument("--worker-threads", type=int, default=1, metavar="N",
                        help="with --executor ray: torch threads (and Ray CPUs) per worker (default 1)")


def from_args(args):
    """The executor a command's arguments ask for (a ValueError names a bad combination)."""
    kind = getattr(args, "executor", "local")
    if kind == "local":
        if getattr(args, "address", None) or getattr(args, "workers", 0):
            raise ValueError("--address and --workers need --executor ray")
        return LOCAL
    if kind != "ray":
        raise ValueError(f"unknown executor {kind!r}; choose from {', '.join(EXECUTORS)}")
    if getattr(args, "workers", 0) < 0 or getattr(args, "worker_threads", 1) < 1:
        raise ValueError("--workers must be 0 or more and --worker-threads 1 or more")
    return RayExecutor(address=args.address, workers=args.workers or None, threads=args.worker_threads)


def device_for(executor, device: str) -> str:
    """The device samples run on. Local: this machine's (`pick_device`). Ray: the workers', which need
    not be this machine's: cuda where asked, and with auto where the cluster has GPUs."""
    if not isinstance(executor, RayExecutor):
        from .models import pick_device
        return pick_device(device)
    if device == "auto":
        return "cuda" if executor.ray.cluster_resources().get("GPU", 0) else "cpu"
    return device


def shutdown(executor) -> None:
    if isinstance(executor, RayExecutor):
        executor.shutdown()
