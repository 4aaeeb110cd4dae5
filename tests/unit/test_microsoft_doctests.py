"""Run the doctests of the pure Microsoft helpers (zone mapping, RRULE -> patternedRecurrence)."""
from __future__ import annotations

import doctest

import pytest

import adapters.providers.microsoft as microsoft
import adapters.providers.microsoft_recurrence as microsoft_recurrence
import emulators.microsoft.zones as emulator_zones


@pytest.mark.parametrize("module", [microsoft, microsoft_recurrence, emulator_zones], ids=lambda m: m.__name__)
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
