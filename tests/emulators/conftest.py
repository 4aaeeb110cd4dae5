"""Fixtures of the emulator tests: a running Graph emulator (``emu``) and a TLS session that
trusts its CA (``http``). The Google emulator tests define their own ``emu`` and ``http``."""
from __future__ import annotations

import pytest

from emulators.microsoft import GraphEmulator
from emulators.tls import client_session


@pytest.fixture
def emu():
    with GraphEmulator() as emulator:
        yield emulator


@pytest.fixture
def http(emu):
    with client_session(emu.ca_file) as session:
        yield session
