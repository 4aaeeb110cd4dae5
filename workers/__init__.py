"""Dramatiq actors. Import ``workers.broker`` and call ``configure_broker`` before ``workers.actors``."""
