"""Small pure formatters for how Tandem words numbers to people."""
from __future__ import annotations


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def duration_words(minutes: int) -> str:
    """A span of minutes in days, hours and minutes, largest first.

    >>> duration_words(1440), duration_words(60), duration_words(90), duration_words(2 * 1440 + 5)
    ('1 day', '1 hour', '1 hour 30 minutes', '2 days 5 minutes')
    """
    days, rest = divmod(int(minutes), 1440)
    hours, mins = divmod(rest, 60)
    parts = [_plural(v, u) for v, u in ((days, "day"), (hours, "hour"), (mins, "minute")) if v]
    return " ".join(parts) or "0 minutes"


def reminders_before(offsets_min) -> str:
    """How long before a session reminders go out, longest first, e.g. "1 day and 1 hour before".

    >>> reminders_before([60, 1440])
    '1 day and 1 hour before'
    >>> reminders_before([10080, 1440, 30])
    '1 week, 1 day and 30 minutes before'
    >>> reminders_before([])
    'none'
    """
    values = sorted({int(m) for m in offsets_min or ()}, reverse=True)
    if not values:
        return "none"
    words = [_plural(m // 10080, "week") if m % 10080 == 0 else duration_words(m) for m in values]
    text = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"{text} before"
