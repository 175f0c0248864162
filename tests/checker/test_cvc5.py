"""The second solver: cvc5 re-checks the exported SMT-LIB queries and is compared with Z3."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

cvc5 = pytest.importorskip("cvc5")

from checker import cli  # noqa: E402
from checker.analyses.cvc5_check import recheck, recheck_report, summary_line, z3_answer  # noqa: E402

NRA_UNSAT = "(set-logic QF_NRA)\n(declare-fun x () Real)\n(assert (< (* x x) 0.0))\n(check-sat)\n(get-model)\n"
NRA_SAT = ("(set-logic QF_NRA)\n(declare-fun x () Real)\n(declare-fun y () Real)\n"
           "(assert (and (> x 0.0) (= (* x x) 2.0) (= y (* x x x))))\n(check-sat)\n(get-model)\n")
LIA_UNSAT = ("(set-logic QF_LIA)\n(declare-fun n () Int)\n"
             "(assert (and (> (* 2 n) 3) (< (* 2 n) 5) (not (= n 2))))\n(check-sat)\n")
LIA_SAT = "(set-logic QF_LIA)\n(declare-fun n () Int)\n(assert (and (> (* 2 n) 3) (< n 10)))\n(check-sat)\n"
UFLIA_UNSAT = ("(set-logic UFLIA)\n(declare-fun f (Int) Int)\n"
               "(assert (forall ((x Int)) (> (f x) x)))\n(assert (< (f 3) 2))\n(check-sat)\n")


@pytest.mark.parametrize("text, expected", [
    (NRA_UNSAT, "unsat"), (NRA_SAT, "sat"), (LIA_UNSAT, "unsat"), (LIA_SAT, "sat"), (UFLIA_UNSAT, "unsat"),
])
def test_cvc5_answers(text, expected):
    answer, reason = recheck(text, 5)
    assert answer == expected, reason


def test_z3_style_to_real_in_a_real_logic_is_accepted():
    # Z3 prints (to_real 0) inside QF_LRA; cvc5 rejects it there, so the logic is widened.
    text = "; header\n(set-logic QF_LRA)\n(declare-fun b () Real)\n(assert (< b (to_real 0)))\n(check-sat)\n"
    answer, reason = recheck(text, 5)
    assert answer == "sat" and "widened to QF_LIRA" in reason


@pytest.mark.parametrize("text", [
    "(set-logic QF_LRA)\n(declare-fun x () Real)\n(assert (< (",
    "(set-logic QF_LRA)\n(declare-fun x () Real)\n(assert (< (undeclared x) 0.0))\n(check-sat)\n",
    "(set-logic QF_LRA)\n(assert (root-obj (+ (^ x 2) (- 2)) 1))\n(check-sat)\n",
])
def test_malformed_input_is_unknown_not_an_exception(text):
    answer, reason = recheck(text, 5)
    assert answer == "unknown"
    assert reason


def test_z3_answer_comment():
    assert z3_answer("(check-sat)\n; z3 answer: unsat\n") == "unsat"
    assert z3_answer("(check-sat)\n") is None


STATEMENT = textwrap.dedent("""\
    theorem C-4 "small statements" {
      param x : real
      claim x^2 + 1 > 0
      check symbolic expect proved
    }
    theorem C-4.false "a false one" {
      param x : real
      claim x^2 > 0
      check symbolic expect refuted
    }
    """)


def test_recheck_agrees_with_z3_on_a_small_build(tmp_path: Path, capsys):
    source = tmp_path / "small.lim"
    source.write_text(STATEMENT)
    code = cli.main(["verify", str(source), "--build", str(tmp_path / "build"), "--timeout", "5",
                     "--second-solver"])
    out = capsys.readouterr().out
    assert code == 0, out
    report_path = tmp_path / "build" / "verify" / "report.json"
    report = json.loads(report_path.read_text())
    paths = [p for c in report["checks"] for p in c["smt2"]]
    assert paths and all(z3_answer(Path(p).read_text()) in ("sat", "unsat") for p in paths)
    second = report["second_solver"]
    assert second["files"] == len(paths)
    assert second["disagree"] == 0 and second["agree"] == len(paths) and second["unknown"] == 0
    assert second["agreement_rate"] == 1.0 and second["coverage"] == 1.0
    assert "second solver (cvc5" in out and f"{len(paths)} queries, {len(paths)} agree, 0 disagree" in out
    # The recheck on its own gives the same figures.
    again = recheck_report(report_path, 5)
    assert (again["agree"], again["disagree"], again["unknown"]) == (second["agree"], 0, 0)
    # every check that rests on Z3 rests on cvc5 too once it agreed on all its queries
    assert all("cvc5" in c["methods"] for c in report["checks"] if "z3" in c["methods"] and c["smt2"])


def test_a_cvc5_unknown_is_never_cached(tmp_path: Path):
    from checker.analyses.cache import Cache
    from checker.analyses.cvc5_check import recheck_cached
    cache = Cache(tmp_path / "cache")
    hard = ("(set-logic QF_NIA)\n(declare-fun x () Int)\n(declare-fun y () Int)\n(declare-fun z () Int)\n"
            "(assert (and (> x 0) (> y 0) (> z 0) (= (+ (* x x x) (* y y y)) (* z z z))))\n(check-sat)\n")
    answer, _, cached = recheck_cached(hard, 0.2, cache)
    assert answer == "unknown" and not cached
    answer2, _, cached2 = recheck_cached(hard, 0.2, cache)
    assert answer2 == "unknown" and not cached2   # asked again, not read back from the cache
    answer3, _, _ = recheck_cached(NRA_UNSAT, 5, cache)
    assert answer3 == "unsat" and recheck_cached(NRA_UNSAT, 5, cache)[2]   # definite answers are kept


def test_a_report_says_how_many_earlier_unknowns_it_asked_again(tmp_path: Path):
    """A query left unknown at a short limit is asked again by the next run, which counts it."""
    import json

    from checker.analyses.cache import Cache
    from checker.analyses.cvc5_check import recheck_report
    hard = ("(set-logic QF_NIA)\n(declare-fun x () Int)\n(declare-fun y () Int)\n(declare-fun z () Int)\n"
            "(assert (and (> x 0) (> y 0) (> z 0) (= (+ (* x x x) (* y y y)) (* z z z))))\n(check-sat)\n")
    files = []
    for i, text in enumerate([hard + "; z3 answer: unknown\n", NRA_UNSAT + "; z3 answer: unsat\n"]):
        files.append(tmp_path / f"q{i}.smt2")
        files[-1].write_text(text)
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"checks": [{"id": "C-1", "check_index": 0, "smt2": [str(f) for f in files]}]}))
    first = recheck_report(report, 0.2, Cache(tmp_path / "cache"))
    assert (first["unknown"], first["agree"], first["retried"]) == (1, 1, 0)
    second = recheck_report(report, 0.2, Cache(tmp_path / "cache"))
    assert (second["from_cache"], second["retried"], second["retried_decided"]) == (1, 1, 0)


def test_a_disagreement_fails(tmp_path: Path):
    build = tmp_path / "verify"
    smt2 = build / "smt2" / "C-1"
    smt2.mkdir(parents=True)
    wrong = smt2 / "check1-q1.smt2"
    wrong.write_text(NRA_UNSAT + "; z3 answer: sat\n")  # pretend Z3 said sat
    unknown = smt2 / "check1-q2.smt2"
    unknown.write_text(LIA_SAT + "; z3 answer: unknown\n")
    agree = smt2 / "check1-q3.smt2"
    agree.write_text(LIA_UNSAT + "; z3 answer: unsat\n")
    (build / "report.json").write_text(json.dumps(
        {"checks": [{"id": "C-1", "check_index": 0, "smt2": [str(wrong), str(unknown), str(agree)]}]}))
    summary = recheck_report(build / "report.json", 5)
    assert (summary["files"], summary["agree"], summary["disagree"], summary["unknown"]) == (3, 1, 1, 1)
    assert summary["disagreements"][0]["file"] == str(wrong)
    assert summary["unknowns"][0]["z3"] == "unknown" and summary["unknowns"][0]["cvc5"] == "sat"
    assert summary["agreement_rate"] == 0.5 and summary["coverage"] == pytest.approx(2 / 3, abs=1e-5)
    assert "3 queries, 1 agree, 1 disagree, 1 unknown" in summary_line(summary)


def test_cached_answers_are_keyed_by_text_and_versions(tmp_path: Path):
    from checker.analyses.cache import Cache
    from checker.analyses.cvc5_check import recheck_cached
    versions = {"checker": "x", "cvc5": "1.4.2", "z3": "4", "sympy": "1", "python": "3"}
    cache = Cache(tmp_path, versions)
    assert recheck_cached(NRA_UNSAT, 5, cache) == ("unsat", "", False)
    assert recheck_cached(NRA_UNSAT, 5, cache) == ("unsat", "", True)
    # A forged entry for this very text under other versions is never used.
    other = Cache(tmp_path, {**versions, "cvc5": "1.5.0"})
    other.put("cvc5", NRA_SAT, ["unsat", ""], {"timeout_s": 5, "cvc5_options": __import__(
        "checker.analyses.cvc5_check", fromlist=["CVC5_OPTIONS"]).CVC5_OPTIONS})
    assert recheck_cached(NRA_SAT, 5, cache)[:2] == ("sat", "")
    # Another text (one more space) is another query.
    assert recheck_cached(NRA_UNSAT.replace("(< ", "(<  "), 5, cache)[2] is False


def test_a_corrupt_cache_file_is_reported_and_not_trusted(tmp_path: Path, capsys):
    source = tmp_path / "small.lim"
    source.write_text(STATEMENT)
    args = ["verify", str(source), "--build", str(tmp_path / "build"), "--timeout", "5", "--second-solver",
            "--cache", str(tmp_path / "cache")]
    assert cli.main(args) == 0
    files = sorted((tmp_path / "cache" / "cvc5").rglob("*.json"))
    assert files
    for f in files:
        f.write_text('{"material": {}, "value": ["sat"')  # truncated
    capsys.readouterr()
    assert cli.main(args) == 0
    captured = capsys.readouterr()
    assert f"{len(files)} corrupt cache files ignored" in captured.out
    assert "corrupt cache file ignored" in captured.err
    report = json.loads((tmp_path / "build" / "verify" / "report.json").read_text())
    assert report["second_solver"]["disagree"] == 0 and report["second_solver"]["from_cache"] == 0


def test_files_with_the_same_query_are_asked_once_and_the_answer_keys_on_the_query(tmp_path: Path):
    """Two files that differ only in their comments (the header naming the theorem, Z3's answer)
    are one query: cvc5 is asked once, both files get its answer, and the cache entry is found
    again under another header, whatever the checker's version."""
    import json

    from checker.analyses.cache import Cache
    from checker.analyses.cvc5_check import query_text, recheck_report
    files = []
    for i, header in enumerate(["; T-1 check 1", "; T-2 check 3, another header"]):
        files.append(tmp_path / f"q{i}.smt2")
        files[-1].write_text(f"{header}\n{NRA_UNSAT}; z3 answer: unsat\n")
    assert query_text(files[0].read_text()) == query_text(files[1].read_text())
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"checks": [{"id": "T-1", "check_index": 0, "smt2": [str(f) for f in files]}]}))
    cache = Cache(tmp_path / "cache")
    first = recheck_report(report, 5, cache)
    assert (first["files"], first["agree"], first["from_cache"]) == (2, 2, 0)
    assert len(list((tmp_path / "cache" / "cvc5").rglob("*.json"))) == 1
    newer = Cache(tmp_path / "cache", {**cache.versions, "checker": "edited"})
    files[0].write_text(f"; T-1 renamed\n{NRA_UNSAT}; z3 answer: unsat\n")
    second = recheck_report(report, 5, newer)
    assert (second["agree"], second["from_cache"]) == (2, 2)


def test_a_warm_run_keeps_an_earlier_unknown_unless_asked_again(tmp_path: Path):
    """`make verify` does not spend cvc5's whole limit again on a query an earlier run left
    unknown at that very limit: it stays unknown, saying so; --recheck-unknown asks again."""
    import json

    from checker.analyses.cache import Cache
    from checker.analyses.cvc5_check import recheck_report
    hard = ("(set-logic QF_NIA)\n(declare-fun x () Int)\n(declare-fun y () Int)\n(declare-fun z () Int)\n"
            "(assert (and (> x 0) (> y 0) (> z 0) (= (+ (* x x x) (* y y y)) (* z z z))))\n(check-sat)\n")
    path = tmp_path / "q.smt2"
    path.write_text(hard + "; z3 answer: unknown\n")
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"checks": [{"id": "C-1", "check_index": 0, "smt2": [str(path)]}]}))
    first = recheck_report(report, 0.2, Cache(tmp_path / "cache"), retry_unknown=False)
    kept = recheck_report(report, 0.2, Cache(tmp_path / "cache"), retry_unknown=False)
    assert first["unknown"] == kept["unknown"] == 1 and kept["retried"] == 0 and kept["from_cache"] == 1
    assert "earlier run at this limit" in kept["unknowns"][0]["reason"]
    other_limit = recheck_report(report, 0.3, Cache(tmp_path / "cache"), retry_unknown=False)
    assert other_limit["from_cache"] == 0          # another limit: asked
    asked = recheck_report(report, 0.2, Cache(tmp_path / "cache"), retry_unknown=True)
    assert asked["retried"] == 1 and asked["from_cache"] == 0
