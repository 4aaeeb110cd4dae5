"""Graph's reauthorizationRequired lifecycle notice renews the subscription (a defect found in
review, first committed as a strict xfail)."""
from datetime import timedelta

from sqlalchemy import select

from tests.support.one_pair import NY
from tests.support.pipeline import drain, make_person


def test_reauthorization_required_renews_the_subscription(pipeline):
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
    token = channel_token(container.settings.security.webhook_secret, "microsoft", connection_id, before["channel"])
    response = client.post("/webhooks/microsoft", json={"value": [{
        "subscriptionId": before["watch_id"], "clientState": token, "lifecycleEvent": "reauthorizationRequired"}]})
    assert response.status_code == 202
    drain(container, broker)
    with container.uow() as uow:
        after = dict(uow.session.get(CalendarConnection, connection_id).watch)
    assert after["expires_at"] > before["expires_at"], "the subscription was neither renewed nor replaced"
