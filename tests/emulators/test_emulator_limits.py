"""Limits both emulators enforce so tests see what production will: per-user quotas answered
with 429 + Retry-After (off by default; calls inside a batch count one each), batch sizes
(Google 50 calls, Graph 20 requests), Graph's ``$batch`` with per-request failures, and whose
free/busy one token may read (Google: the same Workspace domain; Graph: the same tenant)."""
from __future__ import annotations

import json

import pytest
import requests
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from emulators.google import GoogleEmulator
from emulators.quota import UserQuota
from tests.emulators.microsoft_helpers import bearer, tokens, unique

WINDOW = {"timeMin": "2027-03-01T00:00:00Z", "timeMax": "2027-03-08T00:00:00Z"}


@pytest.fixture
def google():
    with GoogleEmulator() as emulator:
        yield emulator


@pytest.fixture
def plain():
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


def _service(google: GoogleEmulator, email: str):
    grant = google.grant(email)
    return build("calendar", "v3", credentials=Credentials(grant["token"]), static_discovery=True,
                 cache_discovery=False, client_options={"api_endpoint": google.calendar_endpoint})


def _free_busy(google, plain, email: str, calendars: list[str]) -> requests.Response:
    token = google.grant(email)["token"]
    return plain.post(google.calendar_endpoint + "freeBusy", headers={"Authorization": "Bearer " + token},
                      json=WINDOW | {"items": [{"id": c} for c in calendars]})


# --- the quota itself ------------------------------------------------------------------------------
def test_quota_is_per_user_slides_and_names_the_wait():
    now = [0.0]
    quota = UserQuota(clock=lambda: now[0])
    assert quota.take("ann") is None  # off by default
    quota.set(2, window=10)
    assert [quota.take("ann"), quota.take("ann"), quota.take("bob")] == [None, None, None]
    now[0] = 4.0
    assert quota.take("ann") == 6 and quota.refused == 1
    assert quota.accepted == {"ann": 2, "bob": 1} and quota.refused_by == {"ann": 1}
    now[0] = 10.0
    assert quota.take("ann") is None
    with pytest.raises(ValueError):
        quota.set(0)


# --- Google ----------------------------------------------------------------------------------------
def test_google_quota_answers_429_with_retry_after_per_user(google, plain):
    google.set_quota(2, window_s=60)
    ann = [_free_busy(google, plain, "ann@example.org", ["primary"]) for _ in range(3)]
    bob = _free_busy(google, plain, "bob@example.org", ["primary"])
    assert [r.status_code for r in ann] == [200, 200, 429] and bob.status_code == 200
    assert 1 <= int(ann[2].headers["Retry-After"]) <= 60
    assert ann[2].json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    google.set_quota(None)
    assert _free_busy(google, plain, "ann@example.org", ["primary"]).status_code == 200


def test_google_quota_counts_each_call_inside_a_batch(google):
    service = _service(google, "ann@example.org")
    google.set_quota(3, window_s=60)
    answers: dict[str, object] = {}
    batch = BatchHttpRequest(batch_uri=google.batch_uri,
                             callback=lambda rid, resp, exc: answers.__setitem__(rid, exc or resp))
    for n in range(5):
        batch.add(service.freebusy().query(body=WINDOW | {"items": [{"id": "primary"}]}), request_id=str(n))
    batch.execute()
    refused = [rid for rid, a in answers.items() if isinstance(a, HttpError)]
    assert sorted(refused) == ["3", "4"]
    assert all(answers[r].resp.status == 429 and int(answers[r].resp["retry-after"]) >= 1 for r in refused)


def test_google_batch_applies_each_calls_own_credentials(google):
    ann, bob = _service(google, "ann@gmail.com"), _service(google, "bob@gmail.com")
    answers: dict[str, object] = {}
    batch = BatchHttpRequest(batch_uri=google.batch_uri,
                             callback=lambda rid, resp, exc: answers.__setitem__(rid, exc or resp))
    batch.add(ann.freebusy().query(body=WINDOW | {"items": [{"id": "primary"}]}), request_id="ann")
    batch.add(bob.freebusy().query(body=WINDOW | {"items": [{"id": "bob@gmail.com"}]}), request_id="bob")
    batch.execute()
    assert "busy" in answers["ann"]["calendars"]["primary"]
    assert "busy" in answers["bob"]["calendars"]["bob@gmail.com"]  # bob's token read bob's calendar


def test_google_batch_of_51_calls_is_refused(google):
    service = _service(google, "ann@example.org")
    batch = BatchHttpRequest(batch_uri=google.batch_uri)
    for _ in range(51):
        batch.add(service.freebusy().query(body=WINDOW | {"items": [{"id": "primary"}]}))
    with pytest.raises(HttpError) as raised:
        batch.execute()
    assert raised.value.resp.status == 400
    assert json.loads(raised.value.content)["error"]["errors"][0]["reason"] == "batchSizeTooLarge"


def test_google_free_busy_of_colleagues_only_inside_one_workspace_domain(google, plain):
    for email in ("ann@acme.example", "bob@acme.example", "cy@other.example", "dee@gmail.com", "eve@gmail.com"):
        google.add_user(email)
    calendars = _free_busy(google, plain, "ann@acme.example",
                           ["bob@acme.example", "cy@other.example"]).json()["calendars"]
    consumer = _free_busy(google, plain, "dee@gmail.com", ["eve@gmail.com"]).json()["calendars"]
    assert "busy" in calendars["bob@acme.example"] and "errors" not in calendars["bob@acme.example"]
    assert calendars["cy@other.example"]["errors"][0]["reason"] == "notFound"
    assert consumer["eve@gmail.com"]["errors"][0]["reason"] == "notFound"
    google.private_domains.add("acme.example")
    closed = _free_busy(google, plain, "ann@acme.example", ["bob@acme.example"]).json()["calendars"]
    assert closed["bob@acme.example"]["errors"][0]["reason"] == "notFound"


def test_google_control_api_sets_quota_and_latency(google, plain):
    assert plain.post(google.base_url + "/_emulator/quota", json={"per_user": 5, "window_s": 30}).json() == \
        {"quota": [5, 30.0]}
    assert plain.post(google.base_url + "/_emulator/latency", json={"seconds": 0.01}).json() == {"latency_s": 0.01}
    assert _free_busy(google, plain, "ann@example.org", ["primary"]).status_code == 200


# --- Graph -----------------------------------------------------------------------------------------
def _batch(emu, http, reply, requests_: list[dict]) -> requests.Response:
    return http.post(f"{emu.graph_url}/$batch", headers=bearer(reply), json={"requests": requests_})


def _schedule_body(*emails: str) -> dict:
    return {"schedules": list(emails), "startTime": {"dateTime": "2027-03-01T00:00:00", "timeZone": "UTC"},
            "endTime": {"dateTime": "2027-03-08T00:00:00", "timeZone": "UTC"}, "availabilityViewInterval": 60}


def test_graph_batch_runs_each_request_and_reports_failures_per_request(emu, http):
    reply = tokens(emu, http, unique("ann"))
    answer = _batch(emu, http, reply, [
        {"id": "1", "method": "GET", "url": "/me/events?$select=subject"},
        {"id": "2", "method": "GET", "url": "/me/events/no-such-event"},
        {"id": "3", "method": "GET", "url": "/me/events?$top=1", "dependsOn": ["2"]},
    ])
    assert answer.status_code == 200
    by_id = {r["id"]: r for r in answer.json()["responses"]}
    assert by_id["1"]["status"] == 200 and by_id["1"]["body"]["value"] == []
    assert by_id["2"]["status"] == 404 and by_id["3"]["status"] == 424
    parts = [r for r in emu.requests() if r.get("batch_part")]
    assert [p["path"] for p in parts] == ["/v1.0/me/events", "/v1.0/me/events/no-such-event"]


def test_graph_batch_holds_at_most_20_requests(emu, http):
    reply = tokens(emu, http, unique("ann"))
    too_many = _batch(emu, http, reply, [{"id": str(n), "method": "GET", "url": "/me/events"} for n in range(21)])
    duplicate = _batch(emu, http, reply, [{"id": "1", "method": "GET", "url": "/me/events"}] * 2)
    absolute = _batch(emu, http, reply, [{"id": "1", "method": "GET", "url": "https://example.org/me/events"}])
    assert [r.status_code for r in (too_many, duplicate, absolute)] == [400, 400, 400]
    assert "at most 20" in too_many.json()["error"]["message"]
    assert _batch(emu, http, reply, [{"id": str(n), "method": "GET", "url": "/me/events"}
                                     for n in range(20)]).status_code == 200


def test_graph_quota_answers_429_inside_a_batch_with_its_own_retry_after(emu, http):
    reply = tokens(emu, http, unique("ann"))
    emu.set_quota(2, window=60)
    answer = _batch(emu, http, reply, [{"id": str(n), "method": "GET", "url": "/me/events"} for n in range(3)])
    statuses = [r["status"] for r in answer.json()["responses"]]
    throttled = answer.json()["responses"][2]
    assert answer.status_code == 200 and statuses == [200, 200, 429]
    assert 1 <= int(throttled["headers"]["Retry-After"]) <= 60
    assert throttled["body"]["error"]["code"] == "ApplicationThrottled"
    emu.set_quota(None)
    assert http.get(f"{emu.graph_url}/me/events", headers=bearer(reply)).status_code == 200


def test_graph_get_schedule_sees_one_tenant_only(emu, http):
    ann, bob, cy = unique("ann"), unique("bob"), unique("cy")
    emu.add_user(ann, tenant="contoso")
    emu.add_user(bob, tenant="contoso")
    emu.add_user(cy, tenant="fabrikam")
    reply = tokens(emu, http, ann)
    answer = http.post(f"{emu.graph_url}/me/calendar/getSchedule", headers=bearer(reply),
                       json=_schedule_body(ann, bob, cy)).json()["value"]
    assert [("error" in info) for info in answer] == [False, False, True]
    assert answer[2]["error"]["responseCode"] == "ErrorMailRecipientNotFound"


def test_graph_control_api_sets_latency_and_throttle(emu, http):
    for action, body in (("latency", {"seconds": 0.01}), ("throttle", {"limit": 3, "window": 30}),
                         ("users", {"email": unique("dee"), "tenant": "contoso"})):
        assert http.post(f"{emu.origin}/_emulator/{action}", json=body).status_code == 200
    assert emu.store.quota.limit == (3, 30.0) and emu.store.latency == 0.01
