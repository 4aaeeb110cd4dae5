"""Tandem's domain: pure planning core (``scheduler.core``), ports and use cases (``scheduler.services``)."""
