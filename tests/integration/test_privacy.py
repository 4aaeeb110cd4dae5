"""Privacy requests on real storage (SQLite and PostgreSQL): erasure through the real pipeline
(tick, Dramatiq worker, actors) leaves the person's name and address in no column of any table, in
no log line and in no queued email; the other person is told; the program's figures stay. The web
pages check who asks; a Google grant is revoked at the (emulated) provider."""
from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.mail.memory import InMemoryMailer
from adapters.storage.memory import MemoryStore
from adapters.storage.models import (Base, CalendarConnection, Feedback, Goal, Notification, Occurrence, OutboxMessage,
                                     Pair as PairRow, Person, WebhookDelivery, WebhookEndpoint)
from adapters.tokens import TokenCipher
from emulators.google import GoogleEmulator
from scheduler.core.entities import Membership, Pair, Program
from scheduler.errors import ReconnectNeeded
from scheduler.ports import CalendarAccount, Dependencies, ServiceConfig
from scheduler.services import dashboard, privacy, reports
from tests.contract.harness_google import provider_for
from tests.contract.harness_microsoft import make_harness
from tests.support.pipeline import NOW, drain, make_person, make_program, make_ready_pair
from tests.support.web import sign_in_as

NY = "America/New_York"
MENTEE_EMAIL = "linnea.quist@example.org"
MENTEE_NAME = "Linnéa Quist-Ødegård"  # stored JSON-escaped inside JSON columns
TRACES = ("linn", "quist", "ødegård")  # her name and address, in any case


def _booked(container, broker):
    with container.uow() as uow:
        program = make_program(uow.session, cadence="weekly", session_count=4)
        mentor = make_person(container, uow.session, "ada@example.org", NY)
        mentee = make_person(container, uow.session, MENTEE_EMAIL, NY)
        mentee.name = MENTEE_NAME
        pair = make_ready_pair(container, uow.session, program, mentor, mentee, NOW)
        ids = program.id, mentor.id, mentee.id, pair.id
        uow.commit()
    drain(container, broker)
    return ids


def _settle(container, broker, clock) -> None:
    """The tick and the worker over the next minutes (a waiting erasure looks again a minute
    later): drain while rows are due, let two minutes pass while some come due soon. (A drain
    is started only when a row is due.)"""
    for _ in range(20):
        with container.uow() as uow:
            due = uow.outbox.oldest_due(clock.now())
            soon = uow.outbox.oldest_due(clock.now() + timedelta(minutes=2))
        if due is not None:
            drain(container, broker)
        elif soon is None:
            return
        else:
            clock.advance(timedelta(minutes=2))
    raise AssertionError("the outbox kept making work")


def _traces(container) -> list[str]:
    """Every value, in every column of every table, that holds the mentee's name or address."""
    found = []
    with container.uow() as uow:
        for table in Base.metadata.sorted_tables:
            for row in uow.session.execute(select(table)).mappings():
                for column, value in row.items():
                    text = (value.decode("latin-1") if isinstance(value, bytes)
                            else json.dumps(value, default=str, ensure_ascii=False))
                    if any(t in text.lower() for t in TRACES):
                        found.append(f"{table.name}.{column}: {text[:80]}")
    return found


def _figures(container, program_id) -> dict:
    board = dashboard.dashboard(container, program_id)
    numbers = {"pairs": board.headline.pairs, "held": board.headline.held_this_month,
               "missed": board.headline.missed_this_month, "weeks": [(b.held, b.missed) for b in board.weeks]}
    for kind in ("missed", "equal-access", "recognition"):
        report = reports.program_report(container, program_id, kind, "2027-02-01", "2027-04-30")
        keep = [c for c in report.columns if not re.search("name|email|reasons|note|mentees", c)]
        numbers[kind] = [[row[c] for c in keep] for row in report.rows]
    return numbers


def test_erasure_on_sql_leaves_no_trace_tells_the_mentor_and_keeps_the_figures(pipeline, caplog):
    container, broker, calendars, mailer, clock = pipeline
    program_id, mentor_id, mentee_id, pair_id = _booked(container, broker)
    with container.uow() as uow:
        occurrences = uow.session.scalars(select(Occurrence).order_by(Occurrence.start)).all()
        first, second = occurrences[0], occurrences[1]
        first.attendance_verdict, second.attendance_verdict = "held", "missed"
        second.attendance_note = f"{MENTEE_NAME} was travelling"
        uow.session.add_all([
            Feedback(occurrence_id=first.id, person_id=mentee_id, answer="met", rating=5, notes="Helpful, thanks Ada"),
            Feedback(occurrence_id=first.id, person_id=mentor_id, answer="met", rating=4,
                     notes=f"{MENTEE_NAME} prepared well")])
        uow.session.add(Goal(pair_id=pair_id, text=f"{MENTEE_NAME} leads a project"))
        olu = make_person(container, uow.session, "olu@example.org", NY, provider=None)
        other_pair = PairRow(program_id=program_id, mentor_id=mentor_id, mentee_id=olu.id, status="paused",
                             status_reason=f"the mentor's other sessions ({MENTEE_NAME}) already take all shared time")
        other_pair.history = [{"at": NOW.isoformat(), "kind": "mentor_took_over", "by": None,
                               "mentor_name": MENTEE_NAME}]
        uow.session.add(other_pair)
        hook = WebhookEndpoint(program_id=program_id, url="https://hooks.example.org/t", events=["pair.unschedulable"],
                               secret_blob=b"sealed")
        uow.session.add(hook)
        uow.session.flush()
        uow.session.add(WebhookDelivery(endpoint_id=hook.id, program_id=program_id, pair_id=other_pair.id,
                                        event_id="evt_1", event_type="pair.unschedulable", status="dead",
                                        payload={"reason": f"the mentor's other sessions ({MENTEE_NAME}) take the time"},
                                        last_error=f"receiver said: unknown {MENTEE_EMAIL}"))
        uow.session.add_all([
            Notification(kind="invitation", person_id=olu.id, pair_id=other_pair.id, due_at=NOW + timedelta(days=60),
                         idempotency_key="invite-olu", payload={"pairs": [{"role": "mentee", "other_name": "Ada"}],
                                                                "note": f"Ada also mentors {MENTEE_NAME}"}),
            OutboxMessage(kind="deliver_notification", subject_id="gone", idempotency_key="dead-mail",
                          status="dead", last_error=f"SMTP 550: mailbox {MENTEE_EMAIL} unknown")])
        clock.current = second.end + timedelta(hours=2)
        uow.commit()
    assert _traces(container)  # the scan sees her before
    before = _figures(container, program_id)
    sent_before = len(mailer.sent)
    caplog.set_level(logging.DEBUG)

    report = privacy.erase_person(container, mentee_id, requested_by=mentee_id)
    assert (report.pairs_ended, report.people_told) == (1, 1)
    _settle(container, broker, clock)

    assert _traces(container) == []
    assert [r.getMessage() for r in caplog.records if any(t in r.getMessage().lower() for t in TRACES)] == []
    with container.uow() as uow:
        person = uow.session.get(Person, mentee_id)
        assert person.erased_at is not None and person.name == privacy.ERASED_NAME
        assert uow.session.scalars(select(CalendarConnection).where(
            CalendarConnection.person_id == mentee_id)).all() == []
        assert [f.rating for f in uow.session.scalars(select(Feedback).order_by(Feedback.rating))] == [4, 5]
    new = mailer.sent[sent_before:]
    assert [e.to for e in new if "left" in e.subject] == [("ada@example.org",)]
    assert not [e for e in new if MENTEE_EMAIL in e.to]  # nothing more went to her
    assert _figures(container, program_id) == before
    assert privacy.erase_person(container, mentee_id, requested_by=mentee_id).already_erased


# --- the web pages --------------------------------------------------------------------------------
def test_a_person_downloads_their_data_and_nobody_else_can(client, seeded):
    token = sign_in_as(client, seeded.mentee_id)
    assert 'id="download-my-data"' in client.get("/onboarding").get_data(as_text=True)
    reply = client.post("/account/export", data={"csrf_token": token})
    assert reply.status_code == 200 and reply.mimetype == "application/json"
    assert reply.headers["Content-Disposition"].startswith('attachment; filename="tandem-data-')
    assert reply.headers["Cache-Control"] == "no-store"
    data = json.loads(reply.get_data(as_text=True))
    assert data["person"]["email"] == "mentee@example.org" and data["pairs"][0]["id"] == seeded.pair_id
    assert client.post("/account/export", data={}).status_code == 400  # no CSRF token: refused
    for path in (f"/admin/people/{seeded.mentor_id}/export", f"/admin/people/{seeded.mentor_id}/erase"):
        assert client.post(path, data={"csrf_token": token, "confirm": "mentor@example.org"}).status_code == 403

    token = sign_in_as(client, seeded.coordinator_id)  # a coordinator is no administrator
    assert client.get("/admin/privacy?email=mentee%40example.org").status_code == 403
    assert client.get(f"/admin/people/{seeded.mentee_id}/erase").status_code == 403
    reply = client.post(f"/admin/people/{seeded.mentee_id}/erase",
                        data={"csrf_token": token, "confirm": "mentee@example.org"})
    assert reply.status_code == 403
    assert client.post(f"/admin/people/{seeded.mentee_id}/export", data={"csrf_token": token}).status_code == 403

    token = sign_in_as(client, seeded.admin_id)
    page = client.get("/admin/privacy?email=MENTEE%40example.org").get_data(as_text=True)
    assert "Mia Mentee" in page and f"/admin/people/{seeded.mentee_id}/erase" in page
    reply = client.post(f"/admin/people/{seeded.mentee_id}/export", data={"csrf_token": token})
    assert reply.status_code == 200 and json.loads(reply.get_data())["person"]["name"] == "Mia Mentee"


def test_a_person_deletes_their_account_after_confirming(client, seeded, container):
    token = sign_in_as(client, seeded.mentee_id)
    page = client.get("/account/delete").get_data(as_text=True)
    assert "1 mentoring pair ends" in page and "mentee@example.org" in page
    reply = client.post("/account/delete", data={"csrf_token": token, "confirm": "someone@example.org"})
    assert reply.status_code == 400 and "Type your email address" in reply.get_data(as_text=True)
    with container.uow() as uow:
        assert uow.session.get(Person, seeded.mentee_id).erasure_requested_at is None

    reply = client.post("/account/delete", data={"csrf_token": token, "confirm": " Mentee@Example.org "})
    assert reply.status_code == 200 and "Your account is deleted" in reply.get_data(as_text=True)
    assert client.get("/onboarding").status_code == 302  # signed out
    with container.uow() as uow:
        person = uow.session.get(Person, seeded.mentee_id)
        assert person.erased_at is not None and person.email.endswith("@erased.invalid")
        assert uow.session.get(Pair, seeded.pair_id).status == "ended"


def test_an_administrator_erases_someone_after_confirming(client, seeded, container):
    token = sign_in_as(client, seeded.admin_id)
    assert "Erase Olu Other" in client.get(f"/admin/people/{seeded.other_mentee_id}/erase").get_data(as_text=True)
    reply = client.post(f"/admin/people/{seeded.other_mentee_id}/erase",
                        data={"csrf_token": token, "confirm": "other@example.org"})
    assert reply.status_code == 200 and "Erased" in reply.get_data(as_text=True)
    with container.uow() as uow:
        assert uow.session.get(Person, seeded.other_mentee_id).name == privacy.ERASED_NAME
    assert client.get(f"/admin/people/{seeded.other_mentee_id}/erase").status_code == 404
    assert client.get("/admin/privacy").status_code == 200  # the admin is still signed in


# --- Google: the grant is given back at the provider -----------------------------------------------
class _Now:
    @staticmethod
    def now():
        return NOW


def _one_connected_mentor(provider_kind: str, provider, credentials: dict) -> tuple[Dependencies, str]:
    """In-memory storage with a mentor whose calendar is on ``provider`` (a real adapter)."""
    cipher = TokenCipher([TokenCipher.generate_key()])
    deps = Dependencies(unit_of_work=MemoryStore().uow, clock=_Now(), providers={provider_kind: provider},
                        mailer=InMemoryMailer(), cipher=cipher, config=ServiceConfig())
    with deps.uow() as uow:
        program = uow.programs.add(Program(name="Pilot"))
        ada = uow.people.add(Person(email="ada@example.org", name="Ada"))
        lin = uow.people.add(Person(email="lin@example.org", name="Lin"))
        uow.memberships.add(Membership(program_id=program.id, person_id=ada.id, role="mentor"))
        uow.pairs.add(Pair(program_id=program.id, mentor_id=ada.id, mentee_id=lin.id))
        uow.connections.add(CalendarConnection(person_id=ada.id, provider=provider_kind, account_email=ada.email,
                                               token_blob=cipher.encrypt(credentials)))
        uow.commit()
        return deps, ada.id


def test_erasure_revokes_a_google_grant_at_the_provider():
    with GoogleEmulator() as emu:
        google = provider_for(emu)
        credentials = emu.grant("ada@example.org")
        deps, ada_id = _one_connected_mentor("google", google, credentials)
        report = privacy.erase_person(deps, ada_id, requested_by=ada_id)
        assert report.finished
        assert [(c.provider, c.revoked, c.advice) for c in report.calendars] == [("google", True, None)]
        assert [r.method for r in emu.request_log if r.path.endswith("/revoke")] == ["POST"]
        emu.expire_tokens("ada@example.org")  # the access token lapses; the revoked refresh token cannot renew it
        account = CalendarAccount(connection_id="old", provider="google", email="ada@example.org",
                                  credentials=credentials)
        with pytest.raises(ReconnectNeeded):
            google.get_series(account, "abcdefgh", NOW, NOW + timedelta(days=7))
    with deps.uow() as uow:
        assert uow.connections.all() == []


def test_erasure_of_a_microsoft_calendar_deletes_the_tokens_and_says_where_to_remove_the_consent():
    with make_harness() as harness:
        account = harness.account("ada@example.org")
        deps, ada_id = _one_connected_mentor("microsoft", harness.provider, account.credentials)
        report = privacy.erase_person(deps, ada_id, requested_by=ada_id)
    [calendar] = report.calendars
    assert (calendar.provider, calendar.revoked) == ("microsoft", True)
    assert "myapps.microsoft.com" in calendar.advice and "account.live.com/consent/Manage" in calendar.advice
    with deps.uow() as uow:
        assert uow.connections.all() == []



# --- the JSON API: the same use cases, an administrator's token only ---------------------------------
def test_the_api_exports_and_erases_with_an_administrator_token_only(client, container, seeded):
    from scheduler.services import api as api_service

    program_token = api_service.create_api_token(container, name="A", program_id=seeded.program_id).token
    admin_token = api_service.create_api_token(container, name="admin", program_id=None).token
    url = f"/api/v1/people/{seeded.mentee_id}"
    for method, path in (("GET", url + "/export"), ("DELETE", url)):
        reply = client.open(path, method=method, headers={"Authorization": f"Bearer {program_token}"})
        assert reply.status_code == 403 and reply.get_json()["error"]["code"] == "forbidden", path
        assert client.open(path, method=method).status_code == 401
    admin = {"Authorization": f"Bearer {admin_token}"}

    reply = client.get(url + "/export", headers=admin)
    assert reply.status_code == 200
    exported = reply.get_json()
    assert exported["person"]["email"] == "mentee@example.org" and exported["pairs"][0]["id"] == seeded.pair_id
    web_copy = privacy.export_person(container, seeded.mentee_id)
    same = ("id", "program", "my_role", "other_person", "status", "goals", "series", "sessions")  # times differ in form only
    assert [{k: p[k] for k in same} for p in exported["pairs"]] == [{k: p[k] for k in same} for p in web_copy["pairs"]]
    assert set(exported) == set(web_copy) and exported["person"]["name"] == web_copy["person"]["name"]
    assert client.get("/api/v1/people/nobody/export", headers=admin).status_code == 404

    reply = client.delete(url, headers=admin)
    assert reply.status_code == 200
    assert reply.get_json() == {"person_id": seeded.mentee_id, "finished": True, "already_erased": False,
                                "pairs_ended": 1, "people_told": 1, "calendars": []}
    assert client.delete(url, headers=admin).get_json()["already_erased"] is True
    assert client.get(url + "/export", headers=admin).status_code == 404
    assert client.delete("/api/v1/people/nobody", headers=admin).status_code == 404
    with container.uow() as uow:
        assert uow.session.get(Person, seeded.mentee_id).name == privacy.ERASED_NAME
