"""Privacy requests on the in-memory unit of work: export, erasure (with the outbox run by the same
wrapper as the actors), who may ask, and the feedback-text retention sweep."""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.links import LinkSigner
from adapters.mail.renderers import MailRenderer
from scheduler.core.entities import Feedback, Goal, Notification, OutboxMessage, Pair, Person
from scheduler.ports import Dependencies
from scheduler.services import dashboard, privacy, reports
from scheduler.services.notifications import add_notification
from tests.unit.services.booked import DURATION, FIRST, book_series, mentor_account
from workers.drain import run_due

NAME, EMAIL = "Ezra", "mentee@example.org"  # the mentee of ``seed_pair``: the person erased here


@pytest.fixture
def deps(deps) -> Dependencies:
    """The use-case dependencies with the real renderer and link signer (emails are delivered)."""
    return replace(deps, renderer=MailRenderer(), links=LinkSigner("unit-test-link-secret-0123456789", 14))


@pytest.fixture
def world(deps, seed, clock):
    """A booked pair (mentor Mina, mentee Ezra) with two past sessions (held, missed), two to
    come, feedback from both, a goal, a coordinator's note, a sent reminder to Ezra; a second pair
    of Mina's whose diagnosis names Ezra; an email to the coordinator naming Ezra; a dead outbox
    row whose error holds Ezra's address."""
    seeded = seed(status="booked", connected=True)
    series_id, occ_ids = book_series(deps, seeded, count=4)
    with deps.uow() as uow:
        held, missed = uow.occurrences.get(occ_ids[0]), uow.occurrences.get(occ_ids[1])
        held.attendance_verdict, held.attendance = "held", "met"
        missed.attendance_verdict, missed.attendance_note = "missed", "Ezra was ill, said Mina"
        uow.feedback.add(Feedback(occurrence_id=held.id, person_id=seeded.mentee_id, answer="met", rating=5,
                                  notes="Mina helped me prepare my talk", created_at=FIRST + DURATION))
        uow.feedback.add(Feedback(occurrence_id=held.id, person_id=seeded.mentor_id, answer="met", rating=4,
                                  notes="Ezra came well prepared", created_at=FIRST + DURATION))
        uow.goals.add(Goal(pair_id=seeded.pair_id, text="Ezra gives a conference talk", created_at=FIRST))
        zed = uow.people.add(Person(email="zed@example.org", name="Zed", tz="UTC"))
        other_pair = uow.pairs.add(Pair(program_id=seeded.program_id, mentor_id=seeded.mentor_id, mentee_id=zed.id,
                                        status="unschedulable",
                                        status_reason="the mentor's other sessions (Ezra) already take all shared "
                                                      "free time"))
        reminder = Notification(kind="reminder", person_id=seeded.mentee_id, pair_id=seeded.pair_id,
                                occurrence_id=held.id, due_at=FIRST - timedelta(hours=1), status="sent",
                                sent_at=FIRST - timedelta(hours=1), idempotency_key="sent-reminder-1",
                                payload={"offset_min": 60})
        uow.notifications.add(reminder)
        add_notification(uow, kind="pair_attention", person_id=seeded.coordinator_id, pair_id=other_pair.id,
                         due_at=FIRST + 30 * timedelta(days=1), key="attention-1",
                         payload={"reason": "the mentor's other sessions (Ezra) already take all shared free time"})
        uow.outbox.add(OutboxMessage(kind="deliver_notification", subject_id="gone", idempotency_key="dead-mail",
                                     status="dead", last_error="SMTP 550: mailbox mentee@example.org unknown"))
        uow.commit()
    clock.current = FIRST + timedelta(weeks=1, hours=2)  # two sessions past, two to come
    return seeded, series_id, occ_ids, other_pair.id


def settle(deps, clock) -> None:
    """What the tick and the workers do over the next minutes: every due row runs, then time
    passes, until nothing is left to do (a waiting erasure looks again a minute later)."""
    for _ in range(10):
        run_due(deps)
        with deps.uow() as uow:
            if uow.outbox.oldest_due(clock.now() + timedelta(minutes=1)) is None:
                return
        clock.advance(minutes=1)


def rows_holding(store, *texts: str) -> list[str]:
    """Every stored value (every column of every row of every table) that holds one of ``texts``."""
    found = []
    for cls, table in store.tables.items():
        for key, row in table.items():
            for column, value in row.items():
                text = value.decode("latin-1") if isinstance(value, bytes) else json.dumps(value, default=str)
                if any(t.lower() in text.lower() for t in texts):
                    found.append(f"{cls.__name__}.{column} of {key}: {text[:80]}")
    return found


def figures(deps, seeded) -> dict:
    """What the program's figures say: the dashboard's headline counts and every report's numbers
    (names, addresses and free text are left out: those may change, counts may not)."""
    board = dashboard.dashboard(deps, seeded.program_id)
    numbers = {"pairs": board.headline.pairs, "held": board.headline.held_this_month,
               "missed": board.headline.missed_this_month, "rate": board.headline.missed_rate,
               "weeks": [(b.held, b.missed) for b in board.weeks], "mentors": [(b.key, b.held, b.missed)
                                                                              for b in board.mentors]}
    words = ("name", "email", "reasons", "note", "mentees")
    for kind in ("missed", "equal-access", "recognition"):
        report = reports.program_report(deps, seeded.program_id, kind, "2026-03-01", "2026-04-30")
        keep = [column for column in report.columns if not any(w in column for w in words)]
        numbers[kind] = [[row[column] for column in keep] for row in report.rows]
    return numbers


# --- export -------------------------------------------------------------------------------------
def test_export_holds_the_person_s_own_data_field_by_field(deps, world):
    seeded, series_id, occ_ids, _ = world
    data = privacy.export_person(deps, seeded.mentee_id, requested_by=seeded.mentee_id)
    assert data["format"] == "tandem.person-export" and data["version"] == 1
    assert data["person"] == {"id": seeded.mentee_id, "email": EMAIL, "name": NAME, "time_zone": "America/New_York",
                              "working_hours": data["person"]["working_hours"], "preferences": None,
                              "is_admin": False, "onboarded_at": "2026-03-02T08:00:00+00:00",
                              "digest_opt_out": False, "created_at": data["person"]["created_at"]}
    assert data["person"]["working_hours"]["mon"] == [["09:00", "17:00"]]
    assert data["roles"] == [{"program": {"id": seeded.program_id, "name": "Pilot"}, "role": "mentee"}]
    [pair] = data["pairs"]
    assert pair["id"] == seeded.pair_id and pair["my_role"] == "mentee" and pair["status"] == "booked"
    assert pair["other_person"] == {"id": seeded.mentor_id, "name": "Mina"}  # a name, no address
    assert [g["text"] for g in pair["goals"]] == ["Ezra gives a conference talk"]
    assert [s["id"] for s in pair["series"]] == [series_id] and pair["series"][0]["status"] == "booked"
    assert [s["id"] for s in pair["sessions"]] == occ_ids
    first = pair["sessions"][0]
    assert (first["start"], first["attendance"]) == (FIRST.isoformat(), "held")
    assert first["my_feedback"] == {"answer": "met", "rating": 5, "notes": "Mina helped me prepare my talk",
                                    "action_items": [], "created_at": (FIRST + DURATION).isoformat()}
    assert pair["sessions"][1]["attendance"] == "missed" and pair["sessions"][1]["my_feedback"] is None
    assert data["feedback"] == [{"answer": "met", "rating": 5, "notes": "Mina helped me prepare my talk",
                                 "action_items": [], "created_at": (FIRST + DURATION).isoformat(),
                                 "occurrence_id": occ_ids[0],
                                 "pair_id": seeded.pair_id}]
    [connection] = data["calendar_connections"]
    assert connection["provider"] == "memory" and connection["account_email"] == EMAIL
    assert set(connection) == {"id", "provider", "account_email", "calendar_id", "status", "last_checked_at",
                               "created_at"}  # no token, no sync cursor, no push channel secret
    assert [(e["kind"], e["status"]) for e in data["emails"]] == [("reminder", "sent")]
    text = json.dumps(data)
    # never someone else's words: the mentor's feedback, the coordinator's note, the diagnosis
    assert "Ezra came well prepared" not in text and "Ezra was ill" not in text and "token" not in text
    assert "mentor@example.org" not in text and "other sessions" not in text


def test_the_export_is_json_and_an_administrator_may_export_anyone(deps, world):
    seeded = world[0]
    with deps.uow() as uow:
        uow.people.get(seeded.coordinator_id).is_admin = True
        uow.commit()
    data = privacy.export_person(deps, seeded.mentor_id, requested_by=seeded.coordinator_id)
    assert json.loads(json.dumps(data))["person"]["email"] == "mentor@example.org"
    assert [f["notes"] for f in data["feedback"]] == ["Ezra came well prepared"]


def test_nobody_else_may_export_or_erase_a_person(deps, world):
    seeded = world[0]
    for requester in (seeded.mentor_id, seeded.coordinator_id, "nobody"):
        with pytest.raises(privacy.NotAllowed):
            privacy.export_person(deps, seeded.mentee_id, requested_by=requester)
        with pytest.raises(privacy.NotAllowed):
            privacy.erase_person(deps, seeded.mentee_id, requested_by=requester)
        assert privacy.may_manage(deps, seeded.mentee_id, requester) is False
    with deps.uow() as uow:
        assert uow.people.get(seeded.mentee_id).erasure_requested_at is None
        assert uow.pairs.get(seeded.pair_id).status == "booked"
    assert privacy.may_manage(deps, seeded.mentee_id, seeded.mentee_id) is True


# --- erasure ------------------------------------------------------------------------------------
def test_erasure_leaves_no_trace_tells_the_other_person_and_keeps_the_figures(deps, world, store, calendars,
                                                                             caplog, clock):
    seeded, series_id, occ_ids, other_pair_id = world
    before = figures(deps, seeded)
    with deps.uow() as uow:
        event_id = uow.series.get(series_id).provider_event_id
    caplog.set_level(logging.DEBUG)

    report = privacy.erase_person(deps, seeded.mentee_id, requested_by=seeded.mentee_id)
    assert (report.pairs_ended, report.people_told, report.finished) == (1, 1, False)  # the calendar goes first
    with deps.uow() as uow:
        assert uow.connections.of_people([seeded.mentee_id])  # its tokens wait for the calendar work
    settle(deps, clock)

    with deps.uow() as uow:
        person = uow.people.get(seeded.mentee_id)
        assert person.erased_at is not None and person.name == privacy.ERASED_NAME
        assert uow.connections.of_people([seeded.mentee_id]) == []
        assert uow.pairs.get(seeded.pair_id).status == "ended"
        assert uow.pairs.get(other_pair_id).status_reason == (
            "the mentor's other sessions (Former participant) already take all shared free time")
        assert [o.status for o in uow.occurrences.of_pair(seeded.pair_id)] == ["scheduled", "scheduled",
                                                                                "cancelled", "cancelled"]
    assert rows_holding(store, NAME, EMAIL) == []
    assert [r.getMessage() for r in caplog.records
            if NAME.lower() in r.getMessage().lower() or EMAIL in r.getMessage()] == []

    # the mentor was told, in words for them, and the upcoming sessions left the calendar
    [notice] = [e for e in deps.mailer.sent_to("mentor@example.org") if "left" in e.subject]
    assert notice.subject == "Your mentee has left Pilot: your sessions are cancelled"
    assert "Your mentee in Pilot is no longer taking part" in notice.text and NAME not in notice.text
    assert notice.text.count("\n  - ") == 2
    state = calendars.get_series(mentor_account(deps, seeded), event_id, FIRST - timedelta(days=1),
                                 FIRST + timedelta(days=60))
    assert state.cancelled
    # nothing more went to the erased person, and the reminder sent before was not sent again
    assert [e.subject for e in deps.mailer.sent_to(EMAIL)] == []
    assert figures(deps, seeded) == before


def test_erasing_twice_is_harmless_and_reports_it(deps, world, store, clock):
    seeded = world[0]
    privacy.erase_person(deps, seeded.mentee_id, requested_by=seeded.mentee_id)
    settle(deps, clock)
    sent = len(deps.mailer.sent)
    snapshot = json.dumps({c.__name__: t for c, t in store.tables.items()}, default=str, sort_keys=True)
    with deps.uow() as uow:
        uow.people.get(seeded.coordinator_id).is_admin = True
        uow.commit()
    again = privacy.erase_person(deps, seeded.mentee_id, requested_by=seeded.coordinator_id)
    assert (again.already_erased, again.finished, again.pairs_ended) == (True, True, 0)
    settle(deps, clock)
    with deps.uow() as uow:
        uow.people.get(seeded.coordinator_id).is_admin = False
        uow.commit()
    assert json.dumps({c.__name__: t for c, t in store.tables.items()}, default=str, sort_keys=True) == snapshot
    assert len(deps.mailer.sent) == sent


def test_a_person_without_calendar_work_is_erased_at_once(deps, seed):
    seeded = seed(status="invited", connected=True)
    report = privacy.erase_person(deps, seeded.mentor_id, requested_by=seeded.mentor_id)
    assert report.finished and [(c.provider, c.revoked) for c in report.calendars] == [("memory", True)]
    with deps.uow() as uow:
        assert uow.people.get(seeded.mentor_id).email == f"erased-{seeded.mentor_id}@erased.invalid"
        assert uow.pairs.get(seeded.pair_id).status == "ended"
        assert uow.people.by_email("mentor@example.org") is None


def test_a_crash_between_the_steps_is_finished_by_the_outbox_row(deps, world, store, monkeypatch, clock):
    seeded = world[0]
    calls = []

    def crash(uow, person, now):
        calls.append(person.id)
        raise RuntimeError("worker killed")

    real = privacy._anonymise
    monkeypatch.setattr(privacy, "_anonymise", crash)
    privacy.erase_person(deps, seeded.mentee_id, requested_by=seeded.mentee_id)
    for _ in range(5):  # the calendar work runs, then the finishing row fails
        run_due(deps)
        if calls:
            break
        clock.advance(minutes=1)
    assert calls and rows_holding(store, EMAIL)
    with deps.uow() as uow:
        assert [m.status for m in uow.outbox.all() if m.kind == "erase_person" and m.last_error] == ["pending"]
    monkeypatch.setattr(privacy, "_anonymise", real)
    settle(deps, clock)
    assert rows_holding(store, NAME, EMAIL) == []


def test_an_administrator_erases_someone_and_a_coordinator_cannot(deps, world, store, clock):
    seeded = world[0]
    with pytest.raises(privacy.NotAllowed):
        privacy.erase_person(deps, seeded.mentee_id, requested_by=seeded.coordinator_id)
    with deps.uow() as uow:
        uow.people.get(seeded.coordinator_id).is_admin = True
        uow.commit()
    privacy.erase_person(deps, seeded.mentee_id, requested_by=seeded.coordinator_id)
    settle(deps, clock)
    assert rows_holding(store, NAME, EMAIL) == []
    with pytest.raises(privacy.UnknownPerson):
        privacy.export_person(deps, seeded.mentee_id, requested_by=seeded.coordinator_id)


def test_a_coordinator_who_is_erased_stops_coordinating(deps, world):
    seeded = world[0]
    privacy.erase_person(deps, seeded.coordinator_id, requested_by=seeded.coordinator_id)
    with deps.uow() as uow:
        assert uow.memberships.coordinator_ids(seeded.program_id) == []
        assert [n.status for n in uow.notifications.of_person(seeded.coordinator_id)] == ["cancelled"]
        assert uow.notifications.of_person(seeded.coordinator_id)[0].payload == {}


# --- retention ----------------------------------------------------------------------------------
def test_the_sweep_deletes_old_feedback_text_only_and_keeps_answers(deps, world, clock):
    seeded, _, occ_ids, _ = world
    with deps.uow() as uow:
        uow.feedback.add(Feedback(occurrence_id=occ_ids[1], person_id=seeded.mentee_id, answer="not_met", rating=2,
                                  notes="recent words", created_at=FIRST + timedelta(days=300)))
        uow.commit()
    clock.current = FIRST + DURATION + timedelta(days=365, hours=1)
    assert privacy.sweep_feedback_text(deps) == 2
    with deps.uow() as uow:
        answers = sorted(((f.notes, f.answer, f.rating) for f in uow.feedback.all()), key=lambda a: a[2])
    assert answers == [("recent words", "not_met", 2), (None, "met", 4), (None, "met", 5)]
    assert privacy.sweep_feedback_text(deps) == 0


def test_retention_runs_once_a_day_through_the_outbox_and_can_be_off(deps, world, clock):
    clock.current = FIRST + timedelta(days=400)
    assert privacy.queue_retention_sweep(deps) == 1 and privacy.queue_retention_sweep(deps) == 0
    settle(deps, clock)
    with deps.uow() as uow:
        assert [f.notes for f in uow.feedback.all()] == [None, None]
    off = replace(deps, config=replace(deps.config, feedback_retention_days=0))
    clock.current += timedelta(days=1)
    assert privacy.queue_retention_sweep(off) == 0 and privacy.sweep_feedback_text(off) == 0


def test_erasing_the_organizer_cancels_the_series_with_their_calendar_before_revoking_it(deps, world, calendars,
                                                                                         store, clock):
    seeded, series_id, _, _ = world
    with deps.uow() as uow:
        event_id = uow.series.get(series_id).provider_event_id
    account = mentor_account(deps, seeded)  # the mentor organises the series on their calendar
    report = privacy.erase_person(deps, seeded.mentor_id, requested_by=seeded.mentor_id)
    assert not report.finished and report.pairs_ended == 2  # the booked pair and the one with Zed
    settle(deps, clock)
    assert calendars.get_series(account, event_id, FIRST, FIRST + timedelta(days=60)).cancelled
    assert rows_holding(store, "Mina", "mentor@example.org") == []
    told = sorted(e.to[0] for e in deps.mailer.sent if "left" in e.subject)
    assert told == ["mentee@example.org", "zed@example.org"]
    assert all(e.subject == "Your mentor has left Pilot: your sessions are cancelled"
               for e in deps.mailer.sent if "left" in e.subject)
