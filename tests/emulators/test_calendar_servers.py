"""The loopback CalDAV server (Radicale behind a directory) and the feed host, spoken to by the
real ``caldav`` client and plain HTTP."""
from __future__ import annotations

from datetime import datetime, timezone

import caldav
import icalendar
import pytest
import requests
from caldav.lib.error import AuthorizationError

from emulators.calendar_servers import CalDavServer, IcsFeedServer

UTC = timezone.utc
BLOCK = (datetime(2030, 1, 2, 10, tzinfo=UTC), datetime(2030, 1, 2, 11, tzinfo=UTC))


@pytest.fixture
def http():
    with requests.Session() as session:
        session.trust_env = False
        yield session


def test_caldav_accounts_come_from_the_directory_with_their_busy_blocks():
    def directory(email: str) -> bool:
        if email != "nia@org.example":
            return False
        server.add_busy(email, *BLOCK)
        return True

    server = CalDavServer(directory=directory).start()
    try:
        with caldav.DAVClient(url=server.url, username="Nia@org.example", password=server.password) as client:
            [calendar] = client.principal().calendars()
            found = calendar.search(start=datetime(2030, 1, 1, tzinfo=UTC), end=datetime(2030, 1, 3, tzinfo=UTC),
                                    event=True)
        [event] = [c for c in icalendar.Calendar.from_ical(found[0].data).walk("VEVENT")]
        assert (event["DTSTART"].dt, event["DTEND"].dt) == BLOCK
        for user, password in (("nia@org.example", "wrong"), ("x@else.example", server.password)):
            with pytest.raises(AuthorizationError), caldav.DAVClient(url=server.url, username=user,
                                                                     password=password) as client:
                client.principal()
    finally:
        server.stop()


def test_a_feed_is_served_for_known_accounts_only(http):
    server = IcsFeedServer().start()
    try:
        server.add_busy("nia@org.example", *BLOCK)
        reply = http.get(server.feed_url("nia@org.example"), timeout=10)
        assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/calendar")
        [event] = icalendar.Calendar.from_ical(reply.content).walk("VEVENT")
        assert (event["DTSTART"].dt, event["DTEND"].dt) == BLOCK and event["TRANSP"] == "OPAQUE"
        assert http.get(server.feed_url("x@else.example"), timeout=10).status_code == 404
        assert http.post(server.feed_url("nia@org.example"), timeout=10).status_code == 404
    finally:
        server.stop()
