"""Regression tests for defects found in review (each was first committed as a strict xfail that
proved the defect, then the fix removed the marker): booking races, outbox and notification
keys, cancelled series, repair races, Graph reauthorization, open redirects, invitation login
CSRF."""
from datetime import timedelta

from sqlalchemy import select

from adapters.storage.models import Notification, OutboxMessage, Series
from scheduler.ports import CalendarAccount
from scheduler.services import lifecycle
from scheduler.services.changes import handle_calendar_change
from tests.e2e.helpers import sign_in_as
from tests.integration.test_pipeline_memory import NOW, pipeline  # noqa: F401  (fixture)
from tests.support.pipeline import drain, make_person, make_program, make_ready_pair

NY = "America/New_York"


def _ready_pair(container, **program):
    with container.uow() as uow:
        prog = make_program(uow.session, **({"cadence": "weekly", "session_count": 4,
                                             "reminder_offsets_min": [1440, 60]} | program))
        mentor = make_person(container, uow.session, "ada@example.org", NY)
        mentee = make_person(container, uow.session, "lin@example.org", NY)
        pair_id = make_ready_pair(container, uow.session, prog, mentor, mentee, NOW).id
        uow.commit()
    return pair_id


def _series(container, pair_id):
    with container.uow() as uow:
        s = uow.session.scalars(select(Series).where(Series.pair_id == pair_id)
                                .order_by(Series.idempotency_key)).first()
        return s.id, s.provider_event_id, s.organizer_connection_id, \
            [(o.id, o.original_start, o.start, o.status) for o in s.occurrences]


def _ada():
    return CalendarAccount(connection_id="x", provider="memory", email="ada@example.org", credentials={"tz": NY})


def _calendar(calendars, event_id):
    return calendars.get_series(_ada(), event_id, NOW, NOW + timedelta(days=200))


# --- 1. moving a session back to a time it had before --------------------------------------------
def test_moving_a_session_back_to_an_earlier_time_updates_calendar_reminders_and_emails(pipeline):  # noqa: F811
    container, broker, calendars, mailer, clock = pipeline
    pair_id = _ready_pair(container)
    drain(container, broker)
    _, event_id, _, occs = _series(container, pair_id)
    occ_id, original, a, _ = occs[1]
    b, c = a + timedelta(days=1), a + timedelta(days=2)
    for target in (b, c, b):  # a person changes their mind: Thursday, Friday, then Thursday again
        lifecycle.move_occurrence_to(container, occ_id, target, by_person_id="someone")
        drain(container, broker)
    state = {o.original_start: o for o in _calendar(calendars, event_id).occurrences}
    with container.uow() as uow:
        pending = {n.due_at for n in uow.session.scalars(select(Notification).where(
            Notification.occurrence_id == occ_id, Notification.kind == "reminder",
            Notification.status == "pending"))}
    moved_emails = [e for e in mailer.sent if "moved" in e.subject.lower()]
    assert state[original].start == b, "the calendar still shows the session on Friday"
    assert pending == {b - timedelta(days=1), b - timedelta(hours=1)}, \
        "no reminders for the session at its final time"
    assert len(moved_emails) == 6, "the last move was never announced"


# --- 2. a session skipped while its series is being booked ---------------------------------------
def test_skip_while_the_series_is_being_booked_reaches_the_calendar_and_sends_no_invitation(pipeline):  # noqa: F811
    from workers import actors

    container, broker, calendars, mailer, clock = pipeline
    pair_id = _ready_pair(container)
    original_create = calendars.create_series
    skipped = {}

    def create_while_person_skips(account, spec):
        # While the worker is in create_series (series 'booking'), a person skips session 2 and
        # another worker runs the queued push_occurrence row.
        _, _, _, occs = _series(container, pair_id)
        occ_id, original = occs[1][0], occs[1][1]
        skipped["original"] = original
        lifecycle.skip_occurrence(container, occ_id, by_person_id="someone")
        with container.uow() as uow:
            row = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "push_occurrence")).one()
            row.status, row.enqueued_at, row.attempts = "enqueued", clock.now(), 1
            row_id = row.id
            uow.commit()
        actors.ACTORS["push_occurrence"].fn(row_id)
        return original_create(account, spec)

    calendars.create_series = create_while_person_skips
    drain(container, broker)
    _, event_id, _, _ = _series(container, pair_id)
    state = {o.original_start: o for o in _calendar(calendars, event_id).occurrences}
    with container.uow() as uow:
        invites = uow.session.scalars(select(Notification).where(Notification.kind == "series_invite")).all()
    assert invites == [], "both people were emailed an iTIP invitation for a series that is on a calendar"
    assert state[skipped["original"]].cancelled, "the skipped session is still on the calendar"


# --- 3. a pair ended while its series is being booked ---------------------------------------------
def test_ending_a_pair_while_its_series_is_being_booked_leaves_no_event_on_the_calendar(pipeline):  # noqa: F811
    container, broker, calendars, mailer, clock = pipeline
    pair_id = _ready_pair(container)
    original_create = calendars.create_series
    created = {}

    def create_while_pair_ends(account, spec):
        ref = original_create(account, spec)
        created["event_id"] = ref.event_id
        lifecycle.end_pair(container, pair_id)  # the coordinator / a person ends the pair meanwhile
        return ref

    calendars.create_series = create_while_pair_ends
    drain(container, broker)
    with container.uow() as uow:
        assert uow.session.scalars(select(Series.status).where(Series.pair_id == pair_id)).all() == ["cancelled"]
    state = _calendar(calendars, created["event_id"])
    assert state.cancelled or all(o.cancelled for o in state.occurrences), \
        "an ended pair's sessions stay on the mentor's and mentee's calendars"


# --- 4. a series deleted in the calendar keeps sending reminders ---------------------------------
def test_series_cancelled_in_the_calendar_sends_no_more_reminders(pipeline):  # noqa: F811
    container, broker, calendars, mailer, clock = pipeline
    pair_id = _ready_pair(container)
    drain(container, broker)
    _, event_id, connection_id, occs = _series(container, pair_id)
    calendars.cancel_series(_ada(), event_id)  # the mentor deletes the whole series in their calendar
    handle_calendar_change(container, connection_id)
    with container.uow() as uow:
        assert uow.session.scalars(select(Series.status).where(Series.pair_id == pair_id)).one() == "cancelled"
    before = len(mailer.sent)
    clock.advance(occs[0][2] - NOW + timedelta(hours=2))  # past the first session and its emails
    drain(container, broker)
    reminders = [e for e in mailer.sent[before:] if "feedback" not in e.subject.lower()
                 and "attention" not in e.subject.lower()]
    assert reminders == [], [e.subject for e in reminders]


# --- 5. open redirect after sign-in ---------------------------------------------------------------
def test_sign_in_next_cannot_leave_the_site_with_a_tab(client, seeded):
    sign_in_as(client, seeded.mentee_id)
    response = client.get("/signin?next=/%09/evil.example/")
    assert response.status_code == 302
    location = response.headers["Location"]
    browser_sees = location.replace("\t", "").replace("\n", "").replace("\r", "")
    assert not browser_sees.startswith("//"), f"redirects off-site to {location!r}"


# --- 6. repair overwrites a skip made while it was moving the session ----------------------------
def test_a_session_skipped_while_repair_moves_it_stays_skipped(pipeline):  # noqa: F811
    from scheduler.services.repair import recheck_series
    from adapters.storage.models import Occurrence

    container, broker, calendars, mailer, clock = pipeline
    pair_id = _ready_pair(container, repair_policy="auto")
    drain(container, broker)
    series_id, event_id, _, occs = _series(container, pair_id)
    occ_id, original, start, _ = occs[2]
    calendars.add_event("lin@example.org", start - timedelta(minutes=15), start + timedelta(minutes=45), "Dentist")
    original_move = calendars.move_occurrence

    def move_while_person_skips(account, event, orig, new_start, new_end):
        lifecycle.skip_occurrence(container, occ_id, by_person_id="mentee")  # a click on the pair page
        return original_move(account, event, orig, new_start, new_end)

    calendars.move_occurrence = move_while_person_skips
    recheck_series(container, series_id)
    calendars.move_occurrence = original_move
    drain(container, broker)
    with container.uow() as uow:
        occ = uow.session.get(Occurrence, occ_id)
        pending = uow.session.scalars(select(Notification).where(
            Notification.occurrence_id == occ_id, Notification.kind == "reminder",
            Notification.status == "pending")).all()
        status = occ.status
    state = {o.original_start: o for o in _calendar(calendars, event_id).occurrences}
    assert status == "skipped", f"the skipped session came back as {status!r}"
    assert pending == []
    assert state[original].cancelled, "the skipped session is back on the calendar"


# --- 7. Graph 'reauthorizationRequired' is acknowledged but never acted on -----------------------
def test_reauthorization_required_renews_the_subscription(pipeline):  # noqa: F811
    from adapters.storage.models import CalendarConnection
    from scheduler.services.changes import channel_token, ensure_watch
    from web import create_app

    container, broker, calendars, mailer, clock = pipeline
    with container.uow() as uow:
        person = make_person(container, uow.session, "ada@example.org", NY)
        uow.session.flush()
        connection_id = uow.session.scalars(select(CalendarConnection.id).where(
            CalendarConnection.person_id == person.id)).one()
        uow.commit()
    assert ensure_watch(container, connection_id)
    with container.uow() as uow:
        before = dict(uow.session.get(CalendarConnection, connection_id).watch)
    clock.advance(timedelta(days=2))  # Graph asks for reauthorization well before the expiry
    client = create_app(container=container).test_client()
    token = channel_token(container.settings.security.webhook_secret, connection_id)
    response = client.post("/webhooks/microsoft", json={"value": [{
        "subscriptionId": before["watch_id"], "clientState": token, "lifecycleEvent": "reauthorizationRequired"}]})
    assert response.status_code == 202
    drain(container, broker)
    with container.uow() as uow:
        after = dict(uow.session.get(CalendarConnection, connection_id).watch)
    assert after["expires_at"] > before["expires_at"], "the subscription was neither renewed nor replaced"


# --- 8. an invitation link silently swaps the browser's signed-in account (login CSRF) ------------
def test_someone_elses_invitation_does_not_replace_the_signed_in_person(app, client, seeded):
    from adapters.links import signer_for

    sign_in_as(client, seeded.mentor_id)
    # A participant who has not set up yet sends their own invitation link to their mentor.
    token = signer_for(app.extensions["tandem"].settings).sign(
        "invite", {"p": seeded.other_mentee_id, "pair": seeded.other_pair_id})
    client.get(f"/invite/{token}")
    with client.session_transaction() as session:
        assert session.get("pid") == seeded.mentor_id, \
            "the mentor's browser is now signed in as the other person; a calendar they connect goes to that account"
