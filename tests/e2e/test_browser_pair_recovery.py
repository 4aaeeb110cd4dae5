"""No dead ends for pairs (issue #13), in a real browser on the sandbox (tests/e2e/conftest.py's
``sandbox_site``: the sandbox program, its people and their emulated calendars; the test runs the
pipeline where the worker would):

- a mentee whose pair says "No common time found" reads what she can do (My hours, Calendars),
  while the coordinator reads the diagnosis; she widens her hours and the pair gets booked;
- pausing asks first, puts the sessions on hold, and resuming brings them back as they were
  (a session skipped before stays skipped);
- skipping asks first, and "Undo" brings the session back;
- a calendar whose access was revoked while a conflict was added: reconnecting re-checks the
  booked sessions and the conflicting one is moved.
"""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from adapters.storage.models import Pair, Person, Program
from tests.e2e.browser_steps import sign_in_on_demo, upcoming_starts
from workers.drain import catch_up

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT = 30_000  # ms: generous, the machine may be loaded
PRIYA, LIN = "priya.mentee@sandbox.tandem.test", "lin.mentee@sandbox.tandem.test"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def _pair_of(container, mentee_email: str) -> str:
    with container.uow() as uow:
        return uow.session.scalar(select(Pair.id).join(Person, Pair.mentee_id == Person.id)
                                  .where(Person.email == mentee_email))


def _status(container, pair_id: str) -> str:
    with container.uow() as uow:
        return uow.session.get(Pair, pair_id).status


def _person_page(browser, site, name: str, zone: str, width: int = 390):
    # the Microsoft emulator serves https with its own test certificate authority
    context = browser.new_context(timezone_id=zone, viewport={"width": width, "height": 900}, ignore_https_errors=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    sign_in_on_demo(page, site, name)
    return context, page


def _set_weekday_hours(page, start: str, end: str) -> None:
    """On My hours: Monday to Friday from ``start`` to ``end``, the weekend off; save."""
    expect(page.get_by_role("heading", name="When can you meet?")).to_be_visible()
    for day in WEEKDAYS:
        page.get_by_role("checkbox", name=day).check()
        page.get_by_label(f"{day} from").fill(start)
        page.get_by_label(f"{day} to").fill(end)
    page.locator("#save-hours").click()
    expect(page.get_by_text("Your hours are saved")).to_be_visible()


def _priya_unschedulable_with_hours(browser, site, pair_id: str, start: str, end: str):
    """Priya sets her weekday hours on My hours; the pipeline finds no common time; her pair
    page says so. Returns her context, page, and the reason as she reads it."""
    mentee, page = _person_page(browser, site, "Priya Sharma", "Asia/Kolkata")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My hours").click()
    _set_weekday_hours(page, start, end)
    site.run_pipeline()
    assert _status(site.container, pair_id) == "unschedulable"
    page.goto(site.url(f"/pairs/{pair_id}"))
    expect(page.locator("#pair-state")).to_have_text("No common time found")
    return mentee, page, page.locator("#pair-reason").inner_text()


def _coordinator_diagnosis(browser, site, pair_id: str):
    """Casey opens the coordinator's pair page: her context, page, and the reason as she reads it."""
    coordinator, page = _person_page(browser, site, "Casey Coordinator", "Europe/London", 1100)
    with site.container.uow() as uow:
        program_id = uow.session.scalar(select(Program.id).where(Program.is_sandbox.is_(True)))
    page.goto(site.url(f"/programs/{program_id}/pairs/{pair_id}"))
    expect(page.locator("#pair-state")).to_have_text("No common time found")
    return coordinator, page, page.locator("#pair-state + span").inner_text()


def test_no_common_time_worded_for_each_reader_then_widened_hours_get_the_pair_booked(browser, sandbox_site):
    site = sandbox_site
    pair_id = _pair_of(site.container, PRIYA)
    # Priya's weekdays 06:00-10:00 in Kolkata never meet Grace's 09:00-17:00 in Berlin. She reads
    # what she can do, with her links; no diagnosis meant for the coordinator.
    mentee, page, her_words = _priya_unschedulable_with_hours(browser, site, pair_id, "06:00", "10:00")
    assert "widen your hours" in her_words and "Grace Hopper" in her_words
    assert "share no working time" not in her_words and "pair them with someone" not in her_words
    actions = page.locator("#reason-actions")
    # Her hours are what can open time here (a calendar cannot): the link is My hours.
    expect(actions.get_by_role("link", name="My hours")).to_be_visible()
    expect(actions.get_by_role("button", name="Try again")).to_be_visible()
    site.screenshot(page, "30-no-common-time-mentee")

    # The coordinator reads the diagnosis of the same reason, and what to do about the pair.
    coordinator, coordinator_page, diagnosis = _coordinator_diagnosis(browser, site, pair_id)
    assert "share no working time" in diagnosis and "Asia/Kolkata" in diagnosis and "Europe/Berlin" in diagnosis
    assert diagnosis != her_words
    site.screenshot(coordinator_page, "31-no-common-time-coordinator")

    # She follows her link to My hours, widens them, and the pipeline books the pair.
    actions.get_by_role("link", name="My hours").click()
    _set_weekday_hours(page, "09:00", "17:00")
    assert _status(site.container, pair_id) == "ready"  # re-planning is queued, not waited for
    site.run_pipeline()
    page.goto(site.url(f"/pairs/{pair_id}"))
    expect(page.locator("#pair-state")).to_have_text(re.compile("Booked"))
    expect(page.locator("#pair-reason")).to_have_count(0)
    assert upcoming_starts(page)
    site.screenshot(page, "32-widened-hours-booked")
    for context in (mentee, coordinator):
        context.close()


def test_always_busy_worded_for_the_mentee_with_hours_and_calendars_links_and_diagnosed_for_the_coordinator(
        browser, sandbox_site):
    site = sandbox_site
    pair_id = _pair_of(site.container, PRIYA)
    # Priya's only hours that meet Grace's (13:00-15:00 Kolkata) are busy in her Microsoft calendar
    # every weekday of the planning horizon.
    kolkata = ZoneInfo("Asia/Kolkata")
    today = site.container.clock.now().astimezone(kolkata).date()
    for day in range(0, 7 * 12):
        date = today + timedelta(days=day)
        if date.weekday() < 5:
            start = datetime.combine(date, time(12, 0), kolkata).astimezone(timezone.utc)
            site.emulators.microsoft.add_event(PRIYA, "Hospital shift", start, start + timedelta(hours=4))
    mentee, page, her_words = _priya_unschedulable_with_hours(browser, site, pair_id, "13:00", "15:00")
    assert "Free a regular slot in your calendar" in her_words and "Hospital shift" not in her_words
    actions = page.locator("#reason-actions")
    expect(actions.get_by_role("link", name="My hours")).to_be_visible()
    expect(actions.get_by_role("link", name="Calendars")).to_be_visible()
    site.screenshot(page, "37-always-busy-mentee")

    coordinator, coordinator_page, diagnosis = _coordinator_diagnosis(browser, site, pair_id)
    assert "always busy in" in diagnosis and "mentee" in diagnosis and "Hospital shift" not in diagnosis
    assert diagnosis != her_words
    site.screenshot(coordinator_page, "38-always-busy-coordinator")

    # Calendars is where she frees time: the link opens her connections.
    actions.get_by_role("link", name="Calendars").click()
    expect(page.get_by_role("heading", name="Your calendars")).to_be_visible()
    for context in (mentee, coordinator):
        context.close()


def _booked_lin_page(browser, site):
    site.run_pipeline()
    pair_id = _pair_of(site.container, LIN)
    assert _status(site.container, pair_id) == "booked"
    context, page = _person_page(browser, site, "Lin Chen", "Europe/London")
    page.goto(site.url(f"/pairs/{pair_id}"))
    expect(page.locator("#upcoming li").first).to_be_visible()
    return context, page, pair_id


def _skip(page, index: int) -> str:
    """Skip the ``index``-th upcoming session through its confirmation page; returns its start."""
    session = page.locator("#upcoming li").nth(index)
    start = session.get_attribute("data-start")
    session.get_by_role("link", name="Skip this session").click()
    expect(page.get_by_role("heading", name=re.compile("^Skip your session with"))).to_be_visible()
    page.get_by_role("button", name="Skip this session").click()
    expect(page.get_by_text("That session is skipped")).to_be_visible()
    return start


def test_skip_asks_first_and_undo_brings_the_session_back(browser, sandbox_site):
    context, page, pair_id = _booked_lin_page(browser, sandbox_site)
    before = upcoming_starts(page)
    first = page.locator("#upcoming li").first
    first.get_by_role("link", name="Skip this session").click()
    expect(page.get_by_role("heading", name="Skip your session with Ada Lovelace?")).to_be_visible()
    page.locator("#keep").click()  # asked first: keeping it changes nothing
    assert upcoming_starts(page) == before

    skipped = _skip(page, 0)
    assert skipped == before[0] and skipped not in upcoming_starts(page)
    sandbox_site.screenshot(page, "33-skipped-with-undo")
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Undone: the session is back")).to_be_visible()
    assert upcoming_starts(page) == before
    expect(page.get_by_role("button", name="Undo")).to_have_count(0)
    context.close()


def test_pause_asks_first_holds_the_sessions_and_resume_keeps_an_earlier_skip(browser, sandbox_site):
    context, page, pair_id = _booked_lin_page(browser, sandbox_site)
    before = upcoming_starts(page)
    video = page.get_by_text("Video link:").inner_text()  # the organizer's calendar gave the series one
    skipped = _skip(page, 1)  # decided before the pause: this one stays skipped
    kept = upcoming_starts(page)
    assert kept[:len(before) - 1] == [start for start in before if start != skipped]

    page.locator("#pause").click()
    expect(page.get_by_role("heading", name="Pause your sessions with Ada Lovelace?")).to_be_visible()
    assert page.locator("#confirm-sessions li").count() >= 1
    page.get_by_role("button", name="Pause our sessions").click()
    expect(page.get_by_text("Your sessions are paused")).to_be_visible()
    expect(page.locator("#pair-state")).to_have_text("Paused")
    expect(page.locator("#on-hold")).to_contain_text("on hold")
    expect(page.locator("#upcoming")).to_have_count(0)
    # History keeps the earlier decision (the skip) and does not call the sessions on hold history.
    history = page.get_by_role("region", name="Session history").locator("tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("Skipped")
    sandbox_site.screenshot(page, "34-paused-on-hold")

    page.locator("#resume").click()
    expect(page.get_by_text("Welcome back")).to_be_visible()
    sandbox_site.run_pipeline()  # the calendars are updated by the worker; the page is already right
    page.reload()
    expect(page.locator("#pair-state")).to_have_text(re.compile("Booked"))
    assert upcoming_starts(page) == kept
    assert skipped not in upcoming_starts(page)
    expect(page.get_by_text("Video link:")).to_have_text(video)  # the same video link
    sandbox_site.screenshot(page, "35-resumed-as-before")
    context.close()


def test_a_conflict_added_while_access_was_revoked_is_repaired_on_reconnect(browser, sandbox_site):
    site = sandbox_site
    context, page, pair_id = _booked_lin_page(browser, site)
    first = page.locator("#upcoming li").first.get_attribute("data-start")
    start = datetime.strptime(first, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)

    # Lin's consent is revoked at Microsoft; the tick's re-check is refused and asks her to reconnect.
    site.emulators.microsoft.revoke_refresh_tokens(LIN)
    site.emulators.microsoft.expire_access_tokens(LIN)
    catch_up(site.container)
    # Meanwhile a dentist appointment lands on the first session, where Tandem cannot see it.
    site.emulators.microsoft.add_event(LIN, "Dentist", start - timedelta(minutes=15), start + timedelta(minutes=60))
    catch_up(site.container)
    page.reload()
    assert page.locator("#upcoming li").first.get_attribute("data-start") == first  # not seen yet

    page.goto(site.url("/calendars/"))
    microsoft = page.locator('[data-provider="microsoft"]')
    expect(microsoft).to_contain_text(re.compile("reconnect", re.I))
    microsoft.get_by_role("link", name=re.compile("Reconnect|Connect", re.I)).first.click()
    page.wait_for_url(site.emulators.microsoft.origin + "/**")
    email = page.locator("input[name=email]")
    if email.count() and not email.input_value():
        email.fill(LIN)
    page.locator("#accept").click()
    page.wait_for_url(site.url("/calendars/"))
    expect(page.locator('[data-provider="microsoft"] .state-ok')).to_have_text("Working")

    site.run_pipeline()  # the re-check the reconnect queued, then the repair's calendar work
    page.goto(site.url(f"/pairs/{pair_id}"))
    starts = upcoming_starts(page)
    assert first not in starts
    moved = page.locator("#upcoming li").filter(has=page.locator(".state", has_text="Moved"))
    expect(moved).to_have_count(1)
    new_start = datetime.strptime(moved.get_attribute("data-start"), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc)
    assert not (new_start < start + timedelta(minutes=60) and start - timedelta(minutes=15) < new_start +
                timedelta(minutes=45))
    site.screenshot(page, "36-reconnected-repaired")
    context.close()
