"""Test tiers and topics.

Tests live by topic: `tests/checker/` (the language, deciding, the analyses; no torch),
`tests/empirical/` (probes on real and self-trained models; marked `empirical` here and
skipped when torch is not installed) and `tests/bench/`. `make test` runs the fast tier;
`make test-all` passes `--run-slow` and also runs the tests marked `@pytest.mark.slow`;
`pytest -m "not empirical"` runs everything that needs only the checker's requirements.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `pytest` run as a script does not put the root on the path
    sys.path.insert(0, str(ROOT))

EMPIRICAL = ROOT / "tests" / "empirical"


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the tests marked slow (long soundness and fuzzing runs)")


def pytest_collection_modifyitems(config, items):
    skip_slow = pytest.mark.skip(reason="slow test: pass --run-slow to run it")
    no_torch = importlib.util.find_spec("torch") is None
    skip_torch = pytest.mark.skip(reason="needs torch: install the empirical extra")
    for item in items:
        if EMPIRICAL in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.empirical)
            if no_torch:
                item.add_marker(skip_torch)
        if "slow" in item.keywords and not config.getoption("--run-slow"):
            item.add_marker(skip_slow)


def pytest_ignore_collect(collection_path, config):
    # Without torch the empirical test modules cannot even be imported: leave them out.
    if importlib.util.find_spec("torch") is None and EMPIRICAL in Path(collection_path).resolve().parents:
        return True
    return None


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2 loaded once for every test that measures it, on one CPU thread."""
    torch = pytest.importorskip("torch")
    from empirical.models import ModelUnavailable, load
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield load("smollm2", "cpu")
    except ModelUnavailable as err:
        pytest.skip(str(err))
    finally:
        torch.set_num_threads(previous)
