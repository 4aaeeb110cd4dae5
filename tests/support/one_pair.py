"""Helpers for the pipeline tests that start from one ready pair in New York (plain functions)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from adapters.storage.models import Series
from scheduler.ports import CalendarAccount
from tests.support.pipeline import NOW, make_person, make_program, make_ready_pair

NY = "America/New_York"


def ready_pair(container, **program):
    with container.uow() as uow:
        prog = make_program(uow.session, **({"cadence": "weekly", "session_count": 4,
                                             "reminder_offsets_min": [1440, 60]} | program))
        mentor = make_person(container, uow.session, "ada@example.org", NY)
        mentee = make_person(container, uow.session, "lin@example.org", NY)
        pair_id = make_ready_pair(container, uow.session, prog, mentor, mentee, NOW).id
        uow.commit()
    return pair_id


def first_series(container, pair_id):
    with container.uow() as uow:
        s = uow.session.scalars(select(Series).where(Series.pair_id == pair_id)
                                .order_by(Series.idempotency_key)).first()
        return s.id, s.provider_event_id, s.organizer_connection_id, \
            [(o.id, o.original_start, o.start, o.status) for o in s.occurrences]


def ada_account():
    return CalendarAccount(connection_id="x", provider="memory", email="ada@example.org", credentials={"tz": NY})


def calendar_series(calendars, event_id):
    return calendars.get_series(ada_account(), event_id, NOW, NOW + timedelta(days=200))
