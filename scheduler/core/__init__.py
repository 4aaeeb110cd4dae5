"""Pure planning core: no I/O, ``now`` is always a parameter."""
