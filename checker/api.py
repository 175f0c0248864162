"""Library entry points: load statement files and decide their checks.

The command line is a thin layer over these functions, which return data.
"""
from __future__ import annotations

from pathlib import Path

from .elaborate import CoreTheorem, elaborate
from .engine import Options, run_check
from .errors import Diagnostic, SourceError, Span, UsageError
from .parser import parse_blocks
from .verdict import CheckResult

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


def load_text(text: str, file: str = "<string>") -> list[CoreTheorem]:
    """Parse and elaborate one file's text; raises `SourceError` with every problem found."""
    try:
        module, diagnostics = parse_blocks(text, file)
        try:
            theorems = elaborate(module, text)
        except SourceError as err:
            diagnostics += err.diagnostics
        if diagnostics:
            diagnostics.sort(key=lambda d: (d.span.line, d.span.column))
            raise SourceError(diagnostics, {file: text})
        return theorems
    except RecursionError:
        raise SourceError([Diagnostic(Span(file, 1, 1), "expression nested too deeply")], {file: text}) from None


def load_files(files: list[Path]) -> list[CoreTheorem]:
    theorems: list[CoreTheorem] = []
    errors = SourceError([], {})
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            errors.diagnostics.append(Diagnostic(Span(str(f), 1, 1), f"file is not UTF-8 text ({err.reason})"))
            continue
        try:
            theorems += load_text(text, str(f))
        except SourceError as err:
            errors.diagnostics += err.diagnostics
            errors.sources.update(err.sources)
    if errors.diagnostics:
        raise errors
    return theorems


def verify_theorems(theorems: list[CoreTheorem], options: Options, only: str | None = None,
                    progress=None) -> list[CheckResult]:
    results = []
    for thm in theorems:
        if only and not (thm.id == only or thm.id.startswith(only + ".")):
            continue
        for check in thm.checks:
            result = run_check(thm, check, options)
            results.append(result)
            if progress:
                progress(result)
    return results


def verify_text(text: str, options: Options | None = None, file: str = "<string>") -> list[CheckResult]:
    return verify_theorems(load_text(text, file), options or Options())
