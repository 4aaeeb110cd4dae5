"""The examples in the planning modules' docstrings run and stay true."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["scheduler.core.bitsets", "scheduler.core.availability", "scheduler.core.cadence", "scheduler.core.sharing"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
