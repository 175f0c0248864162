"""`make reliability` resumes: a stage finished with the same code and settings is not redone."""
from __future__ import annotations

from checker import reliability


def test_a_finished_stage_is_kept_for_the_same_code_and_settings(tmp_path):
    stages = reliability.Stages(tmp_path, fresh=False)
    assert stages.get("fuzzing", {"count": 10}) is None
    stages.put("fuzzing", {"count": 10}, {"inputs": 10, "failures": []})
    again = reliability.Stages(tmp_path, fresh=False)
    assert again.get("fuzzing", {"count": 10}) == {"inputs": 10, "failures": []}
    # other settings, a forced fresh run, or other code: the stage runs again
    assert again.get("fuzzing", {"count": 11}) is None
    assert reliability.Stages(tmp_path, fresh=True).get("fuzzing", {"count": 10}) is None
    again.code = "another version of the checker"
    assert again.get("fuzzing", {"count": 10}) is None


def test_a_damaged_stage_file_is_redone(tmp_path):
    stages = reliability.Stages(tmp_path, fresh=False)
    (tmp_path / "mutation.json").write_text("{not json")
    assert stages.get("mutation", {}) is None


def test_the_fingerprint_follows_the_statements(tmp_path, monkeypatch):
    first = reliability.code_fingerprint()
    assert first == reliability.code_fingerprint()
    proofs = tmp_path / "proofs"
    proofs.mkdir()
    (proofs / "a.lim").write_text("theorem X { claim 1 = 1 }\n")
    monkeypatch.setattr(reliability, "proofs", lambda: proofs)
    assert reliability.code_fingerprint() != first


def test_records_survive_an_interruption_and_a_damaged_tail(tmp_path):
    stages = reliability.Stages(tmp_path, fresh=False)
    kept = stages.records("soundness", {"count": 5})
    kept.append({"index": 0})
    kept.append({"index": 3})
    with open(kept.path, "a") as f:
        f.write('{"index": 4, "cut sho')                 # the run was stopped mid-line
    again = reliability.Stages(tmp_path, fresh=False).records("soundness", {"count": 5})
    assert again.records == [{"index": 0}, {"index": 3}]
    again.append({"index": 1})
    assert len(reliability.Stages(tmp_path, fresh=False).records("soundness", {"count": 5})) == 3
    # other settings: started afresh
    assert len(reliability.Stages(tmp_path, fresh=False).records("soundness", {"count": 6})) == 0


def test_the_soundness_run_keeps_finished_records_and_runs_only_the_rest():
    from checker.soundness import harness
    summary, records = harness.run(4, seed=3, jobs=1)
    partial = [r for r in records if r["index"] in (0, 2)]
    seen = []
    again, records_again = harness.run(4, seed=3, jobs=1, finished=partial, progress=seen.append)
    assert sorted(r["index"] for r in seen) == [1, 3]                   # only the missing ones ran
    assert [r["index"] for r in records_again] == [0, 1, 2, 3]
    assert again["verdicts"] == summary["verdicts"]
