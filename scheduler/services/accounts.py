"""Calendar accounts for connections: decrypted credentials, rotation persisted at once."""
from __future__ import annotations

from datetime import datetime

from scheduler.core.entities import CalendarConnection
from scheduler.core.pair_state import PairState, move_pair
from scheduler.ports import CalendarAccount, CalendarProvider, Dependencies, UnitOfWork
from scheduler.services.notifications import add_notification


def provider_for(deps: Dependencies, kind: str) -> CalendarProvider:
    return deps.provider(kind)


def account_for(deps: Dependencies, connection: CalendarConnection) -> CalendarAccount:
    """A ``CalendarAccount`` whose rotated credentials are re-encrypted and stored immediately."""
    credentials = deps.cipher.decrypt(connection.token_blob) if connection.token_blob else {}
    connection_id = connection.id

    def persist(new: dict) -> None:
        with deps.uow() as uow:
            row = uow.connections.get(connection_id)
            if row is not None:
                row.token_blob = deps.cipher.encrypt(new)
                uow.commit()

    return CalendarAccount(connection_id=connection.id, provider=connection.provider,  # type: ignore[arg-type]
                           email=connection.account_email, calendar_id=connection.calendar_id,
                           credentials=credentials, on_credentials_changed=persist)


def writable_connection(deps: Dependencies, uow: UnitOfWork, person_id: str) -> CalendarConnection | None:
    """The person's first healthy connection whose provider can create events."""
    for connection in uow.connections.usable_of(person_id):
        provider = deps.providers.get(connection.provider)
        if provider is not None and provider.can_write:
            return connection
    return None


def mark_reconnect_needed(deps: Dependencies, connection_id: str, error: str, now: datetime) -> None:
    """Consent is gone: flag the connection and tell its owner, once a day at most. Their pairs
    waiting to be planned go back to waiting for setup, so reconnecting plans them again."""
    with deps.uow() as uow:
        connection = uow.connections.get(connection_id)
        if connection is None:
            return
        connection.status = "reconnect_needed"
        connection.last_error = error[:1000]
        for pair in uow.pairs.of_person(connection.person_id, states=[PairState.READY]):
            move_pair(pair, PairState.INVITED,
                      f"waiting for {connection.account_email or 'a person'} to reconnect their calendar")
        add_notification(uow, kind="reconnect", person_id=connection.person_id, due_at=now,
                         key=f"reconnect:{connection.id}:{now.date().isoformat()}",
                         payload={"provider": connection.provider})
        uow.commit()
