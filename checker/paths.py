"""Where the project's files are: the statements, the build folder, the committed results.

Defaults are resolved against the project, not the working directory: `LIMITS_PROJECT` when
set, else the source tree this package was imported from (a checkout or an editable install),
else the nearest folder upwards from the working directory that holds `proofs/`. A path given
on the command line is taken as given.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def project_root() -> Path:
    env = os.environ.get("LIMITS_PROJECT")
    if env:
        return Path(env).resolve()
    source = Path(__file__).resolve().parent.parent
    if (source / "proofs").is_dir():
        return source
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / "proofs").is_dir():
            return folder
    return cwd


def proofs() -> Path:
    """The statements: `LIMITS_PROOFS` when set (read at each call), else the project's proofs/."""
    env = os.environ.get("LIMITS_PROOFS")
    return Path(env) if env else project_root() / "proofs"


def build() -> Path:
    return project_root() / "build"


def results() -> Path:
    return project_root() / "results"


def shown(path: Path) -> str:
    """A path as a person would type it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
