"""Typed settings, the composition root and default agenda templates."""
