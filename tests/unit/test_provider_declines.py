"""Declines as each provider reports them, read into ``OccurrenceState.declined_by`` (only the
address of who declined is kept): Google's ``responseStatus``, Graph's ``status.response``, and
iCalendar's ``PARTSTAT=DECLINED`` (an iTIP REPLY applied to the organizer's copy)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from adapters.providers import ical_util
from adapters.providers.google import _occurrence
from adapters.providers.microsoft import _declined
from scheduler.ports import SeriesSpec

T = datetime(2027, 3, 2, 14, 0, tzinfo=timezone.utc)


def test_google_instance_with_a_declined_attendee():
    item = {"start": {"dateTime": "2027-03-02T14:00:00Z"}, "end": {"dateTime": "2027-03-02T14:45:00Z"},
            "originalStartTime": {"dateTime": "2027-03-02T14:00:00Z"}, "status": "confirmed",
            "attendees": [{"email": "Mentee@Example.org", "responseStatus": "declined"},
                          {"email": "mentor@example.org", "responseStatus": "accepted"}]}
    assert _occurrence(item).declined_by == {"mentee@example.org"}
    assert _occurrence({**item, "attendees": []}).declined_by == frozenset()


def test_graph_instance_with_a_declined_attendee():
    item = {"attendees": [{"emailAddress": {"address": "Mentee@example.org"}, "status": {"response": "declined"}},
                          {"emailAddress": {"address": "mentor@example.org"}, "status": {"response": "organizer"}},
                          {"emailAddress": {}, "status": {"response": "declined"}}]}
    assert _declined(item) == {"mentee@example.org"}
    assert _declined({}) == frozenset()


def test_an_itip_reply_declining_one_occurrence_marks_that_one_alone():
    spec = SeriesSpec(series_key="k1", title="Mentoring", description="", organizer_email="mentor@example.org",
                      attendee_emails=("mentee@example.org",), start_local=T.replace(tzinfo=None), tz="UTC",
                      duration_min=45, rrule="FREQ=WEEKLY;COUNT=3")
    calendar = ical_util.build_series_calendar(spec, now=T - timedelta(days=1))
    uid = ical_util.series_uid("k1")
    ical_util.set_partstat(calendar, uid, "mentee@example.org", "DECLINED", now=T, original_start=T + timedelta(weeks=1))
    state = ical_util.read_series(calendar, uid, T - timedelta(days=1), T + timedelta(weeks=4))
    assert [o.declined_by for o in state.occurrences] == [frozenset(), {"mentee@example.org"}, frozenset()]
    ical_util.set_partstat(calendar, uid, "mentee@example.org", "DECLINED", now=T)  # the whole series
    state = ical_util.read_series(calendar, uid, T - timedelta(days=1), T + timedelta(weeks=4))
    assert all(o.declined_by == {"mentee@example.org"} for o in state.occurrences)
