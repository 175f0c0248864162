"""A second solver: re-check the exported SMT-LIB queries with cvc5 and compare with Z3.

`recheck(text, timeout_s)` decides one SMT-LIB 2 query with cvc5's Python API and returns
("sat" | "unsat" | "unknown", reason). It never raises on bad input: a file cvc5 cannot parse
is "unknown" with the parse error as the reason.

`recheck_report(report_json, timeout_s)` re-checks every `smt2` file that report.json lists and
compares cvc5's answer with Z3's, which the engine records in each file as `; z3 answer: ...`.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TypeGuard, cast

import cvc5

VERSION = getattr(cvc5, "__version__", "?")

# Cylindrical algebraic coverings make cvc5 complete for nonlinear real arithmetic;
# incremental linearisation (nl-ext) helps the mixed and integer cases.
CVC5_OPTIONS = {"produce-models": "false", "nl-cov": "true", "nl-ext": "full"}

_ANSWER = re.compile(r"^;\s*z3 answer:\s*(sat|unsat|unknown)\s*$", re.M)
_LOGIC = re.compile(r"\(set-logic\s+([A-Za-z_]+)\s*\)")
# Commands that are not part of the query: models are not produced, and check-sat is ours.
_DROP = re.compile(r"\((get-model|check-sat|exit)\)")


def z3_answer(text: str) -> str | None:
    """Z3's answer as recorded by the engine in the file, or None when it is not recorded."""
    found = _ANSWER.findall(text)
    return found[-1] if found else None


def _solve(body: str, logic: str | None, timeout_s: float) -> tuple[str, str]:
    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    solver.setOption("tlimit-per", str(max(1, int(timeout_s * 1000))))
    for name, value in CVC5_OPTIONS.items():
        solver.setOption(name, value)
    if logic is not None:
        body = f"(set-logic {logic})\n" + body
    symbols = cvc5.SymbolManager(tm)
    parser = cvc5.InputParser(solver, symbols)
    parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, body, "query.smt2")
    while True:
        command = parser.nextCommand()
        if command.isNull():
            break
        command.invoke(solver, symbols)
    result = solver.checkSat()
    if result.isSat():
        return "sat", ""
    if result.isUnsat():
        return "unsat", ""
    return "unknown", f"cvc5: {result.getUnknownExplanation()}"


def recheck(smt2_text: str, timeout_s: float = 10.0) -> tuple[str, str]:
    """cvc5's answer to one SMT-LIB query, in a child process that is killed if cvc5 overruns
    its own time limit (seen on some quantified queries): a hang becomes unknown, never a wait."""
    answer, reason, _ = _run_children([smt2_text], timeout_s, 1)[0]
    return answer, reason


def recheck_many(texts: list[str], timeout_s: float = 10.0, jobs: int = 1) -> list[tuple[str, str]]:
    """`recheck` of several queries with up to `jobs` cvc5 children at once, each with the same
    hard stop; answers in the order of `texts`."""
    return [(answer, reason) for answer, reason, _ in _run_children(texts, timeout_s, jobs)]


def _run_children(texts: list[str], timeout_s: float, jobs: int, progress=None) -> list[tuple[str, str, float]]:
    """(answer, reason, seconds) for each text, from up to `jobs` cvc5 children at once; a child
    still running 3 x its limit + 2 s after it started is killed and its answer is unknown.
    `progress(done, total)` is called as answers come in."""
    import multiprocessing
    from multiprocessing.connection import Connection, wait
    context = multiprocessing.get_context("fork")
    answers: list[tuple[str, str, float] | None] = [None] * len(texts)
    running: dict = {}                      # parent end of the pipe -> (index, process, started)
    pending = list(range(len(texts)))
    limit = 3 * timeout_s + 2

    def start(i):
        parent, child = context.Pipe(duplex=False)
        process = context.Process(target=_recheck_child, args=(texts[i], timeout_s, child), daemon=True)
        process.start()
        child.close()
        running[parent] = (i, process, time.monotonic())

    while pending or running:
        while pending and len(running) < max(1, jobs):
            start(pending.pop(0))
        soonest = min(started + limit for _, _, started in running.values())
        # wait() returns those of the given pipe ends that are ready
        for conn in cast("list[Connection]", wait(list(running), timeout=max(0.0, soonest - time.monotonic()))):
            i, process, started = running.pop(conn)
            try:
                answer, reason = conn.recv()
            except EOFError:
                answer, reason = "unknown", "cvc5 stopped without an answer"
            process.join()
            answers[i] = (answer, reason, time.monotonic() - started)
            if progress:
                progress(sum(a is not None for a in answers), len(texts))
        now = time.monotonic()
        for conn, (i, process, started) in list(running.items()):
            if now >= started + limit:
                running.pop(conn)
                process.kill()
                process.join()
                answers[i] = ("unknown", f"cvc5 overran its limit and was stopped after {limit:g} s", now - started)
                if progress:
                    progress(sum(a is not None for a in answers), len(texts))
    return answers  # type: ignore[return-value]


def _recheck_child(smt2_text: str, timeout_s: float, conn) -> None:
    try:
        conn.send(recheck_here(smt2_text, timeout_s))
    except Exception as err:  # noqa: BLE001 - reported to the parent as unknown
        conn.send(("unknown", f"cvc5 failed: {type(err).__name__}: {err}"))
    finally:
        conn.close()


def query_text(smt2_text: str) -> str:
    """What cvc5 is given of a query file: its commands without the comment lines (the header
    naming the theorem and the check, Z3's recorded answer) and without the commands that are
    not part of the query. Two files with the same query text get the same answer."""
    lines = [line for line in smt2_text.splitlines() if not line.lstrip().startswith(";")]
    return _DROP.sub("", "\n".join(lines))


def recheck_here(smt2_text: str, timeout_s: float = 10.0) -> tuple[str, str]:
    """cvc5's answer to one SMT-LIB query: ("sat" | "unsat" | "unknown", reason)."""
    body = query_text(smt2_text)
    match = _LOGIC.search(body)
    logic = match.group(1) if match else None
    body = _LOGIC.sub("", body, count=1)
    # Z3 mixes Int and Real (to_real, to_int) under a pure real or integer logic: cvc5 rejects
    # that, so the logic is widened first to its mixed-arithmetic form, then to ALL.
    attempts = [logic]
    if logic and re.search(r"[^I][IR]A$", logic):
        attempts.append(re.sub(r"[IR]A$", "IRA", logic))
    attempts = [a for a in attempts if a not in (None, "ALL")] + ["ALL"]
    first_error = ""
    for n, attempt in enumerate(attempts):
        try:
            answer, reason = _solve(body, attempt, timeout_s)
        except Exception as err:  # cvc5 raises RuntimeError on parse and logic errors
            message = " ".join(str(err).split())
            if n + 1 < len(attempts):
                first_error = first_error or message
                continue
            return "unknown", f"cvc5 could not read the query: {message}" + (
                f" (with logic {logic}: {first_error})" if first_error and first_error != message else "")
        if n > 0:
            # Z3 prints e.g. to_real inside QF_LRA; cvc5 is strict about the declared logic.
            reason = (reason + "; " if reason else "") + f"logic {logic} widened to {attempt} ({first_error})"
        return answer, reason
    return "unknown", "cvc5: no logic accepted"  # not reached


def _resolve(path: str, report_path: Path) -> Path:
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    parts = p.parts
    if "smt2" in parts:  # a relative path from another working directory
        candidate = report_path.parent.joinpath("smt2", *parts[parts.index("smt2") + 1:])
        if candidate.exists():
            return candidate
    return p


def recheck_cached(smt2_text: str, timeout_s: float, cache=None) -> tuple[str, str, bool]:
    """`recheck`, through `cache` (a checker.cache.Cache) when given: (answer, reason, from_cache).
    The key is the query's text (`query_text`), cvc5's limit, options and version."""
    answer, reason, cached, _ = _answers([smt2_text], timeout_s, cache, 1)[0][smt2_text]
    return answer, reason, cached


def _valid(hit) -> TypeGuard[list]:
    return (isinstance(hit, list) and len(hit) == 2 and hit[0] in ("sat", "unsat", "unknown")
            and isinstance(hit[1], str))


def _answers(texts: list[str], timeout_s: float, cache, jobs: int, progress=None,
             known: dict | None = None,
             retry_unknown: bool = True) -> tuple[dict[str, tuple[str, str, bool, float]], list[str]]:
    """cvc5's answer to each text: (answer, reason, from_cache, seconds). Texts with the same
    query (`query_text`: the comments apart) are asked once; an answer comes from the cache
    where it holds a definite one for that query, else from `known` (query text -> (answer,
    reason, seconds), asked already by the caller at the same limit), otherwise it is computed
    `jobs` at a time; new answers are stored in the cache. Also: the texts that an earlier run
    left unknown and that were asked again. With `retry_unknown` False, a query that an earlier
    run left unknown at this very limit is not asked again: it stays unknown, its reason saying
    so (from_cache True), and it is not counted as retried."""
    options = {"timeout_s": timeout_s, "cvc5_options": CVC5_OPTIONS}
    by_query: dict[str, list[str]] = {}
    for text in dict.fromkeys(texts):
        by_query.setdefault(query_text(text), []).append(text)
    found: dict[str, tuple[str, str, bool, float]] = {}
    todo: list[str] = []
    retried: list[str] = []
    for query in by_query:
        hit = cache.get("cvc5", query, options) if cache is not None else None
        if _valid(hit) and hit[0] != "unknown":  # an unknown cached by an older version is retried
            found[query] = (hit[0], hit[1], True, 0.0)
            continue
        earlier = cache.get("cvc5-unknown", query, {"cvc5_options": CVC5_OPTIONS}) if cache is not None else None
        if (not retry_unknown and isinstance(earlier, list) and len(earlier) == 2 and earlier[1] == timeout_s
                and query not in (known or {})):
            found[query] = ("unknown", f"{earlier[0]} (in an earlier run at this limit; not asked again)", True, 0.0)
            continue
        todo.append(query)
        if earlier is not None:
            retried += by_query[query]
    known = known or {}
    asked = [q for q in todo if q not in known]
    computed = dict(zip(asked, _run_children(asked, timeout_s, jobs, progress)))
    for query in todo:
        answer, reason, seconds = known[query] if query in known else computed[query]
        found[query] = (answer, reason, False, seconds)
        # Only definite answers are kept: an unknown (a limit hit, a stopped run, a loaded
        # machine) is asked again next time, never made permanent by the cache. That it was
        # unknown is noted apart, so that the next run can say how many it retried.
        if cache is not None and answer in ("sat", "unsat"):
            cache.put("cvc5", query, [answer, reason], options)
        elif cache is not None:
            cache.put("cvc5-unknown", query, [reason, timeout_s], {"cvc5_options": CVC5_OPTIONS})
    out = {text: found[query] for query, same in by_query.items() for text in same}
    return out, retried


def recheck_report(report_json_path, timeout_s: float = 10.0, cache=None, jobs: int = 1, progress=None,
                   known: dict | None = None, retry_unknown: bool = True) -> dict:
    """Compare Z3's and cvc5's answers on every query that report.json lists (`known`: answers
    the caller asked already, by query text, as `_answers` reads them)."""
    report_path = Path(report_json_path)
    report = json.loads(report_path.read_text())
    started = time.perf_counter()
    files, texts, seen = [], {}, set()
    for check in report.get("checks", []):
        for raw in check.get("smt2") or []:
            path = _resolve(raw, report_path)
            if str(path) in seen:
                continue
            seen.add(str(path))
            entry = {"file": str(path), "id": check.get("id"), "check": check.get("check_index")}
            files.append(entry)
            try:
                texts[str(path)] = path.read_text()
            except OSError as err:
                entry.update(z3="unknown", cvc5="unknown", reason=f"cannot read the file: {err}")
    answers, retried = _answers(list(texts.values()), timeout_s, cache, jobs, progress, known, retry_unknown)
    disagree, unknown = [], []
    agree = widened = cached_count = 0
    for entry in files:
        if entry["file"] not in texts:
            unknown.append(entry)
            continue
        text = texts[entry["file"]]
        z3_says = z3_answer(text)
        cvc5_says, reason, cached, seconds = answers[text]
        cached_count += cached
        entry.update(z3=z3_says or "unknown", cvc5=cvc5_says, seconds=round(seconds, 3), cached=cached)
        if "widened to" in reason:
            widened += 1
        if reason:
            entry["reason"] = reason
        if z3_says is None:
            entry["reason"] = "z3's answer is not recorded in the file" + (f"; {reason}" if reason else "")
            unknown.append(entry)
        elif z3_says == "unknown" or cvc5_says == "unknown":
            if z3_says == "unknown":
                entry["reason"] = "z3 answered unknown" + (f"; {reason}" if reason else "")
            unknown.append(entry)
        elif z3_says == cvc5_says:
            agree += 1
        else:
            disagree.append(entry)
    n, d = len(files), len(disagree)
    decided_by_both = agree + d
    return {
        "solver": f"cvc5 {VERSION}",
        "timeout_s": timeout_s,
        "files": n,
        "agree": agree,
        "disagree": d,
        "unknown": len(unknown),
        "unknown_z3": sum(e.get("z3") == "unknown" for e in unknown),
        "unknown_cvc5": sum(e.get("cvc5") == "unknown" for e in unknown),
        "logic_widened": widened,
        "from_cache": cached_count,
        "retried": len(retried),
        "retried_decided": sum(answers[t][0] in ("sat", "unsat") for t in retried),
        "cache_corrupt": list(cache.corrupt) if cache is not None else [],
        "agreement_rate": round(agree / decided_by_both, 6) if decided_by_both else None,
        "coverage": round(decided_by_both / n, 6) if n else None,
        "seconds": round(time.perf_counter() - started, 3),
        "disagreements": disagree,
        "unknowns": unknown,
    }


def summary_line(summary: dict) -> str:
    rate = summary["agreement_rate"]
    cov = summary["coverage"]
    detail = (f"z3 unknown {summary['unknown_z3']}, cvc5 unknown {summary['unknown_cvc5']}; "
              f"agreement {'n/a' if rate is None else f'{rate:.1%}'}, "
              f"coverage {'n/a' if cov is None else f'{cov:.1%}'}, {summary['seconds']:.1f} s")
    return (f"second solver ({summary['solver']}): {summary['files']} queries, {summary['agree']} agree, "
            f"{summary['disagree']} disagree, {summary['unknown']} unknown ({detail}"
            + (f"; {summary['from_cache']} answers from the cache" if summary.get("from_cache") else "")
            + (f"; {summary['retried']} unknown in an earlier run asked again, {summary['retried_decided']} now "
               "decided" if summary.get("retried") else "")
            + (f"; {len(summary['cache_corrupt'])} corrupt cache files ignored" if summary.get("cache_corrupt") else "")
            + ")")


def add_to_report(report_json_path, summary: dict) -> None:
    """Write the summary into report.json under "second_solver"."""
    from checker.files import write_atomic
    path = Path(report_json_path)
    data = json.loads(path.read_text())
    data["second_solver"] = summary
    # A check whose every solver query cvc5 answered as Z3 did rests on cvc5 too.
    verdicts = {e["file"]: e for e in summary.get("disagreements", []) + summary.get("unknowns", [])}
    for check in data.get("checks", []):
        files = [str(_resolve(raw, path)) for raw in check.get("smt2") or []]
        if files and "z3" in check.get("methods", []) and not any(f in verdicts for f in files):
            check["methods"] = sorted(set(check["methods"]) | {"cvc5"})
    write_atomic(path, json.dumps(data, indent=2, default=str))
