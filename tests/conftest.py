"""Test tiers.

`make test` runs the fast tier; `make test-all` passes `--run-slow` and also runs the
tests marked `@pytest.mark.slow` (the long fuzzing runs).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `pytest` run as a script does not put the root on the path
    sys.path.insert(0, str(ROOT))


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the tests marked slow (long fuzzing runs)")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a long-running test; skipped unless --run-slow is given")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow test: pass --run-slow to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


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
