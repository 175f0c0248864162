"""The transcendental benchmark's inputs: the problem lines, their translation and the version key.

Nothing is decided here (the verdicts are measured by `make bench-transcendental`)."""
from __future__ import annotations

from bench.transcendental import __main__ as bench_main
from bench.transcendental import translate as T
from checker.api import load_text


def _lines():
    for file, prefix, _origin in T.SOURCES:
        for line in (T.HERE / file).read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, formula = (s.strip() for s in line.split("|", 1))
                yield prefix + name, name, formula


def test_every_problem_line_is_in_problems_lim_as_translate_writes_it():
    statements = dict(bench_main._statements(T.HERE / "problems.lim"))
    ids = [ident for ident, _, _ in _lines()]
    assert len(ids) == len(set(ids)) >= 100      # the issue asks for at least 100 problems
    assert sorted(ids) == sorted(statements)
    for ident, name, formula in _lines():
        if name in T.DOMAIN_CHANGES:
            old, new, _ = T.DOMAIN_CHANGES[name]
            assert old in formula, f"{name}: the domain change no longer applies"
            formula = formula.replace(old, new)
        names, body = T.Parser(formula).problem()
        hyps, claim = T.split(body)
        text = statements[ident]
        assert f"  claim {T.to_lim(claim)}\n" in text, ident
        assert all(f": {T.to_lim(h)}\n" in text for h in hyps), ident


def test_the_new_problems_load_and_every_false_variant_has_its_problem():
    true = dict(bench_main._statements(T.HERE / "problems.lim"))
    false = dict(bench_main._statements(T.HERE / "false.lim"))
    assert all(ident.removesuffix(".false") in true for ident in false)
    assert len(false) >= 0.9 * len(true)
    fresh = [text for ident, text in true.items() if "(verified-metitarski)" in text]
    assert len(fresh) == 15
    for text in fresh:
        (thm,) = load_text(text)
        assert thm.checks[0].expect == "proved"
    assert "x <= (355 / 113)" in true["MT-sin-problem-3"]      # pi replaced, as the README says


def test_the_version_key_follows_the_deciding_sources_only(tmp_path, monkeypatch):
    for part in ("checker/decide", "checker/language", "checker/analyses"):
        (tmp_path / part).mkdir(parents=True)
    (tmp_path / "checker/decide/engine.py").write_text("A = 1\n")
    (tmp_path / "checker/language/core.py").write_text("B = 1\n")
    (tmp_path / "checker/api.py").write_text("C = 1\n")
    (tmp_path / "checker/verdict.py").write_text("D = 1\n")
    (tmp_path / "checker/cli.py").write_text("E = 1\n")
    (tmp_path / "checker/analyses/cache.py").write_text("F = 1\n")
    monkeypatch.setattr(bench_main, "ROOT", tmp_path)
    first = bench_main._fingerprint()
    (tmp_path / "checker/cli.py").write_text("E = 2\n")
    (tmp_path / "checker/analyses/cache.py").write_text("F = 2\n")
    assert bench_main._fingerprint() == first
    (tmp_path / "checker/decide/engine.py").write_text("A = 2\n")
    assert bench_main._fingerprint() != first
