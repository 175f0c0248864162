"""The result cache: keyed by the exact text and the tool versions; stale or corrupt entries are never used."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.analyses.cache import Cache, checker_version, tool_versions

VERSIONS = {"checker": "abc", "z3": "4.15.4", "cvc5": "1.4.2", "sympy": "1.14", "python": "3.12"}


def test_hit_after_put(tmp_path: Path):
    cache = Cache(tmp_path, VERSIONS)
    assert cache.get("cvc5", "(check-sat)", {"timeout_s": 2}) is None
    cache.put("cvc5", "(check-sat)", ["unsat", ""], {"timeout_s": 2})
    assert cache.get("cvc5", "(check-sat)", {"timeout_s": 2}) == ["unsat", ""]
    assert (cache.hits, cache.misses) == (1, 1)


@pytest.mark.parametrize("change", ["text", "checker", "z3", "cvc5", "sympy", "python", "options", "kind"])
def test_a_different_text_version_or_option_is_a_miss(tmp_path: Path, change):
    """A probe's statuses are the checker's answer: any tool's version, the checker's own included, keys them."""
    Cache(tmp_path, VERSIONS).put("statuses", "theorem T {}", ["proved"], {"timeout": 2})
    versions = dict(VERSIONS)
    text, options, kind = "theorem T {}", {"timeout": 2}, "statuses"
    if change == "text":
        text = "theorem T  {}"  # one more space: another statement
    elif change == "options":
        options = {"timeout": 3}
    elif change == "kind":
        kind = "cvc5"
    else:
        versions[change] = versions[change] + "-new"
    assert Cache(tmp_path, versions).get(kind, text, options) is None


@pytest.mark.parametrize("change", ["checker", "z3", "sympy", "python"])
def test_a_cvc5_answer_outlives_an_edit_of_the_checker(tmp_path: Path, change):
    """cvc5's answer depends on the query's text and on cvc5 alone: a new checker (or Z3, SymPy,
    Python) that asks the same query finds it; another cvc5, limit or query text does not."""
    Cache(tmp_path, VERSIONS).put("cvc5", "(assert true)", ["sat", ""], {"timeout_s": 2})
    versions = {**VERSIONS, change: VERSIONS[change] + "-new"}
    assert Cache(tmp_path, versions).get("cvc5", "(assert true)", {"timeout_s": 2}) == ["sat", ""]
    assert Cache(tmp_path, {**versions, "cvc5": "1.5.0"}).get("cvc5", "(assert true)", {"timeout_s": 2}) is None
    assert Cache(tmp_path, versions).get("cvc5", "(assert true)", {"timeout_s": 3}) is None
    assert Cache(tmp_path, versions).get("cvc5", "(assert  true)", {"timeout_s": 2}) is None


def test_an_entry_stored_under_the_right_key_for_other_material_is_stale(tmp_path: Path):
    """A file whose key matches but whose recorded material does not (a copied or forged
    entry, or a hash collision) is never used."""
    cache = Cache(tmp_path, VERSIONS)
    cache.put("cvc5", "query A", ["unsat", ""])
    key_b = cache.key("cvc5", "query B")
    path_a = cache.path("cvc5", cache.key("cvc5", "query A"))
    path_b = cache.path("cvc5", key_b)
    path_b.parent.mkdir(parents=True, exist_ok=True)
    path_b.write_text(path_a.read_text())  # A's answer filed under B's key
    fresh = Cache(tmp_path, VERSIONS)
    assert fresh.get("cvc5", "query B") is None
    assert fresh.stale == 1
    old = json.loads(path_a.read_text())
    old["material"]["versions"]["z3"] = "4.8.0"  # written by an older Z3
    path_a.write_text(json.dumps(old))
    assert fresh.get("cvc5", "query A") is None and fresh.stale == 2


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", '{"value": ["unsat", ""]}', "null"])
def test_a_corrupt_file_is_ignored_and_reported(tmp_path: Path, content):
    cache = Cache(tmp_path, VERSIONS)
    cache.put("cvc5", "q", ["unsat", ""])
    path = cache.path("cvc5", cache.key("cvc5", "q"))
    path.write_text(content)
    assert cache.get("cvc5", "q") is None
    assert cache.corrupt == [str(path)]
    assert "1 corrupt files ignored" in cache.summary()
    cache.put("cvc5", "q", ["sat", ""])  # the next write replaces it
    assert Cache(tmp_path, VERSIONS).get("cvc5", "q") == ["sat", ""]


def test_disabled_cache_neither_reads_nor_writes(tmp_path: Path):
    cache = Cache(None, VERSIONS)
    cache.put("cvc5", "q", ["unsat", ""])
    assert cache.get("cvc5", "q") is None and not cache.enabled


def test_versions_name_every_tool_and_the_checker_source():
    versions = tool_versions()
    assert {"checker", "z3", "sympy", "cvc5", "python"} <= set(versions)
    assert versions["checker"] == checker_version() and len(checker_version()) == 16
