"""Diagonal sets (H-1, H-2) on SmolLM2, their replay, and the lm-evaluation-harness export."""
from __future__ import annotations

import dataclasses
import json

import pytest

from empirical import diagonal
from empirical.counterexamples import Decoding, Record, read_records, write_records
from empirical.export import export
from empirical.replay import replay, replay_records, table


def test_ground_truth_generators_are_right():
    seen = set()
    for n in range(200):
        q = diagonal.query(n)
        assert q == diagonal.query(n)            # deterministic
        assert q.index == n and q.task == diagonal.TASKS[n % len(diagonal.TASKS)]
        p = q.params
        if q.task == "addition":
            assert int(q.expected) == p["a"] + p["b"] and f"{p['a']} + {p['b']}" in q.prompt
        elif q.task == "subtraction":
            assert int(q.expected) == p["a"] - p["b"] >= 0
        elif q.task == "parity":
            assert q.expected == ("even" if p["x"] % 2 == 0 else "odd") and str(p["x"]) in q.prompt
        elif q.task == "reverse":
            assert q.expected == p["word"][::-1] and p["word"].isalpha() and 3 <= len(p["word"]) <= 6
        else:
            assert q.expected == ", ".join(map(str, sorted(p["numbers"])))
            assert 3 <= len(p["numbers"]) <= 5
        assert q.how.startswith("computed by Python")
        seen.add(q.prompt)
    assert len(seen) > 190                       # the enumeration does not repeat itself


def test_lenient_check_never_counts_formatting_as_failure():
    q = next(diagonal.query(n) for n in range(20) if diagonal.query(n).task == "sort")
    assert not diagonal.clearly_wrong(q, q.expected.replace(" ", ""))
    assert diagonal.clearly_wrong(q, "I cannot sort numbers")
    add = diagonal.query(0)
    assert not diagonal.clearly_wrong(add, f"The answer is {add.expected}.")
    assert diagonal.clearly_wrong(add, "1") and diagonal.committed(add, "1")
    assert not diagonal.committed(add, f"{add.params['a']} plus {add.params['b']} is")


def test_diagonal_on_smollm2_reproduces_on_replay(smollm2):
    family = [("smollm2", Decoding(max_new_tokens=16))]
    records = diagonal.Diagonal(family, b=2, max_queries=12).run_model(smollm2)
    assert records, "SmolLM2 answered the first 12 queries right"
    h1 = [r for r in records if r.theorem == "H-1"]
    h2 = [r for r in records if r.theorem == "H-2"]
    assert len(h1) == 1 and 1 <= len(h2) <= 2
    assert len({r.meta["query_index"] for r in h2}) == len(h2)
    for r in records:
        assert r.correct is False and r.model == "smollm2" and len(r.model_sha256) == 64
        assert r.meta["verified"] and r.meta["verify_output"] == r.output
    report = replay_records(records, loaded_models={"smollm2": smollm2})
    assert [row["status"] for row in report["rows"]] == ["reproduced"] * len(records)
    assert report["summary"]["all_greedy_reproduced"]


def test_diagonal_inputs_are_distinct_across_the_family(smollm2):
    family = [("smollm2", Decoding(max_new_tokens=16)), ("smollm2", Decoding(max_new_tokens=16, seed=1))]
    records = diagonal.Diagonal(family, b=1, max_queries=12).run_model(smollm2)
    h1 = [r.meta["query_index"] for r in records if r.theorem == "H-1"]
    assert len(h1) == len(set(h1))               # s_i differs from s_j: the diagonal argument


def test_replay_of_a_correct_answer_is_not_a_failure(smollm2, tmp_path):
    record = Record(theorem="H-1", task="addition", prompt="What is 2 + 2? Answer with the number only.",
                    expected="4", how="computed by Python: 2 + 2", model="smollm2",
                    model_sha256=smollm2.info()["source_sha256"],
                    decoding=dataclasses.asdict(Decoding()), output="5", correct=False)
    path = tmp_path / "hand.jsonl"
    write_records(path, [record])
    report = replay(path, loaded_models={"smollm2": smollm2})
    row = report["rows"][0]
    assert row["status"] == "not a failure", row["output"]
    assert not report["summary"]["all_greedy_reproduced"]
    assert "not a failure" in table(report)


def test_export_writes_a_harness_task(smollm2, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    records = [Record(theorem=t, task=q.task, prompt=q.prompt, expected=q.expected, how=q.how,
                      model="smollm2", model_sha256="0" * 64, decoding=dataclasses.asdict(decoding),
                      output="wrong", correct=False)
               for t, q, decoding in [("H-1", diagonal.query(0), Decoding()), ("H-2", diagonal.query(0), Decoding()),
                                      ("H-2", diagonal.query(3), Decoding(temperature=0.7, seed=2)),
                                      ("Rt-4", diagonal.query(4), Decoding(max_new_tokens=4, chat=False))]]
    data, config = export(records, tmp_path / "lm_eval", tokenizers={"smollm2": smollm2.tokenizer})
    docs = [json.loads(line) for line in data.read_text().splitlines()]
    assert len(docs) == len(records)             # one document per record, with its provenance
    for index, (doc, r) in enumerate(zip(docs, records)):
        assert (doc["prompt"], doc["target"], doc["theorem"], doc["task"], doc["model"], doc["model_sha256"],
                doc["decoding"], doc["source_record"]) == (r.prompt, r.expected, r.theorem, r.task, r.model,
                                                           r.model_sha256, r.decoding, index)
    assert docs[0]["text"].startswith("<|im_start|>") and docs[3]["text"] == records[3].prompt
    tasks = [doc["lm_eval_task"] for doc in docs]
    assert tasks == ["limits_counterexamples_smollm2_greedy_max12"] * 2 + \
        ["limits_counterexamples_smollm2_t0p7_seed2_max12", "limits_counterexamples_smollm2_greedy_max4"]
    yaml = pytest.importorskip("yaml")

    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!function", lambda loader, node: "!function " + loader.construct_scalar(node))
    assert yaml.load(config.read_text(), Loader=Loader)["task"] == ["limits_counterexamples_smollm2"]
    for name in dict.fromkeys(tasks):
        parsed = yaml.load((config.parent / f"{name}.yaml").read_text(), Loader=Loader)
        assert parsed["task"] == name and parsed["output_type"] == "generate_until"
        assert parsed["process_results"] == "!function utils.process_results"
        assert parsed["generation_kwargs"]["until"] == []              # no stop at a newline
        assert parsed["dataset_kwargs"]["data_file"] == data.name     # found beside utils.py
    assert (config.parent / "utils.py").exists()
    # the records round-trip too
    write_records(tmp_path / "r.jsonl", records)
    assert read_records(tmp_path / "r.jsonl") == records
