"""Progress lines for long commands, on standard error (standard output keeps the results)."""
from __future__ import annotations

import sys


class Progress:
    """Progress lines on standard error: one per theorem as it is decided (and per theorem of the
    tightness analysis), and about ten for the cvc5 re-check. Standard output keeps the results."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr

    def __call__(self, phase: str, done: int, total: int, text: str) -> None:
        if phase == "cvc5" and done not in (1, total) and done % max(1, total // 10):
            return
        width = len(str(total))
        print(f"[{phase} {done:>{width}}/{total}] {text}".rstrip(), file=self.stream, flush=True)
