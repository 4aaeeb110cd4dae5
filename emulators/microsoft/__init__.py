"""A loopback emulator of Microsoft Graph v1.0 calendar endpoints and of the Microsoft identity
platform (an MSAL-compatible authority), served over HTTPS. See :mod:`.emulator`."""
from .emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, GraphEmulator

__all__ = ["GraphEmulator", "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET"]
