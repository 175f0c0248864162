"""The package's layout reads from the top down: imports run one way only.

Each module of `checker` belongs to a layer; a module may import from its own layer and the
ones below it, never from a layer above. No module imports another module's private names.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "checker"

# lowest first
LAYERS = [
    ["checker.errors", "checker.verdict", "checker.advice", "checker.files", "checker.paths", "checker.workers"],
    ["checker.language"],
    ["checker.decide"],
    ["checker.api", "checker.statements"],
    ["checker.analyses", "checker.soundness"],
    ["checker.reports"],
    ["checker.pipeline", "checker.reliability"],
    ["checker.cli", "checker.__main__", "checker"],
]


def layer_of(module: str) -> int:
    best = None
    for level, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (level, len(prefix))
    assert best is not None, module
    return best[0]


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, [], node.lineno


@pytest.mark.parametrize("name, path", list(modules()), ids=lambda x: str(x) if isinstance(x, str) else "")
def test_imports_run_one_way(name, path):
    own = layer_of(name)
    for module, names, line in imports(path):
        if module.split(".")[0] != "checker":
            assert module.split(".")[0] not in ("empirical", "bench", "limits", "torch", "transformers"), \
                f"{path.name}:{line} imports {module}: the checker stands alone and never loads torch"
            continue
        target = module
        if module == "checker":  # `from checker import x` names a submodule or a re-export
            target = f"checker.{names[0]}" if names and names[0][0].islower() else "checker"
        assert layer_of(target) <= own or name == "checker", \
            f"{path.name}:{line}: {name} (layer {own}) imports {target} (layer {layer_of(target)}), a layer above"


@pytest.mark.parametrize("name, path", list(modules()), ids=lambda x: str(x) if isinstance(x, str) else "")
def test_no_private_names_cross_modules(name, path):
    for module, names, line in imports(path):
        if module.split(".")[0] != "checker" or module == name:
            continue
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{path.name}:{line} imports private names {private} from {module}"
