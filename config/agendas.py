"""Default agenda templates now live in ``scheduler.core.default_agendas`` (re-exported here)."""
from scheduler.core.default_agendas import DEFAULT_AGENDAS

__all__ = ["DEFAULT_AGENDAS"]
