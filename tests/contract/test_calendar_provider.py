"""The calendar provider contract: written once, run against every harness (see conftest.py).

Reading free/busy applies to every provider; the write half applies when ``provider.can_write``;
read-only providers must refuse writes with a clear :class:`ProviderError`. Fault handling is in
``test_calendar_provider_faults.py``.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import pytest

from scheduler.errors import NotFound, ProviderError, SyncTokenExpired
from scheduler.ports import CalendarProvider, FreeBusy, SeriesRef, SeriesState, Watch
from tests.contract.scenarios import (DST_SERIES_EXPECTED_STARTS, SERIES_WINDOW, SESSION, UTC,
                                      WINDOW_END, WINDOW_START, is_busy_during, merged,
                                      require_fault, require_writable, series_spec, unique_email,
                                      utc)


def test_provider_implements_the_port(harness):
    assert isinstance(harness.provider, CalendarProvider)
    assert harness.provider.kind in ("google", "microsoft", "caldav", "ics", "memory")
    assert isinstance(harness.provider.can_write, bool)


# --- free/busy -------------------------------------------------------------------------------
def test_free_busy_of_several_accounts_keyed_by_connection_id(harness):
    ada, bob = (harness.account(unique_email(harness, who)) for who in ("ada", "bob"))
    harness.add_busy(ada, utc(3, 1, 14), utc(3, 1, 15), "Dentist")
    harness.add_busy(bob, utc(3, 2, 16), utc(3, 2, 17), "Team sync")

    result = harness.provider.free_busy([ada, bob], WINDOW_START, WINDOW_END)

    assert set(result) == {ada.connection_id, bob.connection_id}
    assert all(isinstance(fb, FreeBusy) and fb.error is None for fb in result.values())
    assert merged(result[ada.connection_id].busy) == [(utc(3, 1, 14), utc(3, 1, 15))]
    assert merged(result[bob.connection_id].busy) == [(utc(3, 2, 16), utc(3, 2, 17))]


def test_free_busy_returns_aware_utc_intervals(harness):
    ada = harness.account(unique_email(harness, "ada"))
    harness.add_busy(ada, utc(3, 3, 9), utc(3, 3, 10), "Gym")

    busy = harness.provider.free_busy([ada], WINDOW_START, WINDOW_END)[ada.connection_id].busy

    assert busy
    assert all(iv.start.utcoffset() == timedelta(0) and iv.end.utcoffset() == timedelta(0) for iv in busy)


def test_recurring_event_is_expanded_inside_the_window(harness):
    ada = harness.account(unique_email(harness, "ada"))
    harness.add_busy(ada, utc(3, 2, 9), utc(3, 2, 9, 30), "Standup", rrule="FREQ=DAILY;COUNT=3")

    busy = harness.provider.free_busy([ada], WINDOW_START, WINDOW_END)[ada.connection_id].busy

    assert merged(busy) == [(utc(3, d, 9), utc(3, d, 9, 30)) for d in (2, 3, 4)]


def test_recurrence_outside_the_window_is_not_busy(harness):
    ada = harness.account(unique_email(harness, "ada"))
    harness.add_busy(ada, utc(3, 20, 9), utc(3, 20, 10), "Later", rrule="FREQ=DAILY;COUNT=2")
    harness.add_busy(ada, utc(2, 10, 9), utc(2, 10, 10), "Earlier")

    result = harness.provider.free_busy([ada], WINDOW_START, WINDOW_END)[ada.connection_id]

    assert result.error is None and merged(result.busy) == []


def test_transparent_and_cancelled_events_are_not_busy(harness):
    ada = harness.account(unique_email(harness, "ada"))
    harness.add_busy(ada, utc(3, 1, 18), utc(3, 1, 19), "Maybe", transparent=True)
    harness.add_busy(ada, utc(3, 1, 20), utc(3, 1, 21), "Called off", cancelled=True)
    harness.add_busy(ada, utc(3, 1, 10), utc(3, 1, 11), "Real meeting")

    busy = harness.provider.free_busy([ada], WINDOW_START, WINDOW_END)[ada.connection_id].busy

    assert merged(busy) == [(utc(3, 1, 10), utc(3, 1, 11))]


def test_empty_calendar_has_no_busy_time(harness):
    ada = harness.account(unique_email(harness, "ada"))

    result = harness.provider.free_busy([ada], WINDOW_START, WINDOW_END)

    assert set(result) == {ada.connection_id}
    assert result[ada.connection_id].error is None
    assert list(result[ada.connection_id].busy) == []


def test_titles_of_other_events_never_come_back(harness, caplog):
    secret = f"Secret-{uuid.uuid4().hex}"
    ada = harness.account(unique_email(harness, "ada"))
    caplog.set_level(logging.INFO)
    harness.add_busy(ada, utc(3, 1, 14), utc(3, 1, 15), secret)
    harness.add_busy(ada, utc(3, 2, 9), utc(3, 2, 10), secret, rrule="FREQ=DAILY;COUNT=2")
    caplog.clear()  # the back door may log its own seeding; what Tandem does next is checked

    returned = [harness.provider.free_busy([ada], WINDOW_START, WINDOW_END), harness.provider.changes(ada, None)]
    if harness.provider.can_write:
        ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))
        returned.append(harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW))

    assert secret not in repr(returned)
    assert secret not in caplog.text
    if harness.all_logged_text is not None:
        assert secret not in harness.all_logged_text()


# --- writing a series ------------------------------------------------------------------------
def test_create_series_is_idempotent(harness):
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))
    spec = series_spec(ada.email, "mentee@example.org")

    first = harness.provider.create_series(ada, spec)
    second = harness.provider.create_series(ada, spec)

    assert isinstance(first, SeriesRef) and first.event_id
    assert second.event_id == first.event_id
    if harness.count_events is not None:
        assert harness.count_events(ada) == 1


def test_different_series_keys_make_different_series(harness):
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))

    first = harness.provider.create_series(ada, series_spec(ada.email, "one@example.org"))
    second = harness.provider.create_series(ada, series_spec(ada.email, "two@example.org"))

    assert first.event_id != second.event_id
    if harness.count_events is not None:
        assert harness.count_events(ada) == 2


def test_series_keeps_wall_clock_time_across_dst(harness):
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))

    state = harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW)

    assert isinstance(state, SeriesState)
    assert state.event_id == ref.event_id and not state.cancelled
    assert [o.start for o in state.occurrences] == list(DST_SERIES_EXPECTED_STARTS)
    assert [o.original_start for o in state.occurrences] == list(DST_SERIES_EXPECTED_STARTS)
    assert all(o.end - o.start == SESSION and not o.cancelled and not o.moved for o in state.occurrences)
    assert all(o.start.utcoffset() == timedelta(0) for o in state.occurrences)


def test_get_series_reads_description_and_attendees(harness):
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))
    spec = series_spec(ada.email, "mentee@example.org")
    ref = harness.provider.create_series(ada, spec)

    state = harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW)

    assert state.description == spec.description
    assert state.attendees.get("mentee@example.org") in ("needsAction", "accepted", "declined", "tentative")


@pytest.mark.parametrize("response", ["accepted", "declined", "tentative"])
def test_get_series_shows_the_attendees_answer(harness, response):
    require_writable(harness)
    if harness.set_attendee_response is None:
        pytest.skip(f"{harness.name} harness cannot answer invitations as the attendee")
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))

    harness.set_attendee_response(ada, ref.event_id, "mentee@example.org", response)

    assert harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW).attendees["mentee@example.org"] == response


def test_get_series_only_returns_occurrences_inside_the_window(harness):
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))

    state = harness.provider.get_series(ada, ref.event_id, utc(3, 15, 0), utc(3, 29, 0))

    assert [o.start for o in state.occurrences] == [utc(3, 16, 14), utc(3, 23, 14)]


def test_created_series_is_busy_for_its_organizer(harness):
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))
    harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))

    busy = harness.provider.free_busy([ada], *SERIES_WINDOW)[ada.connection_id].busy

    assert merged(busy) == [(start, start + SESSION) for start in DST_SERIES_EXPECTED_STARTS]


def test_move_occurrence_moves_exactly_one(harness):
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))
    moved_from, moved_to = utc(3, 16, 14), utc(3, 17, 18)

    harness.provider.move_occurrence(ada, ref.event_id, moved_from, moved_to, moved_to + SESSION)

    state = harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW)
    by_original = {o.original_start: o for o in state.occurrences}
    assert set(by_original) == set(DST_SERIES_EXPECTED_STARTS)
    assert (by_original[moved_from].start, by_original[moved_from].end) == (moved_to, moved_to + SESSION)
    assert by_original[moved_from].moved and not by_original[moved_from].cancelled
    assert [o for o in state.occurrences if o.moved] == [by_original[moved_from]]
    busy = harness.provider.free_busy([ada], *SERIES_WINDOW)[ada.connection_id]
    assert is_busy_during(busy, moved_to, moved_to + SESSION)
    assert not is_busy_during(busy, moved_from, moved_from + SESSION)


def test_a_moved_occurrence_can_be_moved_again_by_its_original_start(harness):
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))
    original, first_move, second_move = utc(3, 16, 14), utc(3, 17, 18), utc(3, 18, 13)

    harness.provider.move_occurrence(ada, ref.event_id, original, first_move, first_move + SESSION)
    harness.provider.move_occurrence(ada, ref.event_id, original, second_move, second_move + SESSION)

    state = harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW)
    moved = [o for o in state.occurrences if o.moved]
    assert [(o.original_start, o.start, o.end) for o in moved] == [(original, second_move, second_move + SESSION)]
    assert len(state.occurrences) == len(DST_SERIES_EXPECTED_STARTS)


def test_cancel_occurrence_cancels_exactly_one(harness):
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))
    cancelled = utc(3, 23, 14)

    harness.provider.cancel_occurrence(ada, ref.event_id, cancelled)

    state = harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW)
    assert not state.cancelled
    live_starts = [o.original_start for o in state.occurrences if not o.cancelled]
    assert live_starts == [s for s in DST_SERIES_EXPECTED_STARTS if s != cancelled]
    busy = harness.provider.free_busy([ada], *SERIES_WINDOW)[ada.connection_id]
    assert not is_busy_during(busy, cancelled, cancelled + SESSION)
    assert is_busy_during(busy, utc(3, 30, 14), utc(3, 30, 14) + SESSION)


def test_a_cancelled_occurrence_is_restored_by_moving_it_to_its_time(harness):
    """Resuming a paused pair puts a cancelled session back: moving it to its own time (or a new
    one) brings it back on every provider that says it can (``can_restore``); the others say
    NotFound, as Graph does for an occurrence it cancelled."""
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))
    back, elsewhere = utc(3, 23, 14), utc(3, 30, 14)

    harness.provider.cancel_occurrence(ada, ref.event_id, back)
    harness.provider.cancel_occurrence(ada, ref.event_id, elsewhere)
    if not harness.provider.can_restore:
        with pytest.raises(NotFound):
            harness.provider.move_occurrence(ada, ref.event_id, back, back, back + SESSION)
        return
    harness.provider.move_occurrence(ada, ref.event_id, back, back, back + SESSION)
    harness.provider.move_occurrence(ada, ref.event_id, elsewhere, elsewhere + SESSION, elsewhere + 2 * SESSION)

    state = harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW)
    by_original = {o.original_start: o for o in state.occurrences}
    assert not by_original[back].cancelled and by_original[back].start == back
    assert not by_original[elsewhere].cancelled and by_original[elsewhere].start == elsewhere + SESSION
    assert [o.original_start for o in state.occurrences if not o.cancelled] == list(DST_SERIES_EXPECTED_STARTS)
    busy = harness.provider.free_busy([ada], *SERIES_WINDOW)[ada.connection_id]
    assert is_busy_during(busy, back, back + SESSION)


def test_unknown_occurrence_or_event_is_not_found(harness):
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))

    with pytest.raises(NotFound):
        harness.provider.move_occurrence(ada, ref.event_id, utc(3, 17, 14), utc(3, 18, 14), utc(3, 18, 15))
    with pytest.raises(NotFound):
        harness.provider.get_series(ada, ref.event_id + "missing", *SERIES_WINDOW)


def test_update_description_replaces_the_agenda(harness):
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))

    harness.provider.update_description(ada, ref.event_id, "Agenda: new goals")

    assert harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW).description == "Agenda: new goals"


def test_cancel_series_twice_is_fine(harness):
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))

    harness.provider.cancel_series(ada, ref.event_id)
    harness.provider.cancel_series(ada, ref.event_id)

    assert harness.provider.get_series(ada, ref.event_id, *SERIES_WINDOW).cancelled
    assert merged(harness.provider.free_busy([ada], *SERIES_WINDOW)[ada.connection_id].busy) == []


# --- changes and watches ---------------------------------------------------------------------
def test_changes_report_our_changed_event_and_the_cursor_advances(harness):
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))
    cursor = harness.provider.changes(ada, None).cursor

    harness.provider.update_description(ada, ref.event_id, "Agenda: changed")
    after_change = harness.provider.changes(ada, cursor)
    after_nothing = harness.provider.changes(ada, after_change.cursor)

    assert ref.event_id in after_change.changed_event_ids
    assert ref.event_id not in after_nothing.changed_event_ids


def test_changes_report_a_moved_occurrence_as_its_series(harness):
    require_writable(harness)
    ada = harness.account(unique_email(harness, "ada"))
    ref = harness.provider.create_series(ada, series_spec(ada.email, "mentee@example.org"))
    cursor = harness.provider.changes(ada, None).cursor

    harness.provider.move_occurrence(ada, ref.event_id, utc(3, 16, 14), utc(3, 17, 18), utc(3, 17, 18, 45))

    assert ref.event_id in harness.provider.changes(ada, cursor).changed_event_ids


def test_stale_cursor_raises_sync_token_expired(harness):
    require_fault(harness, "stale_sync")
    ada = harness.account(unique_email(harness, "ada"))
    cursor = harness.provider.changes(ada, None).cursor

    harness.inject("stale_sync")

    with pytest.raises(SyncTokenExpired):
        harness.provider.changes(ada, cursor)


def test_watch_is_absent_or_live_and_stoppable(harness):
    ada = harness.account(unique_email(harness, "ada"))

    watch = harness.provider.watch(ada, "https://tandem.example.org/webhooks/calendar", "channel-token")

    if watch is None:
        return  # the provider cannot push; changes are found by polling ``changes``
    assert isinstance(watch, Watch)
    assert watch.token == "channel-token" and watch.watch_id
    assert watch.expires_at > datetime.now(UTC)
    harness.provider.stop_watch(ada, watch)


# --- read-only providers ---------------------------------------------------------------------
def test_read_only_provider_refuses_writes_with_a_clear_error(harness):
    if harness.provider.can_write:
        pytest.skip(f"{harness.name} can write: the read-only contract does not apply")
    ada = harness.account(unique_email(harness, "ada"))
    provider = harness.provider
    writes = [
        lambda: provider.create_series(ada, series_spec(ada.email, "mentee@example.org")),
        lambda: provider.move_occurrence(ada, "e", utc(3, 2, 15), utc(3, 3, 15), utc(3, 3, 16)),
        lambda: provider.cancel_occurrence(ada, "e", utc(3, 2, 15)),
        lambda: provider.update_description(ada, "e", "Agenda"),
        lambda: provider.cancel_series(ada, "e"),
    ]
    for write in writes:
        with pytest.raises(ProviderError, match="invitation"):
            write()
