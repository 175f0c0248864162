"""One run of `make audit`'s command (the cvc5 re-check left out), shared by test_golden.py, test_cli.py,

Deciding every statement takes most of the suite's time, so it runs once per session.
"""
from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from checker import cli

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ProofsRun:
    code: int
    stdout: str
    stderr: str
    build: Path          # the --build folder; the report is build / "verify" / "report.json",
                         # the catalogue build / "THEOREMS.md"
    report: dict | None


@lru_cache(maxsize=1)
def verify_proofs() -> ProofsRun:
    build = Path(tempfile.mkdtemp(prefix="limits-proofs-"))
    atexit.register(shutil.rmtree, build, ignore_errors=True)
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)  # as a user types it, from the repository root: relative paths in the report
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            # a cache of its own: every decision is made afresh, as in CI
            code = cli.main(["verify", "proofs", "--build", str(build), "--necessity", "--tightness",
                             "--catalogue", str(build / "THEOREMS.md"), "--cache", str(build / "cache")])
    finally:
        os.chdir(cwd)
    path = build / "verify" / "report.json"
    report = json.loads(path.read_text()) if path.exists() else None
    return ProofsRun(code, out.getvalue(), err.getvalue(), build, report)
