"""Loopback emulators of the calendar providers (Google, Microsoft) used by tests and the demo."""
