"""Sign-in by magic link on the in-memory unit of work: throttled per person, used once."""
from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.links import LinkSigner
from adapters.mail.memory import InMemoryMailer
from adapters.tokens import TokenCipher
from scheduler.ports import Dependencies, ServiceConfig
from scheduler.services.links import LinkError
from scheduler.services.signin import (THROTTLE_COUNT, THROTTLE_WINDOW, check_magic_link, redeem_magic_link,
                                       request_magic_link)


@pytest.fixture
def deps(store, clock, calendars) -> Dependencies:
    return Dependencies(unit_of_work=store.uow, clock=clock, providers={"memory": calendars},
                        mailer=InMemoryMailer(), cipher=TokenCipher([TokenCipher.generate_key()]),
                        config=ServiceConfig(base_url="https://tandem.example"),
                        links=LinkSigner("unit-test-link-secret-0123456789", 14))


def _url(token: str) -> str:
    return f"https://tandem.example/signin/link/{token}"


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _magic_rows(deps):
    with deps.uow() as uow:
        return [n for n in uow.notifications.all() if n.kind == "magic_link"]


def test_a_known_address_gets_one_email_and_its_link_works_once(deps, seed, clock):
    s = seed()
    url = request_magic_link(deps, "  Mentor@Example.org ", _url)
    (row,) = _magic_rows(deps)
    assert row.person_id == s.mentor_id and row.payload == {"url": url} and row.due_at == clock.now()
    with deps.uow() as uow:  # the email goes out through the outbox
        assert [m.subject_id for m in uow.outbox.all() if m.kind == "deliver_notification"] == [row.id]
    check_magic_link(deps, _token(url))  # looking at it uses nothing up
    assert redeem_magic_link(deps, _token(url)) == s.mentor_id
    with pytest.raises(LinkError, match="already used"):
        redeem_magic_link(deps, _token(url))


def test_an_unknown_address_gets_nothing(deps, seed):
    seed()
    assert request_magic_link(deps, "stranger@example.org", _url) is None
    assert _magic_rows(deps) == []


def test_sign_in_emails_are_throttled_per_person_within_the_window(deps, seed, clock):
    seed()
    urls = [request_magic_link(deps, "mentee@example.org", _url) for _ in range(THROTTLE_COUNT + 2)]
    assert sum(u is not None for u in urls) == THROTTLE_COUNT and urls[-1] is None
    assert request_magic_link(deps, "mentor@example.org", _url) is not None  # another person is not held back
    clock.advance(seconds=THROTTLE_WINDOW.total_seconds() + 1)
    assert request_magic_link(deps, "mentee@example.org", _url) is not None
    assert len(_magic_rows(deps)) == THROTTLE_COUNT + 2


def test_expired_foreign_and_orphaned_links_are_refused(deps, seed):
    s = seed()
    url = request_magic_link(deps, "mentor@example.org", _url)
    with pytest.raises(LinkError, match="not valid"):
        check_magic_link(deps, deps.links.sign("invite", {"p": s.mentor_id, "n": "x"}))
    with pytest.raises(LinkError, match="no longer exists"):
        redeem_magic_link(deps, deps.links.sign("signin", {"p": "gone", "n": "y"}))
    deps.links.max_age["signin"] = timedelta(seconds=-1)
    with pytest.raises(LinkError, match="expired"):
        redeem_magic_link(deps, _token(url))
