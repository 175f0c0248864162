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
