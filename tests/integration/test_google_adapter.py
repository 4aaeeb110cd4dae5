"""GoogleCalendarProvider through the real Google client libraries against the emulator:
batching and chunking, idempotent creation, error mapping and retries, token refresh, sync,
push channels, and the OAuth consent flow (Flow + PKCE) end to end."""
from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask, request
from werkzeug.serving import make_server

from adapters.providers.google import MAX_WINDOW, SERIES_TAG, event_id_for
from adapters.providers.google_errors import BatchEndpointFailed, CancelledBefore
from adapters.providers.google_oauth import (EVENTS_OWNED_SCOPE, FREEBUSY_SCOPE, GoogleOAuthConfig,
                                             finish_authorization, start_authorization)
from emulators.google import GoogleEmulator
from scheduler.errors import NotFound, ProviderUnavailable, RateLimited, ReconnectNeeded, SyncTokenExpired
from scheduler.ports import CalendarAccount, FreeBusy, SeriesSpec
from tests.contract.harness_google import provider_for

UTC = timezone.utc
REDIRECT_URI = "http://127.0.0.1:8000/connect/google/callback"


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2027, month, day, hour, tzinfo=UTC)


def spec(organizer: str, key: str = "series-1", video: bool = True) -> SeriesSpec:
    return SeriesSpec(series_key=key, title="Mentoring", description="Agenda: goals", organizer_email=organizer,
                      attendee_emails=("mentee@example.org",), start_local=datetime(2027, 3, 2, 10),
                      tz="America/New_York", duration_min=45, rrule="FREQ=WEEKLY;COUNT=6;BYDAY=TU", video=video)


@pytest.fixture
def emu():
    with GoogleEmulator() as emulator:
        yield emulator


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def provider(emu, sleeps):
    return provider_for(emu, sleep=sleeps.append)


@pytest.fixture
def saved():
    return []


@pytest.fixture
def account(emu, saved):
    def make(email: str = "ada@example.org", **credentials) -> CalendarAccount:
        return CalendarAccount(connection_id=f"c-{email}", provider="google", email=email,
                               credentials=emu.grant(email) | credentials, on_credentials_changed=saved.append)
    return make


def api_requests(emu: GoogleEmulator, path_part: str = "/calendar/v3") -> list:
    return [r for r in emu.request_log if path_part in r.path]


# --- free/busy ---------------------------------------------------------------------------------
def test_long_window_is_queried_in_90_day_chunks_in_one_batch_and_merged(emu, provider, account):
    ada = account()
    emu.add_event(ada.email, at(1, 1) + MAX_WINDOW - timedelta(hours=1), at(1, 1) + MAX_WINDOW + timedelta(hours=1), "Secret")

    result = provider.free_busy([ada], at(1, 1), at(1, 1) + MAX_WINDOW * 2 + timedelta(days=30))[ada.connection_id]

    queries = [r for r in api_requests(emu, "/freeBusy")]
    assert [(i.start, i.end) for i in result.busy] == [(at(1, 1) + MAX_WINDOW - timedelta(hours=1),
                                                         at(1, 1) + MAX_WINDOW + timedelta(hours=1))]
    assert len(queries) == 3 and all(q.batch_part for q in queries)
    assert len(api_requests(emu, "/batch/")) == 1
    spans = [datetime.fromisoformat(q.body["timeMax"]) - datetime.fromisoformat(q.body["timeMin"]) for q in queries]
    assert max(spans) <= MAX_WINDOW


def test_people_of_different_organisations_are_queried_in_one_batch_each_with_their_own_token(emu, provider, account):
    ada, bob = account(), account("bob@example.net")
    emu.add_event(bob.email, at(3, 20, 9), at(3, 20, 10), "Secret")

    result = provider.free_busy([ada, bob], at(1, 1), at(1, 1) + timedelta(days=90))

    queries = api_requests(emu, "/freeBusy")
    assert len(queries) == 2 and all(q.batch_part for q in queries)  # one per consent, one HTTP batch
    assert len(api_requests(emu, "/batch/")) == 1
    assert sorted(item["id"] for q in queries for item in q.body["items"]) == ["primary", "primary"]
    assert all(datetime.fromisoformat(q.body["timeMax"]) - datetime.fromisoformat(q.body["timeMin"])
               == timedelta(days=90) for q in queries)
    assert [(i.start, i.end) for i in result[bob.connection_id].busy] == [(at(3, 20, 9), at(3, 20, 10))]
    assert result[ada.connection_id] == FreeBusy()


def test_colleagues_of_one_workspace_domain_share_one_query(emu, provider, account):
    people = [account(f"p{n}@acme.example") for n in range(6)]
    emu.add_event("p4@acme.example", at(3, 2, 9), at(3, 2, 10), "Secret")

    result = provider.free_busy(people, at(3, 1), at(3, 1) + timedelta(days=88))

    [query] = api_requests(emu, "/freeBusy")
    assert not query.batch_part and len(query.body["items"]) == 6
    assert [(i.start, i.end) for i in result["c-p4@acme.example"].busy] == [(at(3, 2, 9), at(3, 2, 10))]
    assert all(result[p.connection_id] == FreeBusy() for p in people if p.email != "p4@acme.example")


def test_a_colleague_whose_calendar_is_not_shared_is_read_with_their_own_token_and_remembered(emu, provider,
                                                                                              account):
    people = [account("ann@acme.example"), account("bob@acme.example"), account("cy@gmail.com")]
    emu.add_event("bob@acme.example", at(3, 2, 9), at(3, 2, 10), "Secret")
    emu.private_domains.add("acme.example")  # this organisation does not share free/busy inside

    first = provider.free_busy(people, at(3, 1), at(3, 8))
    calls_first = len(api_requests(emu, "/freeBusy"))
    emu.request_log.clear()
    second = provider.free_busy(people, at(3, 1), at(3, 8))

    assert first == second and all(answer.error is None for answer in first.values())
    assert [(i.start, i.end) for i in first["c-bob@acme.example"].busy] == [(at(3, 2, 9), at(3, 2, 10))]
    assert calls_first == 3  # ann's shared query (bob: notFound) and cy's, then bob's own
    assert len(api_requests(emu, "/freeBusy")) == 3 and len(api_requests(emu, "/batch/")) == 1


def test_lost_consent_of_the_colleague_who_leads_a_shared_query_falls_back_to_each_own_token(emu, provider,
                                                                                              account, sleeps):
    ann, bob = account("ann@acme.example"), account("bob@acme.example")
    emu.revoke(ann.email)

    result = provider.free_busy([ann, bob], at(3, 1), at(3, 8))

    assert result[ann.connection_id].error.startswith("reconnect_needed")
    assert result[bob.connection_id] == FreeBusy() and sleeps == []


def test_rate_limits_inside_a_batch_of_many_people_share_one_wait(emu, provider, account, sleeps):
    people = [account(f"p{n}@org{n}.example") for n in range(4)]
    emu.faults.add("rate_limit", count=3, retry_after=2, batch_parts=True)

    result = provider.free_busy(people, at(3, 1), at(3, 8))

    assert all(answer == FreeBusy() for answer in result.values())
    assert sleeps == [2.0]  # one shared wait, not one per person
    assert [r.status for r in api_requests(emu, "/freeBusy")] == [429, 429, 429, 200, 200, 200, 200]


def test_a_spent_quota_is_waited_out_by_its_retry_after_then_raised(emu, provider, account, sleeps):
    ada = account()
    emu.set_quota(1, window_s=60)
    provider.free_busy([ada], at(3, 1), at(3, 8))

    with pytest.raises(RateLimited) as caught:
        provider.free_busy([ada], at(3, 1), at(3, 8))

    assert 1 <= caught.value.retry_after <= 60
    assert sleeps and all(1 <= wait <= 60 for wait in sleeps)  # the waits are the quota's own Retry-After


def test_a_404_from_the_batch_endpoint_is_its_failure_not_a_missing_calendar(emu, account):
    ada = account()
    broken = provider_for(emu, batch_uri=emu.batch_uri + "/nowhere")

    with pytest.raises(BatchEndpointFailed, match="batch endpoint"):
        broken.free_busy([ada], at(1, 1), at(1, 1) + MAX_WINDOW * 2)


def test_more_than_50_chunks_take_two_batches(emu, provider, account):
    ada = account()

    provider.free_busy([ada], at(1, 1), at(1, 1) + MAX_WINDOW * 51 + timedelta(days=1))

    batches = api_requests(emu, "/batch/")
    assert len(batches) == 2 and len(api_requests(emu, "/freeBusy")) == 52


def test_empty_window_asks_nothing(emu, provider, account):
    ada = account()

    result = provider.free_busy([ada], at(3, 1), at(3, 1))

    assert result == {ada.connection_id: FreeBusy()} and api_requests(emu) == []


def test_calendar_with_errors_is_unknown_not_free(emu, provider, account):
    ada, bob = account("ada@example.org"), account("bob@example.org")
    emu.free_busy_errors["bob@example.org"] = "internalError"

    result = provider.free_busy([ada, bob], at(3, 1), at(3, 8))

    assert result[ada.connection_id].error is None
    assert result[bob.connection_id].busy == () and "internalError" in result[bob.connection_id].error


def test_wire_never_carries_titles_of_other_events(emu, provider, account):
    ada = account()
    emu.add_event(ada.email, at(3, 1, 9), at(3, 1, 10), "Secret-Oncology", rrule="FREQ=DAILY;COUNT=5")
    ref = provider.create_series(ada, spec(ada.email))

    provider.free_busy([ada], at(3, 1), at(3, 8))
    cursor = provider.changes(ada, None).cursor
    emu.add_event(ada.email, at(3, 2, 12), at(3, 2, 13), "Secret-Lawyer")
    provider.changes(ada, cursor)
    provider.get_series(ada, ref.event_id, at(3, 1), at(4, 15))

    secrets = emu.store.secret_titles()
    assert secrets == {"Secret-Oncology", "Secret-Lawyer"}
    assert not [body for body in emu.response_log if any(title in body for title in secrets)]


# --- faults and retries ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["rate_limit", "rate_limit_403", "user_rate_limit"])
def test_rate_limit_with_retry_after_is_waited_out_then_succeeds(emu, provider, account, sleeps, kind):
    ada = account()
    emu.add_event(ada.email, at(3, 1, 9), at(3, 1, 10), "Busy")
    emu.faults.add(kind, count=1, retry_after=2)

    result = provider.free_busy([ada], at(3, 1), at(3, 8))[ada.connection_id]

    assert [(i.start, i.end) for i in result.busy] == [(at(3, 1, 9), at(3, 1, 10))]
    assert sleeps == [2.0]


def test_persistent_rate_limit_raises_rate_limited_with_retry_after(emu, provider, account):
    ada = account()
    emu.faults.add("rate_limit", count=None, retry_after=7)

    with pytest.raises(RateLimited) as raised:
        provider.get_series(ada, "abcdefgh", at(3, 1), at(3, 8))

    assert raised.value.retry_after == 7.0


def test_server_errors_are_retried_then_succeed(emu, provider, account, sleeps):
    ada = account()
    emu.faults.add("unavailable", count=1)
    emu.faults.add("server_error", count=1)

    ref = provider.create_series(ada, spec(ada.email))

    assert ref.event_id == event_id_for("series-1") and len(sleeps) == 2


def test_slow_reply_times_out_as_unavailable_and_is_retried(emu, account, sleeps):
    provider = provider_for(emu, sleep=sleeps.append, timeout_s=0.3)
    ada = account()
    emu.faults.add("slow", count=1, delay=1.0)

    result = provider.free_busy([ada], at(3, 1), at(3, 8))

    assert result[ada.connection_id].error is None and len(sleeps) == 1


def test_slow_replies_that_never_end_raise_provider_unavailable(emu, account):
    provider = provider_for(emu, sleep=lambda s: None, timeout_s=0.2)
    ada = account()
    emu.faults.add("slow", count=None, delay=0.5)

    with pytest.raises(ProviderUnavailable):
        provider.get_series(ada, "abcdefgh", at(3, 1), at(3, 8))


def test_lost_insert_reply_is_retried_into_a_409_and_read_back(emu, provider, account):
    ada = account()
    emu.faults.add("unavailable", count=1, when="after", path_contains="/events")

    ref = provider.create_series(ada, spec(ada.email))

    statuses = [r.status for r in api_requests(emu, "/events") if r.method == "POST"]
    assert statuses == [503, 409]  # the insert was done, its reply lost; the retry hits the same id
    assert len(emu.events(ada.email)) == 1 and ref.video_url and ref.video_url.startswith("https://meet.google.com/")


def test_re_creating_a_cancelled_series_reports_the_cancellation_not_success(emu, provider, account):
    ada = account()
    ref = provider.create_series(ada, spec(ada.email))
    provider.cancel_series(ada, ref.event_id)

    with pytest.raises(CancelledBefore, match="cancelled") as caught:
        provider.create_series(ada, spec(ada.email))

    assert caught.value.retryable is False
    assert [r.status for r in api_requests(emu, "/events") if r.method == "POST"][-1] == 409


def test_revoked_consent_is_reconnect_needed_and_not_retried(emu, provider, account, sleeps):
    ada = account()
    emu.revoke(ada.email)

    with pytest.raises(ReconnectNeeded):
        provider.create_series(ada, spec(ada.email))
    free_busy = provider.free_busy([ada], at(3, 1), at(3, 8))[ada.connection_id]

    assert sleeps == []
    assert free_busy.busy == () and free_busy.error.startswith("reconnect_needed")
    assert [r.status for r in emu.request_log if r.path == "/token"] == [400, 400]  # one refresh per call


def test_missing_scope_is_reconnect_needed(emu, provider, saved):
    ada = CalendarAccount("c-ada", "google", "ada@example.org",
                          credentials=emu.grant("ada@example.org", ("openid", FREEBUSY_SCOPE)))

    with pytest.raises(ReconnectNeeded, match="lacks calendar access"):
        provider.create_series(ada, spec(ada.email))


# --- tokens --------------------------------------------------------------------------------------
def test_server_side_expired_token_is_refreshed_once_and_handed_to_the_caller(emu, provider, account, saved):
    ada = account()
    old = dict(ada.credentials)
    emu.expire_tokens(ada.email)

    provider.free_busy([ada], at(3, 1), at(3, 8))

    assert len(saved) == 1 and saved[0]["token"] != old["token"]
    assert saved[0]["refresh_token"] == old["refresh_token"] and ada.credentials == saved[0]
    assert [r.status for r in emu.request_log if r.path == "/token"] == [200]


def test_token_endpoint_outage_is_unavailable_not_reconnect(emu, provider, account, saved, sleeps):
    ada = account()
    emu.expire_tokens(ada.email)
    # google-auth itself tries the token endpoint 3 times (about 3 s of real backoff) before giving up
    emu.faults.add("unavailable", count=3, target="token")

    result = provider.free_busy([ada], at(3, 1), at(3, 8))[ada.connection_id]

    assert result.error is None and len(sleeps) == 1  # our retry after google-auth gave up
    assert [r.status for r in emu.request_log if r.path == "/token"] == [503, 503, 503, 200]
    assert len(saved) == 1


def test_token_past_its_expiry_is_refreshed_before_the_call(emu, provider, account, saved):
    ada = account(expiry=(datetime.now(UTC) - timedelta(minutes=5)).replace(tzinfo=None).isoformat())

    provider.get_series(ada, provider.create_series(ada, spec(ada.email)).event_id, at(3, 1), at(3, 8))

    assert len(saved) == 1
    assert not [r for r in api_requests(emu) if r.status == 401]


# --- series --------------------------------------------------------------------------------------
def test_created_event_has_deterministic_id_zone_tag_attendee_and_meet_link(emu, provider, account):
    ada = account()

    ref = provider.create_series(ada, spec(ada.email))
    again = provider.create_series(ada, spec(ada.email))

    [stored] = emu.events(ada.email)
    assert ref == again and re.fullmatch(r"[0-9a-v]{5,1024}", ref.event_id)
    assert stored["start"] == {"dateTime": "2027-03-02T10:00:00-05:00", "timeZone": "America/New_York"}
    assert stored["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=6;BYDAY=TU"]
    assert stored["extendedProperties"]["private"][SERIES_TAG] == "series-1"
    assert [a["email"] for a in stored["attendees"]] == ["mentee@example.org"]
    assert ref.video_url == stored["hangoutLink"]


def test_pending_meet_link_is_polled_until_ready(emu, provider, account, sleeps):
    ada = account()
    emu.meet_pending_reads = 2

    ref = provider.create_series(ada, spec(ada.email))

    assert ref.video_url and ref.video_url == emu.events(ada.email)[0]["hangoutLink"]
    assert sleeps == [0.5, 1.0]


def test_meet_link_still_pending_gives_none_and_a_later_call_gets_it(emu, provider, account):
    ada = account()
    emu.meet_pending_reads = 4

    first = provider.create_series(ada, spec(ada.email))
    later = provider.create_series(ada, spec(ada.email))

    assert first.video_url is None and later.video_url.startswith("https://meet.google.com/")


def test_series_without_video_has_no_meet_link(emu, provider, account):
    ada = account()

    ref = provider.create_series(ada, spec(ada.email, video=False))

    assert ref.video_url is None and "conferenceData" not in emu.events(ada.email)[0]


def test_moving_one_occurrence_stores_one_instance_exception(emu, provider, account):
    ada = account()
    ref = provider.create_series(ada, spec(ada.email))

    provider.move_occurrence(ada, ref.event_id, at(3, 16, 14), at(3, 17, 18), at(3, 17, 18) + timedelta(minutes=45))

    exceptions = [e for e in emu.events(ada.email) if e.get("recurringEventId")]
    assert [e["id"] for e in exceptions] == [f"{ref.event_id}_20270316T140000Z"]
    with pytest.raises(NotFound):
        provider.cancel_occurrence(ada, ref.event_id, at(3, 16, 15))


def test_attendee_decline_is_read_back(emu, provider, account):
    ada = account()
    ref = provider.create_series(ada, spec(ada.email))
    emu.set_response(ada.email, ref.event_id, "mentee@example.org", "declined")

    state = provider.get_series(ada, ref.event_id, at(3, 1), at(4, 15))

    assert state.attendees == {"mentee@example.org": "declined"}


# --- changes and push ------------------------------------------------------------------------
def test_stale_sync_token_raises_and_a_full_resync_recovers(emu, provider, account):
    ada = account()
    ref = provider.create_series(ada, spec(ada.email))
    cursor = provider.changes(ada, None).cursor
    emu.invalidate_sync_tokens(ada.email)

    with pytest.raises(SyncTokenExpired):
        provider.changes(ada, cursor)
    fresh = provider.changes(ada, None)

    assert fresh.full_resync and fresh.changed_event_ids == (ref.event_id,)


def test_changes_follow_pages_and_map_instances_to_their_series(emu, provider, account):
    ada = account()
    for n in range(260):  # more than one page of 250
        emu.add_event(ada.email, at(3, 1, 9) + timedelta(hours=n), at(3, 1, 10) + timedelta(hours=n), "Other")
    ref = provider.create_series(ada, spec(ada.email))
    full = provider.changes(ada, None)

    provider.cancel_occurrence(ada, ref.event_id, at(3, 23, 14))
    changes = provider.changes(ada, full.cursor)

    assert full.changed_event_ids == (ref.event_id,) and full.full_resync
    full_listing = [r for r in emu.request_log if r.path.endswith("/events") and r.method == "GET"
                    and "syncToken" not in r.query]
    assert [("pageToken" in r.query) for r in full_listing] == [False, True]
    assert changes.changed_event_ids == (ref.event_id,) and not changes.full_resync


class _Webhook:
    """A loopback receiver for push notifications."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.arrived = threading.Condition()
        app = Flask("webhook")

        @app.post("/hook")
        def hook():
            with self.arrived:
                self.received.append(dict(request.headers))
                self.arrived.notify_all()
            return "", 200
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "_Webhook":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int) -> list[dict]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout=5)
            return list(self.received)


def test_watch_delivers_sync_and_exists_with_our_token_until_stopped(emu, provider, account):
    ada = account()
    with _Webhook() as hook:
        watch = provider.watch(ada, hook.url, "secret-channel-token")
        provider.create_series(ada, spec(ada.email))
        got = hook.wait_for(2)
        provider.stop_watch(ada, watch)
        provider.stop_watch(ada, watch)  # stopping twice is fine
        provider.update_description(ada, event_id_for("series-1"), "Agenda: after stop")
        emu.wait_for_deliveries(3, timeout=0.5)

    assert [h["X-Goog-Resource-State"] for h in got] == ["sync", "exists"]
    assert {h["X-Goog-Channel-Token"] for h in got} == {"secret-channel-token"}
    assert {h["X-Goog-Channel-Id"] for h in got} == {watch.watch_id}
    assert got[1]["X-Goog-Resource-Id"] == watch.resource_id and got[1]["X-Goog-Message-Number"] == "2"
    assert len(emu.deliveries) == 2
    assert watch.expires_at > datetime.now(UTC) + timedelta(days=6)


# --- OAuth consent flow --------------------------------------------------------------------------
class _ConsentForm(HTMLParser):
    """Reads the consent page: form action, hidden/checked inputs, and the Allow button."""

    def __init__(self) -> None:
        super().__init__()
        self.action, self.fields, self.buttons = "", [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a["action"]
        elif tag == "input" and (a.get("type") in ("hidden", "email") or "checked" in a):
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "button":
            self.buttons.append((a["name"], a["value"]))


@pytest.fixture
def oauth(emu, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # plain-http loopback emulator, tests only
    http = requests.Session()
    http.trust_env = False
    yield GoogleOAuthConfig.for_emulator(emu.base_url, REDIRECT_URI, emu.client_id, emu.client_secret), http
    http.close()


def consent(http: requests.Session, emu: GoogleEmulator, url: str, *, decision: str = "allow",
            drop_scope: str | None = None) -> dict:
    page = http.get(url)
    form = _ConsentForm()
    form.feed(page.text)
    assert page.status_code == 200 and ("decision", "allow") in form.buttons
    fields = [(k, v) for k, v in form.fields if not (k == "granted_scope" and v == drop_scope)]
    reply = http.post(emu.base_url + form.action, data=fields + [("decision", decision)], allow_redirects=False)
    assert reply.status_code == 302 and reply.headers["Location"].startswith(REDIRECT_URI)
    return {k: v[0] for k, v in parse_qs(urlsplit(reply.headers["Location"]).query).items()}


def test_consent_flow_with_pkce_gives_working_credentials_that_refresh(emu, oauth, saved):
    config, http = oauth
    start = start_authorization(config, login_hint="Ada@Example.org")
    query = parse_qs(urlsplit(start.url).query)

    args = consent(http, emu, start.url)
    connection = finish_authorization(config, saved_state=start.state, code_verifier=start.code_verifier,
                                      callback_args=args)

    assert query["code_challenge_method"] == ["S256"] and query["access_type"] == ["offline"]
    assert query["prompt"] == ["consent"] and query["state"] == [start.state]
    assert connection.email == "ada@example.org" and connection.missing_scopes == ()
    assert connection.credentials["refresh_token"]
    provider = provider_for(emu)
    ada = CalendarAccount("c-ada", "google", connection.email, credentials=connection.credentials,
                          on_credentials_changed=saved.append)
    assert provider.free_busy([ada], at(3, 1), at(3, 8))[ada.connection_id].error is None
    emu.expire_tokens(ada.email)
    assert provider.free_busy([ada], at(3, 1), at(3, 8))[ada.connection_id].error is None
    assert len(saved) == 1 and saved[0]["token"] != connection.credentials["token"]


def test_partial_consent_reports_the_missing_scope(emu, oauth):
    config, http = oauth
    start = start_authorization(config, login_hint="ada@example.org")

    connection = finish_authorization(config, saved_state=start.state, code_verifier=start.code_verifier,
                                      callback_args=consent(http, emu, start.url, drop_scope=EVENTS_OWNED_SCOPE))

    assert connection.missing_scopes == (EVENTS_OWNED_SCOPE,)
    assert connection.can_read_free_busy and not connection.can_write_events


def test_denied_consent_and_wrong_state_need_a_new_attempt(emu, oauth):
    config, http = oauth
    start = start_authorization(config, login_hint="ada@example.org")
    denied = consent(http, emu, start.url, decision="deny")
    other = start_authorization(config, login_hint="ada@example.org")

    with pytest.raises(ReconnectNeeded, match="not allowed"):
        finish_authorization(config, saved_state=start.state, code_verifier=start.code_verifier, callback_args=denied)
    with pytest.raises(ReconnectNeeded, match="did not match"):
        finish_authorization(config, saved_state=start.state, code_verifier=start.code_verifier,
                             callback_args=consent(http, emu, other.url))


def test_code_with_the_wrong_verifier_is_refused(emu, oauth):
    config, http = oauth
    start = start_authorization(config, login_hint="ada@example.org")

    with pytest.raises(ReconnectNeeded, match="invalid_grant"):
        finish_authorization(config, saved_state=start.state, code_verifier="x" * 64,
                             callback_args=consent(http, emu, start.url))


def test_revoke_ends_access(emu, provider, account):
    ada = account()
    provider.revoke(ada)
    emu.expire_tokens(ada.email)

    with pytest.raises(ReconnectNeeded):
        provider.get_series(ada, "abcdefgh", at(3, 1), at(3, 8))


def test_a_failed_call_inside_a_batch_is_retried_alone(emu, provider, account, sleeps):
    ada = account()
    emu.faults.add("rate_limit", count=1, retry_after=1, batch_parts=True)

    result = provider.free_busy([ada], at(1, 1), at(1, 1) + MAX_WINDOW * 2 + timedelta(days=30))[ada.connection_id]

    parts_per_batch, running = [], 0
    for record in emu.request_log:  # parts are logged as they finish, before their batch
        if record.batch_part and "/freeBusy" in record.path:
            running += 1
        elif record.path.startswith("/batch/"):
            parts_per_batch, running = parts_per_batch + [running], 0
    assert result.error is None and sleeps == [1.0]
    assert parts_per_batch == [3, 1]


def test_rate_limited_whole_batch_is_retried(emu, provider, account, sleeps):
    ada = account()
    emu.faults.add("rate_limit", count=1, retry_after=2, path_contains="/batch")

    result = provider.free_busy([ada], at(1, 1), at(6, 1))[ada.connection_id]

    assert result.error is None and sleeps == [2.0]
    assert [r.status for r in api_requests(emu, "/batch/")] == [429, 200]


def test_accounts_sharing_one_consent_share_one_query(emu, provider):
    credentials = emu.grant("ada@example.org")
    emu.add_event("ada@example.org", at(3, 1, 9), at(3, 1, 10), "Busy")
    work = CalendarAccount("c-1", "google", "ada@example.org", calendar_id="primary", credentials=credentials)
    same = CalendarAccount("c-2", "google", "ada@example.org", calendar_id="ada@example.org", credentials=credentials)

    result = provider.free_busy([work, same], at(3, 1), at(3, 8))

    [query] = api_requests(emu, "/freeBusy")
    assert sorted(item["id"] for item in query.body["items"]) == ["ada@example.org", "primary"]
    assert result["c-1"].busy == result["c-2"].busy and len(result["c-1"].busy) == 1


def test_rate_limiter_paces_calls_per_account(emu, account):
    from adapters.providers.retry import RateLimiter
    now, waits = [100.0], []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds
    provider = provider_for(emu, rate_limiter=RateLimiter(rate=2, burst=1, clock=lambda: now[0], sleep=wait))
    ada, bob = account("ada@example.org"), account("bob@example.org")

    provider.free_busy([ada], at(3, 1), at(3, 8))
    provider.free_busy([bob], at(3, 1), at(3, 8))
    provider.free_busy([ada], at(3, 1), at(3, 8))

    assert waits == [0.5]  # only ada's second call waited; bob has his own bucket


def test_batch_refreshes_an_expired_token_once_and_resends(emu, provider, account, saved):
    ada = account()
    emu.expire_tokens(ada.email)

    result = provider.free_busy([ada], at(1, 1), at(6, 1))[ada.connection_id]

    assert result.error is None and len(saved) == 1
    assert [r.status for r in emu.request_log if r.path == "/token"] == [200]


def test_batch_with_revoked_consent_reports_reconnect_needed(emu, provider, account, sleeps):
    ada = account()
    emu.revoke(ada.email)

    result = provider.free_busy([ada], at(1, 1), at(6, 1))[ada.connection_id]

    assert result.busy == () and result.error.startswith("reconnect_needed") and sleeps == []


def test_plain_flow_against_the_emulator_gives_credentials_the_client_library_uses(emu, oauth):
    """google_auth_oauthlib's Flow by itself: authorization_url with PKCE, consent, fetch_token with
    the verifier, then a Calendar call, a server-side expiry and google-auth's refresh."""
    from google_auth_oauthlib.flow import Flow
    from googleapiclient.discovery import build
    config, http = oauth
    client = {"web": {"client_id": emu.client_id, "client_secret": emu.client_secret, "auth_uri": emu.auth_uri,
                      "token_uri": emu.token_uri, "redirect_uris": [REDIRECT_URI]}}
    flow = Flow.from_client_config(client, scopes=list(config.scopes), redirect_uri=REDIRECT_URI)
    flow.oauth2session.trust_env = False
    url, state = flow.authorization_url(prompt="consent", login_hint="ada@example.org")
    args = consent(http, emu, url)

    callback = Flow.from_client_config(client, scopes=list(config.scopes), redirect_uri=REDIRECT_URI, state=state,
                                       code_verifier=flow.code_verifier)
    callback.oauth2session.trust_env = False
    callback.fetch_token(code=args["code"])
    credentials = callback.credentials
    service = build("calendar", "v3", credentials=credentials, static_discovery=True, cache_discovery=False,
                    client_options={"api_endpoint": emu.calendar_endpoint})
    body = {"timeMin": "2027-03-01T00:00:00Z", "timeMax": "2027-03-08T00:00:00Z", "items": [{"id": "primary"}]}
    first_token = credentials.token
    before = service.freebusy().query(body=body).execute()
    emu.expire_tokens("ada@example.org")
    after = service.freebusy().query(body=body).execute()

    assert args["state"] == state and "code_challenge" in parse_qs(urlsplit(url).query)
    assert before["calendars"]["primary"]["busy"] == after["calendars"]["primary"]["busy"] == []
    assert credentials.token != first_token and credentials.refresh_token


def test_a_colleague_with_no_stored_consent_does_not_stop_the_round(emu, provider, account):
    ann, bob = account("ann@acme.example"), account("bob@acme.example")
    ann.credentials = {}  # nothing stored: ann must connect again

    result = provider.free_busy([ann, bob], at(3, 1), at(3, 8))

    assert result[ann.connection_id].error.startswith("reconnect_needed")
    assert result[bob.connection_id] == FreeBusy()
