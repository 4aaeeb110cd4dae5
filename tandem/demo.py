"""The sandbox's wiring in the CLI: emulated Google and Microsoft calendars that ``tandem run``
starts when ``app.demo`` is on and no real OAuth client is configured, and the consent of each
sandbox person on them. The sandbox program itself (people, pairs) is
``scheduler.services.sandbox``. Nothing here runs in production.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from config.settings import Settings
from scheduler.services import sandbox

log = logging.getLogger(__name__)


@dataclass
class DemoEmulators:
    google: object
    microsoft: object
    caldav: object | None = None  # emulators.calendar_servers.CalDavServer
    ics: object | None = None  # emulators.calendar_servers.IcsFeedServer
    clock: "FollowClock | None" = None  # the emulators' time, when they follow Tandem's

    def settings_overrides(self) -> dict:
        g, m = self.google, self.microsoft
        return {
            "google.client_id": g.client_id, "google.client_secret": g.client_secret,
            "google.auth_uri": g.auth_uri, "google.token_uri": g.token_uri, "google.revoke_uri": g.revoke_uri,
            "google.api_base": g.base_url,
            "microsoft.client_id": m.client_id, "microsoft.client_secret": m.client_secret,
            "microsoft.authority": m.authority, "microsoft.graph_base": m.graph_url, "microsoft.ca_file": m.ca_file,
        }

    def providers(self) -> dict:
        """The connectors that differ from the configured ones: the CalDAV and ICS connectors,
        allowed to reach the sandbox's own loopback servers (and no other loopback or private
        address), and, when the emulators follow Tandem's clock, the Microsoft adapter on that
        clock too (a Graph subscription's expiry is absolute: it must be on the time the emulated
        Graph keeps)."""
        from adapters.providers.caldav import CalDavCalendarProvider
        from adapters.providers.ics_feed import IcsFeedCalendarProvider
        from config.providers import microsoft_provider

        found = {}
        if self.clock is not None:
            m = self.microsoft
            found["microsoft"] = microsoft_provider(m.graph_url, m.authority, m.client_id, m.client_secret,
                                                    m.ca_file, now=self.clock.now)
        if self.caldav is not None and self.ics is not None:
            found["caldav"] = CalDavCalendarProvider(own_servers=(self.caldav.url,))
            found["ics"] = IcsFeedCalendarProvider(own_servers=(self.ics.base_url,))
        return found

    def calendar_servers(self) -> dict | None:
        """What /demo shows to try the CalDAV and ICS forms (None without those servers)."""
        if self.caldav is None or self.ics is None:
            return None
        return {"caldav_url": self.caldav.url, "caldav_password": self.caldav.password,
                "feed_url": self.ics.feed_url}

    def stop(self) -> None:
        for server in (self.google, self.microsoft, self.caldav, self.ics):
            if server is not None:
                server.stop()


class FollowClock:
    """The emulators' time (seconds since the epoch): Tandem's clock once it is given (the sandbox
    clock, so a skip ahead moves the emulated Google Calendar and Microsoft Graph too: the expiry
    of codes, tokens, channels and subscriptions, and the times they stamp), the real time
    before. An access token that expires in emulated time after a skip is refreshed by the
    adapters on the 401, as with the real services."""

    def __init__(self) -> None:
        self.clock = None

    def __call__(self) -> float:
        return self.now().timestamp()

    def now(self) -> datetime:
        return self.clock.now() if self.clock is not None else datetime.now(timezone.utc)


class SandboxDirectory:
    """Who has an account on the sandbox's emulated calendars: every person Tandem knows (the
    sandbox people, people imported or invited later, people of ``tandem sandbox seed``), asked
    of the database when they first sign in to an emulator, so nobody has to be registered
    ahead and nothing restarts. A new account gets a calendar with a few busy blocks. Set
    ``container`` once Tandem is built (the emulators start before it)."""

    def __init__(self, clock: FollowClock) -> None:
        self.clock = clock
        self.container = None
        self.emulators: DemoEmulators | None = None

    def account(self, kind: str, email: str) -> bool:
        if self.container is None or self.emulators is None:
            return False
        tz = sandbox.person_zone(self.container, email)
        if tz is None:
            return False
        _fill(self.emulators, kind, email, tz, self.clock.now())
        log.info("sandbox: %s account created for %s", kind, email)
        return True


def start_emulators(clock: FollowClock | None = None, directory: SandboxDirectory | None = None) -> DemoEmulators:
    """The Google and Microsoft emulators and, with a ``directory``, the CalDAV server and the
    feed host; with a directory, every person Tandem knows can sign in to each of them."""
    from emulators.calendar_servers import CalDavServer, IcsFeedServer
    from emulators.google import GoogleEmulator
    from emulators.microsoft import GraphEmulator

    def hook(kind: str):
        return (lambda email: directory.account(kind, email)) if directory is not None else None

    google = GoogleEmulator(clock=clock, directory=hook("google")) if clock is not None else GoogleEmulator()
    # Graph wants https notification URLs; the sandbox's Tandem serves plain http on loopback, so
    # its Graph emulator accepts http ones (push works in the sandbox instead of polling).
    ms_clock = {"clock": clock} if clock is not None else {}
    microsoft = GraphEmulator(directory=hook("microsoft"), allow_http_webhooks=directory is not None, **ms_clock)
    emulators = DemoEmulators(google.start(), microsoft.start(), clock=clock)
    if directory is not None:
        emulators.caldav = CalDavServer(directory=hook("caldav")).start()
        emulators.ics = IcsFeedServer(directory=hook("ics")).start()
        directory.emulators = emulators
    return emulators


def wants_emulators(settings: Settings) -> bool:
    return settings.app.demo and not settings.google.client_id and not settings.microsoft.client_id


def seed_demo(container, emulators: DemoEmulators | None) -> bool:
    """Create the sandbox program once (True when created). With emulators, everyone's calendar
    is connected there and holds a few busy blocks, and the pairs are queued for planning."""
    if emulators is None:
        return sandbox.seed(container, None)
    return sandbox.seed(container, lambda kind, email, tz, now: _connect(emulators, kind, email, tz, now))


def _connect(emulators: DemoEmulators, kind: str, email: str, tz: str, now: datetime) -> dict:
    """Consent as the person would (pressing Accept on the consent page), after giving their
    calendars some busy time."""
    _fill(emulators, kind, email, tz, now)
    if kind == "google":
        return emulators.google.grant(email)
    from adapters.providers.microsoft import MicrosoftCalendarProvider
    from adapters.providers.microsoft_auth import BOOKING_SCOPES, MicrosoftConnectFlow
    from emulators.microsoft.browser import sign_in
    from emulators.tls import client_session

    emu = emulators.microsoft
    session = client_session(emu.ca_file)
    provider = MicrosoftCalendarProvider(emu.graph_url, emu.authority, emu.client_id, emu.client_secret, session,
                                         validate_authority=False)
    flow_helper = MicrosoftConnectFlow(provider.apps)
    flow = flow_helper.start("https://127.0.0.1/connect/microsoft/callback", BOOKING_SCOPES, login_hint=email)
    return flow_helper.finish(flow, sign_in(session, flow["auth_uri"])).credentials


def busy_blocks(email: str, tz: str, now: datetime) -> list[tuple[datetime, datetime]]:
    """A few one-hour busy blocks on weekdays of the next four weeks (10:00-15:00 in ``tz``),
    different for each person."""
    zone = ZoneInfo(tz)
    first = (now.astimezone(zone) + timedelta(days=1)).date()
    busy = []
    for day in range(0, 28):
        d = first + timedelta(days=day)
        if d.weekday() < 5 and (day + len(email)) % 3 == 0:
            start = datetime.combine(d, time(10 + day % 5), zone)
            busy.append((start, start + timedelta(hours=1)))
    return busy


def _fill(emulators: DemoEmulators, kind: str, email: str, tz: str, now: datetime) -> None:
    """Create the person's account on one emulated calendar, with their busy blocks."""
    busy = busy_blocks(email, tz, now)
    if kind == "google":
        emulators.google.add_user(email, tz)
        for start, end in busy:
            emulators.google.add_event(email, start, end, "Private meeting")
    elif kind == "microsoft":
        emulators.microsoft.add_user(email, time_zone=tz)
        for start, end in busy:
            emulators.microsoft.add_event(email, "Private meeting", start.astimezone(timezone.utc),
                                          end.astimezone(timezone.utc))
    else:
        server = emulators.caldav if kind == "caldav" else emulators.ics
        server.add_account(email)
        for start, end in busy:
            server.add_busy(email, start, end)
