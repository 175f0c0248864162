"""Generated blocks in hand-written documents: figures a run produces are written by that run.

A document marks a block as

    <!-- generated: NAME (by `limits verify`) -->
    ...
    <!-- end generated: NAME -->

and the run that measures the figures replaces what lies between the markers (the text in
parentheses says which run). Everything outside the markers is prose and stays as written.
A test re-renders every block from the committed results and fails when a document is stale.
"""
from __future__ import annotations

import re
from pathlib import Path

from checker.files import write_atomic

_BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+)(?: \([^)]*\))? -->\n)"
                    r"(?P<body>.*?)(<!-- end generated: (?P=name) -->)",
                    re.S)


class MissingBlock(KeyError):
    """The document has no block of that name."""


def blocks(text: str) -> dict[str, str]:
    """Every generated block of a document: name -> content."""
    return {m.group("name"): m.group("body") for m in _BLOCK.finditer(text)}


def replace(text: str, name: str, content: str) -> str:
    content = content if content.endswith("\n") else content + "\n"
    found = False

    def sub(m):
        nonlocal found
        if m.group("name") != name:
            return m.group(0)
        found = True
        return m.group(1) + content + m.group(4)

    out = _BLOCK.sub(sub, text)
    if not found:
        raise MissingBlock(name)
    return out


def update(path: Path, contents: dict[str, str]) -> list[str]:
    """Replace the named blocks of a document that has them; the names it lacks are skipped.
    Returns the names whose content changed."""
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    present = blocks(text)
    changed = []
    for name, content in contents.items():
        if name not in present:
            continue
        new = replace(text, name, content)
        if new != text:
            changed.append(name)
            text = new
    if changed:
        write_atomic(path, text)
    return changed
