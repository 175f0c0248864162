"""A content-addressed result cache for the slow, repeatable parts of `make verify`.

An entry is stored under `<root>/<kind>/<key[:2]>/<key>.json`, where `key` is the sha256 of
the exact input text (an SMT-LIB query, a theorem's printed source with its options) together
with the versions of the tools that decide it. A tightness probe's statuses are decided by the
checker itself: their key holds the checker's own version (a hash of its source files, so any
edit of the checker invalidates them), Z3, SymPy, cvc5 and Python. A cvc5 answer depends only on
the query text and cvc5 (its version, options and limit): its key holds those alone, so that an
edit of the checker that leaves a query's text as it was keeps its answer.
The entry repeats its key material, and a read checks it byte for byte: an entry written for
another text or other versions (a hash collision, a file copied by hand) is stale and never used.
A file that is not valid JSON, or lacks the expected fields, is corrupt: it is reported
(`Cache.corrupt`) and ignored, and the next write replaces it.

Only answers are cached, never the decision of what they mean: a cached cvc5 "unsat" is
compared with Z3 exactly as a fresh one would be.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
from functools import lru_cache
from pathlib import Path

from checker.paths import build, shown

FORMAT = 1
DEFAULT_ROOT = shown(build() / "cache")


# What decides: the language, the deciding passes and backends, and the analyses whose answers
# are cached here. Modules that only present, drive or score results are left out: editing them
# cannot change a cached answer.
_DECIDING = ("language/*.py", "language/*.lark", "decide/*.py", "errors.py", "verdict.py", "api.py",
             "analyses/tightness.py", "analyses/cvc5_check.py", "analyses/cache.py")


@lru_cache(maxsize=1)
def checker_version() -> str:
    """sha256 over the source of every checker module that decides and the grammar: changes
    whenever any of that code does."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    files = sorted({f for pattern in _DECIDING for f in package.glob(pattern)})
    for f in files:
        digest.update(str(f.relative_to(package)).encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def tool_versions() -> dict[str, str]:
    import sympy
    import z3
    versions = {"checker": checker_version(), "python": platform.python_version(),
                "z3": z3.get_version_string(), "sympy": sympy.__version__}
    try:
        import cvc5
        versions["cvc5"] = str(getattr(cvc5, "__version__", "?"))
    except ImportError:  # pragma: no cover - cvc5 is in requirements.txt
        versions["cvc5"] = "absent"
    return versions


# Kinds whose answer is decided by cvc5 alone, from the query text it is given.
CVC5_KINDS = ("cvc5", "cvc5-unknown")


def versions_for(kind: str, versions: dict[str, str]) -> dict[str, str]:
    """The versions that decide an entry of `kind`: cvc5's alone for a cvc5 answer, all of them
    (the checker's own included) otherwise."""
    if kind in CVC5_KINDS:
        return {"cvc5": versions.get("cvc5", "?")}
    return versions


class Cache:
    """get/put of JSON-able answers keyed by (kind, text, versions, options)."""

    def __init__(self, root: Path | str | None = DEFAULT_ROOT, versions: dict | None = None):
        self.root = Path(root) if root is not None else None
        self.versions = dict(versions) if versions is not None else tool_versions()
        self.hits = 0
        self.misses = 0
        self.stale = 0
        self.corrupt: list[str] = []

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def _material(self, kind: str, text: str, options: dict) -> dict:
        return {"format": FORMAT, "kind": kind, "versions": versions_for(kind, self.versions), "options": options,
                "text_sha256": hashlib.sha256(text.encode()).hexdigest()}

    def key(self, kind: str, text: str, options: dict | None = None) -> str:
        material = self._material(kind, text, options or {})
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()

    def path(self, kind: str, key: str) -> Path:
        assert self.root is not None
        return self.root / kind / key[:2] / f"{key}.json"

    def get(self, kind: str, text: str, options: dict | None = None):
        """The cached value, or None on a miss, a stale entry or a corrupt file."""
        state, value, path = self._read(kind, text, options or {})
        if state == "corrupt":
            self.corrupt.append(path)
        if state == "stale":
            self.stale += 1
        if state == "hit":
            self.hits += 1
        elif self.root is not None:
            self.misses += 1
        return value

    def peek(self, kind: str, text: str, options: dict | None = None):
        """As `get`, without counting: for a caller that only decides whether to compute now."""
        return self._read(kind, text, options or {})[1]

    def _read(self, kind: str, text: str, options: dict) -> tuple[str, object, str]:
        """(hit | miss | stale | corrupt, the value or None, the entry's path)."""
        if self.root is None:
            return "miss", None, ""
        key = self.key(kind, text, options)
        path = self.path(kind, key)
        try:
            raw = path.read_text()
        except OSError:
            return "miss", None, str(path)
        try:
            entry = json.loads(raw)
            material, value = entry["material"], entry["value"]
        except (ValueError, KeyError, TypeError):
            return "corrupt", None, str(path)
        if material != self._material(kind, text, options):
            return "stale", None, str(path)
        return "hit", value, str(path)

    def put(self, kind: str, text: str, value, options: dict | None = None) -> None:
        if self.root is None:
            return
        options = options or {}
        key = self.key(kind, text, options)
        path = self.path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"material": self._material(kind, text, options), "value": value}))
        tmp.replace(path)

    def summary(self) -> str:
        text = f"cache {self.root}: {self.hits} hits, {self.misses} misses"
        if self.stale:
            text += f", {self.stale} stale entries ignored"
        if self.corrupt:
            text += f", {len(self.corrupt)} corrupt files ignored"
        return text
