"""Calendar accounts of connections: credentials decrypted for the adapter, rotations stored at
once (encrypted), and the connection that can hold a series."""
from __future__ import annotations

from adapters.providers.ics_feed import IcsFeedCalendarProvider
from scheduler.core.entities import CalendarConnection
from scheduler.services.accounts import account_for, writable_connection


def test_rotated_credentials_are_stored_encrypted_at_once(deps, seed):
    s = seed(connected=True)
    with deps.uow() as uow:
        connection = uow.connections.usable_of(s.mentor_id)[0]
        account = account_for(deps, connection)
    assert account.credentials == {"tz": "Europe/Berlin"} and account.email == "mentor@example.org"

    account.credentials_changed({"tz": "Europe/Berlin", "refresh_token": "rt-2"})

    with deps.uow() as uow:
        blob = uow.connections.get(connection.id).token_blob
    assert b"rt-2" not in blob  # never in clear
    assert deps.cipher.decrypt(blob)["refresh_token"] == "rt-2"


def test_the_first_healthy_connection_that_can_write_organizes(deps, seed):
    s = seed()
    deps.providers["ics"] = IcsFeedCalendarProvider()  # read-only: a feed holds no series
    with deps.uow() as uow:
        uow.connections.add(CalendarConnection(person_id=s.mentor_id, provider="ics", account_email="m@x"))
        uow.connections.add(CalendarConnection(person_id=s.mentor_id, provider="memory", status="reconnect_needed"))
        good = uow.connections.add(CalendarConnection(person_id=s.mentor_id, provider="memory", account_email="m@y"))
        uow.commit()
    with deps.uow() as uow:
        assert writable_connection(deps, uow, s.mentor_id).id == good.id
        assert writable_connection(deps, uow, s.mentee_id) is None
