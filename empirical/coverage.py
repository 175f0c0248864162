"""Every statement id of the paper beside what confronts it: its crosscheck rows, or why none can.

`REASONS` is the one table of reasons: for a paper id that no measurement in `results/` confronts,
the sentence that says why (what the bound needs that a measurement cannot give, or where it is
measured instead). `coverage_rows` refuses an id that has neither rows nor a reason, so the
rendered table (in results/CROSSCHECK.md and the README) cannot leave one out silently. Pure
functions of the verdicts' JSON: importing this module does not import torch.
"""
from __future__ import annotations

from checker.language.elaborate import KNOWN_IDS

# The paper's statement ids (open questions O-* are not statements).
PAPER_IDS: tuple[str, ...] = tuple(i for i in KNOWN_IDS if not i.startswith("O-"))

# Why an id has no measured row, used only while it has none.
REASONS: dict[str, str] = {
    "H-4": ("a counting bound over all target functions (2^(c+1) programs of length <= c against |Y|^|X| "
            "functions): neither a pretrained model's description length nor its targets' complexity can be "
            "read off it; measurable only on models trained here, where both are known (empirical/probes/facts.py)"),
    "H-5": ("a sample-complexity bound for learning m facts to error eps: it needs the training sample, which "
            "a pretrained model does not come with; measurable only on models trained here "
            "(empirical/probes/facts.py)"),
    "H-6": ("a floor set by the share eta of false claims about a fact in the training corpus: unknown for a "
            "pretrained model's corpus; measurable only on models trained on a corpus with known noise "
            "(empirical/probes/facts.py)"),
    "H-9": ("Kalai and Vempala's bound needs the training set's monofact rate and the model's miscalibration "
            "over its whole output distribution; the first is unknown for a pretrained model; measurable only "
            "on models trained here (empirical/probes/facts.py)"),
}


# The probes (empirical/probes/<name>.py, listed in cli.PROBES) whose THEOREMS confront each id; a
# test holds this table to the modules. An id with a probe but no results in a folder says which
# command would measure it.
PROBED: dict[str, tuple[str, ...]] = {
    "H-1": ("diagonal",), "H-2": ("diagonal",), "H-3": ("halting",), "H-4": ("facts",), "H-5": ("facts",),
    "H-6": ("facts",), "H-7": ("abstention",), "H-8": ("temperature",), "H-9": ("facts",),
    "C-1": ("position_loss",), "C-2": ("attenuation",), "C-3": ("needle",), "C-4": ("needle", "position_loss"),
    "R-1": ("mediation",), "R-2": ("traces",), "R-3": ("traces",),
    "Rt-1": ("retrieval",), "Rt-2": ("breadth",), "Rt-3": ("retrieval",), "Rt-4": ("retrieval",),
    "M-1": ("multimodal",), "M-2": ("multimodal",),
}


class CoverageError(ValueError):
    """A paper id with neither a measured row nor a reason, or a reason for an unknown id."""


def coverage_rows(verdicts: list[dict]) -> list[dict]:
    """Per paper id, in the paper's order: {"id", "verdicts": [(statement, probe, model, verdict)],
    "reason", "probes"}: the reason only when no verdict confronts the id, the probes that would."""
    unknown = sorted(set(REASONS) - set(PAPER_IDS))
    if unknown:
        raise CoverageError(f"reasons given for ids the paper does not have: {', '.join(unknown)}")
    rows = []
    for pid in PAPER_IDS:
        mine = sorted((v["theorem"], v["probe"], v["model"], v["verdict"]) for v in verdicts
                      if v["theorem"].split(".")[0] == pid)
        probes = PROBED.get(pid, ())
        reason = "" if mine else REASONS.get(pid, "")
        if not mine and not reason and not probes:
            raise CoverageError(f"{pid} has no crosscheck row, no probe and no stated reason "
                                "(empirical/coverage.py REASONS)")
        if not mine and not reason:
            reason = (f"no results in this folder yet: `limits crosscheck --probes {','.join(probes)}` "
                      "measures it")
        rows.append({"id": pid, "verdicts": mine, "reason": reason, "probes": probes})
    return rows


def coverage_markdown(verdicts: list[dict]) -> str:
    """The coverage table: each id, its verdicts counted by kind with the models, or its reason."""
    lines = ["| id | rows | verdicts (statement, probe: model verdict) or why none |", "|---|---|---|"]
    measured = 0
    for row in coverage_rows(verdicts):
        if row["verdicts"]:
            measured += 1
            cells = "; ".join(f"{t} {p}: {m} {v}" for t, p, m, v in row["verdicts"])
            lines.append(f"| {row['id']} | {len(row['verdicts'])} | {cells} |")
        else:
            lines.append(f"| {row['id']} | 0 | not measured: {row['reason']} |")
    lines += ["", f"{measured} of the {len(PAPER_IDS)} statement ids have measured rows; "
                  f"{len(PAPER_IDS) - measured} have a stated reason instead (empirical/coverage.py)."]
    return "\n".join(lines) + "\n"


def coverage_compact(verdicts: list[dict]) -> str:
    """The README's form: each id with its verdicts counted by kind, or "not measured"."""
    lines = ["| id | verdicts | id | verdicts |", "|---|---|---|---|"]
    cells = []
    for row in coverage_rows(verdicts):
        counts: dict[str, int] = {}
        for *_, verdict in row["verdicts"]:
            counts[verdict] = counts.get(verdict, 0) + 1
        said = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "not measured (reason in CROSSCHECK.md)"
        cells.append((row["id"], said))
    half = (len(cells) + 1) // 2
    for left, right in zip(cells[:half], cells[half:] + [("", "")] * (2 * half - len(cells))):
        lines.append(f"| {left[0]} | {left[1]} | {right[0]} | {right[1]} |")
    return "\n".join(lines) + "\n"
