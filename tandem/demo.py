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


class FollowClock:
    """The emulators' time (seconds since the epoch): Tandem's clock once it is given (the sandbox
    clock, so a skip ahead moves the emulated Google Calendar too: token and channel expiry, the
    times it stamps), the real time before. The Microsoft emulator has no clock hook: it keeps
    the real time (events are absolute instants, so free/busy is the same; only its own stamps
    and expiries differ)."""

    def __init__(self) -> None:
        self.clock = None

    def __call__(self) -> float:
        return (self.clock.now() if self.clock is not None else datetime.now(timezone.utc)).timestamp()


def start_emulators(clock: FollowClock | None = None) -> DemoEmulators:
    from emulators.google import GoogleEmulator
    from emulators.microsoft import GraphEmulator

    google = GoogleEmulator(clock=clock) if clock is not None else GoogleEmulator()
    return DemoEmulators(google.start(), GraphEmulator().start())


def wants_emulators(settings: Settings) -> bool:
    return settings.app.demo and not settings.google.client_id and not settings.microsoft.client_id


def seed_demo(container, emulators: DemoEmulators | None) -> bool:
    """Create the sandbox program once (True when created). With emulators, everyone's calendar
    is connected there and holds a few busy blocks, and the pairs are queued for planning."""
    if emulators is None:
        return sandbox.seed(container, None)
    return sandbox.seed(container, lambda kind, email, tz, now: _connect(emulators, kind, email, tz, now))


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
