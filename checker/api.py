"""Library entry points: load statement files and decide their checks.

The command line is a thin layer over these functions, which return data.
"""
from __future__ import annotations

from pathlib import Path

from checker.decide.engine import Options, run_check
from checker.errors import Diagnostic, SourceError, Span, UsageError
from checker.language.elaborate import CoreTheorem, elaborate
from checker.language.parser import parse_blocks
from checker.verdict import CheckResult

SUFFIX = ".lim"


def statement_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files += sorted(p.rglob(f"*{SUFFIX}"))
        elif p.is_file():
            files.append(p)
        else:
            raise UsageError(f"no such file or directory: {raw}")
    if not files:
        raise UsageError(f"no {SUFFIX} files in {', '.join(paths)}")
    return files


def load_text(text: str, file: str = "<string>", uses: bool = True, modules: dict | None = None) -> list[CoreTheorem]:
    """Parse and elaborate one file's text; raises `SourceError` with every problem found.
    `uses=False` leaves the `uses` references to the caller (load_files checks them across files);
    `modules`, when given, receives the file's surface tree under its name."""
    try:
        module, diagnostics = parse_blocks(text, file)
        if modules is not None and not diagnostics:
            modules[file] = module
        theorems: list[CoreTheorem] = []
        try:
            theorems = elaborate(module, text)
        except SourceError as err:
            diagnostics += err.diagnostics
        diagnostics += check_uses(theorems, partial=True) if uses else []
        if diagnostics:
            diagnostics.sort(key=lambda d: (d.span.line, d.span.column))
            raise SourceError(diagnostics, {file: text})
        return theorems
    except RecursionError:
        raise SourceError([Diagnostic(Span(file, 1, 1), "expression nested too deeply")], {file: text}) from None


def load_files(files: list[Path], modules: dict | None = None) -> list[CoreTheorem]:
    """Every theorem of `files`, elaborated (`modules`: as in `load_text`)."""
    theorems: list[CoreTheorem] = []
    errors = SourceError([], {})
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            errors.diagnostics.append(Diagnostic(Span(str(f), 1, 1), f"file is not UTF-8 text ({err.reason})"))
            continue
        try:
            theorems += load_text(text, str(f), uses=False, modules=modules)
        except SourceError as err:
            errors.diagnostics += err.diagnostics
            errors.sources.update(err.sources)
    if not errors.diagnostics:
        errors.diagnostics += check_uses(theorems)
        errors.diagnostics.sort(key=lambda d: (d.span.file, d.span.line, d.span.column))
        for d in errors.diagnostics:
            errors.sources.setdefault(d.span.file, Path(d.span.file).read_text(encoding="utf-8"))
    if errors.diagnostics:
        raise errors
    return theorems


def check_uses(theorems: list[CoreTheorem], partial: bool = False) -> list[Diagnostic]:
    """Each `uses X` must name a statement: one of the theorems loaded together, or one of the
    paper's ids (a statement of the paper exists whether or not its file is loaded). With
    `partial` (one file on its own) an id of another file cannot be checked yet and is let pass
    when it is well formed; `load_files` checks it against every file it loads."""
    from checker.errors import did_you_mean
    from checker.language.elaborate import KNOWN_IDS
    defined = {t.id for t in theorems}
    out = []
    for t in theorems:
        for name, span in t.uses:
            if name == t.id:
                out.append(Diagnostic(span, f"theorem {t.id} uses itself"))
            elif name not in defined and name not in KNOWN_IDS and not partial:
                out.append(Diagnostic(span, f"'{name}' in 'uses' is not a statement",
                                      did_you_mean(name, (defined - {t.id}) | set(KNOWN_IDS))
                                      or "name a theorem of the loaded files or one of the paper's ids"))
    return out


def selected(theorems: list[CoreTheorem], only: str | None) -> list[CoreTheorem]:
    """The theorems `--only ID` names: ID itself and its siblings ID.*; all without it."""
    return [t for t in theorems if not only or t.id == only or t.id.startswith(only + ".")]


_selected = selected


def verify_theorems(theorems: list[CoreTheorem], options: Options, only: str | None = None,
                    progress=None) -> list[CheckResult]:
    """Every check of the selected theorems, in order; `progress(done, total, theorem, results)`
    is called after each theorem."""
    results = []
    selected = _selected(theorems, only)
    for done, thm in enumerate(selected, 1):
        mine = [run_check(thm, check, options) for check in thm.checks]
        results += mine
        if progress:
            progress(done, len(selected), thm, mine)
    return results


_POOL_STATE: dict = {}


def _theorem_work(index: int):
    """One theorem's checks and, when asked, its per-theorem analysis rows (in a worker process)."""
    thm, options, per_theorem = _POOL_STATE["theorems"][index], _POOL_STATE["options"], _POOL_STATE["per_theorem"]
    results = [run_check(thm, check, options) for check in thm.checks]
    return index, results, (per_theorem(thm, options) if per_theorem else [])


def verify_parallel(theorems: list[CoreTheorem], options: Options, only: str | None = None,
                    per_theorem=None, jobs: int = 1, progress=None):
    """The checks of every selected theorem, and `per_theorem(theorem, options)` rows (an
    analysis such as necessity), theorem by theorem over `jobs` forked worker processes; results
    come back in the theorems' order, exactly as a sequential run gives them (each check has its
    own solver context and query files)."""
    selected = _selected(theorems, only)
    if jobs <= 1 or len(selected) < 2:
        results: list[CheckResult] = []
        rows: list = []
        for done, thm in enumerate(selected, 1):
            mine = [run_check(thm, check, options) for check in thm.checks]
            results += mine
            rows += per_theorem(thm, options) if per_theorem else []
            if progress:
                progress(done, len(selected), thm, mine)
        return results, rows
    import multiprocessing
    _POOL_STATE.update(theorems=selected, options=options, per_theorem=per_theorem)
    finished: dict[int, tuple[list[CheckResult], list]] = {}
    try:
        with multiprocessing.get_context("fork").Pool(min(jobs, len(selected))) as pool:
            # as each theorem finishes (for progress), put back in the theorems' order at the end
            for index, theorem_results, theorem_rows in pool.imap_unordered(_theorem_work, range(len(selected))):
                finished[index] = (theorem_results, theorem_rows)
                if progress:
                    progress(len(finished), len(selected), selected[index], theorem_results)
    finally:
        _POOL_STATE.clear()
    results = [r for i in range(len(selected)) for r in finished[i][0]]
    rows = [row for i in range(len(selected)) for row in finished[i][1]]
    return results, rows


def verify_text(text: str, options: Options | None = None, file: str = "<string>") -> list[CheckResult]:
    return verify_theorems(load_text(text, file), options or Options())
