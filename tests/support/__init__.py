"""Reusable test helpers shared by the suites: local servers (HTTP, Radicale), databases."""
