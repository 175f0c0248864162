"""Located diagnostics, printed the way compilers print them.

Every problem the user can fix (a parse error, an unknown name, a type mismatch, a check
that names no parameter) becomes a `Diagnostic` with a span; a file's diagnostics are
collected and raised together as one `CheckerError`, so the user sees all of them at once.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A region of a source file; lines and columns count from 1."""

    file: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NO_SPAN = Span("<generated>", 0, 0)


@dataclass(frozen=True)
class Diagnostic:
    span: Span
    message: str
    hint: str = ""
    severity: str = "error"

    def to_json(self) -> dict:
        return {"file": self.span.file, "line": self.span.line, "column": self.span.column,
                "end_line": self.span.end_line, "end_column": self.span.end_column,
                "message": self.message, "hint": self.hint, "severity": self.severity}

    @classmethod
    def from_json(cls, data: dict) -> Diagnostic:
        span = Span(data["file"], data["line"], data["column"], data.get("end_line", 0), data.get("end_column", 0))
        return cls(span, data["message"], data.get("hint", ""), data.get("severity", "error"))

    def render(self, sources: dict[str, str] | None = None) -> str:
        head = f"{self.span}: {self.severity}: {self.message}"
        lines = [head]
        text = (sources or {}).get(self.span.file)
        if text is not None and self.span.line > 0:
            source_lines = text.split("\n")  # lines as the lexer counts them (not at a form feed)
            if 0 < self.span.line <= len(source_lines):
                line = source_lines[self.span.line - 1].rstrip("\r")
                lines.append(f"    {line}")
                width = 1
                if self.span.end_line == self.span.line and self.span.end_column > self.span.column:
                    width = self.span.end_column - self.span.column
                lines.append("    " + " " * (self.span.column - 1) + "^" + "~" * (width - 1))
        if self.hint:
            lines.append(f"    note: {self.hint}")
        return "\n".join(lines)


class CheckerError(Exception):
    """Base class of every error the checker raises on purpose."""


@dataclass
class SourceError(CheckerError):
    """One or more located problems in the user's input."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        body = "\n".join(d.render(self.sources) for d in self.diagnostics)
        count = len(self.diagnostics)
        return f"{body}\n{count} error{'s' if count != 1 else ''}"


class UsageError(CheckerError):
    """A wrong command line: missing file, bad option."""


class EvaluationError(CheckerError):
    """The exact evaluator met a value outside a term's domain (ln of 0, division by 0, ...)."""


class Undecided(CheckerError):
    """The exact evaluator could not decide a comparison at the precision it allows itself."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
