"""How session times read for both people: see ``scheduler.core.timeview`` (re-exported here)."""
from datetime import datetime  # noqa: F401  (a name the doctest below uses)

from scheduler.core.timeview import SessionTime, session_times

__all__ = ["SessionTime", "session_times"]
__test__ = {"session_times": session_times}  # its doctest, for ``doctest.testmod`` of this module
