"""Links put into emails, and what happens without a configured signer."""
from __future__ import annotations

import pytest

from adapters.links import LinkSigner
from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies
from scheduler.services.links import LinkError, feedback_url, invitation_of_link, invite_url


def _with_links(deps: Dependencies, links) -> Dependencies:
    return Dependencies(unit_of_work=deps.unit_of_work, clock=deps.clock, providers=deps.providers,
                        mailer=deps.mailer, cipher=deps.cipher, config=deps.config, links=links)


def test_a_feedback_url_is_signed_for_the_notification_and_can_preselect_an_answer(deps):
    signer = LinkSigner("unit-test-link-secret-0123456789", 14)
    deps = _with_links(deps, signer)
    plain, met = feedback_url(deps, "n-1"), feedback_url(deps, "n-1", "met")
    assert plain.startswith("https://tandem.example/feedback/") and "?" not in plain
    assert met.endswith("?answer=met")
    token = plain.removeprefix("https://tandem.example/feedback/")
    assert signer.read("feedback", token) == {"n": "n-1"}
    with pytest.raises(InvalidInput, match="not valid"):
        signer.read("signin", token)  # a feedback link is no sign-in link


def test_without_a_signer_no_link_is_made(deps):
    with pytest.raises(InvalidInput, match="secret_key is empty"):
        feedback_url(_with_links(deps, None), "n-1")


def test_an_invite_url_opens_onboarding_for_one_person_of_one_pair(deps):
    signer = LinkSigner("unit-test-link-secret-0123456789", 14)
    deps = _with_links(deps, signer)
    url = invite_url(deps, "person-1", "pair-1")
    assert url.startswith("https://tandem.example/invite/")
    token = url.removeprefix("https://tandem.example/invite/")
    assert invitation_of_link(deps, token) == ("person-1", "pair-1")
    with pytest.raises(LinkError, match="not valid"):
        invitation_of_link(deps, signer.sign("feedback", {"n": "x"}))  # another purpose's link
    assert invitation_of_link(deps, signer.sign("invite", {"p": "person-1"})) == ("person-1", "")
