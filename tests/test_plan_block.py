"""The standard preset's plan as document blocks: the README's sentence and the table follow the
plan's numbers (rendered from `results/<preset>/plan.json`, which `--plan` writes)."""
from __future__ import annotations

from empirical.figures import plan_block, plan_total_block


def _req(theorem: str, needed: int, planned: int, gpu: bool = False) -> dict:
    return {"theorem": theorem, "label": "", "quantity": "q", "test": "t", "effect": "e", "unit": "prompts",
            "needed": needed, "planned": planned, "mapping": "m", "met": planned >= needed, "note": "", "gpu": gpu}


def _plan(reqs: list[dict], idle=(1.0, 2.5)) -> dict:
    rows = [{"probe": "needle", "model": "smollm2", "samples": 96, "on_disk": 3, "seconds_per_sample": 50.0,
             "hours_total": 1.5, "hours_idle_total": idle[0], "timing": "2 timed samples (standard)",
             "config_differs": False, "hours_left": 1.4, "hours_idle": 0.9},
            {"probe": "multimodal", "model": "trained-here", "samples": 135, "on_disk": 0,
             "seconds_per_sample": 80.0, "hours_total": 3.0, "hours_idle_total": idle[1],
             "timing": "2 timed samples (standard)", "config_differs": False, "hours_left": 3.0, "hours_idle": 2.5}]
    return {"preset": "standard", "idle_speedup": 1.5, "rows": rows, "analyses": [["needle", reqs]]}


def test_the_total_adds_the_rows_and_counts_the_short_verdicts():
    said = plan_total_block(_plan([_req("C-3", 37, 96), _req("C-4", 23, 10), _req("M-1", 70, 35, gpu=True)]))
    assert "231 samples over 2 probes, on SmolLM2-135M and models trained here" in said
    assert "about 3.50 hours on this 2-core machine when idle (4.50 hours as timed" in said
    assert "1 of its 3 verdicts get the sample" in said
    assert "1 needs a GPU" in said and "1 short" in said


def test_an_untimed_row_marks_the_total_as_a_lower_bound():
    said = plan_total_block(_plan([_req("C-3", 37, 96)], idle=(None, 2.5)))
    assert "about 2.50+ hours" in said and "1 of its 1 verdicts" in said and "GPU" not in said


def test_the_table_has_a_row_per_probe_and_model_and_per_verdict():
    table = plan_block(_plan([_req("C-3", 37, 96), _req("M-1", 70, 35, gpu=True)]))
    lines = table.splitlines()
    assert "| needle | smollm2 | 96 | 50.0 | 1.50 | 1.00 | 2 timed samples (standard) |" in lines
    assert "| all | | 231 | | 4.50 | 3.50 | |" in lines
    assert any(line.startswith("| needle | M-1 |") and "| 70 | 35 (GPU) |" in line for line in lines)
