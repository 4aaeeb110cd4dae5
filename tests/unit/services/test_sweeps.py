"""The tick's periodic sweeps, on the in-memory unit of work: they only add outbox rows, keyed per
day (or per expiry), so a repeat queues nothing new."""
from __future__ import annotations

from datetime import timedelta

from scheduler.services import sweeps
from tests.unit.services.booked import book_series, outbox


def test_daily_rechecks_queue_each_booked_series_and_calendar_once_a_day(deps, seed, clock):
    seeded = seed(status="booked", connected=True)
    series_id, _ = book_series(deps, seeded, at_provider=False)
    today = clock.now().date().isoformat()
    assert sweeps.daily_rechecks(deps) == 3  # one series, two calendars that push
    assert [m.idempotency_key for m in outbox(deps, "recheck_series")] == [f"recheck_series:{series_id}:daily:{today}"]
    assert len(outbox(deps, "handle_calendar_change")) == 2
    clock.advance(hours=1)
    assert sweeps.daily_rechecks(deps) == 0  # the same day: nothing new
    clock.advance(days=1)
    assert sweeps.daily_rechecks(deps) == 3
    assert len(outbox(deps, "recheck_series")) == 2


def test_renew_watches_asks_for_a_channel_when_none_or_expiring(deps, seed, clock):
    seeded = seed(connected=True)
    assert sweeps.renew_watches(deps) == 2  # no channel yet
    assert {m.idempotency_key.rsplit(":", 1)[1] for m in outbox(deps, "renew_watch")} == {"new"}
    expires = clock.now() + timedelta(days=3)
    with deps.uow() as uow:
        for person_id in (seeded.mentor_id, seeded.mentee_id):
            uow.connections.usable_of(person_id)[0].watch = {"watch_id": "w", "resource_id": "r",
                                                             "expires_at": expires.isoformat()}
        uow.commit()
    assert sweeps.renew_watches(deps) == 0  # far from expiry
    clock.advance(days=2, hours=1)  # less than a day before it expires
    assert sweeps.renew_watches(deps) == 2
    assert sweeps.renew_watches(deps) == 0  # once per expiry


def test_calendars_with_a_working_channel_are_not_polled_daily_and_failing_ones_are(deps, seed, clock):
    from scheduler.services import changes
    seeded = seed(connected=True)
    with deps.uow() as uow:
        mentor = uow.connections.usable_of(seeded.mentor_id)[0].id
        mentee = uow.connections.usable_of(seeded.mentee_id)[0].id
    assert changes.ensure_watch(deps, mentor) and changes.ensure_watch(deps, mentee)
    assert sweeps.daily_rechecks(deps) == 0  # both push: polling is only the fallback
    with deps.uow() as uow:
        changes.record_webhook_failure(uow, mentee, "Microsoft Graph sent missed")
        uow.commit()
    assert sweeps.daily_rechecks(deps) == 1
    assert [m.subject_id for m in outbox(deps, "handle_calendar_change")] == [mentee]
