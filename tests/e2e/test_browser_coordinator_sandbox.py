"""The coordinator's week in the sandbox, in a real browser (issue #10): the pipeline books the
sandbox pairs; Lin's Microsoft access is revoked and the tick's daily re-check finds it; Casey
Coordinator skips a week ahead on /demo; Lin answers her follow-up "We didn't meet" from the demo
inbox; Casey sees the miss and the at-risk pair on the program dashboard, opens the pair page
from the weekly digest's link, and downloads the missed-meetings CSV."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from adapters.storage.models import Occurrence, Pair, Person, Series
from tests.e2e.browser_steps import sign_in_on_demo
from workers.drain import catch_up

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIN, ADA, CASEY = "lin.mentee@sandbox.tandem.test", "ada.mentor@sandbox.tandem.test", "casey.coordinator@sandbox.tandem.test"
TIMEOUT = 30_000  # ms: generous, the machine may be loaded


def _pair_of(container, mentee_email: str) -> str:
    with container.uow() as uow:
        return uow.session.scalar(select(Pair.id).join(Person, Pair.mentee_id == Person.id)
                                  .where(Person.email == mentee_email))


def _skip(page, button: str) -> None:
    """Press one of /demo's skip buttons and wait until the page shows the clock moved."""
    shown = page.locator("#sandbox-now").inner_text()
    page.get_by_role("button", name=button).click()
    expect(page.locator("#sandbox-now")).not_to_have_text(shown, timeout=120_000)  # every day's work done
    expect(page.get_by_text("The sandbox clock now reads")).to_be_visible()


def _first_session_end(container, pair_id: str):
    with container.uow() as uow:
        return min(uow.session.scalars(select(Occurrence.end).join(Series).where(Series.pair_id == pair_id)))


def _inbox_entry(page, subject_pattern: str, to: str):
    """The demo inbox's entry with this subject sent to ``to`` (the newest first), opened."""
    entry = page.locator("details").filter(has=page.locator("summary", has_text=re.compile(subject_pattern))) \
        .filter(has_text=to).first
    expect(entry).to_have_count(1, timeout=TIMEOUT)
    entry.locator("summary").click()
    return entry


def test_coordinator_skips_a_week_and_follows_a_miss_from_dashboard_to_digest_to_csv(browser, sandbox_site):
    site = sandbox_site
    site.run_pipeline()  # the worker plans and books the three sandbox pairs
    pair_id = _pair_of(site.container, LIN)
    with site.container.uow() as uow:
        assert uow.session.get(Pair, pair_id).status == "booked"

    # Lin's consent is revoked at Microsoft; the tick's daily re-check (sweeps, then due rows)
    # reads her calendar, is refused, and marks the connection for reconnecting.
    site.emulators.microsoft.revoke_refresh_tokens(LIN)
    site.emulators.microsoft.expire_access_tokens(LIN)
    catch_up(site.container)

    coordinator = browser.new_context(timezone_id="Europe/London", viewport={"width": 1100, "height": 900},
                                      accept_downloads=True)
    page = coordinator.new_page()
    page.set_default_timeout(TIMEOUT)
    sign_in_on_demo(page, site, "Casey Coordinator")
    before = site.container.clock.now()
    page.goto(site.url("/demo"))
    _skip(page, "Skip a week")
    assert site.container.clock.now() - before >= timedelta(weeks=1)
    # The first session is planned one to eight days ahead (a day's lead, then any weekday of the
    # first week): a day more at a time until it is over, so its follow-up is in the inbox.
    first_end = _first_session_end(site.container, pair_id)
    while site.container.clock.now() < first_end:
        _skip(page, "Skip a day")

    # Lin opens her follow-up from the demo inbox and answers that they did not meet.
    mentee = browser.new_context(timezone_id="Europe/London")
    lin_page = mentee.new_page()
    lin_page.set_default_timeout(TIMEOUT)
    lin_page.goto(site.url("/demo"))
    follow_up = _inbox_entry(lin_page, r"Did you and Ada meet\?", LIN)
    link = re.search(r"https?://\S+/feedback/\S+", follow_up.locator("pre.email").inner_text()).group(0)
    lin_page.goto(link)
    lin_page.get_by_label("We didn't meet").check()
    lin_page.get_by_role("button", name="Send").click()
    expect(lin_page.get_by_role("heading", name="Thank you")).to_be_visible()
    with site.container.uow() as uow:
        [missed] = uow.session.scalars(select(Occurrence).join(Series).where(
            Series.pair_id == pair_id, Occurrence.attendance == "missed")).all()
        missed_id, missed_start = missed.id, missed.start

    # The dashboard: one miss in the weekly numbers, Ada & Lin at risk for the broken connection.
    page.get_by_role("link", name="Programs").first.click()
    page.get_by_role("link", name="Sandbox cohort").click()
    expect(page.locator("#dashboard")).to_be_visible()
    weekly_missed = page.locator("#table-weekly tbody td:nth-child(3)").all_text_contents()  # in a closed <details>
    assert sum(int(n) for n in weekly_missed) == 1
    assert int(page.locator("#h-at-risk").inner_text()) >= 1
    row = page.locator(f'tr[data-dashboard-pair="{pair_id}"]')
    expect(row).to_have_class(re.compile(r"\bat-risk\b"))
    expect(row.locator('li[data-rule="connection"]')).to_have_count(1)
    expect(row.locator("td.connection-broken")).to_have_text("Broken")
    site.screenshot(page, "20-sandbox-dashboard-after-a-week")

    # The weekly digest in the demo inbox names the pair; its link opens the coordinator's pair page.
    page.goto(site.url("/demo"))
    digest = _inbox_entry(page, r"weekly digest", CASEY)
    assert "Ada Lovelace (mentor) and Lin Chen (mentee)" in digest.locator("pre.email").inner_text()
    page.goto(site.url(digest.get_by_role("link", name="The email as HTML").get_attribute("href")))
    pair_link = page.get_by_role("link", name="Ada Lovelace (mentor) and Lin Chen (mentee)").first
    assert pair_link.get_attribute("href").endswith(f"/pairs/{pair_id}")
    pair_link.click()
    expect(page.get_by_role("heading", name="Ada Lovelace & Lin Chen")).to_be_visible()
    expect(page.locator(f"#session-{missed_id}")).to_have_attribute("data-verdict", "missed")
    site.screenshot(page, "21-coordinator-pair-page-from-digest")

    # The missed-meetings report over the skipped week, as CSV: exactly Lin's session.
    page.goto(site.url("/programs/"))
    page.get_by_role("link", name="Sandbox cohort").click()
    page.locator("#reports-link a").click()
    page.get_by_label("From (included)").fill(before.date().isoformat())
    page.get_by_label("To (not included)").fill((site.container.clock.now() + timedelta(days=1)).date().isoformat())
    page.get_by_role("button", name="Use these dates").click()
    with page.expect_download() as download:
        page.locator("#missed-csv").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert [(r["occurrence_id"], r["pair_id"], r["mentor_email"], r["mentee_email"]) for r in rows] == \
        [(missed_id, pair_id, ADA, LIN)]
    assert rows[0]["start_utc"].startswith(missed_start.strftime("%Y-%m-%dT%H:%M"))
    assert "Lin Chen (mentee)" in rows[0]["reasons"]
    for context in (coordinator, mentee):
        context.close()
