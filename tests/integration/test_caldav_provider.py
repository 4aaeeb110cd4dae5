"""CalDAV behaviour beyond the shared contract, against the real Radicale of the contract harness."""
from __future__ import annotations

import re
from datetime import timezone

import pytest
import vobject
from caldav.lib import error as dav_error

from adapters.providers.caldav import CalDavCalendarProvider, translate_dav_error
from scheduler.errors import (NotFound, ProviderError, ProviderUnavailable, RateLimited, ReconnectNeeded,
                              SyncTokenExpired, UnsafeUrl)
from scheduler.ports import CalendarAccount
from tests.contract import harness_caldav
from tests.contract.scenarios import (DST_SERIES_EXPECTED_STARTS, SERIES_WINDOW, WINDOW_END, WINDOW_START,
                                      series_spec, unique_email, utc)


@pytest.fixture
def harness():
    with harness_caldav.make_harness() as h:
        yield h


def stored_object(harness, account, event_id: str) -> str:
    """The series exactly as Radicale stored it (read from its storage folder)."""
    return (harness.extra["radicale"].storage_of(account.email) / harness_caldav.CALENDAR_NAME
            / f"{event_id}.ics").read_text()


def test_stored_series_expands_the_same_in_vobject_across_dst(harness):
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))

    vevent = vobject.readOne(stored_object(harness, ada, ref.event_id)).vevent
    vobject_starts = [start.astimezone(timezone.utc) for start in vevent.getrruleset(addRDate=True)]

    assert vobject_starts == list(DST_SERIES_EXPECTED_STARTS)
    assert [o.start for o in harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW).occurrences] \
        == vobject_starts


def test_stored_series_carries_organizer_attendee_timezone_and_moved_occurrence(harness):
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))
    harness.provider.move_occurrence(ada, ref.event_id, utc(3, 16, 14), utc(3, 17, 18), utc(3, 17, 18, 45))

    text = re.sub(r"\r?\n[ \t]", "", stored_object(harness, ada, ref.event_id))  # unfold lines

    assert "BEGIN:VTIMEZONE" in text and "TZID:America/New_York" in text
    assert f"ORGANIZER:mailto:{ada.email}" in text
    assert "mailto:mentee@example.org" in text
    assert "RECURRENCE-ID;TZID=America/New_York:20270316T100000" in text
    assert text.count("BEGIN:VEVENT") == 2


def test_repeated_create_never_overwrites_a_changed_series(harness):
    ada = harness.account(unique_email(harness, "ada"))
    spec = series_spec(ada.email, "mentee@example.org")
    ref = harness.provider.create_series(ada, spec)
    harness.provider.cancel_occurrence(ada, ref.event_id, utc(3, 23, 14))

    harness.provider.create_series(ada, spec)

    state = harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW)
    assert [o.original_start for o in state.occurrences if o.cancelled] == [utc(3, 23, 14)]
    assert harness.count_events(ada) == 1


def test_an_explicit_calendar_path_is_used_without_discovery(harness):
    ada = harness.account(unique_email(harness, "ada"))
    explicit = CalendarAccount(connection_id="explicit", provider="caldav", email=ada.email,
                               calendar_id=f"/{ada.email}/{harness_caldav.CALENDAR_NAME}/",
                               credentials=ada.credentials)
    harness.add_busy(ada, utc(3, 2, 10), utc(3, 2, 11), "Seeded")
    before = harness.requests_served()

    busy = harness.provider.free_busy([explicit], WINDOW_START, WINDOW_END)["explicit"].busy

    assert [(iv.start, iv.end) for iv in busy] == [(utc(3, 2, 10), utc(3, 2, 11))]
    assert harness.requests_served() - before <= 2  # the search only: no principal discovery


def test_a_server_url_on_a_private_address_is_refused():
    provider = CalDavCalendarProvider()  # the default policy: public addresses only
    account = CalendarAccount(connection_id="c", provider="caldav", email="ada@example.org",
                              credentials={"url": "http://10.0.0.5/dav/", "username": "ada", "password": "x"})

    with pytest.raises(UnsafeUrl):
        provider.get_series(account, "tandem-x", *SERIES_WINDOW)
    assert "private or local" in provider.free_busy([account], WINDOW_START, WINDOW_END)["c"].error


@pytest.mark.parametrize("dav_failure, expected", [
    (dav_error.AuthorizationError(reason="Unauthorized", status=401), ReconnectNeeded),
    (dav_error.AuthorizationError(reason="Forbidden", status=403, preconditions=["{DAV:}valid-sync-token"]),
     SyncTokenExpired),
    (dav_error.NotFoundError(reason="Not Found", status=404), NotFound),
    (dav_error.RateLimitError(reason="Too Many Requests", retry_after_seconds=3.0, status=429), RateLimited),
    (dav_error.ReportError(reason="Internal Server Error", status=500), ProviderUnavailable),
    (dav_error.PutError(reason="Bad Request", status=400), ProviderError),
    (ConnectionRefusedError("refused"), ProviderUnavailable),
])
def test_dav_failures_become_tandem_errors(dav_failure, expected):
    translated = translate_dav_error(dav_failure)

    assert type(translated) is expected
    if expected is RateLimited:
        assert translated.retry_after == 3.0


def test_an_edit_racing_another_client_is_retried_from_a_fresh_read(harness, monkeypatch):
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))
    real_load = CalDavCalendarProvider._load_series
    loads = []

    def load_then_someone_else_writes(self, calendar, event_id):
        loaded = real_load(self, calendar, event_id)
        loads.append(event_id)
        if len(loads) == 1:  # another client changes the event between our read and our write
            harness.set_attendee_response(ada, event_id, "mentee@example.org", "accepted")
        return loaded
    monkeypatch.setattr(CalDavCalendarProvider, "_load_series", load_then_someone_else_writes)

    harness.provider.move_occurrence(ada, ref.event_id, utc(3, 16, 14), utc(3, 17, 18), utc(3, 17, 18, 45))

    state = harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW)
    assert len(loads) == 3  # read, conflicting write refused (412), read again; then get_series
    assert state.attendees["mentee@example.org"] == "accepted"
    assert [o.start for o in state.occurrences if o.moved] == [utc(3, 17, 18)]


def test_check_connection_accepts_a_good_login_and_asks_to_reconnect_after_a_bad_one(harness):
    ada = harness.account(unique_email(harness, "ada"))
    harness.provider.check_connection(ada)
    before = harness.requests_served()

    wrong_password = CalendarAccount(connection_id="wrong", provider="caldav", email=ada.email,
                                     credentials={**ada.credentials, "password": "not-the-password"})

    with pytest.raises(ReconnectNeeded, match="app password"):
        harness.provider.check_connection(wrong_password)
    assert harness.requests_served() - before <= 2  # a 401 is not retried
