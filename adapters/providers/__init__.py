"""Calendar provider adapters implementing ``scheduler.ports.CalendarProvider``."""
