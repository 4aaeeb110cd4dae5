"""Calendar accounts for connections: decrypted credentials, rotation persisted at once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from adapters.storage.models import CalendarConnection, Person
from scheduler.ports import CalendarAccount, CalendarProvider


def providers(container) -> dict[str, CalendarProvider]:
    return container.extras.setdefault("providers", {})


def provider_for(container, kind: str) -> CalendarProvider:
    try:
        return providers(container)[kind]
    except KeyError:
        raise LookupError(f"no calendar provider '{kind}' is configured in this process") from None


def account_for(container, connection: CalendarConnection) -> CalendarAccount:
    """A ``CalendarAccount`` whose rotated credentials are re-encrypted and stored immediately."""
    credentials = container.cipher.decrypt(connection.token_blob) if connection.token_blob else {}
    connection_id = connection.id

    def persist(new: dict) -> None:
        with container.uow() as uow:
            row = uow.session.get(CalendarConnection, connection_id)
            if row is not None:
                row.token_blob = container.cipher.encrypt(new)
                uow.commit()

    return CalendarAccount(connection_id=connection.id, provider=connection.provider,  # type: ignore[arg-type]
                           email=connection.account_email, calendar_id=connection.calendar_id,
                           credentials=credentials, on_credentials_changed=persist)


def usable_connections(session, person_id: str) -> list[CalendarConnection]:
    return list(session.scalars(select(CalendarConnection)
                                .where(CalendarConnection.person_id == person_id,
                                       CalendarConnection.status == "ok")
                                .order_by(CalendarConnection.created_at)))


def writable_connection(container, session, person_id: str) -> CalendarConnection | None:
    """The person's first healthy connection whose provider can create events."""
    for connection in usable_connections(session, person_id):
        provider = providers(container).get(connection.provider)
        if provider is not None and provider.can_write:
            return connection
    return None


def mark_reconnect_needed(container, connection_id: str, error: str, now: datetime) -> None:
    """Consent is gone: flag the connection and tell its owner, once a day at most. Their pairs
    waiting to be planned go back to waiting for setup, so reconnecting plans them again."""
    from adapters.storage.models import Pair
    from scheduler.services.notifications import add_notification

    with container.uow() as uow:
        connection = uow.session.get(CalendarConnection, connection_id)
        if connection is None:
            return
        connection.status = "reconnect_needed"
        connection.last_error = error[:1000]
        for pair in uow.session.scalars(select(Pair).where(
                (Pair.mentor_id == connection.person_id) | (Pair.mentee_id == connection.person_id),
                Pair.status == "ready")):
            pair.status = "invited"
            pair.status_reason = f"waiting for {connection.account_email or 'a person'} to reconnect their calendar"
        person = uow.session.get(Person, connection.person_id)
        add_notification(uow.session, kind="reconnect", person_id=person.id, due_at=now,
                         key=f"reconnect:{connection.id}:{now.date().isoformat()}",
                         payload={"provider": connection.provider})
        uow.commit()
