"""What the in-memory provider offers beyond the shared contract: push delivery, attendee
answers, thread safety."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

from adapters.providers.memory import InMemoryCalendarProvider
from scheduler.ports import CalendarAccount, SeriesSpec

UTC = timezone.utc
WINDOW = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))


def _account(email: str = "ada@example.org") -> CalendarAccount:
    return CalendarAccount(connection_id=f"c-{email}", provider="memory", email=email)


def _spec(key: str = "series-1") -> SeriesSpec:
    return SeriesSpec(series_key=key, title="Mentoring", description="Agenda", organizer_email="ada@example.org",
                      attendee_emails=("bob@example.org",), start_local=datetime(2027, 3, 2, 10), tz="Europe/Berlin",
                      duration_min=30, rrule="FREQ=WEEKLY;COUNT=4")


def test_a_change_to_a_watched_calendar_is_pushed_to_the_webhook():
    delivered = []
    provider = InMemoryCalendarProvider(on_push=lambda url, watch: delivered.append((url, watch.token)))
    ada = _account()
    watch = provider.watch(ada, "https://tandem.example.org/hook", "tok")

    ref = provider.create_series(ada, _spec())
    provider.update_description(ada, ref.event_id, "New agenda")
    provider.stop_watch(ada, watch)
    provider.cancel_series(ada, ref.event_id)

    assert delivered == [("https://tandem.example.org/hook", "tok")] * 2


def test_attendee_answer_is_read_back():
    provider = InMemoryCalendarProvider()
    ada = _account()
    ref = provider.create_series(ada, _spec())

    provider.set_attendee_response(ada, ref.event_id, "BOB@example.org", "declined")

    assert provider.get_series(ada, ref.event_id, *WINDOW).attendees == {"bob@example.org": "declined"}


def test_concurrent_creates_of_one_series_make_one_event():
    provider = InMemoryCalendarProvider()
    ada = _account()
    refs = []
    threads = [threading.Thread(target=lambda: refs.append(provider.create_series(ada, _spec()))) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({ref.event_id for ref in refs}) == 1
    assert provider.count_events(ada.email) == 1
