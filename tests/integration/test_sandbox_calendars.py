"""The sandbox's calendars, wired as ``tandem run`` wires them (tandem/demo.py): every person
Tandem knows (a mentee imported after start included) connects Google and Microsoft through the
emulators' consent pages and the CalDAV server and calendar feeds through the /calendars forms,
and their busy time is read; addresses Tandem does not know are refused, and the connectors reach
no loopback server but the sandbox's own."""
from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from adapters.mail.memory import InMemoryMailer
from config.bootstrap import bootstrap
from emulators.microsoft.browser import sign_in as microsoft_consent
from emulators.microsoft.receiver import WebhookReceiver
from emulators.tls import client_session
from scheduler.services import programs, sandbox
from scheduler.services.accounts import account_for
from scheduler.services.connections import check_connection
from tandem import demo
from tests.support.web import sign_in_as
from web import create_app

NEWCOMER = "new.mentee@elsewhere.example"


@pytest.fixture
def site(settings):
    clock = demo.FollowClock()
    directory = demo.SandboxDirectory(clock)
    emulators = demo.start_emulators(clock, directory)
    container = bootstrap(settings.with_overrides({"app.demo": True, **emulators.settings_overrides()}),
                          mailer=InMemoryMailer(), providers=emulators.providers())
    clock.clock, directory.container = container.clock, container
    demo.seed_demo(container, emulators)
    app = create_app(container=container)
    app.extensions["tandem.sandbox_calendars"] = emulators.calendar_servers()
    yield container, app, emulators
    emulators.stop()
    container.dispose()


def _import_newcomer(container) -> str:
    """A mentee imported by CSV after the sandbox started (no emulator knows her yet)."""
    with container.uow() as uow:
        program_id = uow.programs.sandbox().id
    result = programs.import_pairs_csv(container, program_id, "mentor_email,mentor_name,mentee_email,mentee_name\n"
                                       f"grace.mentor@sandbox.tandem.test,Grace Hopper,{NEWCOMER},Nia Newcomer\n")
    assert result.ok, result.errors
    with container.uow() as uow:
        [person] = uow.people.by_emails([NEWCOMER])
        person.tz = "Europe/Paris"
        uow.commit()
        return person.id


def _busy(container, person_id: str, kind: str):
    """The busy time Tandem reads from the person's ``kind`` connection over the next 30 days."""
    now = container.clock.now()
    with container.uow() as uow:
        [connection] = [c for c in uow.connections.of_people([person_id]) if c.provider == kind]
        account = account_for(container, connection)
    answer = container.providers[kind].free_busy([account], now, now + timedelta(days=30))[account.connection_id]
    assert answer.error is None, answer.error
    return sorted((i.start, i.end) for i in answer.busy)


def _expected_busy(container, email: str, tz: str):
    now = container.clock.now()
    return sorted((s, e) for s, e in demo.busy_blocks(email, tz, now) if e > now)


def test_a_mentee_imported_later_connects_microsoft_and_google_through_the_consent_pages(site):
    container, app, emulators = site
    person_id = _import_newcomer(container)
    client = app.test_client()
    sign_in_as(client, person_id)

    start = client.get("/oauth/microsoft/start?purpose=connect")
    assert start.status_code == 302
    answer = microsoft_consent(client_session(emulators.microsoft.ca_file), start.headers["Location"])
    assert "code" in answer, answer  # not AADSTS50034: the sandbox's directory knows her
    posted = client.post("/oauth/microsoft/callback", data=answer)
    done = client.get(posted.headers["Location"])
    assert done.status_code == 302 and done.headers["Location"] == "/calendars/"
    busy = _busy(container, person_id, "microsoft")
    assert busy and busy == _expected_busy(container, NEWCOMER, "Europe/Paris")

    start = client.get("/oauth/google/start?purpose=connect")
    consent = requests.get(start.headers["Location"], timeout=10)
    assert consent.status_code == 200 and NEWCOMER in consent.text  # the emulator's consent page
    approved = requests.post(f"{emulators.google.base_url}/o/oauth2/approve", allow_redirects=False, timeout=10,
                             data={**_query(start.headers["Location"]), "decision": "allow", "email": NEWCOMER})
    assert approved.status_code == 302, approved.text
    callback = approved.headers["Location"].split("127.0.0.1", 1)[-1].split("/", 1)[-1]
    done = client.get("/" + callback)
    assert done.status_code == 302, done.get_data(as_text=True)
    assert _busy(container, person_id, "google") == _expected_busy(container, NEWCOMER, "Europe/Paris")


def test_after_a_skip_the_emulated_graph_sees_the_sandbox_time_and_microsoft_calendars_keep_working(site):
    container, _, emulators = site
    with container.uow() as uow:
        [lin] = uow.people.by_emails(["lin.mentee@sandbox.tandem.test"])
        lin_id = lin.id
        [connection] = [c.id for c in uow.connections.of_people([lin_id]) if c.provider == "microsoft"]
    before = _busy(container, lin_id, "microsoft")

    sandbox.advance(container, timedelta(days=8))  # past the access token's hour and a subscription's 6 days

    now = container.clock.now()
    assert timedelta(0) <= emulators.microsoft.now() - now < timedelta(minutes=10)  # the same clock
    assert emulators.microsoft.now() - emulators.google.now() < timedelta(minutes=10)
    assert _busy(container, lin_id, "microsoft") == [b for b in before if b[1] > now]  # token refreshed on 401
    with container.uow() as uow:
        account = account_for(container, uow.connections.get(connection))
    with WebhookReceiver() as hook:  # a subscription's expiry is set on the same (sandbox) time as Graph's
        watch = container.providers["microsoft"].watch(account, hook.url, "sandbox-token")
    assert watch is not None and now < watch.expires_at <= now + timedelta(days=7)


def _query(url: str) -> dict:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(url).query))


def test_addresses_tandem_does_not_know_have_no_account_on_the_emulators(site):
    container, app, emulators = site
    session = client_session(emulators.microsoft.ca_file)
    from adapters.providers.microsoft_auth import BOOKING_SCOPES, MicrosoftConnectFlow

    flow = MicrosoftConnectFlow(container.providers["microsoft"].apps).start(
        "https://127.0.0.1/connect/microsoft/callback", BOOKING_SCOPES, login_hint="stranger@nowhere.example")
    with pytest.raises(RuntimeError, match="AADSTS50034"):
        microsoft_consent(session, flow["auth_uri"])
    denied = requests.post(f"{emulators.caldav.url}", auth=("stranger@nowhere.example", emulators.caldav.password),
                           timeout=10)
    assert denied.status_code == 401
    assert requests.get(emulators.ics.feed_url("stranger@nowhere.example"), timeout=10).status_code == 404


def test_caldav_and_feed_forms_connect_with_the_values_the_demo_page_shows(site):
    container, app, emulators = site
    person_id = _import_newcomer(container)
    client = app.test_client()
    csrf = sign_in_as(client, person_id)
    page = client.get("/demo").get_data(as_text=True)
    assert emulators.caldav.url in page and emulators.caldav.password in page
    assert emulators.ics.feed_url("lin.mentee@sandbox.tandem.test") in page

    reply = client.post("/calendars/caldav", data={"url": emulators.caldav.url, "username": NEWCOMER,
                                                  "password": emulators.caldav.password, "csrf_token": csrf})
    assert reply.status_code == 302, reply.get_data(as_text=True)
    assert _busy(container, person_id, "caldav") == _expected_busy(container, NEWCOMER, "Europe/Paris")

    reply = client.post("/calendars/ics", data={"url": emulators.ics.feed_url(NEWCOMER), "csrf_token": csrf})
    assert reply.status_code == 302, reply.get_data(as_text=True)
    assert _busy(container, person_id, "ics") == _expected_busy(container, NEWCOMER, "Europe/Paris")


def test_the_sandbox_connectors_reach_no_other_loopback_server(site):
    container, app, emulators = site
    person_id = _import_newcomer(container)
    client = app.test_client()
    csrf = sign_in_as(client, person_id)
    elsewhere = f"{emulators.google.base_url}/calendar/ical/{NEWCOMER}/public/basic.ics"  # loopback, not ours
    for kind, form in (("ics", {"url": elsewhere}),
                       ("caldav", {"url": emulators.google.base_url + "/", "username": NEWCOMER, "password": "x"})):
        reply = client.post(f"/calendars/{kind}", data={**form, "csrf_token": csrf})
        assert reply.status_code == 302  # checked by the worker, never in the request
        with container.uow() as uow:
            [connection_id] = [c.id for c in uow.connections.of_people([person_id]) if c.provider == kind]
        assert not check_connection(container, connection_id)
        assert "private or local network address" in client.get("/calendars/").get_data(as_text=True)


def test_people_seeded_later_have_accounts_too(site):
    container, app, emulators = site
    sandbox.seed_history(container, 1, 0, seed=7)
    email = "mentee0@seed7.tandem.test"
    assert requests.get(emulators.ics.feed_url(email), timeout=10).status_code == 200
    emulators.microsoft.set_auto_approve(True)
    from adapters.providers.microsoft_auth import BOOKING_SCOPES, MicrosoftConnectFlow

    flow = MicrosoftConnectFlow(container.providers["microsoft"].apps).start(
        "https://127.0.0.1/connect/microsoft/callback", BOOKING_SCOPES, login_hint=email)
    assert "code" in microsoft_consent(client_session(emulators.microsoft.ca_file), flow["auth_uri"])
