"""One contract suite, run against every calendar provider.

Each provider has a module ``harness_<name>.py`` in this folder defining ``make_harness()``, a
context manager (or generator function used with ``contextlib.contextmanager``) that yields a
:class:`tests.contract.harness.Harness`. The ``harness`` fixture is parametrized over every
``harness_*.py`` present, so adding a provider is adding one file.
"""
from __future__ import annotations

import importlib
import pathlib

import pytest

HARNESS_NAMES = sorted(p.stem.removeprefix("harness_") for p in pathlib.Path(__file__).parent.glob("harness_*.py"))


@pytest.fixture(params=HARNESS_NAMES)
def harness(request):
    module = importlib.import_module(f"tests.contract.harness_{request.param}")
    with module.make_harness() as h:
        yield h
