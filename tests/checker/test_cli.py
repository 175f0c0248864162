"""The command line: exit codes, diagnostics on stderr, and what it imports."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from checker import cli
from tests.checker.proofs_run import ROOT, verify_proofs

LOC = re.compile(r"^(?P<file>\S+?):(?P<line>\d+):(?P<col>\d+): error: ", re.M)

GOOD = textwrap.dedent("""\
    theorem C-4 "a small true statement" {
      param x : real
      claim x^2 + 1 > 0
      check symbolic expect proved
    }
    """)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def main(args: list[str], tmp_path: Path) -> int:
    return cli.main(args + ["--build", str(tmp_path / "build")])


def test_exit_0_on_the_proofs_folder():
    run = verify_proofs()
    assert run.code == 0, run.stdout[-3000:]
    assert "checks as expected" in run.stdout
    assert (run.build / "verify" / "report.json").exists()


def test_exit_0_on_a_good_file(tmp_path, capsys):
    f = write(tmp_path, "good.lim", GOOD)
    assert main(["verify", str(f)], tmp_path) == 0
    out = capsys.readouterr().out
    assert "PROVED" in out and "1 of 1 checks as expected" in out
    report = json.loads((tmp_path / "build" / "verify" / "report.json").read_text())
    assert report["all_as_expected"] is True and report["summary"]["proved"] == 1


def test_exit_1_when_a_verdict_differs_from_its_expectation(tmp_path, capsys):
    f = write(tmp_path, "wrong.lim", GOOD.replace("expect proved", "expect refuted"))
    assert main(["verify", str(f)], tmp_path) == 1
    out = capsys.readouterr().out
    assert "NOT as expected" in out
    report = json.loads((tmp_path / "build" / "verify" / "report.json").read_text())
    assert report["all_as_expected"] is False


def test_exit_1_when_a_false_claim_is_expected_proved(tmp_path):
    f = write(tmp_path, "false.lim", GOOD.replace("x^2 + 1 > 0", "x^2 > 1"))
    assert main(["verify", str(f)], tmp_path) == 1


def test_exit_1_for_an_unknown_that_was_expected_proved(tmp_path):
    f = write(tmp_path, "unknown.lim", GOOD.replace("x^2 + 1 > 0", "cos(x) + cos(sqrt(2) * x) > -2"))
    assert main(["verify", str(f)], tmp_path) == 1


def test_a_check_that_cannot_run_is_bad_input(tmp_path, capsys):
    """A binding outside its parameter's domain: status error, never "as expected", exit 2,
    and the problem is reported on stderr like any other located error."""
    f = write(tmp_path, "err.lim", textwrap.dedent("""\
        theorem C-4 "binding outside the domain" {
          param n : int in [1, 10]
          claim n >= 1
          check finite n = 11 expect verified
        }
        """))
    code = main(["verify", str(f)], tmp_path)
    assert code in (1, 2) and code != 0
    report = json.loads((tmp_path / "build" / "verify" / "report.json").read_text())
    assert [r["status"] for r in report["checks"]] == ["error"]
    assert report["all_as_expected"] is False
    if code == 2:
        err = capsys.readouterr().err
        m = LOC.search(err)
        assert m and m.group("file") == str(f) and m.group("line") == "4", err


def test_exit_2_for_a_malformed_file(tmp_path, capsys):
    f = write(tmp_path, "bad.lim", GOOD.replace("claim x^2 + 1 > 0", "claim x^2 + > 0"))
    assert main(["verify", str(f)], tmp_path) == 2
    captured = capsys.readouterr()
    m = LOC.search(captured.err)
    assert m, captured.err
    assert m.group("file") == str(f)
    assert (int(m.group("line")), int(m.group("col"))) == (3, 15)
    assert "    claim x^2 + > 0" in captured.err
    assert "^" in captured.err
    assert not (tmp_path / "build" / "verify" / "report.json").exists()


def test_exit_2_for_a_semantic_error_with_all_diagnostics(tmp_path, capsys):
    text = GOOD.replace("claim x^2 + 1 > 0", "claim y^2 + 1 > 0") + \
        GOOD.replace("C-4", "C-4.other").replace("expect proved", "expect maybe")
    f = write(tmp_path, "bad.lim", text)
    assert main(["verify", str(f)], tmp_path) == 2
    err = capsys.readouterr().err
    assert [int(m.group("line")) for m in LOC.finditer(err)] == [3, 9]
    assert "2 errors" in err


def test_exit_2_for_a_missing_path(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "no-such-file.lim")], tmp_path) == 2
    err = capsys.readouterr().err
    assert "no such file" in err


def test_exit_2_for_a_folder_without_statements(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["verify", str(tmp_path / "empty")], tmp_path) == 2
    assert "error:" in capsys.readouterr().err


def test_exit_2_for_bad_options(tmp_path, capsys):
    f = write(tmp_path, "good.lim", GOOD)
    assert main(["verify", str(f), "--timeout", "0"], tmp_path) == 2
    assert cli.main(["verify", "--no-such-option"]) == 2
    assert cli.main([]) == 2
    capsys.readouterr()


def test_check_command(tmp_path, capsys):
    f = write(tmp_path, "good.lim", GOOD)
    assert cli.main(["check", str(f), "--build", str(tmp_path / "build")]) == 0
    assert (tmp_path / "build" / "check" / "report.json").exists()
    assert "PROVED" in capsys.readouterr().out


def test_only_selects_a_theorem_and_its_variants(tmp_path):
    text = GOOD + GOOD.replace("C-4", "C-4.variant") + GOOD.replace("C-4", "C-2")
    f = write(tmp_path, "three.lim", text)
    assert cli.main(["verify", str(f), "--build", str(tmp_path / "b")]) == 0
    full = (tmp_path / "b" / "verify" / "report.json").read_text()
    assert cli.main(["verify", str(f), "--only", "C-4", "--build", str(tmp_path / "b")]) == 0
    report = json.loads((tmp_path / "b" / "verify" / "only-C-4" / "report.json").read_text())
    assert sorted(r["id"] for r in report["checks"]) == ["C-4", "C-4.variant"]
    # the full run's report is left as it was
    assert (tmp_path / "b" / "verify" / "report.json").read_text() == full


def test_json_on_standard_output_and_progress_on_standard_error(tmp_path, capsys):
    f = write(tmp_path, "good.lim", GOOD + GOOD.replace("C-4", "C-4.variant"))
    assert cli.main(["verify", str(f), "--json", "--build", str(tmp_path / "b")]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["ok"] is True and data["errors"] == []
    assert sorted(c["id"] for c in data["checks"]) == ["C-4", "C-4.variant"]
    assert [line.split("]")[0] for line in err.splitlines()] == ["[checks 1/2", "[checks 2/2"]
    assert cli.main(["verify", str(f), "--json", "--quiet", "--build", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().err == ""
    bad = write(tmp_path, "bad.lim", GOOD.replace("expect proved", "expect nonsense"))
    assert cli.main(["verify", str(bad), "--json", "--build", str(tmp_path / "b")]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["errors"][0]["file"].endswith("bad.lim") and data["errors"][0]["line"] > 0


def test_python_dash_m_checker(tmp_path):
    f = write(tmp_path, "good.lim", GOOD)
    proc = subprocess.run([sys.executable, "-m", "checker", "verify", str(f), "--build", str(tmp_path / "b")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    bad = write(tmp_path, "bad.lim", GOOD.replace("expect proved", "expect nonsense"))
    proc = subprocess.run([sys.executable, "-m", "checker", "verify", str(bad), "--build", str(tmp_path / "b")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert LOC.search(proc.stderr), proc.stderr


def test_checker_never_imports_torch_or_transformers(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        import checker
        from checker import cli
        rc = cli.main(["verify", "proofs", "--only", "H-1", "--build", {str(tmp_path / "b")!r}])
        assert rc == 0, rc
        rc = cli.main(["verify", {str(write(tmp_path, "good.lim", GOOD))!r}, "--build", {str(tmp_path / "b")!r}])
        assert rc == 0, rc
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers"))
        assert not heavy, heavy
        print("ok")
        """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("ok")


@pytest.mark.parametrize("module", ["checker.api", "checker.cli", "checker.decide.engine", "checker.decide.evaluator",
                                    "checker.decide.z3_backend", "checker.decide.sympy_backend",
                                    "checker.decide.eliminate"])
def test_modules_import_without_torch(module):
    code = (f"import sys, {module}\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')]\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
