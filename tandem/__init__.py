"""Tandem: keeps mentorship pairs meeting."""
__version__ = "0.1.0"
