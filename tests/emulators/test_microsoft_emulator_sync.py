"""The Graph emulator's change tracking and back door: calendarView delta (paging, delta links,
410 for lost sync state), subscriptions (validation handshake, limits, notifications, renewal,
lifecycle events), injected faults, throttling, the HTTP control API and the standalone CLI."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from emulators.microsoft import GraphEmulator
from emulators.microsoft.receiver import WebhookReceiver
from emulators.tls import client_session
from tests.emulators.microsoft_helpers import bearer, tokens, unique, weekly_event

UTC = timezone.utc
WINDOW = {"startDateTime": "2027-03-01T00:00:00Z", "endDateTime": "2027-04-15T00:00:00Z"}


def _expiry(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


# --- delta ---------------------------------------------------------------------------------------
def test_delta_pages_then_reports_changes_and_removals(emu, http):
    email = unique("ada")
    reply = tokens(emu, http, email)
    series = http.post(f"{emu.graph_url}/me/events", json=weekly_event(), headers=bearer(reply)).json()
    headers = {**bearer(reply), "Prefer": "odata.maxpagesize=4"}

    first = http.get(f"{emu.graph_url}/me/calendarView/delta", params=WINDOW, headers=headers).json()
    assert len(first["value"]) == 4 and "@odata.nextLink" in first
    second = http.get(first["@odata.nextLink"], headers=headers).json()
    assert len(second["value"]) == 2 and "@odata.deltaLink" in second
    quiet = http.get(second["@odata.deltaLink"], headers=headers).json()
    assert quiet["value"] == [] and "@odata.deltaLink" in quiet

    http.patch(f"{emu.graph_url}/me/events/{series['id']}", json={"body": {"contentType": "text", "content": "x"}},
               headers=bearer(reply))
    changed = http.get(quiet["@odata.deltaLink"], headers=bearer(reply)).json()
    assert {i["seriesMasterId"] for i in changed["value"]} == {series["id"]}
    http.post(f"{emu.graph_url}/me/events/{series['id']}/cancel", json={}, headers=bearer(reply))
    removed = http.get(changed["@odata.deltaLink"], headers=bearer(reply)).json()
    assert removed["value"] == [{"@odata.type": "#microsoft.graph.event", "id": series["id"],
                                 "@removed": {"reason": "deleted"}}]


def test_delta_honours_select_in_every_round_and_refuses_unknown_properties(emu, http):
    reply = tokens(emu, http, unique("cy"))
    series = http.post(f"{emu.graph_url}/me/events", json=weekly_event(), headers=bearer(reply)).json()
    url = f"{emu.graph_url}/me/calendarView/delta"
    wanted = {"@odata.etag", "id", "type", "seriesMasterId"}

    first = http.get(url, params={**WINDOW, "$select": "type,seriesMasterId"}, headers=bearer(reply)).json()
    assert len(first["value"]) == 6 and all(set(i) == wanted for i in first["value"])
    http.patch(f"{emu.graph_url}/me/events/{series['id']}", json={"subject": "Secret"}, headers=bearer(reply))
    later = http.get(first["@odata.deltaLink"], headers=bearer(reply)).json()  # the link carries the $select
    assert later["value"] and all(set(i) == wanted for i in later["value"])
    assert "Secret" not in str(later) and "Mentoring" not in str(first)

    bad = http.get(url, params={**WINDOW, "$select": "type,nope"}, headers=bearer(reply))
    assert bad.status_code == 400 and "'nope'" in bad.json()["error"]["message"]


def test_delta_needs_a_window_reports_outside_changes_as_removed_and_410s_lost_state(emu, http):
    reply = tokens(emu, http, unique("bo"))
    url = f"{emu.graph_url}/me/calendarView/delta"
    assert http.get(url, headers=bearer(reply)).status_code == 400
    link = http.get(url, params=WINDOW, headers=bearer(reply)).json()["@odata.deltaLink"]

    outside = http.post(f"{emu.graph_url}/me/events", headers=bearer(reply), json={
        "subject": "Next year", "start": {"dateTime": "2028-01-05T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2028-01-05T11:00:00", "timeZone": "UTC"}}).json()
    later = http.get(link, headers=bearer(reply)).json()
    assert later["value"] == [{"@odata.type": "#microsoft.graph.event", "id": outside["id"],
                               "@removed": {"reason": "deleted"}}]
    assert http.get(url, params={**WINDOW, "$filter": "showAs eq 'busy'"}, headers=bearer(reply)).status_code == 400

    emu.invalidate_delta_tokens()

    gone = http.get(link, headers=bearer(reply))
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "SyncStateNotFound"


# --- subscriptions ---------------------------------------------------------------------------------
def _subscribe(emu, http, reply, url, **overrides):
    body = {"changeType": "created,updated,deleted", "notificationUrl": url, "resource": "me/events",
            "expirationDateTime": _expiry(60), "clientState": "s3cret"}
    body.update(overrides)
    return http.post(f"{emu.graph_url}/subscriptions", json=body, headers=bearer(reply))


def test_subscription_limits_and_failed_handshake_are_rejected(emu, http, hook):
    reply = tokens(emu, http, unique("cy"))

    too_long_state = _subscribe(emu, http, reply, hook.url, clientState="x" * 129)
    assert too_long_state.status_code == 400 and "clientState" in too_long_state.json()["error"]["message"]
    too_far = _subscribe(emu, http, reply, hook.url, expirationDateTime=_expiry(10081))
    assert too_far.status_code == 400 and "10080 minutes" in too_far.json()["error"]["message"]
    plain_http = _subscribe(emu, http, reply, hook.url.replace("https://", "http://"))
    assert plain_http.status_code == 400
    hook.echo_validation = False
    failed = _subscribe(emu, http, reply, hook.url)
    assert failed.status_code == 400 and failed.json()["error"]["code"] == "ValidationError"
    assert hook.validations, "the emulator never called the endpoint"
    assert emu.subscriptions() == []


def test_subscription_handshake_notifications_renewal_and_delete(emu, http, hook):
    email = unique("dee")
    reply = tokens(emu, http, email)
    created = _subscribe(emu, http, reply, hook.url)
    assert created.status_code == 201, created.text
    sub = created.json()
    assert len(hook.validations) == 1

    http.post(f"{emu.graph_url}/me/events", json=weekly_event(), headers=bearer(reply))
    emu.flush_notifications()
    note = hook.notifications[-1]["value"][0]
    assert note["changeType"] == "created" and note["clientState"] == "s3cret"
    assert note["subscriptionId"] == sub["id"] and "subject" not in str(note)

    renewed = http.patch(f"{emu.graph_url}/subscriptions/{sub['id']}", json={"expirationDateTime": _expiry(5000)},
                         headers=bearer(reply))
    assert renewed.status_code == 200 and renewed.json()["expirationDateTime"] != sub["expirationDateTime"]
    too_far = http.patch(f"{emu.graph_url}/subscriptions/{sub['id']}",
                         json={"expirationDateTime": _expiry(20000)}, headers=bearer(reply))
    assert too_far.status_code == 400
    assert http.delete(f"{emu.graph_url}/subscriptions/{sub['id']}", headers=bearer(reply)).status_code == 204
    assert http.get(f"{emu.graph_url}/subscriptions/{sub['id']}", headers=bearer(reply)).status_code == 404


def test_a_subscription_expires_on_the_emulators_clock(hook):
    now = [datetime(2027, 3, 1, 9, tzinfo=UTC).timestamp()]  # months ahead of the real time
    with GraphEmulator(clock=lambda: now[0]) as emu, client_session(emu.ca_file) as http:
        emu.set_token_lifetime(24 * 3600)  # the token outlives the jump below; the subscription does not
        reply = tokens(emu, http, unique("gus"))
        created = _subscribe(emu, http, reply, hook.url, expirationDateTime="2027-03-01T10:00:00Z")
        assert created.status_code == 201, created.text  # an hour ahead on the emulator's clock
        sub = created.json()
        http.post(f"{emu.graph_url}/me/events", json=weekly_event(), headers=bearer(reply))
        emu.flush_notifications()
        assert [n["value"][0]["changeType"] for n in hook.notifications] == ["created"]
        assert emu.notifications()[0]["at"].startswith("2027-03-01T09:00:00")

        now[0] += 2 * 3600
        assert emu.subscriptions() == []
        http.post(f"{emu.graph_url}/me/events", json=weekly_event(start="2027-03-09T10:00:00"), headers=bearer(reply))
        emu.flush_notifications()
        assert len(hook.notifications) == 1  # an expired subscription is not notified
        assert http.get(f"{emu.graph_url}/subscriptions/{sub['id']}", headers=bearer(reply)).status_code == 404
        renew = http.patch(f"{emu.graph_url}/subscriptions/{sub['id']}",
                           json={"expirationDateTime": "2027-03-02T09:00:00Z"}, headers=bearer(reply))
        assert renew.status_code == 404
        past = _subscribe(emu, http, reply, hook.url, expirationDateTime="2027-03-01T10:30:00Z")
        assert past.status_code == 400 and "future" in past.json()["error"]["message"]


def test_lifecycle_events_reach_the_lifecycle_url(emu, http, hook):
    reply = tokens(emu, http, unique("eve"))
    sub = _subscribe(emu, http, reply, hook.url, lifecycleNotificationUrl=hook.url).json()

    assert http.post(f"{emu.graph_url}/subscriptions/{sub['id']}/reauthorize", headers=bearer(reply)).status_code == 204
    for event in ("reauthorizationRequired", "missed", "subscriptionRemoved"):
        emu.trigger_lifecycle(sub["id"], event)
    emu.flush_notifications()

    events = [n["value"][0]["lifecycleEvent"] for n in hook.notifications]
    assert events == ["reauthorizationRequired", "missed", "subscriptionRemoved"]
    assert all(n["value"][0]["clientState"] == "s3cret" for n in hook.notifications)
    assert emu.subscriptions() == []


# --- faults, throttling, control API, CLI ---------------------------------------------------------
def test_injected_faults_throttling_and_slow_replies(emu, http):
    reply = tokens(emu, http, unique("fay"))
    url = f"{emu.graph_url}/me/events"

    emu.fail_next(429, retry_after=7)
    throttled = http.get(url, headers=bearer(reply))
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    emu.fail_next(503)
    assert http.get(url, headers=bearer(reply)).status_code == 503
    emu.slow_next(0.3)
    started = time.monotonic()
    assert http.get(url, headers=bearer(reply)).status_code == 200
    assert time.monotonic() - started >= 0.3

    emu.set_throttle(2, window=60)
    codes = [http.get(url, headers=bearer(reply)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_more_than_four_concurrent_requests_per_mailbox_are_throttled(emu, http):
    reply = tokens(emu, http, unique("hob"))
    emu.slow_next(1.0, count=5, path_contains="/me/events")
    ready = threading.Barrier(5)
    results: list[int] = []

    def call() -> None:
        with client_session(emu.ca_file) as own:
            own.get(f"{emu.graph_url}/subscriptions/none", headers=bearer(reply))  # TLS set up beforehand
            ready.wait(timeout=10)
            results.append(own.get(f"{emu.graph_url}/me/events", headers=bearer(reply)).status_code)

    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 200, 200, 200, 429]


def test_short_lived_access_tokens(emu, http):
    emu.set_token_lifetime(60)
    reply = tokens(emu, http, unique("ivy"))
    assert reply["expires_in"] == 60


def test_http_control_api_drives_the_same_back_door(emu, http):
    email = unique("gus")
    made = http.post(f"{emu.origin}/_emulator/users", json={"email": email}).json()
    assert made["email"] == email and made["oid"]
    http.post(f"{emu.origin}/_emulator/events", json={"email": email, "subject": "Gym",
                                                      "start": "2027-03-01T09:00:00+00:00",
                                                      "end": "2027-03-01T10:00:00+00:00"})
    http.post(f"{emu.origin}/_emulator/faults", json={"status": 502, "count": 1})
    reply = tokens(emu, http, email)

    assert http.get(f"{emu.graph_url}/me/events", headers=bearer(reply)).status_code == 502
    assert [e["subject"] for e in http.get(f"{emu.graph_url}/me/events", headers=bearer(reply)).json()["value"]] == ["Gym"]
    logged = http.get(f"{emu.origin}/_emulator/requests").json()["value"]
    assert [r["status"] for r in logged if r["path"] == "/v1.0/me/events"] == [502, 200]
    assert http.post(f"{emu.origin}/_emulator/nonsense", json={}).status_code == 400


def test_standalone_cli_prints_authority_base_url_and_ca():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    proc = subprocess.Popen([sys.executable, "-m", "emulators.microsoft", "--port", "0", "--user", "a@b.example"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = [proc.stdout.readline().strip() for _ in range(6)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        errors = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0 and "Traceback" not in errors, errors  # SIGTERM stops it cleanly
    assert lines[0].startswith("authority:") and "https://127.0.0.1:" in lines[0]
    assert lines[1].startswith("graph base:") and lines[1].endswith("/v1.0")
    assert lines[2].startswith("CA file:") and lines[2].endswith(".pem")
