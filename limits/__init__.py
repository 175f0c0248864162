"""limits: check what theory says about the limits of large language models, and hold it
against real models.

The tool has three parts, each a package: `checker` (the statement language and the
decision procedures), `empirical` (probes that measure real and self-trained models) and
`bench` (speed, memory and reach). `limits.cli` is the one command that runs them all.
"""
from __future__ import annotations

__version__ = "0.13.0"
