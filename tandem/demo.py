"""The sandbox: emulated Google and Microsoft calendars, and a program of a few pairs that the
pipeline books while a newcomer watches (``make run``). Nothing here runs in production:
``tandem run`` uses it only when ``app.demo`` is on and no real OAuth client is configured.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from adapters.storage.models import CalendarConnection, Membership, Pair, Person, Program
from adapters.storage.outbox import add_outbox
from config.settings import Settings

log = logging.getLogger(__name__)
SANDBOX_NAME = "Sandbox cohort"
WEEKDAYS_9_17 = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}

# (email, name, zone, calendar) — mentors on Google, mentees on Microsoft: cross-provider pairs.
PEOPLE = (
    ("casey.coordinator@sandbox.tandem.test", "Casey Coordinator", "Europe/London", None),
    ("ada.mentor@sandbox.tandem.test", "Ada Lovelace", "America/New_York", "google"),
    ("grace.mentor@sandbox.tandem.test", "Grace Hopper", "Europe/Berlin", "google"),
    ("lin.mentee@sandbox.tandem.test", "Lin Chen", "Europe/London", "microsoft"),
    ("sam.mentee@sandbox.tandem.test", "Sam Okafor", "America/Chicago", "microsoft"),
    ("priya.mentee@sandbox.tandem.test", "Priya Sharma", "Asia/Kolkata", "microsoft"),
)
PAIRS = (("ada.mentor", "lin.mentee"), ("ada.mentor", "sam.mentee"), ("grace.mentor", "priya.mentee"))


@dataclass
class DemoEmulators:
    google: object
    microsoft: object

    def settings_overrides(self) -> dict:
        g, m = self.google, self.microsoft
        return {
            "google.client_id": g.client_id, "google.client_secret": g.client_secret,
            "google.auth_uri": g.auth_uri, "google.token_uri": g.token_uri, "google.revoke_uri": g.revoke_uri,
            "google.api_base": g.base_url,
            "microsoft.client_id": m.client_id, "microsoft.client_secret": m.client_secret,
            "microsoft.authority": m.authority, "microsoft.graph_base": m.graph_url, "microsoft.ca_file": m.ca_file,
        }

    def stop(self) -> None:
        self.google.stop()
        self.microsoft.stop()


def start_emulators() -> DemoEmulators:
    from emulators.google import GoogleEmulator
    from emulators.microsoft import GraphEmulator

    return DemoEmulators(GoogleEmulator().start(), GraphEmulator().start())


def wants_emulators(settings: Settings) -> bool:
    return settings.app.demo and not settings.google.client_id and not settings.microsoft.client_id


def seed_demo(container, emulators: DemoEmulators | None) -> bool:
    """Create the sandbox program once (True when created). With emulators, everyone's calendar
    is connected there and holds a few busy blocks, and the pairs are queued for planning."""
    now = container.clock.now()
    with container.uow() as uow:
        if uow.session.scalar(select(Program.id).where(Program.is_sandbox.is_(True))):
            return False
        program = Program(name=SANDBOX_NAME, cadence="weekly", duration_min=45, session_count=8, horizon_weeks=10,
                          mentor_max_sessions_per_week=4, reminder_offsets_min=[24 * 60, 30], repair_policy="auto",
                          is_sandbox=True)
        uow.session.add(program)
        people = {}
        for email, name, tz, _ in PEOPLE:
            person = uow.session.scalar(select(Person).where(Person.email == email)) or Person(email=email)
            person.name, person.tz, person.working_hours, person.onboarded_at = name, tz, WEEKDAYS_9_17, now
            uow.session.add(person)
            people[email.split("@")[0]] = person
        uow.session.flush()
        roles = {("casey.coordinator", "coordinator")}
        for mentor, mentee in PAIRS:
            uow.session.add(Pair(program_id=program.id, mentor_id=people[mentor].id, mentee_id=people[mentee].id,
                                 status="ready" if emulators else "invited"))
            roles |= {(mentor, "mentor"), (mentee, "mentee")}
        for key, role in sorted(roles):
            uow.session.add(Membership(program_id=program.id, person_id=people[key].id, role=role))
        uow.session.flush()
        if emulators is not None:
            for email, _, tz, kind in PEOPLE:
                if kind:
                    credentials = _connect(emulators, kind, email, tz, now)
                    uow.session.add(CalendarConnection(person_id=people[email.split("@")[0]].id, provider=kind,
                                                       account_email=email,
                                                       token_blob=container.cipher.encrypt(credentials)))
            for pair in program.pairs:
                add_outbox(uow.session, "plan_pair", pair.id, f"plan_pair:{pair.id}:sandbox", now)
        uow.commit()
    log.info("sandbox program created with %d pairs", len(PAIRS))
    return True


def _connect(emulators: DemoEmulators, kind: str, email: str, tz: str, now: datetime) -> dict:
    """Consent as the person would (auto-approved), and give their calendar some busy time."""
    zone = ZoneInfo(tz)
    first = (now.astimezone(zone) + timedelta(days=1)).date()
    busy = []
    for day in range(0, 28):
        d = first + timedelta(days=day)
        if d.weekday() < 5 and (day + len(email)) % 3 == 0:
            start = datetime.combine(d, time(10 + day % 5), zone)
            busy.append((start, start + timedelta(hours=1)))
    if kind == "google":
        emu = emulators.google
        emu.add_user(email, tz)
        for start, end in busy:
            emu.add_event(email, start, end, "Private meeting")
        return emu.grant(email)
    from adapters.providers.microsoft import MicrosoftCalendarProvider
    from adapters.providers.microsoft_auth import BOOKING_SCOPES, MicrosoftConnectFlow
    from emulators.microsoft.browser import sign_in
    from emulators.tls import client_session

    emu = emulators.microsoft
    emu.add_user(email, time_zone=tz)
    for start, end in busy:
        emu.add_event(email, "Private meeting", start.astimezone(timezone.utc), end.astimezone(timezone.utc))
    emu.set_auto_approve(True)
    session = client_session(emu.ca_file)
    provider = MicrosoftCalendarProvider(emu.graph_url, emu.authority, emu.client_id, emu.client_secret, session,
                                         validate_authority=False)
    flow_helper = MicrosoftConnectFlow(provider.apps)
    flow = flow_helper.start("https://127.0.0.1/connect/microsoft/callback", BOOKING_SCOPES, login_hint=email)
    return flow_helper.finish(flow, sign_in(session, flow["auth_uri"])).credentials
