"""The Microsoft Graph adapter with the real MSAL and ``requests`` against the Graph emulator over
TLS: the connect flow, faults and retries, token rotation, personal accounts, idempotent creates,
recurrence shapes, subscriptions and revoke. (The shared behaviour is in tests/contract.)"""
from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

import doctest
import json

import adapters.providers.microsoft_zones as microsoft_zones
from adapters.providers.microsoft import (DELTA_SELECT, TAG_PROPERTY_ID, CancelledBefore, MicrosoftCalendarProvider,
                                          transaction_id)
from adapters.providers.microsoft_auth import BOOKING_SCOPES, FREE_BUSY_SCOPES, MicrosoftConnectFlow
from adapters.providers.retry import RetryPolicy
from emulators.microsoft import GraphEmulator
from emulators.microsoft.browser import sign_in
from emulators.microsoft.receiver import WebhookReceiver
from emulators.tls import client_session
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from scheduler.errors import ProviderUnavailable, RateLimited, ReconnectNeeded, SyncTokenExpired, UnknownTimeZone
from scheduler.ports import CalendarAccount, SeriesSpec

UTC = timezone.utc
REDIRECT = "https://127.0.0.1/connect/microsoft/callback"
MARCH = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 8, tzinfo=UTC))
_numbers = itertools.count(1)


class World:
    """An emulator, a webhook receiver and an adapter whose sleeps are recorded, not slept."""

    def __init__(self, emu: GraphEmulator, hook: WebhookReceiver, session):
        self.emu, self.hook, self.session = emu, hook, session
        self.sleeps: list[float] = []
        self.provider = MicrosoftCalendarProvider(
            emu.graph_url, emu.authority, emu.client_id, emu.client_secret, session, validate_authority=False,
            retry_policy=RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.01), sleep=self.sleeps.append)
        self.connect = MicrosoftConnectFlow(self.provider.apps)
        self.saved: list[dict] = []

    def account(self, email: str, scopes=BOOKING_SCOPES, *, personal: bool = False,
                tenant: str | None = None) -> CalendarAccount:
        self.emu.add_user(email, personal=personal, tenant=tenant)
        flow = self.connect.start(REDIRECT, scopes, login_hint=email)
        connection = self.connect.finish(flow, sign_in(self.session, flow["auth_uri"]))
        return CalendarAccount(f"ms-{next(_numbers)}", "microsoft", email, credentials=connection.credentials,
                               on_credentials_changed=self.saved.append)

    def graph_requests(self, fragment: str = "/v1.0/") -> list[dict]:
        return [r for r in self.emu.requests() if fragment in r["path"]]


@pytest.fixture
def world():
    with GraphEmulator() as emu, WebhookReceiver() as hook, client_session(emu.ca_file) as session:
        emu.set_auto_approve(True)
        yield World(emu, hook, session)


def _spec(email: str, rrule: str = "FREQ=WEEKLY;INTERVAL=1;COUNT=6;BYDAY=TU", key: str = "series-1") -> SeriesSpec:
    return SeriesSpec(series_key=key, title="Mentoring", description="Agenda", organizer_email=email,
                      attendee_emails=("mentee@example.org",), start_local=datetime(2027, 3, 2, 10),
                      tz="America/New_York", duration_min=45, rrule=rrule)


def _utc(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2027, month, day, hour, tzinfo=UTC)


# --- connecting ------------------------------------------------------------------------------------
def test_auth_code_flow_through_the_consent_page(world):
    world.emu.set_auto_approve(False)
    world.emu.add_user("ada@contoso.example")
    flow = world.connect.start(REDIRECT, FREE_BUSY_SCOPES, login_hint="ada@contoso.example")
    assert "code_challenge" in flow["auth_uri"] and "response_mode=form_post" in flow["auth_uri"]

    answer = sign_in(world.session, flow["auth_uri"])  # shows the consent page, presses Accept
    connection = world.connect.finish(flow, answer)

    assert connection.email == "ada@contoso.example" and not connection.personal
    assert connection.credentials["scopes"] == ["Calendars.ReadBasic"]
    assert connection.credentials["msal_cache"] and connection.credentials["home_account_id"]
    with pytest.raises(ReconnectNeeded):
        world.connect.finish(flow, {**answer, "state": "forged"})


# --- faults and retries ------------------------------------------------------------------------------
def test_rate_limit_then_success_honours_retry_after(world):
    ada = world.account("ada@contoso.example")
    world.emu.add_event(ada.email, "Dentist", _utc(1, 14), _utc(1, 15))
    world.emu.fail_next(429, retry_after=2)

    result = world.provider.free_busy([ada], *MARCH)[ada.connection_id]

    assert [(b.start, b.end) for b in result.busy] == [(_utc(1, 14), _utc(1, 15))]
    assert world.sleeps == [2.0]
    assert [r["status"] for r in world.graph_requests("getSchedule")] == [429, 200]


def test_server_error_then_success_and_persistent_throttling(world):
    ada = world.account("ada@contoso.example")
    world.emu.fail_next(503)
    assert world.provider.free_busy([ada], *MARCH)[ada.connection_id].error is None
    assert len(world.sleeps) == 1

    world.emu.fail_next(429, count=10, retry_after=5)
    with pytest.raises(RateLimited) as raised:
        world.provider.free_busy([ada], *MARCH)
    assert raised.value.retry_after == 5.0


def test_a_reply_slower_than_the_timeout_is_retried(world):
    ada = world.account("ada@contoso.example")
    impatient = MicrosoftCalendarProvider(
        world.emu.graph_url, world.emu.authority, world.emu.client_id, world.emu.client_secret, world.session,
        validate_authority=False, retry_policy=RetryPolicy(attempts=2, base_delay=0, max_delay=0),
        sleep=world.sleeps.append, timeout=0.3)
    world.emu.slow_next(1.0, path_contains="getSchedule")

    assert impatient.free_busy([ada], *MARCH)[ada.connection_id].error is None
    assert len(world.sleeps) == 1

    world.emu.slow_next(1.0, count=2, path_contains="getSchedule")
    with pytest.raises(ProviderUnavailable, match="in time"):
        impatient.free_busy([ada], *MARCH)


def test_revoked_refresh_token_needs_reconnect_without_retries(world):
    ada = world.account("ada@contoso.example")
    ref = world.provider.create_series(ada, _spec(ada.email))
    world.emu.expire_access_tokens()
    world.emu.revoke_refresh_tokens(ada.email)
    before = len(world.emu.requests())

    with pytest.raises(ReconnectNeeded, match="reconnect"):
        world.provider.get_series(ada, ref.event_id, *MARCH)

    after = world.emu.requests()[before:]
    assert [r["path"].rsplit("/", 1)[-1] for r in after] == [ref.event_id, "token"]  # one try each, no retry
    assert world.sleeps == []
    assert world.provider.free_busy([ada], *MARCH)[ada.connection_id].error.startswith("reconnect_needed")


def test_token_endpoint_outage_is_unavailable_not_reconnect(world):
    ada = world.account("ada@contoso.example")
    world.emu.expire_access_tokens()
    world.emu.fail_next(503, count=10, path_contains="/oauth2/v2.0/token")

    with pytest.raises(ProviderUnavailable):
        world.provider.free_busy([ada], *MARCH)

    token_calls = world.graph_requests("/oauth2/v2.0/token")
    assert token_calls[-1]["status"] == 503
    assert len(token_calls) == 2, "MSAL should throttle repeats of a failed token request itself"


def test_changes_report_only_our_events(world):
    ada = world.account("ada@contoso.example")
    world.emu.add_event(ada.email, "Gym", datetime.now(UTC) + timedelta(days=3),
                        datetime.now(UTC) + timedelta(days=3, hours=1))
    ref = world.provider.create_series(ada, SeriesSpec(
        series_key="soon", title="Mentoring", description="Agenda", organizer_email=ada.email,
        attendee_emails=("mentee@example.org",), start_local=datetime.now().replace(microsecond=0) + timedelta(days=2),
        tz="UTC", duration_min=30, rrule="FREQ=WEEKLY;COUNT=3"))

    first = world.provider.changes(ada, None)
    assert first.full_resync and first.changed_event_ids == (ref.event_id,)
    world.emu.add_event(ada.email, "Dentist", datetime.now(UTC) + timedelta(days=4),
                        datetime.now(UTC) + timedelta(days=4, hours=1))
    world.provider.update_description(ada, ref.event_id, "Agenda v2")

    later = world.provider.changes(ada, first.cursor)
    assert not later.full_resync and later.changed_event_ids == (ref.event_id,)


def test_change_tracking_fetches_only_the_fields_it_needs(world):
    """The privacy promise covers what is fetched: delta asks for ids and our marks, and Graph
    (here the emulator, which honours $select in every round of the tokens) sends nothing else."""
    ada = world.account("ada@contoso.example")
    world.emu.add_event(ada.email, "Therapy with Dr Who", datetime.now(UTC) + timedelta(days=3),
                        datetime.now(UTC) + timedelta(days=3, hours=1))
    ref = world.provider.create_series(ada, SeriesSpec(
        series_key="soon", title="Mentoring", description="Agenda", organizer_email=ada.email,
        attendee_emails=("mentee@example.org",), start_local=datetime.now().replace(microsecond=0) + timedelta(days=2),
        tz="UTC", duration_min=30, rrule="FREQ=WEEKLY;COUNT=3"))
    world.emu.reset_logs()

    first = world.provider.changes(ada, None)
    world.emu.add_event(ada.email, "Divorce lawyer", datetime.now(UTC) + timedelta(days=4),
                        datetime.now(UTC) + timedelta(days=4, hours=1))
    world.provider.update_description(ada, ref.event_id, "Agenda v2")
    later = world.provider.changes(ada, first.cursor)

    assert first.changed_event_ids == later.changed_event_ids == (ref.event_id,)
    rounds = world.graph_requests("calendarView/delta")
    assert len(rounds) >= 2 and "%24select=" + DELTA_SELECT.replace(",", "%2C") in rounds[0]["query"]
    allowed = {"@odata.etag", "@odata.type", "@removed", "id"} | set(DELTA_SELECT.split(","))
    for entry in rounds:
        reply = json.loads(entry["reply"])
        assert reply["value"] and all(set(item) <= allowed for item in reply["value"])
        assert "Therapy" not in entry["reply"] and "Divorce" not in entry["reply"] and "Agenda" not in entry["reply"]


def test_stale_delta_cursor_raises_sync_token_expired(world):
    ada = world.account("ada@contoso.example")
    cursor = world.provider.changes(ada, None).cursor
    world.emu.invalidate_delta_tokens()

    with pytest.raises(SyncTokenExpired):
        world.provider.changes(ada, cursor)


def test_rotated_refresh_token_is_persisted_and_the_old_cache_is_dead(world):
    ada = world.account("ada@contoso.example")
    original = dict(ada.credentials)
    world.provider.free_busy([ada], *MARCH)
    assert world.saved == [], "an unchanged cache was persisted"

    world.emu.expire_access_tokens()  # Graph answers 401: the adapter refreshes once and retries
    assert world.provider.free_busy([ada], *MARCH)[ada.connection_id].error is None

    assert len(world.saved) == 1 and world.saved[0]["msal_cache"] != original["msal_cache"]
    assert ada.credentials == world.saved[0]
    stale = CalendarAccount("ms-stale", "microsoft", ada.email, credentials=original)
    world.emu.expire_access_tokens()
    assert world.provider.free_busy([stale], *MARCH)[stale.connection_id].error.startswith("reconnect_needed")
    assert world.provider.free_busy([ada], *MARCH)[ada.connection_id].error is None


def test_an_access_token_expired_in_emulated_time_is_refreshed_on_the_401():
    """The sandbox skips ahead: the emulator's clock jumps two hours, so the access token MSAL
    still holds (valid by the real clock) is expired for Graph; the next read refreshes once."""
    now = [datetime(2027, 3, 1, 9, tzinfo=UTC).timestamp()]
    with (GraphEmulator(clock=lambda: now[0]) as emu, WebhookReceiver() as hook,
          client_session(emu.ca_file) as session):
        emu.set_auto_approve(True)
        world = World(emu, hook, session)
        ada = world.account("ada@contoso.example")
        emu.add_event(ada.email, "Dentist", _utc(1, 14), _utc(1, 15))
        first = world.provider.free_busy([ada], *MARCH)[ada.connection_id]
        assert first.error is None and [(b.start, b.end) for b in first.busy] == [(_utc(1, 14), _utc(1, 15))]

        now[0] += 2 * 3600
        second = world.provider.free_busy([ada], *MARCH)[ada.connection_id]

        assert second.error is None and second.busy == first.busy
        assert [r["status"] for r in world.graph_requests("getSchedule")] == [200, 401, 200]
        assert [r["status"] for r in world.graph_requests("/oauth2/v2.0/token")] == [200, 200]  # sign-in, refresh
        assert len(world.saved) == 1 and ada.credentials == world.saved[0]  # the rotated refresh token is kept
        assert world.sleeps == []  # a refresh, not a retry


def test_short_lived_tokens_refresh_each_call_and_every_rotation_is_saved(world):
    world.emu.set_token_lifetime(60)  # MSAL refreshes tokens that expire within 5 minutes
    ada = world.account("ada@contoso.example")

    for _ in range(3):
        assert world.provider.free_busy([ada], *MARCH)[ada.connection_id].error is None

    assert len(world.saved) == 3 and len({c["msal_cache"] for c in world.saved}) == 3
    assert [r["status"] for r in world.graph_requests("/oauth2/v2.0/token")] == [200] * 4
    assert world.sleeps == []


def test_missing_write_permission_needs_reconnect(world):
    mentee = world.account("mentee@contoso.example", FREE_BUSY_SCOPES)

    with pytest.raises(ReconnectNeeded, match="permission"):
        world.provider.create_series(mentee, _spec(mentee.email))
    assert world.provider.watch(mentee, world.hook.url, "state") is None


# --- free/busy -----------------------------------------------------------------------------------------
def test_statuses_and_windows_longer_than_62_days(world):
    ada = world.account("ada@contoso.example")
    for day, status in ((1, "busy"), (2, "tentative"), (3, "oof"), (4, "workingElsewhere"), (5, "free")):
        world.emu.add_event(ada.email, status, _utc(day, 9), _utc(day, 10), show_as=status)
    world.emu.add_event(ada.email, "Later", _utc(20, 9, month=5), _utc(20, 10, month=5))

    busy = world.provider.free_busy([ada], MARCH[0], MARCH[0] + timedelta(days=100))[ada.connection_id].busy

    assert [b.start for b in busy] == [_utc(1, 9), _utc(2, 9), _utc(3, 9), _utc(20, 9, month=5)]
    assert len(world.graph_requests("getSchedule")) == 2


def test_personal_account_falls_back_to_calendar_view(world):
    sam = world.account("sam@outlook.com", FREE_BUSY_SCOPES, personal=True)
    world.emu.add_event(sam.email, "Private", _utc(1, 9), _utc(1, 10))
    world.emu.add_event(sam.email, "Called off", _utc(1, 11), _utc(1, 12), cancelled=True)
    world.emu.add_event(sam.email, "Lunch", _utc(1, 13), _utc(1, 14), show_as="free")

    result = world.provider.free_busy([sam], *MARCH)[sam.connection_id]

    assert [(b.start, b.end) for b in result.busy] == [(_utc(1, 9), _utc(1, 10))]
    assert world.graph_requests("getSchedule") == []
    view = world.graph_requests("/me/calendarView")
    assert len(view) == 1 and "%24select=start%2Cend%2CshowAs%2CisCancelled" in view[0]["query"]


def test_concurrent_reads_for_several_accounts(world):
    accounts = [world.account(f"p{i}@contoso.example") for i in range(6)]
    for i, acct in enumerate(accounts):
        world.emu.add_event(acct.email, "Busy", _utc(1, 8 + i), _utc(1, 9 + i))
    world.emu.expire_access_tokens()  # every thread refreshes (and rotates) at the same time

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda a: world.provider.free_busy([a], *MARCH)[a.connection_id], accounts))

    assert [r.busy[0].start for r in results] == [_utc(1, 8 + i) for i in range(6)]
    assert len(world.saved) == 6


def _busy_starts(result, account) -> list[datetime]:
    return [b.start for b in result[account.connection_id].busy]


def test_colleagues_of_one_tenant_share_one_token_and_its_windows_one_batch(world):
    people = [world.account(f"t{i}@contoso.example") for i in range(5)]
    world.emu.add_event(people[3].email, "Secret", _utc(1, 9), _utc(1, 10))
    world.emu.add_event(people[4].email, "Secret", _utc(20, 9, month=5), _utc(20, 10, month=5))
    world.emu.reset_logs()

    result = world.provider.free_busy(people, MARCH[0], MARCH[0] + timedelta(days=88))

    schedules = world.graph_requests("getSchedule")
    assert len(world.graph_requests("$batch")) == 1
    assert len(schedules) == 2 and all(r["batch_part"] for r in schedules)  # 88 days: two windows
    assert _busy_starts(result, people[3]) == [_utc(1, 9)]
    assert _busy_starts(result, people[4]) == [_utc(20, 9, month=5)]
    assert all(result[p.connection_id].busy == () for p in people[:3])
    assert "Secret" not in json.dumps([str(v) for v in result.values()])


def test_people_of_different_tenants_are_read_with_their_own_tokens(world):
    people = [world.account(f"o{i}@org{i}.example", tenant=f"org{i}") for i in range(3)]
    for i, person in enumerate(people):
        world.emu.add_event(person.email, "Busy", _utc(2, 8 + i), _utc(2, 9 + i))
    world.emu.reset_logs()

    result = world.provider.free_busy(people, *MARCH)

    assert [_busy_starts(result, p) for p in people] == [[_utc(2, 8 + i)] for i in range(3)]
    assert len(world.graph_requests("getSchedule")) == 3 and world.graph_requests("$batch") == []


def test_a_colleague_the_token_cannot_look_up_is_read_with_their_own_and_remembered(world):
    ann, bob = world.account("ann@contoso.example"), world.account("bob@contoso.example")
    world.emu.add_event(bob.email, "Busy", _utc(2, 9), _utc(2, 10))
    world.emu.hide_from_address_list(bob.email)
    world.emu.reset_logs()

    first = world.provider.free_busy([ann, bob], *MARCH)
    calls_first = len(world.graph_requests("getSchedule"))
    world.emu.reset_logs()
    second = world.provider.free_busy([ann, bob], *MARCH)

    assert first == second and _busy_starts(first, bob) == [_utc(2, 9)]
    assert calls_first == 2 and len(world.graph_requests("getSchedule")) == 2  # then each their own, at once


def test_a_throttled_request_inside_a_batch_waits_its_retry_after_and_is_sent_again_alone(world):
    people = [world.account(f"b{i}@contoso.example") for i in range(3)]
    world.emu.add_event(people[1].email, "Busy", _utc(20, 9, month=5), _utc(20, 10, month=5))
    world.emu.reset_logs()
    world.emu.fail_next(429, retry_after=3, path_contains="getSchedule")

    result = world.provider.free_busy(people, MARCH[0], MARCH[0] + timedelta(days=88))

    assert world.sleeps == [3.0] and _busy_starts(result, people[1]) == [_utc(20, 9, month=5)]
    batches = world.graph_requests("$batch")
    assert [b["status"] for b in batches] == [200, 200]
    assert [r["status"] for r in world.graph_requests("getSchedule")] == [429, 200, 200]


def test_a_spent_mailbox_quota_raises_rate_limited_with_its_retry_after(world):
    ada = world.account("ada@contoso.example")
    world.emu.set_quota(1, window=60)
    world.provider.free_busy([ada], *MARCH)

    with pytest.raises(RateLimited) as caught:
        world.provider.free_busy([ada], *MARCH)

    assert 1 <= caught.value.retry_after <= 60 and world.sleeps and all(1 <= s <= 60 for s in world.sleeps)


# --- series ------------------------------------------------------------------------------------------
def test_lost_create_reply_is_retried_with_the_same_transaction_id(world):
    ada = world.account("ada@contoso.example")
    world.emu.fail_next(504, path_contains="/me/events", after=True)

    ref = world.provider.create_series(ada, _spec(ada.email))

    events = world.emu.events(ada.email)
    assert len(events) == 1 and events[0].id == ref.event_id
    assert events[0].transaction_id == transaction_id("series-1")
    assert events[0].extended == {TAG_PROPERTY_ID: "series-1"}
    assert ref.video_url and ref.video_url.startswith("https://teams.microsoft.com/")
    assert [r["status"] for r in world.graph_requests("/me/events")] == [504, 201]


@pytest.mark.parametrize("rrule, expected", [
    ("FREQ=WEEKLY;INTERVAL=2;COUNT=3;BYDAY=TU", [_utc(2, 15), _utc(16, 14), _utc(30, 14)]),
    ("FREQ=MONTHLY;BYDAY=1TU;COUNT=3", [_utc(2, 15), _utc(6, 14, month=4), _utc(4, 14, month=5)]),
    ("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=1;COUNT=2", [_utc(2, 15), _utc(6, 14, month=4)]),
])
def test_biweekly_and_monthly_nth_weekday_series(world, rrule, expected):
    ada = world.account("ada@contoso.example")
    ref = world.provider.create_series(ada, _spec(ada.email, rrule))

    state = world.provider.get_series(ada, ref.event_id, _utc(1, 0), _utc(1, 0, month=6))

    assert [o.start for o in state.occurrences] == expected
    pattern = world.emu.events(ada.email)[0].recurrence.raw["pattern"]
    assert pattern["type"] == ("weekly" if "WEEKLY" in rrule else "relativeMonthly")


@pytest.mark.parametrize("tz", ["Australia/Sydney", "Asia/Kathmandu", "Pacific/Apia", "Europe/London"])
def test_wall_clock_series_in_edge_case_zones(world, tz):
    """Sydney leaves summer time on 4 April 2027, London enters it on 28 March; Kathmandu is
    +05:45; Apia has no DST any more. Each occurrence stays at 18:30 local."""
    ada = world.account("ada@contoso.example")
    spec = SeriesSpec(series_key=f"edge-{tz}", title="Mentoring", description="Agenda", organizer_email=ada.email,
                      attendee_emails=("mentee@example.org",), start_local=datetime(2027, 3, 22, 18, 30), tz=tz,
                      duration_min=60, rrule="FREQ=WEEKLY;COUNT=4;BYDAY=MO")
    ref = world.provider.create_series(ada, spec)

    state = world.provider.get_series(ada, ref.event_id, _utc(15, 0), _utc(1, 0, month=5))

    zone = ZoneInfo(tz)
    expected = [datetime(2027, 3, 22, 18, 30, tzinfo=zone) + timedelta(weeks=n) for n in range(4)]
    assert [o.start for o in state.occurrences] == [e.astimezone(UTC) for e in expected]


def test_re_creating_a_cancelled_series_reports_the_cancellation_not_success(world):
    ada = world.account("ada@contoso.example")
    ref = world.provider.create_series(ada, _spec(ada.email))
    world.provider.cancel_series(ada, ref.event_id)

    with pytest.raises(CancelledBefore, match="cancelled") as caught:
        world.provider.create_series(ada, _spec(ada.email))

    assert caught.value.retryable is False and len(world.emu.events(ada.email)) == 1


@pytest.mark.parametrize("tz, windows", [("Asia/Kolkata", "India Standard Time"),
                                         ("Asia/Kathmandu", "Nepal Standard Time"),
                                         ("Asia/Calcutta", "India Standard Time"),
                                         ("Europe/Madrid", "Romance Standard Time"),
                                         ("America/Toronto", "Eastern Standard Time")])
def test_people_book_on_outlook_with_the_windows_name_of_their_zone(world, tz, windows):
    """Graph's create/update take Windows ids and a few IANA names: Tandem writes Windows ids, so a
    person in India, Nepal or Madrid (which Graph's IANA list lacks) books like anyone else."""
    ada = world.account("ada@contoso.example")
    spec = SeriesSpec(series_key=f"zone-{tz}", title="Mentoring", description="Agenda", organizer_email=ada.email,
                      attendee_emails=("mentee@example.org",), start_local=datetime(2027, 3, 22, 18, 30), tz=tz,
                      duration_min=60, rrule="FREQ=WEEKLY;COUNT=4;BYDAY=MO")

    ref = world.provider.create_series(ada, spec)

    [event] = world.emu.events(ada.email)
    assert (event.start_zone, event.end_zone, event.recurrence.raw["range"]["recurrenceTimeZone"]) == (windows,) * 3
    state = world.provider.get_series(ada, ref.event_id, _utc(15, 0), _utc(1, 0, month=5))
    expected = [datetime(2027, 3, 22, 18, 30, tzinfo=ZoneInfo(tz)) + timedelta(weeks=n) for n in range(4)]
    assert [o.start for o in state.occurrences] == [e.astimezone(UTC) for e in expected]


def test_the_graph_emulator_refuses_a_zone_graph_does_not_list(world):
    ada = world.account("ada@contoso.example")
    token = next(iter(world.emu.store.access_tokens))
    body = {"subject": "x", "start": {"dateTime": "2027-03-02T10:00:00", "timeZone": "Europe/Madrid"},
            "end": {"dateTime": "2027-03-02T11:00:00", "timeZone": "Europe/Madrid"}}

    reply = world.session.post(f"{world.emu.graph_url}/me/events", json=body,
                               headers={"Authorization": "Bearer " + token})

    assert reply.status_code == 400 and reply.json()["error"]["code"] == "TimeZoneNotSupportedException"
    assert "'Europe/Madrid'" in reply.json()["error"]["message"] and not world.emu.events(ada.email)


def test_windows_zone_table_is_cldr_and_keeps_each_clock():
    table = microsoft_zones.cldr_table()
    assert set(table.values()) <= set(WINDOWS_TO_OLSON)
    assert all(table[iana] == windows for windows, iana in WINDOWS_TO_OLSON.items())  # CLDR's 001 rows
    assert table["Asia/Kolkata"] == table["Asia/Calcutta"] == "India Standard Time"  # tzdata old names linked
    assert table["Asia/Kathmandu"] == table["Asia/Katmandu"] == "Nepal Standard Time"
    # a zone whose clock moved after CLDR's mapping gets a Windows zone keeping today's clock
    almaty = microsoft_zones.windows_zone("Asia/Almaty", today=datetime(2027, 1, 1, tzinfo=UTC))
    assert ZoneInfo(WINDOWS_TO_OLSON[almaty]).utcoffset(datetime(2027, 6, 1)) == timedelta(hours=5)
    with pytest.raises(UnknownTimeZone, match="not an IANA zone"):
        microsoft_zones.windows_zone("Mars/Olympus_Mons")
    result = doctest.testmod(microsoft_zones)
    assert result.attempted > 0 and result.failed == 0


def test_cancelled_occurrence_is_reported_as_cancelled(world):
    ada = world.account("ada@contoso.example")
    ref = world.provider.create_series(ada, _spec(ada.email))

    world.provider.cancel_occurrence(ada, ref.event_id, _utc(16, 14))
    state = world.provider.get_series(ada, ref.event_id, _utc(1, 0), _utc(15, 0, month=4))

    assert [o.original_start for o in state.occurrences if o.cancelled] == [_utc(16, 14)]
    assert len(state.occurrences) == 6


def test_windows_zone_names_in_replies_are_mapped(world):
    ada = world.account("ada@contoso.example")
    spec = SeriesSpec(series_key="berlin", title="Mentoring", description="Agenda", organizer_email=ada.email,
                      attendee_emails=("mentee@example.org",), start_local=datetime(2027, 3, 23, 9),
                      tz="Europe/Berlin", duration_min=30, rrule="FREQ=WEEKLY;COUNT=3;BYDAY=TU")
    ref = world.provider.create_series(ada, spec)
    world.provider.cancel_occurrence(ada, ref.event_id, _utc(30, 7))  # after the EU switch to summer time
    raw = world.session.get(f"{world.emu.graph_url}/me/events/{ref.event_id}", headers={
        "Authorization": "Bearer " + next(iter(world.emu.store.access_tokens))}).json()
    assert raw["recurrence"]["range"]["recurrenceTimeZone"] == "W. Europe Standard Time"

    state = world.provider.get_series(ada, ref.event_id, _utc(1, 0), _utc(30, 0, month=4))

    assert [(o.original_start, o.cancelled) for o in state.occurrences] == [
        (_utc(23, 8), False), (_utc(30, 7), True), (_utc(6, 7, month=4), False)]


def test_attendee_answers_are_mapped(world):
    ada = world.account("ada@contoso.example")
    ref = world.provider.create_series(ada, _spec(ada.email))
    world.emu.respond(ada.email, ref.event_id, "mentee@example.org", "tentativelyAccepted")

    assert world.provider.get_series(ada, ref.event_id, *MARCH).attendees == {"mentee@example.org": "tentative"}


def test_booked_series_reaches_the_mentee_calendar_when_invitations_are_delivered(world):
    world.emu.set_deliver_invitations(True)
    mentor = world.account("mentor@contoso.example")
    mentee = world.account("mentee@contoso.example", FREE_BUSY_SCOPES)
    spec = SeriesSpec(series_key="pair-1", title="Mentoring", description="Agenda", organizer_email=mentor.email,
                      attendee_emails=(mentee.email,), start_local=datetime(2027, 3, 2, 10),
                      tz="America/New_York", duration_min=45, rrule="FREQ=WEEKLY;COUNT=3;BYDAY=TU")
    ref = world.provider.create_series(mentor, spec)
    sessions = [_utc(2, 15), _utc(9, 15), _utc(16, 14)]

    busy = world.provider.free_busy([mentee], _utc(1, 0), _utc(20, 0))[mentee.connection_id].busy
    assert [b.start for b in busy] == sessions  # tentative until answered: still not free

    world.emu.respond(mentor.email, ref.event_id, mentee.email, "accepted")
    world.provider.cancel_occurrence(mentor, ref.event_id, sessions[1])

    assert world.provider.get_series(mentor, ref.event_id, *MARCH).attendees == {mentee.email: "accepted"}
    busy = world.provider.free_busy([mentee], _utc(1, 0), _utc(20, 0))[mentee.connection_id].busy
    assert [b.start for b in busy] == [sessions[0], sessions[2]]


# --- watches and revoke ----------------------------------------------------------------------------------
def test_watch_renew_notify_and_stop(world):
    ada = world.account("ada@contoso.example")

    watch = world.provider.watch(ada, world.hook.url, "client-state-1")
    assert watch is not None and watch.token == "client-state-1"
    world.provider.create_series(ada, _spec(ada.email))
    world.emu.flush_notifications()
    assert world.hook.notifications[-1]["value"][0]["clientState"] == "client-state-1"

    renewed = world.provider.renew_watch(ada, watch, timedelta(days=2))
    assert renewed.watch_id == watch.watch_id and renewed.expires_at < watch.expires_at
    world.provider.stop_watch(ada, watch)
    world.provider.stop_watch(ada, watch)  # already gone: fine
    assert world.emu.subscriptions() == []


def test_revoke_forgets_tokens(world):
    ada = world.account("ada@contoso.example")

    world.provider.revoke(ada)

    assert world.saved[-1]["home_account_id"] == ""
    assert world.provider.free_busy([ada], *MARCH)[ada.connection_id].error.startswith("reconnect_needed")
