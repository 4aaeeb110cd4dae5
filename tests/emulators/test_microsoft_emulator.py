"""The Graph emulator rejects what Microsoft rejects and answers like it: identity platform
(discovery, consent, PKCE, refresh rotation, revoked/expired grants) and calendar endpoints
(getSchedule, calendarView, events, instances, permissions, tokens)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt
import pytest

from emulators.microsoft import GraphEmulator
from emulators.microsoft.browser import sign_in
from emulators.tls import client_session
from tests.emulators.microsoft_helpers import authorize_url, bearer, pkce, redeem, tokens, unique, weekly_event

UTC = timezone.utc


def schedule_body(email: str, start="2027-03-01T00:00:00", end="2027-03-02T00:00:00", interval=60) -> dict:
    return {"schedules": [email], "startTime": {"dateTime": start, "timeZone": "UTC"},
            "endTime": {"dateTime": end, "timeZone": "UTC"}, "availabilityViewInterval": interval}


# --- identity platform ------------------------------------------------------------------------
def test_discovery_and_a_verifiable_id_token_with_msal_claims(emu, http):
    config = http.get(f"{emu.authority}/v2.0/.well-known/openid-configuration").json()
    assert config["authorization_endpoint"] == f"{emu.authority}/oauth2/v2.0/authorize"
    assert config["token_endpoint"] == f"{emu.authority}/oauth2/v2.0/token"

    reply = tokens(emu, http, unique("ada"))

    assert reply["token_type"] == "Bearer" and reply["expires_in"] > 0 and reply["refresh_token"]
    assert "Calendars.ReadWrite" in reply["scope"].split()
    keys = http.get(config["jwks_uri"]).json()["keys"]
    key = jwt.algorithms.RSAAlgorithm.from_jwk(keys[0])
    claims = jwt.decode(reply["id_token"], key, algorithms=["RS256"], audience=emu.client_id)
    assert {"oid", "tid", "preferred_username", "nonce"} <= set(claims)
    info = jwt.utils.base64url_decode(reply["client_info"].encode())
    assert claims["oid"] in info.decode() and claims["tid"] in info.decode()


def test_consent_page_accept_and_decline(emu, http):
    email = unique("bob")
    emu.add_user(email)
    verifier, challenge = pkce()

    page = http.get(authorize_url(emu, "Calendars.ReadBasic offline_access openid", challenge, login_hint=email))
    assert page.status_code == 200 and 'id="accept"' in page.text and "Calendars.ReadBasic" in page.text

    accepted = sign_in(http, authorize_url(emu, "Calendars.ReadBasic openid", challenge, login_hint=email))
    assert accepted["state"] == "st-1" and accepted["code"]
    declined = sign_in(http, authorize_url(emu, "Calendars.ReadBasic openid", challenge, login_hint=email),
                       accept=False)
    assert declined["error"] == "access_denied" and "AADSTS65004" in declined["error_description"]


def test_form_post_response_mode_posts_code_and_state(emu, http):
    email = unique("cy")
    emu.add_user(email)
    emu.set_auto_approve(True)
    _, challenge = pkce()

    page = http.get(authorize_url(emu, "Calendars.Read openid", challenge, login_hint=email, mode="form_post"))

    assert page.status_code == 200 and 'method="POST"' in page.text and 'name="code"' in page.text


def test_pkce_mismatch_and_code_replay_are_rejected(emu, http):
    email = unique("dee")
    emu.add_user(email)
    emu.set_auto_approve(True)
    verifier, challenge = pkce()
    code = sign_in(http, authorize_url(emu, "Calendars.Read openid offline_access", challenge, login_hint=email))["code"]

    wrong = redeem(emu, http, code, verifier + "x")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert wrong.json()["error_codes"] == [501481]
    assert redeem(emu, http, code, verifier).status_code == 200
    replay = redeem(emu, http, code, verifier)
    assert replay.status_code == 400 and replay.json()["error_codes"] == [54005]


def test_unknown_client_secret_and_scope_are_rejected(emu, http):
    bad_secret = http.post(f"{emu.authority}/oauth2/v2.0/token", data={
        "client_id": emu.client_id, "client_secret": "wrong", "grant_type": "refresh_token", "refresh_token": "x"})
    assert bad_secret.status_code == 401 and bad_secret.json()["error_codes"] == [7000215]
    _, challenge = pkce()
    answer = sign_in(http, authorize_url(emu, "Calendars.Everything openid", challenge))
    assert answer["error"] == "invalid_scope"


def _refresh(emu, http, refresh_token: str, scope: str = "Calendars.ReadWrite offline_access openid profile"):
    return http.post(f"{emu.authority}/oauth2/v2.0/token", data={
        "client_id": emu.client_id, "client_secret": emu.client_secret, "grant_type": "refresh_token",
        "refresh_token": refresh_token, "scope": scope})


def test_refresh_rotates_and_the_old_refresh_token_dies(emu, http):
    first = tokens(emu, http, unique("eve"))

    second = _refresh(emu, http, first["refresh_token"])
    assert second.status_code == 200 and second.json()["refresh_token"] != first["refresh_token"]
    reused = _refresh(emu, http, first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert _refresh(emu, http, second.json()["refresh_token"]).status_code == 200


def test_refresh_beyond_consent_revoked_and_expired_grants(emu, http):
    email = unique("fay")
    reply = tokens(emu, http, email, scopes="Calendars.ReadBasic")
    wider = _refresh(emu, http, reply["refresh_token"], scope="Calendars.ReadWrite openid")
    assert wider.json()["error_codes"] == [65001]

    reply = tokens(emu, http, email, scopes="Calendars.ReadBasic")
    emu.revoke_refresh_tokens(email)
    revoked = _refresh(emu, http, reply["refresh_token"], scope="Calendars.ReadBasic openid")
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"
    assert revoked.json()["error_codes"] == [50173]

    reply = tokens(emu, http, email, scopes="Calendars.ReadBasic")
    emu.expire_refresh_tokens(email)
    assert _refresh(emu, http, reply["refresh_token"], scope="Calendars.ReadBasic").json()["error_codes"] == [700082]


# --- tokens and permissions on Graph ---------------------------------------------------------
def test_missing_and_expired_access_tokens_get_401(emu, http):
    reply = tokens(emu, http, unique("gil"))
    url = f"{emu.graph_url}/me/events"

    assert http.get(url).json()["error"]["code"] == "InvalidAuthenticationToken"
    assert http.get(url, headers=bearer(reply)).status_code == 200
    emu.expire_access_tokens()
    expired = http.get(url, headers=bearer(reply))
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "WWW-Authenticate" in expired.headers


def test_scopes_are_enforced_least_privilege(emu, http):
    basic = tokens(emu, http, unique("hal"), scopes="Calendars.ReadBasic")
    email = unique("ida")
    read_write = tokens(emu, http, email)

    assert http.post(f"{emu.graph_url}/me/calendar/getSchedule", json=schedule_body(email),
                     headers=bearer(basic)).status_code == 200
    denied = http.post(f"{emu.graph_url}/me/events", json=weekly_event(), headers=bearer(basic))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "ErrorAccessDenied"
    subscription = http.post(f"{emu.graph_url}/subscriptions", json={}, headers=bearer(basic))
    assert subscription.status_code == 403
    assert http.post(f"{emu.graph_url}/me/events", json=weekly_event(), headers=bearer(read_write)).status_code == 201


# --- getSchedule ---------------------------------------------------------------------------------
def test_get_schedule_reports_statuses_and_honours_prefer_timezone(emu, http):
    email = unique("jo")
    reply = tokens(emu, http, email)
    emu.add_event(email, "Dentist", datetime(2027, 3, 1, 14, tzinfo=UTC), datetime(2027, 3, 1, 15, tzinfo=UTC))
    emu.add_event(email, "Maybe", datetime(2027, 3, 1, 16, tzinfo=UTC), datetime(2027, 3, 1, 17, tzinfo=UTC),
                  show_as="tentative")

    answer = http.post(f"{emu.graph_url}/me/calendar/getSchedule", json=schedule_body(email),
                       headers={**bearer(reply), "Prefer": 'outlook.timezone="W. Europe Standard Time"'}).json()

    info = answer["value"][0]
    assert info["availabilityView"][14:17] == "201"
    items = info["scheduleItems"]
    assert [i["status"] for i in items] == ["busy", "tentative"]
    assert items[0]["start"] == {"dateTime": "2027-03-01T15:00:00.0000000", "timeZone": "W. Europe Standard Time"}


def test_get_schedule_rejects_bad_interval_long_window_and_personal_accounts(emu, http):
    email = unique("kim")
    reply = tokens(emu, http, email)
    url = f"{emu.graph_url}/me/calendar/getSchedule"

    for interval in (4, 1441):
        bad = http.post(url, json=schedule_body(email, interval=interval), headers=bearer(reply))
        assert bad.status_code == 400 and "availabilityViewInterval" in bad.json()["error"]["message"]
    too_long = http.post(url, json=schedule_body(email, end="2027-05-03T00:00:00"), headers=bearer(reply))
    assert too_long.status_code == 400 and "62 days" in too_long.json()["error"]["message"]
    assert http.post(url, json=schedule_body(email, end="2027-05-02T00:00:00"), headers=bearer(reply)).ok

    personal = unique("lou").replace("contoso.example", "outlook.com")
    emu.add_user(personal, personal=True)
    msa = tokens(emu, http, personal)
    refused = http.post(url, json=schedule_body(personal), headers=bearer(msa))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "ErrorNotSupported"


# --- calendarView, events, instances -------------------------------------------------------------
def test_get_schedule_window_limit_is_62_days_with_graphs_error_code(emu, http):
    email = unique("lee")
    reply = tokens(emu, http, email)
    url = f"{emu.graph_url}/me/calendar/getSchedule"

    fits = http.post(url, json=schedule_body(email, end="2027-05-02T00:00:00"), headers=bearer(reply))
    too_long = http.post(url, json=schedule_body(email, end="2027-05-02T00:00:01"), headers=bearer(reply))

    assert fits.status_code == 200
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "ErrorTimeIntervalTooBig"


@pytest.mark.parametrize("zone, accepted", [("India Standard Time", True), ("Nepal Standard Time", True),
                                            ("UTC", True), ("Asia/Kolkata", True), ("Europe/Berlin", True),
                                            ("Europe/Madrid", False), ("America/Toronto", False),
                                            ("Asia/Calcutta", False), ("Mars/Base", False)])
def test_create_and_update_take_windows_names_and_the_documented_iana_names_only(emu, http, zone, accepted):
    reply = tokens(emu, http, unique("zed"))
    url = f"{emu.graph_url}/me/events"

    created = http.post(url, json=weekly_event(tz=zone), headers=bearer(reply))
    plain = http.post(url, json=weekly_event(tz="Eastern Standard Time"), headers=bearer(reply)).json()
    moved = http.patch(f"{url}/{plain['id']}", json={"start": {"dateTime": "2027-03-02T11:00:00", "timeZone": zone},
                                                      "end": {"dateTime": "2027-03-02T11:45:00", "timeZone": zone}},
                       headers=bearer(reply))

    for answer in (created, moved):
        if accepted:
            assert answer.status_code in (200, 201)
        else:
            assert answer.status_code == 400 and answer.json()["error"]["code"] == "TimeZoneNotSupportedException"


def test_calendar_view_needs_a_window_pages_and_hides_body_under_read_basic(emu, http):
    email = unique("max")
    basic = tokens(emu, http, email, scopes="Calendars.ReadBasic")
    for day in range(1, 4):
        emu.add_event(email, f"E{day}", datetime(2027, 3, day, 9, tzinfo=UTC), datetime(2027, 3, day, 10, tzinfo=UTC),
                      body="private notes")
    url = f"{emu.graph_url}/me/calendarView"

    missing = http.get(url, params={"startDateTime": "2027-03-01T00:00:00Z"}, headers=bearer(basic))
    assert missing.status_code == 400 and "StartDateTime and EndDateTime" in missing.json()["error"]["message"]
    first = http.get(url, params={"startDateTime": "2027-03-01T00:00:00Z", "endDateTime": "2027-03-08T00:00:00Z",
                                  "$top": "2"}, headers=bearer(basic)).json()
    assert len(first["value"]) == 2 and "@odata.nextLink" in first
    assert all("body" not in item for item in first["value"])
    rest = http.get(first["@odata.nextLink"], headers=bearer(basic)).json()
    assert [i["subject"] for i in rest["value"]] == ["E3"] and "@odata.nextLink" not in rest


def test_recurrence_is_validated_like_graph(emu, http):
    reply = tokens(emu, http, unique("ned"))
    url = f"{emu.graph_url}/me/events"
    wrong_date = weekly_event()
    wrong_date["recurrence"]["range"]["startDate"] = "2027-03-03"
    no_days = weekly_event()
    del no_days["recurrence"]["pattern"]["daysOfWeek"]
    bad_type = weekly_event()
    bad_type["recurrence"]["pattern"]["type"] = "fortnightly"
    no_count = weekly_event()
    no_count["recurrence"]["range"]["numberOfOccurrences"] = 0

    for body in (wrong_date, no_days, bad_type, no_count):
        rejected = http.post(url, json=body, headers=bearer(reply))
        assert rejected.status_code == 400, body
    created = http.post(url, json=weekly_event(), headers=bearer(reply)).json()
    assert created["type"] == "seriesMaster"
    assert created["recurrence"]["range"]["recurrenceTimeZone"] == "Eastern Standard Time"


def test_transaction_id_makes_create_idempotent_with_teams_and_tag(emu, http):
    email = unique("oda")
    reply = tokens(emu, http, email)
    tag = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name tandemSeriesKey"
    body = weekly_event(transactionId="txn-1", isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness",
                        singleValueExtendedProperties=[{"id": tag, "value": "series-1"}])

    first = http.post(f"{emu.graph_url}/me/events", json=body, headers=bearer(reply))
    again = http.post(f"{emu.graph_url}/me/events", json=body, headers=bearer(reply))

    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and len(emu.events(email)) == 1
    assert first.json()["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/")
    read = http.get(f"{emu.graph_url}/me/events/{first.json()['id']}",
                    params={"$expand": f"singleValueExtendedProperties($filter=id eq '{tag}')"},
                    headers=bearer(reply)).json()
    assert read["singleValueExtendedProperties"] == [{"id": tag, "value": "series-1"}]


def test_text_body_comes_back_as_html_unless_text_is_preferred(emu, http):
    reply = tokens(emu, http, unique("pia"))
    event_id = http.post(f"{emu.graph_url}/me/events", json=weekly_event(), headers=bearer(reply)).json()["id"]
    url = f"{emu.graph_url}/me/events/{event_id}"

    assert http.get(url, headers=bearer(reply)).json()["body"]["contentType"] == "html"
    text = http.get(url, headers={**bearer(reply), "Prefer": 'outlook.body-content-type="text"'}).json()["body"]
    assert text == {"contentType": "text", "content": "Agenda"}


def test_instances_need_a_window_and_one_occurrence_can_move_or_be_cancelled(emu, http):
    reply = tokens(emu, http, unique("quinn"))
    event_id = http.post(f"{emu.graph_url}/me/events", json=weekly_event(), headers=bearer(reply)).json()["id"]
    url = f"{emu.graph_url}/me/events/{event_id}/instances"

    assert http.get(url, params={"startDateTime": "2027-03-01T00:00:00Z"}, headers=bearer(reply)).status_code == 400
    window = {"startDateTime": "2027-03-01T00:00:00Z", "endDateTime": "2027-04-15T00:00:00Z"}
    instances = http.get(url, params=window, headers=bearer(reply)).json()["value"]
    assert [i["originalStart"] for i in instances][:3] == ["2027-03-02T15:00:00Z", "2027-03-09T15:00:00Z",
                                                         "2027-03-16T14:00:00Z"]
    moved = http.patch(f"{emu.graph_url}/me/events/{instances[1]['id']}", headers=bearer(reply),
                       json={"start": {"dateTime": "2027-03-10T18:00:00", "timeZone": "UTC"},
                             "end": {"dateTime": "2027-03-10T18:45:00", "timeZone": "UTC"}}).json()
    assert moved["type"] == "exception" and moved["seriesMasterId"] == event_id
    assert http.post(f"{emu.graph_url}/me/events/{instances[2]['id']}/cancel", json={},
                     headers=bearer(reply)).status_code == 202
    assert http.delete(f"{emu.graph_url}/me/events/{instances[3]['id']}", headers=bearer(reply)).status_code == 204

    after = http.get(url, params=window, headers=bearer(reply)).json()["value"]
    assert len(after) == 4 and {i["id"] for i in after}.isdisjoint({instances[2]["id"], instances[3]["id"]})
    master = http.get(f"{emu.graph_url}/me/events/{event_id}", headers=bearer(reply)).json()
    assert [c.rsplit(".", 1)[-1] for c in master["cancelledOccurrences"]] == ["2027-03-16", "2027-03-23"]
    assert http.get(f"{emu.graph_url}/me/events/{event_id}x", headers=bearer(reply)).status_code == 404


def test_organizer_cancel_hides_the_series_but_keeps_it_readable(emu, http):
    email = unique("ray")
    reply = tokens(emu, http, email)
    event_id = http.post(f"{emu.graph_url}/me/events", json=weekly_event(), headers=bearer(reply)).json()["id"]

    assert http.post(f"{emu.graph_url}/me/events/{event_id}/cancel", json={"comment": "ended"},
                     headers=bearer(reply)).status_code == 202

    assert http.get(f"{emu.graph_url}/me/events/{event_id}", headers=bearer(reply)).json()["isCancelled"] is True
    again = http.post(f"{emu.graph_url}/me/events/{event_id}/cancel", json={}, headers=bearer(reply))
    assert again.status_code == 400
    busy = http.post(f"{emu.graph_url}/me/calendar/getSchedule", headers=bearer(reply),
                     json=schedule_body(email, "2027-03-01T00:00:00", "2027-04-15T00:00:00")).json()
    assert busy["value"][0]["scheduleItems"] == []
    start = datetime(2027, 3, 2, tzinfo=UTC)
    assert emu.events(email)[0].instances(start, start + timedelta(days=60)) == []


def test_an_outside_directory_provisions_the_accounts_it_knows_at_sign_in(http):
    asked = []

    def directory(email: str) -> bool:
        asked.append(email)
        if not email.endswith("@org.example"):
            return False
        emu.add_user(email, time_zone="Europe/Rome")
        return True

    with GraphEmulator(directory=directory) as emu, client_session(emu.ca_file) as session:
        _, challenge = pkce()
        known = sign_in(session, authorize_url(emu, "Calendars.ReadBasic openid", challenge,
                                               login_hint="Nia@Org.example"))
        assert known["code"] and emu.store.user("nia@org.example").time_zone == "Europe/Rome"
        with pytest.raises(RuntimeError, match="AADSTS50034"):
            sign_in(session, authorize_url(emu, "Calendars.ReadBasic openid", challenge,
                                           login_hint="someone@else.example"))
        sign_in(session, authorize_url(emu, "Calendars.ReadBasic openid", challenge, login_hint="nia@org.example"))
    assert asked == ["nia@org.example", "someone@else.example"]  # a known account is not asked again


# --- the emulator's clock ------------------------------------------------------------------------
def test_tokens_codes_and_stamps_follow_the_emulators_clock():
    now = [datetime(2027, 3, 1, 9, tzinfo=UTC).timestamp()]  # months ahead of the real time
    with GraphEmulator(clock=lambda: now[0]) as emu, client_session(emu.ca_file) as http:
        email = unique("hal")
        reply = tokens(emu, http, email)
        claims = jwt.decode(reply["id_token"], options={"verify_signature": False})
        assert claims["iat"] == int(now[0]) and claims["exp"] == int(now[0]) + 3600
        created = http.post(f"{emu.graph_url}/me/events", json=weekly_event(), headers=bearer(reply)).json()
        assert created["createdDateTime"] == created["lastModifiedDateTime"] == "2027-03-01T09:00:00Z"

        now[0] += 2 * 3600  # the access token (an hour) is now expired; the refresh token (90 days) is not
        expired = http.get(f"{emu.graph_url}/me/events", headers=bearer(reply))
        assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]
        assert expired.json()["error"]["innerError"]["date"] == "2027-03-01T11:00:00"
        fresh = _refresh(emu, http, reply["refresh_token"])
        assert fresh.status_code == 200, fresh.text
        patched = http.patch(f"{emu.graph_url}/me/events/{created['id']}", json={"subject": "Moved"},
                             headers=bearer(fresh.json())).json()
        assert patched["createdDateTime"] == "2027-03-01T09:00:00Z"
        assert patched["lastModifiedDateTime"] == "2027-03-01T11:00:00Z"

        verifier, challenge = pkce()
        answer = sign_in(http, authorize_url(emu, "Calendars.ReadBasic openid", challenge, login_hint=email))
        now[0] += 11 * 60  # an authorization code lives ten minutes
        late = redeem(emu, http, answer["code"], verifier)
        assert late.status_code == 400 and late.json()["error_codes"] == [70008]
        assert "2027-03-01 11:11:00Z" in late.json()["error_description"]
