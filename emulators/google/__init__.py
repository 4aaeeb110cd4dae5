"""Loopback emulator of Google Calendar v3 and Google OAuth (see ``server.GoogleEmulator``)."""
from emulators.google.server import DEFAULT_SCOPES, GoogleEmulator

__all__ = ["GoogleEmulator", "DEFAULT_SCOPES"]
