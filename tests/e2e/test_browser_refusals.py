"""What the browser must be refused: a forged form without its CSRF token, a mentee opening
another pair's page, a mentor opening coordinator pages."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from adapters.storage.models import Program
from tests.e2e.browser_steps import sign_in_by_email
from tests.support.web import seed

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def seeded(site):
    return seed(site.container)


@pytest.fixture
def page(browser):
    context = browser.new_context(timezone_id="Europe/Paris")
    yield context.new_page()
    context.close()


def test_a_forged_form_without_csrf_token_is_refused(page, site, seeded):
    sign_in_by_email(page, site, "coordinator@example.org")
    # The browser's own cookies, but a form made elsewhere: no csrf_token field.
    reply = page.request.post(site.url("/programs/new"), form={"name": "Forged program", "cadence": "weekly"})
    assert reply.status == 400
    assert "was not sent from a Tandem page" in reply.text()
    with site.container.uow() as uow:
        assert uow.session.scalar(select(Program).where(Program.name == "Forged program")) is None


def test_a_mentee_opening_another_pairs_page_is_refused(page, site, seeded):
    sign_in_by_email(page, site, "mentee@example.org")
    assert page.goto(site.url(f"/pairs/{seeded.pair_id}")).status == 200
    reply = page.goto(site.url(f"/pairs/{seeded.other_pair_id}"))
    assert reply.status == 403
    assert page.get_by_role("heading", name="You do not have access to this page").is_visible()
    assert "Olu Other" not in page.content()
    site.screenshot(page, "09-refused-other-pair")


def test_a_mentor_opening_coordinator_pages_is_refused(page, site, seeded):
    sign_in_by_email(page, site, "mentor@example.org")
    assert page.get_by_role("link", name="Programs").count() == 0
    for path in ("/programs/", "/programs/new", f"/programs/{seeded.program_id}"):
        assert page.goto(site.url(path)).status == 403, path
        assert "Only the program's coordinators can open this page" in page.inner_text("main")
    site.screenshot(page, "10-refused-coordinator-page")
