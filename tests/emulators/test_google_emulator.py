"""The Google emulator rejects what Google rejects and answers in Google's shapes.

Raw HTTP (requests) where the wire matters; the real client library for batch and discovery.
"""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from emulators.google import GoogleEmulator
from emulators.google.oauth import unverified_claims
from emulators.google.scopes import EVENTS_OWNED, FREEBUSY

UTC = timezone.utc
SERIES = {"summary": "Mentoring", "start": {"dateTime": "2027-03-02T10:00:00", "timeZone": "America/New_York"},
          "end": {"dateTime": "2027-03-02T10:45:00", "timeZone": "America/New_York"},
          "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=6;BYDAY=TU"]}


@pytest.fixture
def emu():
    with GoogleEmulator() as emulator:
        yield emulator


@pytest.fixture
def http():
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


class Api:
    """A thin raw-HTTP caller with one person's token."""

    def __init__(self, emu: GoogleEmulator, http: requests.Session, email: str, scopes=None):
        self.emu, self.http = emu, http
        self.grant = emu.grant(email, scopes) if scopes else emu.grant(email)
        self.headers = {"Authorization": "Bearer " + self.grant["token"]}

    def __call__(self, method: str, path: str, **kw) -> requests.Response:
        return self.http.request(method, self.emu.base_url + "/calendar/v3" + path, headers=self.headers, **kw)


def error_of(reply: requests.Response) -> tuple[int, str]:
    body = reply.json()["error"]
    assert set(body) >= {"code", "message", "errors", "status"}
    assert body["code"] == reply.status_code
    return reply.status_code, body["errors"][0]["reason"]


# --- events.insert -----------------------------------------------------------------------------
@pytest.mark.parametrize("bad_id", ["abc", "UPPERCASE1", "has-dash-1", "wxyz12345", "a" * 1025])
def test_insert_rejects_ids_that_are_not_base32hex(emu, http, bad_id):
    api = Api(emu, http, "ada@example.org")
    reply = api("POST", "/calendars/primary/events", json=SERIES | {"id": bad_id})
    assert error_of(reply) == (400, "invalid")


def test_insert_accepts_a_base32hex_id_and_a_repeat_gets_409_duplicate(emu, http):
    api = Api(emu, http, "ada@example.org")
    first = api("POST", "/calendars/primary/events", json=SERIES | {"id": "tandem0123456789uv"})
    again = api("POST", "/calendars/primary/events", json=SERIES | {"id": "tandem0123456789uv"})
    assert first.status_code == 200 and first.json()["id"] == "tandem0123456789uv"
    assert error_of(again) == (409, "duplicate")
    assert len(emu.events("ada@example.org")) == 1


def test_recurring_event_without_start_time_zone_is_refused(emu, http):
    api = Api(emu, http, "ada@example.org")
    body = SERIES | {"start": {"dateTime": "2027-03-02T10:00:00-05:00"}, "end": {"dateTime": "2027-03-02T10:45:00-05:00"}}
    reply = api("POST", "/calendars/primary/events", json=body)
    assert error_of(reply) == (400, "required")
    assert "Missing time zone definition for start time" in reply.json()["error"]["message"]


def test_single_event_with_offset_needs_no_time_zone(emu, http):
    api = Api(emu, http, "ada@example.org")
    body = {"start": {"dateTime": "2027-03-02T10:00:00-05:00"}, "end": {"dateTime": "2027-03-02T11:00:00-05:00"}}
    assert api("POST", "/calendars/primary/events", json=body).status_code == 200


@pytest.mark.parametrize("body, reason", [
    (SERIES | {"colour": "red"}, "invalid"),  # unknown top-level field
    (SERIES | {"start": {"dateTime": "2027-03-02T10:00:00", "timeZone": "America/New_York", "zone": 1}}, "invalid"),
    (SERIES | {"summary": 42}, "invalid"),
    (SERIES | {"attendees": {"email": "x@example.org"}}, "invalid"),
    (SERIES | {"recurrence": ["RRULE:FREQ=SOMETIMES"]}, "invalid"),
])
def test_insert_validates_the_body_against_the_discovery_schema(emu, http, body, reason):
    api = Api(emu, http, "ada@example.org")
    assert error_of(api("POST", "/calendars/primary/events", json=body)) == (400, reason)


def test_unknown_field_message_names_the_field_like_google(emu, http):
    api = Api(emu, http, "ada@example.org")
    reply = api("POST", "/calendars/primary/events", json=SERIES | {"colour": "red"})
    assert 'Unknown name "colour"' in reply.json()["error"]["message"]


def test_end_before_start_is_time_range_empty(emu, http):
    api = Api(emu, http, "ada@example.org")
    body = {"start": {"dateTime": "2027-03-02T11:00:00Z"}, "end": {"dateTime": "2027-03-02T10:00:00Z"}}
    assert error_of(api("POST", "/calendars/primary/events", json=body)) == (400, "timeRangeEmpty")


def test_meet_link_only_with_conference_data_version_1(emu, http):
    api = Api(emu, http, "ada@example.org")
    conference = {"conferenceData": {"createRequest": {"requestId": "req-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}}
    without = api("POST", "/calendars/primary/events", json=SERIES | conference).json()
    with_meet = api("POST", "/calendars/primary/events", params={"conferenceDataVersion": 1}, json=SERIES | conference).json()
    assert "conferenceData" not in without and "hangoutLink" not in without
    assert with_meet["hangoutLink"].startswith("https://meet.google.com/")
    assert with_meet["conferenceData"]["entryPoints"][0]["entryPointType"] == "video"


def test_private_extended_property_keys_over_44_chars_are_dropped_silently(emu, http):
    api = Api(emu, http, "ada@example.org")
    private = {"tandemSeriesKey": "k1", "x" * 45: "dropped", "y" * 44: "kept"}
    reply = api("POST", "/calendars/primary/events", json=SERIES | {"extendedProperties": {"private": private}})
    assert reply.status_code == 200
    assert set(reply.json()["extendedProperties"]["private"]) == {"tandemSeriesKey", "y" * 44}


# --- scopes and tokens ---------------------------------------------------------------------------
def test_free_busy_scope_cannot_write_events(emu, http):
    api = Api(emu, http, "ada@example.org", scopes=("openid", FREEBUSY))
    assert error_of(api("POST", "/calendars/primary/events", json=SERIES)) == (403, "insufficientPermissions")


def test_events_owned_scope_cannot_read_free_busy(emu, http):
    api = Api(emu, http, "ada@example.org", scopes=(EVENTS_OWNED,))
    body = {"timeMin": "2027-03-01T00:00:00Z", "timeMax": "2027-03-02T00:00:00Z", "items": [{"id": "primary"}]}
    assert error_of(api("POST", "/freeBusy", json=body)) == (403, "insufficientPermissions")


def test_missing_and_expired_tokens_get_401(emu, http):
    api = Api(emu, http, "ada@example.org")
    anonymous = http.get(emu.base_url + "/calendar/v3/calendars/primary/events")
    emu.expire_tokens("ada@example.org")
    expired = api("GET", "/calendars/primary/events")
    assert error_of(anonymous) == (401, "required")
    assert error_of(expired) == (401, "authError")
    assert expired.headers["WWW-Authenticate"].startswith("Bearer")


def test_refresh_after_revoke_is_invalid_grant(emu, http):
    grant = emu.grant("ada@example.org")
    emu.revoke("ada@example.org")
    reply = http.post(emu.token_uri, data={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"],
                                           "client_id": emu.client_id, "client_secret": emu.client_secret})
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"


def test_token_endpoint_checks_the_client_secret(emu, http):
    grant = emu.grant("ada@example.org")
    reply = http.post(emu.token_uri, data={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"],
                                           "client_id": emu.client_id, "client_secret": "wrong"})
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_client"


def test_code_exchange_verifies_pkce_s256(emu, http):
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    emu.auto_approve = True
    params = {"client_id": emu.client_id, "redirect_uri": "http://127.0.0.1:9/cb", "response_type": "code",
              "scope": "openid email " + FREEBUSY, "state": "s1", "code_challenge": challenge,
              "code_challenge_method": "S256", "access_type": "offline", "login_hint": "ada@example.org"}
    redirect = http.get(emu.auth_uri, params=params, allow_redirects=False)
    code = parse_qs(urlsplit(redirect.headers["Location"]).query)["code"][0]
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:9/cb",
                "client_id": emu.client_id, "client_secret": emu.client_secret}
    wrong = http.post(emu.token_uri, data=exchange | {"code_verifier": "w" * 64})
    right = http.post(emu.token_uri, data=exchange | {"code_verifier": verifier})
    assert redirect.status_code == 302 and parse_qs(urlsplit(redirect.headers["Location"]).query)["state"] == ["s1"]
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    reused = http.post(emu.token_uri, data=exchange | {"code_verifier": verifier})
    assert right.status_code == 200 and right.json()["refresh_token"] and right.json()["expires_in"] > 0
    claims = unverified_claims(right.json()["id_token"])
    assert (claims["email"], claims["aud"], claims["iss"]) == ("ada@example.org", emu.client_id, emu.base_url)
    assert right.json()["scope"].split() == ["openid", "https://www.googleapis.com/auth/userinfo.email", FREEBUSY]
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


# --- freeBusy ------------------------------------------------------------------------------------
def test_free_busy_expands_recurrence_and_hides_titles(emu, http):
    emu.add_event("ada@example.org", datetime(2027, 3, 1, 9, tzinfo=UTC), datetime(2027, 3, 1, 10, tzinfo=UTC),
                  "Secret therapy", rrule="FREQ=DAILY;COUNT=3")
    emu.add_event("ada@example.org", datetime(2027, 3, 1, 12, tzinfo=UTC), datetime(2027, 3, 1, 13, tzinfo=UTC),
                  "Secret maybe", transparent=True)
    api = Api(emu, http, "ada@example.org")
    body = {"timeMin": "2027-03-01T00:00:00Z", "timeMax": "2027-03-08T00:00:00Z",
            "items": [{"id": "primary"}, {"id": "nobody@example.org"}]}
    reply = api("POST", "/freeBusy", json=body)
    calendars = reply.json()["calendars"]
    assert [b["start"] for b in calendars["primary"]["busy"]] == [f"2027-03-0{d}T09:00:00Z" for d in (1, 2, 3)]
    assert calendars["nobody@example.org"]["errors"] == [{"domain": "global", "reason": "notFound"}]
    assert "Secret" not in reply.text


@pytest.mark.parametrize("change, reason", [
    ({"timeMax": "2027-06-15T00:00:00Z"}, "timeRangeTooLong"),
    ({"calendarExpansionMax": 51}, "invalidParameter"),
    ({"timeMax": "2027-02-01T00:00:00Z"}, "timeRangeEmpty"),
])
def test_free_busy_refuses_long_windows_and_big_expansions(emu, http, change, reason):
    api = Api(emu, http, "ada@example.org")
    body = {"timeMin": "2027-03-01T00:00:00Z", "timeMax": "2027-03-08T00:00:00Z", "items": [{"id": "primary"}]} | change
    assert error_of(api("POST", "/freeBusy", json=body)) == (400, reason)


# --- instances, sync, watch ----------------------------------------------------------------------
def test_patching_an_instance_stores_one_exception(emu, http):
    api = Api(emu, http, "ada@example.org")
    series = api("POST", "/calendars/primary/events", json=SERIES).json()
    instances = api("GET", f"/calendars/primary/events/{series['id']}/instances").json()["items"]
    assert [i["id"] for i in instances][:2] == [f"{series['id']}_20270302T150000Z", f"{series['id']}_20270309T150000Z"]
    moved = api("PATCH", f"/calendars/primary/events/{instances[2]['id']}",
                json={"start": {"dateTime": "2027-03-17T18:00:00Z"}, "end": {"dateTime": "2027-03-17T18:45:00Z"}})
    cancelled = api("PATCH", f"/calendars/primary/events/{instances[3]['id']}", json={"status": "cancelled"})
    after = api("GET", f"/calendars/primary/events/{series['id']}/instances").json()["items"]
    assert moved.status_code == cancelled.status_code == 200
    assert moved.json()["sequence"] == 1 and cancelled.json()["sequence"] == 0  # only time changes bump it
    assert moved.json()["recurringEventId"] == series["id"] and "recurrence" not in moved.json()
    assert len(after) == 5 and instances[3]["id"] not in [i["id"] for i in after]
    assert [i["start"]["dateTime"] for i in after if i["id"] == instances[2]["id"]] == ["2027-03-17T14:00:00-04:00"]


def test_sync_token_reports_changes_and_stale_tokens_get_410(emu, http):
    api = Api(emu, http, "ada@example.org")
    first = api("GET", "/calendars/primary/events").json()
    created = api("POST", "/calendars/primary/events", json=SERIES).json()
    delta = api("GET", "/calendars/primary/events", params={"syncToken": first["nextSyncToken"]}).json()
    api("DELETE", f"/calendars/primary/events/{created['id']}")
    deleted = api("GET", "/calendars/primary/events", params={"syncToken": delta["nextSyncToken"]}).json()
    emu.invalidate_sync_tokens()
    stale = api("GET", "/calendars/primary/events", params={"syncToken": deleted["nextSyncToken"]})
    clash = api("GET", "/calendars/primary/events", params={"syncToken": first["nextSyncToken"], "q": "x"})
    assert [i["id"] for i in delta["items"]] == [created["id"]]
    assert deleted["items"] == [{"kind": "calendar#event", "etag": deleted["items"][0]["etag"], "id": created["id"],
                                 "status": "cancelled"}]
    assert error_of(stale) == (410, "fullSyncRequired")
    assert error_of(clash) == (400, "invalid")


def test_deleting_twice_is_410_deleted(emu, http):
    api = Api(emu, http, "ada@example.org")
    created = api("POST", "/calendars/primary/events", json=SERIES).json()
    assert api("DELETE", f"/calendars/primary/events/{created['id']}").status_code == 204
    assert error_of(api("DELETE", f"/calendars/primary/events/{created['id']}")) == (410, "deleted")


def test_partial_response_returns_only_the_selected_fields(emu, http):
    emu.add_event("ada@example.org", datetime(2027, 3, 1, 9, tzinfo=UTC), datetime(2027, 3, 1, 10, tzinfo=UTC), "Secret")
    api = Api(emu, http, "ada@example.org")
    reply = api("GET", "/calendars/primary/events", params={"fields": "items(id,status),nextSyncToken"})
    assert set(reply.json()) == {"items", "nextSyncToken"}
    assert set(reply.json()["items"][0]) == {"id", "status"}


def test_watch_sends_sync_then_exists_with_channel_headers(emu, http):
    received: list[dict] = []
    hook = GoogleEmulator()  # any loopback HTTP server works as a webhook target; reuse the app's 404s
    hook.app.add_url_rule("/hook", "hook", lambda: (received.append(dict(_request_headers())) or ("", 200)),
                          methods=["POST"])
    with hook:
        api = Api(emu, http, "ada@example.org")
        channel = api("POST", "/calendars/primary/events/watch",
                      json={"id": "chan-1", "type": "web_hook", "address": hook.base_url + "/hook", "token": "t0k"}).json()
        api("POST", "/calendars/primary/events", json=SERIES)
        deliveries = emu.wait_for_deliveries(2)
        stopped = api("POST", "/channels/stop", json={"id": "chan-1", "resourceId": channel["resourceId"]})
        again = api("POST", "/channels/stop", json={"id": "chan-1", "resourceId": channel["resourceId"]})
    assert [(d.state, d.message_number, d.status) for d in deliveries] == [("sync", 1, 200), ("exists", 2, 200)]
    assert received[0]["X-Goog-Channel-Id"] == "chan-1" and received[0]["X-Goog-Channel-Token"] == "t0k"
    assert received[1]["X-Goog-Resource-State"] == "exists" and received[1]["X-Goog-Message-Number"] == "2"
    assert received[1]["X-Goog-Resource-Id"] == channel["resourceId"]
    assert stopped.status_code == 204 and error_of(again) == (404, "notFound")


def _request_headers():
    from flask import request
    return request.headers


# --- faults --------------------------------------------------------------------------------------
def test_rate_limit_fault_answers_429_with_retry_after_then_clears(emu, http):
    api = Api(emu, http, "ada@example.org")
    emu.faults.add("rate_limit", count=2, retry_after=3)
    replies = [api("GET", "/calendars/primary/events") for _ in range(3)]
    assert [r.status_code for r in replies] == [429, 429, 200]
    assert replies[0].headers["Retry-After"] == "3"
    assert error_of(replies[0]) == (429, "rateLimitExceeded")


def test_probability_faults_follow_the_seed(http):
    def pattern(seed: int) -> list[int]:
        with GoogleEmulator(seed=seed) as emu:
            api = Api(emu, http, "ada@example.org")
            emu.faults.add("unavailable", count=None, probability=0.5)
            return [api("GET", "/calendars/primary/events").status_code for _ in range(12)]
    first, second = pattern(7), pattern(7)
    assert first == second and set(first) == {200, 503}


def test_control_api_over_http(emu, http):
    http.post(emu.base_url + "/_emulator/users", json={"email": "bob@example.org", "time_zone": "Europe/Berlin"})
    http.post(emu.base_url + "/_emulator/events", json={"email": "bob@example.org", "summary": "Secret",
                                                        "start": "2027-03-01T09:00:00+00:00", "end": "2027-03-01T10:00:00+00:00"})
    http.post(emu.base_url + "/_emulator/faults", json={"kind": "server_error", "count": 1})
    tokens = http.post(emu.base_url + "/_emulator/grants", json={"email": "bob@example.org"}).json()
    failed = http.get(emu.base_url + "/calendar/v3/calendars/primary/events",
                      headers={"Authorization": "Bearer " + tokens["token"]})
    state = http.get(emu.base_url + "/_emulator/state").json()
    assert failed.status_code == 500
    assert "bob@example.org" in state["users"] and state["events"]["bob@example.org"] == 1
    assert state["faults_fired"] == ["server_error"]


# --- batch ---------------------------------------------------------------------------------------
def test_batch_runs_parts_with_the_real_client_and_caps_at_50(emu):
    from google.oauth2.credentials import Credentials
    from googleapiclient.discovery import build
    from googleapiclient.errors import HttpError
    from googleapiclient.http import BatchHttpRequest
    grant = emu.grant("ada@example.org")
    service = build("calendar", "v3", credentials=Credentials(grant["token"]), static_discovery=True,
                    cache_discovery=False, client_options={"api_endpoint": emu.calendar_endpoint})
    answers: dict[str, object] = {}
    batch = BatchHttpRequest(batch_uri=emu.batch_uri, callback=lambda rid, resp, exc: answers.__setitem__(rid, exc or resp))
    batch.add(service.events().insert(calendarId="primary", body=SERIES), request_id="ok")
    batch.add(service.events().get(calendarId="primary", eventId="missing00"), request_id="missing")
    batch.execute()
    too_big = BatchHttpRequest(batch_uri=emu.batch_uri)
    for n in range(51):
        too_big.add(service.events().get(calendarId="primary", eventId=f"event{n:05d}"))
    with pytest.raises(HttpError) as raised:
        too_big.execute()
    assert answers["ok"]["summary"] == "Mentoring"
    assert isinstance(answers["missing"], HttpError) and answers["missing"].resp.status == 404
    assert raised.value.resp.status == 400
    assert json.loads(raised.value.content)["error"]["errors"][0]["reason"] == "batchSizeTooLarge"


# --- more Google behaviour -------------------------------------------------------------------------
def test_all_day_event_is_busy_for_the_whole_day_in_the_calendar_zone(emu, http):
    from datetime import date
    emu.add_user("ada@example.org", time_zone="Europe/Berlin")
    emu.add_event("ada@example.org", date(2027, 3, 2), date(2027, 3, 3), "Secret holiday")
    api = Api(emu, http, "ada@example.org")
    body = {"timeMin": "2027-03-01T00:00:00Z", "timeMax": "2027-03-08T00:00:00Z", "items": [{"id": "primary"}]}
    busy = api("POST", "/freeBusy", json=body).json()["calendars"]["primary"]["busy"]
    assert busy == [{"start": "2027-03-01T23:00:00Z", "end": "2027-03-02T23:00:00Z"}]


def test_access_token_dies_after_expires_in(http):
    now = [1_800_000_000.0]
    with GoogleEmulator(clock=lambda: now[0], token_lifetime_s=60) as emu:
        api = Api(emu, http, "ada@example.org")
        fresh = api("GET", "/calendars/primary/events")
        now[0] += 61
        stale = api("GET", "/calendars/primary/events")
        refreshed = http.post(emu.token_uri, data={"grant_type": "refresh_token", "client_id": emu.client_id,
                                                   "client_secret": emu.client_secret,
                                                   "refresh_token": api.grant["refresh_token"]}).json()
    assert fresh.status_code == 200 and error_of(stale) == (401, "authError")
    assert refreshed["expires_in"] == 60 and "refresh_token" not in refreshed


def test_revoking_through_the_endpoint_kills_refresh_and_access(emu, http):
    api = Api(emu, http, "ada@example.org")
    revoked = http.post(emu.revoke_uri, data={"token": api.grant["refresh_token"]})
    again = http.post(emu.revoke_uri, data={"token": api.grant["refresh_token"]})
    assert revoked.status_code == 200 and again.status_code == 400
    assert error_of(api("GET", "/calendars/primary/events")) == (401, "authError")


def test_second_consent_without_prompt_consent_gives_no_new_refresh_token(emu, http):
    emu.auto_approve = True

    def exchange(prompt: str) -> dict:
        params = {"client_id": emu.client_id, "redirect_uri": "http://127.0.0.1:9/cb", "response_type": "code",
                  "scope": "openid " + FREEBUSY, "state": "s", "access_type": "offline",
                  "login_hint": "ada@example.org", "prompt": prompt}
        location = http.get(emu.auth_uri, params=params, allow_redirects=False).headers["Location"]
        code = parse_qs(urlsplit(location).query)["code"][0]
        return http.post(emu.token_uri, data={"grant_type": "authorization_code", "code": code,
                                              "redirect_uri": "http://127.0.0.1:9/cb", "client_id": emu.client_id,
                                              "client_secret": emu.client_secret}).json()
    first, quiet, forced = exchange(""), exchange(""), exchange("consent")
    assert "refresh_token" in first and "refresh_token" not in quiet and "refresh_token" in forced


def test_consent_page_refuses_unknown_clients_and_foreign_redirects(emu, http):
    base = {"client_id": emu.client_id, "redirect_uri": "http://127.0.0.1:9/cb", "response_type": "code",
            "scope": "openid", "state": "s"}
    unknown = http.get(emu.auth_uri, params=base | {"client_id": "nobody"})
    foreign = http.get(emu.auth_uri, params=base | {"redirect_uri": "https://evil.example.com/cb"})
    page = http.get(emu.auth_uri, params=base)
    assert unknown.status_code == 400 and "invalid_client" in unknown.text
    assert foreign.status_code == 400 and "redirect_uri_mismatch" in foreign.text
    assert page.status_code == 200 and 'id="allow"' in page.text


def test_update_replaces_fields_and_patch_merges_them(emu, http):
    api = Api(emu, http, "ada@example.org")
    created = api("POST", "/calendars/primary/events", json=SERIES | {"description": "Agenda", "location": "Room 1"}).json()
    patched = api("PATCH", f"/calendars/primary/events/{created['id']}", json={"description": "New agenda"}).json()
    updated = api("PUT", f"/calendars/primary/events/{created['id']}", json=SERIES | {"summary": "Renamed"}).json()
    assert patched["location"] == "Room 1" and patched["description"] == "New agenda"
    assert updated["summary"] == "Renamed" and "location" not in updated and "description" not in updated
    assert updated["id"] == created["id"] and updated["created"] == created["created"]


def test_registered_redirect_uris_are_matched_exactly(http):
    registered = "https://tandem.example.org/connect/google/callback"
    with GoogleEmulator(redirect_uris=(registered,)) as emu:
        base = {"client_id": emu.client_id, "response_type": "code", "scope": "openid", "state": "s"}
        listed = http.get(emu.auth_uri, params=base | {"redirect_uri": registered})
        loopback = http.get(emu.auth_uri, params=base | {"redirect_uri": "http://127.0.0.1:9/cb"})
    assert listed.status_code == 200 and loopback.status_code == 400 and "redirect_uri_mismatch" in loopback.text


def test_methods_the_emulator_lacks_answer_in_googles_error_shape(emu, http):
    api = Api(emu, http, "ada@example.org")
    created = api("POST", "/calendars/primary/events", json=SERIES).json()
    reply = api("POST", f"/calendars/primary/events/{created['id']}/move", params={"destination": "x@example.org"})
    assert error_of(reply) == (404, "notFound")


def test_channel_stops_notifying_after_its_expiration(http):
    now = [1_800_000_000.0]
    with GoogleEmulator(clock=lambda: now[0]) as emu:
        api = Api(emu, http, "ada@example.org")
        expiration = int((now[0] + 3600) * 1000)
        channel = api("POST", "/calendars/primary/events/watch",
                      json={"id": "c1", "type": "web_hook", "address": "http://127.0.0.1:9/hook",
                            "expiration": str(expiration)}).json()
        api("POST", "/calendars/primary/events", json=SERIES)
        now[0] += 3601
        api("POST", "/calendars/primary/events", json=SERIES)
        deliveries = emu.wait_for_deliveries(3, timeout=0.5)
    assert channel["expiration"] == str(expiration)
    assert [d.state for d in deliveries] == ["sync", "exists"]


def test_deleted_calendar_sends_not_exists_and_foreign_webhooks_are_not_called(emu, http):
    api = Api(emu, http, "ada@example.org")
    api("POST", "/calendars/primary/events/watch",
        json={"id": "chan-2", "type": "web_hook", "address": "https://hooks.example.com/x", "token": "t"})
    emu.delete_calendar("ada@example.org")
    deliveries = emu.wait_for_deliveries(2)
    assert [(d.state, d.status) for d in deliveries] == [("sync", None), ("not_exists", None)]
    assert all("not a loopback address" in d.error for d in deliveries)


def test_non_https_foreign_webhook_is_refused(emu, http):
    api = Api(emu, http, "ada@example.org")
    reply = api("POST", "/calendars/primary/events/watch",
                json={"id": "chan-3", "type": "web_hook", "address": "http://hooks.example.com/x"})
    assert error_of(reply) == (400, "push.webhookUrlNotHttps")


def test_runs_standalone_with_python_dash_m(http):
    import socket
    import subprocess
    import sys
    import time
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "emulators.google", "--port", str(port), "--user", "ada@example.org"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()
        deadline = time.monotonic() + 10
        while True:
            try:
                state = http.get(f"http://127.0.0.1:{port}/_emulator/state", timeout=1).json()
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()
    assert f"127.0.0.1:{port}" in banner and state["users"] == ["ada@example.org"]


@pytest.mark.parametrize("module_name", ["emulators.google.fields", "emulators.google.recurrence",
                                         "emulators.google.scopes", "adapters.providers.google"])
def test_doctests_of_pure_helpers(module_name):
    import doctest
    import importlib
    result = doctest.testmod(importlib.import_module(module_name))
    assert result.attempted > 0 and result.failed == 0


def test_with_a_directory_only_the_accounts_it_knows_can_consent(http):
    def directory(email: str) -> bool:
        return email == "nia@org.example"

    with GoogleEmulator(directory=directory) as emu:
        params = {"client_id": emu.client_id, "redirect_uri": "http://127.0.0.1:9/cb", "response_type": "code",
                  "scope": "openid email " + FREEBUSY, "state": "s1", "decision": "allow"}
        known = http.post(f"{emu.base_url}/o/oauth2/approve", data=params | {"email": "Nia@org.example"},
                          allow_redirects=False)
        unknown = http.post(f"{emu.base_url}/o/oauth2/approve", data=params | {"email": "x@else.example"},
                            allow_redirects=False)
    assert known.status_code == 302 and "code=" in known.headers["Location"]
    assert unknown.status_code == 400 and "find your Google Account (x@else.example)" in unknown.text
