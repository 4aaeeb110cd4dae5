"""Calendar connection use cases on the in-memory unit of work."""
from __future__ import annotations

import pytest

from scheduler.errors import InvalidInput, NotFound
from scheduler.services import connections


def test_storing_a_connection_encrypts_it_and_makes_the_pair_ready(deps, seed):
    s = seed(connected=False)
    with deps.uow() as uow:  # the mentee knows no hours: a calendar is what sets them up
        uow.people.get(s.mentee_id).working_hours = None
        uow.commit()
    view = connections.store_connection(deps, s.mentee_id, "memory", " Mentee@Example.org ", {"tz": "UTC"})
    assert (view.provider, view.account_email, view.status, view.label) == (
        "memory", "mentee@example.org", "ok", "test calendar")
    with deps.uow() as uow:
        stored = uow.connections.get(view.id)
        assert b"UTC" not in stored.token_blob and deps.cipher.decrypt(stored.token_blob) == {"tz": "UTC"}
        assert uow.pairs.get(s.pair_id).status == "ready"
        assert uow.outbox.count_with_key_prefix(f"plan_pair:{s.pair_id}:") == 1


def test_reconnecting_the_same_account_replaces_its_tokens(deps, seed):
    s = seed()
    first = connections.store_connection(deps, s.mentor_id, "memory", "mina@x.org", {"v": 1})
    with deps.uow() as uow:
        uow.connections.get(first.id).status = "reconnect_needed"
        uow.commit()
    again = connections.store_connection(deps, s.mentor_id, "memory", "mina@x.org", {"v": 2})
    assert again.id == first.id and again.status == "ok"
    assert [c.id for c in connections.connections_of(deps, s.mentor_id)] == [first.id]
    with deps.uow() as uow:
        assert deps.cipher.decrypt(uow.connections.get(first.id).token_blob) == {"v": 2}


def test_an_unknown_provider_is_refused(deps, seed):
    s = seed()
    with pytest.raises(InvalidInput, match="not a calendar Tandem can connect"):
        connections.store_connection(deps, s.mentor_id, "fax", "m@x.org", {})
    assert connections.connections_of(deps, s.mentor_id) == []


def test_signing_in_with_a_calendar_stores_it_only_for_a_known_person(deps, seed):
    s = seed()
    assert connections.store_sign_in_connection(deps, "memory", "MENTOR@example.org", {"t": 1}) == s.mentor_id
    assert [c.account_email for c in connections.connections_of(deps, s.mentor_id)] == ["mentor@example.org"]
    assert connections.store_sign_in_connection(deps, "memory", "stranger@example.org", {"t": 1}) is None
    with deps.uow() as uow:
        assert len(uow.connections.with_tokens()) == 1


def test_disconnect_deletes_the_connection_and_only_its_owner_may(deps, seed):
    s = seed(connected=True)
    mine = connections.connections_of(deps, s.mentor_id)[0]
    with pytest.raises(NotFound):
        connections.disconnect(deps, s.mentee_id, mine.id)
    outcome = connections.disconnect(deps, s.mentor_id, mine.id)
    assert outcome.revoked and "disconnected" in outcome.message
    assert connections.connections_of(deps, s.mentor_id) == []
    assert len(connections.connections_of(deps, s.mentee_id)) == 1


def test_disconnect_without_a_configured_provider_says_to_revoke_by_hand(deps, seed):
    s = seed()
    view = connections.store_connection(deps, s.mentor_id, "google", "m@x.org", {"refresh_token": "rt"})
    outcome = connections.disconnect(deps, s.mentor_id, view.id)
    assert not outcome.revoked and "could not revoke them at Google Calendar" in outcome.message
    assert connections.connections_of(deps, s.mentor_id) == []


def test_a_feed_link_is_a_web_address_and_webcal_means_https(deps, seed):
    s = seed()
    view = connections.connect_ics(deps, s.mentee_id, " webcal://cal.example.org/me.ics ")
    assert (view.provider, view.account_email) == ("ics", "mentee@example.org")  # the person's own email
    with deps.uow() as uow:
        stored = deps.cipher.decrypt(uow.connections.get(view.id).token_blob)
    assert stored == {"url": "https://cal.example.org/me.ics", "tz": "America/New_York"}
    for bad in ("file:///etc/passwd", "https://", "cal.example.org/me.ics"):
        with pytest.raises(InvalidInput, match="calendar feed link must be a web address"):
            connections.connect_ics(deps, s.mentee_id, bad)
    assert len(connections.connections_of(deps, s.mentee_id)) == 1


def test_a_caldav_account_is_the_user_name_when_it_is_an_email_else_the_persons_own(deps, seed):
    s = seed(mentor_tz=None)
    with pytest.raises(InvalidInput, match="user name and the app password"):
        connections.connect_caldav(deps, s.mentor_id, "https://dav.example.org/", "mina", "")
    with pytest.raises(InvalidInput, match="CalDAV server address must be a web address"):
        connections.connect_caldav(deps, s.mentor_id, "dav.example.org", "mina", "pw")
    plain = connections.connect_caldav(deps, s.mentor_id, "https://dav.example.org/", " mina ", "pw")
    mailbox = connections.connect_caldav(deps, s.mentor_id, "https://dav.example.org/", "Mina@Dav.org", "pw")
    assert (plain.account_email, mailbox.account_email) == ("mentor@example.org", "mina@dav.org")
    with deps.uow() as uow:
        stored = deps.cipher.decrypt(uow.connections.get(plain.id).token_blob)
    assert stored == {"url": "https://dav.example.org/", "username": "mina", "password": "pw", "tz": "UTC"}


def test_a_connection_from_a_form_is_checked_by_the_worker_before_it_is_used(deps, seed, calendars):
    s = seed()
    calendars.inject_fault("revoked")
    served = calendars.requests_served
    view = connections.connect_calendar(deps, s.mentor_id, "memory", "mina@x.org", {"tz": "UTC"})
    assert calendars.requests_served == served  # nothing is asked inside the request
    assert view.status == "checking"
    assert not connections.check_connection(deps, view.id)
    [failed] = connections.connections_of(deps, s.mentor_id)
    assert failed.status == "check_failed" and failed.problem
    view = connections.connect_calendar(deps, s.mentor_id, "memory", "mina@x.org", {"tz": "UTC"})  # try again
    assert connections.check_connection(deps, view.id)
    assert calendars.requests_served == served + 2  # one check each time
    assert [(c.account_email, c.status) for c in connections.connections_of(deps, s.mentor_id)] == [
        ("mina@x.org", "ok")]
    assert not connections.check_connection(deps, view.id)  # a repeated delivery changes nothing


def test_the_calendars_page_says_how_changes_arrive_and_counts_push_failures(deps, seed):
    from scheduler.services import changes
    s = seed(connected=True)
    [before] = connections.connections_of(deps, s.mentor_id)
    assert (before.updates, before.push_failures) == ("polling", 0)  # no channel yet: checked daily
    changes.ensure_watch(deps, before.id)
    [pushed] = connections.connections_of(deps, s.mentor_id)
    assert (pushed.updates, pushed.push_failures) == ("push", 0)
    with deps.uow() as uow:
        changes.record_webhook_failure(uow, before.id, "Microsoft Graph sent missed")
        uow.commit()
    [failing] = connections.connections_of(deps, s.mentor_id)
    assert (failing.updates, failing.push_failures) == ("polling", 1)
