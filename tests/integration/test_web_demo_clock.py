"""/demo's "skip ahead" buttons (the sandbox clock, docs/contracts.md §2) and the demo inbox with
each email's HTML and calendar part, through the web app on both databases."""
from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.mail.memory import InMemoryMailer
from config.bootstrap import bootstrap
from scheduler.ports import OutgoingEmail
from scheduler.services import sandbox
from tests.support.web import csrf_from
from web import create_app
from workers.drain import catch_up


@pytest.fixture
def demo(settings):
    container = bootstrap(settings.with_overrides({"app.demo": True}), mailer=InMemoryMailer())
    app = create_app(container=container)
    app.extensions["tandem.catch_up"] = catch_up  # as `tandem run` wires it
    yield container, app
    container.dispose()


def test_skipping_ahead_moves_the_shared_clock_and_sends_what_became_due_once(demo):
    container, app = demo
    client = app.test_client()
    sandbox.seed_history(container, 2, 1, seed=5)
    before = container.clock.now()
    page = client.get("/demo").get_data(as_text=True)
    assert 'id="sandbox-now"' in page and "Skip a week" in page
    assert client.post("/demo/skip", data={"by": "1w"}).status_code == 400  # no CSRF token: refused
    assert container.clock.now() - before < timedelta(minutes=1)

    reply = client.post("/demo/skip", data={"by": "1w", "csrf_token": csrf_from(page)})
    assert reply.status_code == 303
    assert container.clock.now() - before >= timedelta(weeks=1)
    sent = list(container.mailer.sent)
    assert any("reminder" in m.idempotency_key for m in sent)
    assert len({m.idempotency_key for m in sent}) == len(sent)

    page = client.get("/demo").get_data(as_text=True)
    client.post("/demo/skip", data={"by": "1h", "csrf_token": csrf_from(page)})
    assert all(m in container.mailer.sent for m in sent)  # nothing sent again
    bad = client.post("/demo/skip", data={"by": "1y", "csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "Skip ahead by one of 1h, 1d, 1w" in bad.get_data(as_text=True)


def test_the_inbox_shows_each_email_s_html_and_calendar_part(demo):
    container, app = demo
    container.mailer.send(OutgoingEmail(to=("ada@example.org",), subject="Your sessions", text="plain words",
                                        idempotency_key="invite:1", html="<p style=\"color:red\">rich words</p>",
                                        ics="BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n",
                                        ics_method="REQUEST"))
    client = app.test_client()
    page = client.get("/demo").get_data(as_text=True)
    assert "plain words" in page and "METHOD:REQUEST" in page
    assert "/demo/inbox/invite:1.html" in page and "/demo/inbox/invite:1.ics" in page
    html = client.get("/demo/inbox/invite:1.html")
    assert html.status_code == 200 and "rich words" in html.get_data(as_text=True)
    assert "sandbox" in html.headers["Content-Security-Policy"] and "script" not in html.headers["Content-Security-Policy"]
    ics = client.get("/demo/inbox/invite:1.ics")
    assert ics.mimetype == "text/calendar" and b"METHOD:REQUEST" in ics.data
    assert client.get("/demo/inbox/nope.html").status_code == 404
