"""A checker for the theorems of "On the Fundamental Limits of LLMs at Scale" (arXiv 2511.12869).

Statements are written in a small language (grammars/statements.lark), elaborated into a
small core, and decided by Z3 (after exp and ln are eliminated), SymPy (limits and
identities) and an exact evaluator that re-checks every counterexample.
"""
from checker.api import load_files, load_text, verify_text, verify_theorems
from checker.decide.engine import Options
from checker.errors import CheckerError, SourceError, UsageError
from checker.verdict import CheckResult, Status

__all__ = ["load_files", "load_text", "verify_text", "verify_theorems", "Options", "CheckerError",
           "SourceError", "UsageError", "CheckResult", "Status"]
