"""The whole journey in a real browser: a coordinator creates a program and imports pairs from
CSV, the mentor connects Google through the emulator's consent page, the mentee connects
Microsoft through its emulator, the pipeline books the series, both pair pages show the times
the organizer's (emulated) Google calendar holds — in each person's own zone — and moving one
session to a mutual free time moves that instance on the calendar."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from adapters.storage.models import Membership, Occurrence, Pair, Person, Program, Series
from scheduler.services.booking import book_series
from scheduler.services.lifecycle import push_occurrence
from scheduler.services.planning import plan_mentor_group
from tests.e2e.browser_steps import invitation_link, sign_in_by_email

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MENTOR, MENTEE = "maya.mentor@e2e.test", "noor.mentee@e2e.test"
CSV = ("mentor_email,mentor_name,mentee_email,mentee_name\n"
       f"{MENTOR},Maya Mentor,{MENTEE},Noor Mentee\n"
       "omar.mentor@e2e.test,Omar Mentor,uma.mentee@e2e.test,Uma Mentee\n")


def _seed_coordinator(container) -> None:
    with container.uow() as uow:
        person = Person(email="cleo.coordinator@e2e.test", name="Cleo Coordinator")
        program = Program(name="Staff mentoring")
        uow.session.add_all([person, program])
        uow.session.flush()
        uow.session.add(Membership(program_id=program.id, person_id=person.id, role="coordinator"))
        uow.commit()


def _coordinator_creates_program_and_imports(browser, site, tmp_path) -> tuple:
    context = browser.new_context(timezone_id="Europe/London", viewport={"width": 1100, "height": 900})
    page = context.new_page()
    sign_in_by_email(page, site, "cleo.coordinator@e2e.test")
    page.get_by_role("link", name="Programs").first.click()
    page.get_by_role("link", name="Create a program").click()
    page.get_by_label("Program name").fill("Autumn cohort")
    page.get_by_label("How often pairs meet").select_option("weekly")
    page.get_by_role("spinbutton", name="Session length").fill("45")
    page.get_by_role("spinbutton", name="Number of sessions").fill("4")
    page.get_by_role("spinbutton", name="Planning horizon").fill("6")
    site.screenshot(page, "01-new-program")
    page.get_by_role("button", name="Create program").click()
    page.get_by_role("heading", name="Autumn cohort").wait_for()

    csv_file = tmp_path / "pairs.csv"
    csv_file.write_text(CSV)
    page.get_by_label("CSV file", exact=True).set_input_files(str(csv_file))
    page.get_by_role("button", name="Import pairs").click()
    page.get_by_text("Imported 2 pair(s)").wait_for()
    rows = page.locator("#pairs tbody tr")
    assert rows.count() == 2
    assert "Invited" in rows.first.inner_text()
    page.get_by_role("button", name="Send invitations").click()
    page.get_by_text("4 invitation(s) are on their way.").wait_for()
    site.screenshot(page, "02-program-with-pairs")
    return context, page


def _onboard(browser, site, email: str, zone: str, **context_options):
    context = browser.new_context(timezone_id=zone, viewport={"width": 390, "height": 844}, **context_options)
    page = context.new_page()
    page.goto(invitation_link(site.container, email))
    page.get_by_role("button", name="Join and continue").click()  # opening the link alone changes nothing
    page.get_by_role("heading", name="When can you meet?").wait_for()
    field = page.get_by_label("Your time zone")
    # (not wait_for_function: the page's CSP forbids eval, which newer Chromium applies to it)
    expect(field).to_have_value(zone)  # detected from the browser, not typed
    site.screenshot(page, f"03-onboarding-{zone.replace('/', '-')}")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="Your calendars").wait_for()
    assert page.get_by_text("Tandem reads only when you are busy, never what your meetings are.").first.is_visible()
    return context, page


def _mentor_connects_google(page, site) -> None:
    page.get_by_role("link", name="Connect Google Calendar").click()
    page.wait_for_url(site.google.base_url + "/**")
    site.screenshot(page, "04-google-consent")
    assert page.locator("input[name=email]").input_value() == MENTOR  # our login_hint
    page.locator("#allow").click()
    page.wait_for_url(site.url("/calendars/"))
    assert page.locator('[data-provider="google"] .state-ok').inner_text() == "Working"


def _mentee_connects_microsoft(page, site) -> None:
    page.get_by_role("link", name="Connect Microsoft 365 / Outlook").click()
    page.wait_for_url(site.microsoft.origin + "/**")
    site.screenshot(page, "05-microsoft-consent")
    email = page.locator("input[name=email]")
    if email.count() and not email.input_value():
        email.fill(MENTEE)
    page.locator("#accept").click()
    page.wait_for_url(site.url("/calendars/"))
    assert page.locator('[data-provider="microsoft"] .state-ok').inner_text() == "Working"
    site.screenshot(page, "06-calendars-connected")


def _book(site) -> str:
    """Run the planning and booking use cases the worker would run for the outbox rows."""
    with site.container.uow() as uow:
        pair = uow.session.scalar(select(Pair).join(Person, Pair.mentor_id == Person.id).where(Person.email == MENTOR))
        pair_id, status = pair.id, pair.status
    assert status == "ready"
    assert plan_mentor_group(site.container, pair_id) is not None
    with site.container.uow() as uow:
        series_id = uow.session.scalar(select(Series.id).where(Series.pair_id == pair_id))
    book_series(site.container, series_id)
    with site.container.uow() as uow:
        assert uow.session.get(Series, series_id).status == "booked"
    return pair_id


def _google_series_starts(site, pair_id: str) -> list[datetime]:
    """The weekly starts of the series the organizer's emulated Google calendar holds."""
    with site.container.uow() as uow:
        event_id = uow.session.scalar(select(Series.provider_event_id).where(Series.pair_id == pair_id))
    [event] = [e for e in site.google.events(MENTOR) if e["id"] == event_id]
    zone = ZoneInfo(event["start"]["timeZone"])
    first = datetime.fromisoformat(event["start"]["dateTime"]).astimezone(zone)
    rule = dict(part.split("=") for part in event["recurrence"][0].removeprefix("RRULE:").split(";"))
    assert rule["FREQ"] == "WEEKLY"
    count, interval = int(rule["COUNT"]), int(rule.get("INTERVAL", "1"))
    local = [first.replace(tzinfo=None) + timedelta(weeks=interval * i) for i in range(count)]
    return [t.replace(tzinfo=zone).astimezone(timezone.utc) for t in local]


def _mentor_moves_the_first_session(page, site, pair_id: str) -> datetime:
    """Choose another mutual free time (read live from both emulated calendars), then let the
    calendar work the worker would do run (``push_occurrence``)."""
    page.goto(site.url(f"/pairs/{pair_id}"))
    page.get_by_role("link", name="Move this session").first.click()
    page.get_by_role("heading", name="Move a session").wait_for()
    site.screenshot(page, "11-move-options")
    choice = page.locator("input[name=start]").first
    chosen = datetime.strptime(choice.get_attribute("value"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    choice.check()
    page.get_by_role("button", name="Move the session").click()
    page.get_by_text("The session is moved").wait_for()
    assert "Moved" in page.locator("#upcoming li").first.inner_text()
    with site.container.uow() as uow:
        moved = uow.session.scalar(select(Occurrence.id).join(Series).where(
            Series.pair_id == pair_id, Occurrence.status == "moved"))
    push_occurrence(site.container, moved)
    return chosen


def _google_instance_start(site, pair_id: str, original: datetime) -> datetime:
    """Where the organizer's emulated Google calendar now holds the occurrence of ``original``."""
    with site.container.uow() as uow:
        event_id = uow.session.scalar(select(Series.provider_event_id).where(Series.pair_id == pair_id))
    for event in site.google.events(MENTOR):
        if event.get("recurringEventId") == event_id and event.get("originalStartTime"):
            if datetime.fromisoformat(event["originalStartTime"]["dateTime"]) == original:
                return datetime.fromisoformat(event["start"]["dateTime"]).astimezone(timezone.utc)
    raise AssertionError("the emulated calendar holds no moved instance")


def test_coordinator_mentor_and_mentee_journey(browser, site, tmp_path):
    _seed_coordinator(site.container)
    site.google.add_user(MENTOR, "America/New_York")
    site.microsoft.add_user(MENTEE, time_zone="Europe/Berlin")
    # The mentor is busy every weekday morning; only free/busy of it may reach Tandem.
    monday = datetime.now(timezone.utc).astimezone(ZoneInfo("America/New_York")).replace(
        hour=9, minute=0, second=0, microsecond=0)
    site.google.add_event(MENTOR, monday, monday + timedelta(hours=1), "Secret board meeting",
                          rrule="FREQ=DAILY;COUNT=90", tz="America/New_York")

    coordinator, coordinator_page = _coordinator_creates_program_and_imports(browser, site, tmp_path)
    mentor, mentor_page = _onboard(browser, site, MENTOR, "America/New_York")
    _mentor_connects_google(mentor_page, site)
    mentee, mentee_page = _onboard(browser, site, MENTEE, "Europe/Berlin", ignore_https_errors=True)
    _mentee_connects_microsoft(mentee_page, site)

    pair_id = _book(site)
    expected = _google_series_starts(site, pair_id)
    assert len(expected) == 4
    for start in expected:  # booked around the mentor's busy hour, inside both people's hours
        new_york = start.astimezone(ZoneInfo("America/New_York"))
        assert new_york.hour >= 10 and (new_york + timedelta(minutes=45)).hour < 12

    for page, name, other in ((mentor_page, "mentor", "Noor Mentee"), (mentee_page, "mentee", "Maya Mentor")):
        page.goto(site.url(f"/pairs/{pair_id}"))
        sessions = page.locator("#upcoming li")
        shown = [datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
                 for s in sessions.evaluate_all("items => items.map(i => i.dataset.start)")]
        assert shown == expected
        assert f"for {other}" in sessions.first.inner_text()
        assert "Secret board meeting" not in page.content()
        site.screenshot(page, f"07-pair-page-{name}")
    first_ny = expected[0].astimezone(ZoneInfo("America/New_York")).strftime("%H:%M")
    first_berlin = expected[0].astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M")
    assert first_ny in mentor_page.locator("#upcoming li").first.locator("time").inner_text()
    assert first_berlin in mentee_page.locator("#upcoming li").first.locator("time").inner_text()

    coordinator_page.reload()
    # a booked pair has left "Pairs setting up"; the dashboard's pairs table lists every pair
    assert "Booked" in coordinator_page.locator(f'tr[data-dashboard-pair="{pair_id}"]').inner_text()
    site.screenshot(coordinator_page, "08-program-overview")

    new_start = _mentor_moves_the_first_session(mentor_page, site, pair_id)
    assert new_start != expected[0]
    assert _google_instance_start(site, pair_id, expected[0]) == new_start
    for context in (coordinator, mentor, mentee):
        context.close()
