"""Calendar change notices and push channels, on the in-memory unit of work and calendar."""
from __future__ import annotations

from datetime import datetime, timedelta

from scheduler.services import changes
from scheduler.services.attendance import resolve_attendance
from tests.unit.services.booked import FIRST, book_series, mentor_account, notifications, outbox


def _mentor_connection(deps, seeded):
    with deps.uow() as uow:
        return uow.connections.usable_of(seeded.mentor_id)[0]


def test_a_change_notice_queues_a_recheck_of_every_booked_series(deps, seed):
    seeded = seed(status="booked", connected=True)
    series_id, _ = book_series(deps, seeded)
    connection = _mentor_connection(deps, seeded)
    assert changes.handle_calendar_change(deps, connection.id) == 1
    [row] = outbox(deps, "recheck_series")
    assert row.subject_id == series_id and row.idempotency_key.startswith(f"recheck_series:{series_id}:change:")
    with deps.uow() as uow:
        stored = uow.connections.get(connection.id)
        assert stored.sync_cursor and stored.last_checked_at == deps.clock.now()
    assert changes.handle_calendar_change(deps, connection.id) == 0  # nothing new since the cursor


def test_a_series_cancelled_in_the_calendar_is_cancelled_here(deps, seed, calendars):
    seeded = seed(status="booked", connected=True)
    series_id, occ_ids = book_series(deps, seeded)
    connection = _mentor_connection(deps, seeded)
    changes.handle_calendar_change(deps, connection.id)  # starts the cursor
    with deps.uow() as uow:
        event_id = uow.series.get(series_id).provider_event_id
    calendars.cancel_series(mentor_account(deps, seeded), event_id)
    changes.handle_calendar_change(deps, connection.id)
    with deps.uow() as uow:
        assert uow.series.get(series_id).status == "cancelled"
        assert {o.status for o in uow.occurrences.get_many(occ_ids)} == {"cancelled"}
        pair = uow.pairs.get(seeded.pair_id)
        assert pair.status == "needs_attention" and "cancelled in a calendar" in pair.status_reason
    assert [n.person_id for n in notifications(deps, "pair_attention")] == [seeded.coordinator_id]


def test_one_session_cancelled_in_the_calendar_is_cancelled_alone(deps, seed, calendars):
    seeded = seed(status="booked", connected=True)
    series_id, occ_ids = book_series(deps, seeded)
    connection = _mentor_connection(deps, seeded)
    changes.handle_calendar_change(deps, connection.id)
    with deps.uow() as uow:
        event_id = uow.series.get(series_id).provider_event_id
    calendars.cancel_occurrence(mentor_account(deps, seeded), event_id, FIRST + timedelta(weeks=2))
    changes.handle_calendar_change(deps, connection.id)
    with deps.uow() as uow:
        assert [o.status for o in uow.occurrences.get_many(occ_ids)
                if o.id == occ_ids[2]] == ["cancelled"]
        assert uow.series.get(series_id).status == "booked"
        assert uow.pairs.get(seeded.pair_id).status == "booked"


def test_a_paused_pair_whose_series_is_deleted_stays_paused(deps, seed, calendars):
    seeded = seed(status="paused", connected=True)
    series_id, _ = book_series(deps, seeded)
    connection = _mentor_connection(deps, seeded)
    changes.handle_calendar_change(deps, connection.id)
    with deps.uow() as uow:
        event_id = uow.series.get(series_id).provider_event_id
    calendars.cancel_series(mentor_account(deps, seeded), event_id)
    changes.handle_calendar_change(deps, connection.id)
    with deps.uow() as uow:
        assert uow.series.get(series_id).status == "cancelled"
        assert uow.pairs.get(seeded.pair_id).status == "paused"  # resuming plans it again


def test_ensure_watch_starts_a_channel_with_our_token_and_keeps_it_until_it_expires(deps, seed, clock):
    seeded = seed(connected=True)
    connection = _mentor_connection(deps, seeded)
    assert changes.ensure_watch(deps, connection.id)
    with deps.uow() as uow:
        watch = uow.connections.get(connection.id).watch
    assert watch["watch_id"] and datetime.fromisoformat(watch["expires_at"]) > clock.now()
    assert not changes.ensure_watch(deps, connection.id)  # still valid
    with deps.uow() as uow:
        changes.expire_watch(uow, connection.id, clock.now(), forget=False)
        uow.commit()
    assert changes.ensure_watch(deps, connection.id)  # replaced
    with deps.uow() as uow:
        assert uow.connections.get(connection.id).watch["watch_id"] != watch["watch_id"]
        changes.expire_watch(uow, connection.id, clock.now(), forget=True)
        uow.commit()
    with deps.uow() as uow:
        assert uow.connections.get(connection.id).watch is None


def test_channel_tokens_prove_their_connection(deps):
    token = changes.channel_token(deps.config.webhook_secret, "google", "c1", "chan")
    assert changes.verify_channel_token(deps.config.webhook_secret, "google", token) == ("c1", "chan")
    assert changes.verify_channel_token("another secret", "google", token) is None


def test_a_live_channel_is_extended_in_place_and_a_gone_one_replaced(deps, seed, clock, calendars):
    seeded = seed(connected=True)
    connection = _mentor_connection(deps, seeded)
    assert changes.ensure_watch(deps, connection.id)
    with deps.uow() as uow:
        first = uow.connections.get(connection.id).watch
    clock.advance(days=6, hours=12)  # less than a day before it expires: renewed where it is
    assert changes.ensure_watch(deps, connection.id)
    with deps.uow() as uow:
        renewed = uow.connections.get(connection.id).watch
    assert renewed["watch_id"] == first["watch_id"] and renewed["expires_at"] > first["expires_at"]
    calendars.revoke(mentor_account(deps, seeded))  # the provider forgot the channel
    clock.advance(days=6, hours=12)
    assert changes.ensure_watch(deps, connection.id)
    with deps.uow() as uow:
        replaced = uow.connections.get(connection.id).watch
    assert replaced["watch_id"] != first["watch_id"] and replaced["failures"] == 0


def test_failures_of_a_channel_count_in_health_and_make_it_polled(deps, seed, clock):
    seeded = seed(connected=True)
    connection = _mentor_connection(deps, seeded)
    changes.ensure_watch(deps, connection.id)
    with deps.uow() as uow:
        watch = uow.connections.get(connection.id).watch
        assert not changes.needs_polling(watch, clock.now())
        changes.record_webhook_failure(uow, connection.id, "Microsoft Graph sent missed")
        changes.record_webhook_failure(uow, connection.id, "Microsoft Graph sent missed")
        uow.commit()
    with deps.uow() as uow:
        watch = uow.connections.get(connection.id).watch
    assert watch["failures"] == 2 and "missed" in watch["error"]
    assert changes.needs_polling(watch, clock.now())
    assert changes.needs_polling(None, clock.now())
    assert changes.needs_polling({"watch_id": None, "resource_id": None,
                                  "expires_at": clock.now().isoformat()}, clock.now())


def test_a_session_declined_in_a_calendar_is_a_cancellation_by_that_person(deps, seed, calendars, clock):
    seeded = seed(status="booked", connected=True)
    series_id, occ_ids = book_series(deps, seeded)
    connection = _mentor_connection(deps, seeded)
    changes.handle_calendar_change(deps, connection.id)
    with deps.uow() as uow:
        event_id = uow.series.get(series_id).provider_event_id
    second = FIRST + timedelta(weeks=1)
    clock.current = second - timedelta(hours=5)  # five hours' notice: late
    calendars.set_attendee_response(mentor_account(deps, seeded), event_id, "mentee@example.org", "declined",
                                    original_start=second)
    changes.handle_calendar_change(deps, connection.id)
    changes.handle_calendar_change(deps, connection.id)  # a repeat records nothing twice
    with deps.uow() as uow:
        declined = uow.occurrences.get(occ_ids[1])
        assert declined.status == "scheduled"  # still on the calendar: they may meet anyway
        assert declined.attendance_verdict == "cancelled"
        assert [(s["kind"], s["by"]) for s in declined.attendance_signals] == [("calendar_declined", "mentee")]
        others = uow.occurrences.get_many([occ_ids[0], occ_ids[2]])
        assert {o.attendance_verdict for o in others} == {"unknown"}
    verdict = resolve_attendance(deps, occ_ids[1])
    assert (verdict.cancelled_by, verdict.notice, verdict.late) == ("mentee", timedelta(hours=5), True)


def test_a_declined_series_is_declined_session_by_session(deps, seed, calendars):
    seeded = seed(status="booked", connected=True)
    series_id, occ_ids = book_series(deps, seeded)
    connection = _mentor_connection(deps, seeded)
    changes.handle_calendar_change(deps, connection.id)
    with deps.uow() as uow:
        event_id = uow.series.get(series_id).provider_event_id
    calendars.set_attendee_response(mentor_account(deps, seeded), event_id, "mentee@example.org", "declined")
    changes.handle_calendar_change(deps, connection.id)
    with deps.uow() as uow:
        assert {o.attendance_verdict for o in uow.occurrences.get_many(occ_ids)} == {"cancelled"}
