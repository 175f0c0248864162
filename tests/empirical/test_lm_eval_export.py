"""The lm-evaluation-harness export, measured by lm-evaluation-harness itself on SmolLM2.

lm_eval's `hf` model runs the committed export (results/counterexamples/lm_eval) on the same
loaded SmolLM2 that `replay` asks, plus control records the model answers right; its
per-record score must be `replay`'s judgement, record by record, greedy and sampled alike,
from token ids fed to the model equal to `answer()`'s.
"""
from __future__ import annotations

import copy
import dataclasses
import importlib.util
import inspect
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from empirical import counterexamples, export, lm_eval_utils
from empirical.counterexamples import Decoding, Record, chat_ids, read_records
from empirical.replay import replay_records

ROOT = Path(__file__).resolve().parents[2]
EXPORT = ROOT / "results" / "counterexamples" / "lm_eval"
RECORDS = ROOT / "results" / "counterexamples" / "counterexamples.jsonl"
CONTROL = "limits_control"


def committed_docs() -> list[dict]:
    return [json.loads(line) for line in (EXPORT / f"{export.TASK}.jsonl").read_text().splitlines()]


def exported_utils(folder: Path):
    spec = importlib.util.spec_from_file_location(f"exported_utils_{abs(hash(folder))}", folder / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_metric_is_the_projects_judge():
    utils = exported_utils(EXPORT)
    assert (EXPORT / "utils.py").read_text() == Path(lm_eval_utils.__file__).read_text()
    assert utils.judge is counterexamples.judge
    # the copy used where the project is not installed is the same function, verbatim
    assert inspect.getsource(utils._judge).replace("def _judge", "def judge") == \
        inspect.getsource(counterexamples.judge)
    # verbose right answers are right (exact_match called them wrong), wrong ones wrong
    for target, reply, correct in [("60494", "60494. The pass key is 60494", 1), ("odd", "The number 6347 is odd.", 1),
                                   ("odd", "The number 6347 is indeed even.", 0), ("34", "488 - 454 = 1", 0),
                                   ("Hollis", " Hollis.\n", 1), ("4", "14", 0)]:
        assert utils.process_results({"target": target}, [reply]) == {"correct": correct}
        assert correct == counterexamples.judge(target, reply.strip())


def test_committed_export_carries_each_record_and_its_decoding(tmp_path, monkeypatch):
    yaml = pytest.importorskip("yaml")
    records = read_records(RECORDS)
    docs = committed_docs()
    assert len(docs) == len(records)
    for index, (doc, record) in enumerate(zip(docs, records)):
        assert doc["source_record"] == index and doc["source_file"] == "results/counterexamples/counterexamples.jsonl"
        assert (doc["prompt"], doc["target"], doc["theorem"], doc["task"]) == \
            (record.prompt, record.expected, record.theorem, record.task)
        assert (doc["model"], doc["model_sha256"], doc["decoding"]) == \
            (record.model, record.model_sha256, record.decoding)
        assert (doc["recorded_output"], doc["recorded_correct"]) == (record.output, record.correct)
        assert doc["lm_eval_task"] == export.task_name(export.TASK, record.model, Decoding(**record.decoding))

    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!function", lambda loader, node: "!function " + loader.construct_scalar(node))
    tasks = {doc["lm_eval_task"] for doc in docs}
    for name in tasks:
        config = yaml.load((EXPORT / f"{name}.yaml").read_text(), Loader=Loader)
        mine = [d for d in docs if d["lm_eval_task"] == name]
        decoding = Decoding(**mine[0]["decoding"])
        assert all(Decoding(**d["decoding"]) == decoding and d["model"] == mine[0]["model"] for d in mine)
        kwargs = config["generation_kwargs"]
        assert kwargs["until"] == [] and kwargs["max_gen_toks"] == decoding.max_new_tokens
        assert kwargs["do_sample"] is False
        if decoding.temperature:
            assert kwargs["logits_processor"] == f"!function utils.{export.sampling_name(decoding)}"
        else:
            assert "logits_processor" not in kwargs
        assert config["process_results"] == "!function utils.process_results"
        assert config["dataset_kwargs"]["data_file"] == f"{export.TASK}.jsonl"
        assert config["metadata"]["model_sha256"] == mine[0]["model_sha256"]
    group = yaml.load((EXPORT / f"{export.TASK}.yaml").read_text(), Loader=Loader)
    assert group["group"] == export.TASK
    assert set(group["task"]) == {f"{export.TASK}_{export.model_key(r.model)}" for r in records}
    # the data file is found beside utils.py, whatever the working directory
    monkeypatch.chdir(tmp_path)
    utils = exported_utils(EXPORT)
    name = docs[0]["lm_eval_task"]
    loaded = utils.load_docs(data_file=f"{export.TASK}.jsonl", lm_eval_task=name, version=2.0)
    assert [d["source_record"] for d in loaded["test"]] == \
        [d["source_record"] for d in docs if d["lm_eval_task"] == name]
    sampler = utils.sampling_t0p7_seed0[0]       # what the sampled task's YAML names
    assert (sampler.temperature, sampler.seed) == (0.7, 0)


def test_seeded_sampling_draws_as_answer_does():
    """The draws of answer() at T = 0.7, seed 3, restarted for every prompt."""
    import torch
    sampler = exported_utils(EXPORT).SeededSampling(0.7, 3)
    logits = torch.randn(6, 50, generator=torch.Generator().manual_seed(0))

    def draws(prompt: list[int]) -> list[int]:
        ids, out = list(prompt), []
        for step in range(len(logits)):
            forced = sampler(torch.tensor([ids]), logits[step:step + 1].clone())
            assert torch.isfinite(forced).sum() == 1
            out.append(int(forced.argmax()))
            ids.append(out[-1])
        return out
    generator = torch.Generator().manual_seed(3)
    expected = [int(torch.multinomial(torch.softmax(row / 0.7, dim=-1), 1, generator=generator)) for row in logits]
    assert draws([1, 2, 3]) == expected and draws([4, 5]) == expected and draws([1, 2, 3]) == expected
    with pytest.raises(ValueError, match="batch_size 1"):
        sampler(torch.tensor([[1], [2]]), logits[:2])


def test_committed_prompts_are_smollm2s_inputs(smollm2):
    """Each committed SmolLM2 document renders, in lm_eval's tokenization, to answer()'s ids."""
    records = read_records(RECORDS)
    tokenizer = smollm2.tokenizer
    checked = 0
    for doc in committed_docs():
        if doc["model"] != "smollm2":
            continue
        record = records[doc["source_record"]]
        chat = Decoding(**record.decoding).chat
        assert doc["text"] == export.rendered(tokenizer, record.prompt, chat)
        assert export.harness_ids(tokenizer, doc["text"]) == chat_ids(tokenizer, record.prompt, chat)
        checked += 1
    assert checked >= 5


def controls(smollm2) -> list[Record]:
    """Inputs SmolLM2 answers right, so that the score is seen taking the value 1."""
    sha = smollm2.info()["source_sha256"]
    make = lambda prompt, expected, decoding: Record(
        theorem="control", task="addition", prompt=prompt, expected=expected, how="computed by Python",
        model="smollm2", model_sha256=sha, decoding=dataclasses.asdict(decoding))
    question = "What is 2 + 2? Answer with the number only."
    return [make(question, "4", Decoding(max_new_tokens=8)),
            make(question, "4", Decoding(temperature=0.7, seed=1, max_new_tokens=8)),
            make("The capital of France is", "Paris", Decoding(max_new_tokens=4, chat=False))]


def run_harness(loaded, include_path: list[Path], tasks: list[str]) -> tuple[dict, list[list[int]]]:
    """lm_eval's `hf` model over `tasks` on the loaded model: (source_record -> sample) per task
    prefix, and the token ids of every context it generated from."""
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager
    lm = HFLM(pretrained=loaded.model, tokenizer=copy.deepcopy(loaded.tokenizer), batch_size=1, device="cpu")
    contexts: list[list[int]] = []
    generate = lm._model_generate

    def spy(context, *args, **kwargs):
        contexts.append(context[0].tolist())
        return generate(context, *args, **kwargs)
    lm._model_generate = spy
    manager = TaskManager(include_path=[str(p) for p in include_path], include_defaults=False)
    out = lm_eval.simple_evaluate(model=lm, tasks=tasks, task_manager=manager, log_samples=True)
    samples: dict[tuple[str, int], dict] = {}
    for task, rows in out["samples"].items():
        for row in rows:
            prefix = CONTROL if task.startswith(CONTROL) else export.TASK
            samples[(prefix, row["doc"]["source_record"])] = row
    return samples, contexts


def test_lm_eval_scores_each_record_as_replay_judges_it(smollm2, tmp_path, monkeypatch):
    pytest.importorskip("lm_eval")
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    try:
        records = read_records(RECORDS)
        mine = [(i, r) for i, r in enumerate(records) if r.model == "smollm2"]
        assert mine, "the committed records have no SmolLM2 record"
        control = controls(smollm2)
        export.export(control, tmp_path / "control", task=CONTROL, tokenizers={"smollm2": smollm2.tokenizer})
        monkeypatch.chdir(tmp_path)               # the data files are found from the task files
        samples, contexts = run_harness(smollm2, [EXPORT, tmp_path / "control"],
                                        [f"{export.TASK}_smollm2", f"{CONTROL}_smollm2"])
        replayed = replay_records([r for _, r in mine], loaded_models={"smollm2": smollm2},
                                  indices=[i for i, _ in mine])
        replayed_control = replay_records(control, loaded_models={"smollm2": smollm2})
    finally:
        torch.set_num_threads(threads)

    # the model read exactly what answer() feeds it
    expected_ids = [chat_ids(smollm2.tokenizer, r.prompt, Decoding(**r.decoding).chat) for _, r in mine] + \
        [chat_ids(smollm2.tokenizer, r.prompt, Decoding(**r.decoding).chat) for r in control]
    assert Counter(map(tuple, contexts)) == Counter(map(tuple, expected_ids))

    lines, agree, scores = [], 0, []
    for prefix, report in [(export.TASK, replayed), (CONTROL, replayed_control)]:
        for row in report["rows"]:
            sample = samples[(prefix, row["index"])]
            score = sample["correct"]
            reply = sample["filtered_resps"][0].strip()
            lines.append(f"{prefix}#{row['index']} {row['theorem']} {row['decoding']}: lm_eval {score} "
                         f"replay {row['status']} | {reply!r} vs {row['output']!r}")
            assert row["same_weights"]
            assert reply == row["output"], lines[-1]
            assert score == int(row["status"] == "not a failure"), lines[-1]
            agree += 1
            scores.append(score)
    print(f"lm-eval vs replay on SmolLM2: {agree}/{len(lines)} records agree "
          f"({sum(not r['greedy'] for r in replayed['rows'])} sampled)\n" + "\n".join(lines))
    assert set(scores) == {0, 1}                  # the metric is not constant
    assert all(samples[(export.TASK, row["index"])]["correct"] == 0
               for row in replayed["rows"] if row["status"] == "reproduced")
    assert samples[(CONTROL, 0)]["correct"] == 1  # 2 + 2, greedy
