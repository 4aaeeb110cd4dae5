"""The JSON API v1 over HTTP (docs/api.md, docs/contracts.md §3): tokens and their scope, the
error shape, pagination, the same figures as the web pages, the import, rate limits."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from adapters.storage.models import Occurrence, Person, Series
from scheduler.services import api as service
from tests.support.web import sign_in_as, utc


def at(day: int):
    return utc(2026, 3, day, 14, 0)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(container, seeded):
    """A token of the seeded program (A), one of the other program (B), an administrator's."""
    a = service.create_api_token(container, name="A", program_id=seeded.program_id).token
    b = service.create_api_token(container, name="B", program_id=seeded.other_program_id).token
    admin = service.create_api_token(container, name="admin", program_id=None).token
    return {"a": a, "b": b, "admin": admin}


@pytest.fixture
def sessions(container, seeded):
    """The seeded pair: a session held, one missed (the mentee said so); one held in program B."""
    with container.uow() as uow:
        s = uow.session
        s.get(Person, seeded.mentor_id).tz = "America/New_York"
        series = Series(pair_id=seeded.pair_id, rrule="FREQ=WEEKLY", dtstart_local="2026-03-02T14:00:00", tz="UTC",
                        duration_min=60, status="booked")
        other = Series(pair_id=seeded.other_pair_id, rrule="FREQ=WEEKLY", dtstart_local="2026-03-02T14:00:00",
                       tz="UTC", duration_min=60, status="booked")
        s.add_all([series, other])
        s.flush()
        s.add_all([
            Occurrence(series_id=series.id, original_start=at(2), start=at(2), end=at(2) + timedelta(hours=1),
                       attendance_verdict="held"),
            Occurrence(series_id=series.id, original_start=at(9), start=at(9), end=at(9) + timedelta(hours=1),
                       attendance_verdict="missed", attendance_signals=[
                           {"kind": "answer", "at": at(9).isoformat(), "by": "mentee", "detail": "not_met"}]),
            Occurrence(series_id=other.id, original_start=at(3), start=at(3), end=at(3) + timedelta(hours=2),
                       attendance_verdict="held")])
        uow.commit()


def routes(program_id: str) -> list[tuple[str, str]]:
    base = f"/api/v1/programs/{program_id}"
    return [("GET", base), ("GET", base + "/pairs"), ("GET", base + "/sessions"),
            ("GET", base + "/reports/missed"), ("GET", base + "/reports/equal-access?format=csv"),
            ("GET", base + "/reports/recognition"), ("POST", base + "/pairs")]


NEW_PAIRS = {"pairs": [{"mentor_email": "new.mentor@example.org", "mentee_email": "new.mentee@example.org"}]}


def test_a_program_token_gets_404_for_everything_of_another_program(client, seeded, tokens):
    for method, url in routes(seeded.other_program_id):
        reply = client.open(url, method=method, headers=bearer(tokens["a"]),
                            json=NEW_PAIRS if method == "POST" else None)
        assert reply.status_code == 404, url
        assert reply.get_json()["error"]["code"] == "not_found"
    listed = client.get("/api/v1/programs", headers=bearer(tokens["a"])).get_json()
    assert [p["id"] for p in listed["items"]] == [seeded.program_id]
    assert listed["next_cursor"] is None


def test_an_administrator_token_sees_every_program(client, seeded, tokens):
    listed = client.get("/api/v1/programs", headers=bearer(tokens["admin"])).get_json()
    assert {p["id"] for p in listed["items"]} == {seeded.program_id, seeded.other_program_id}
    for method, url in routes(seeded.other_program_id)[:-1]:
        assert client.open(url, method=method, headers=bearer(tokens["admin"])).status_code == 200, url


def test_no_unknown_or_revoked_token_is_401_and_cookies_are_not_a_login(client, container, seeded, tokens):
    url = f"/api/v1/programs/{seeded.program_id}"
    assert client.get(url, headers=bearer(tokens["a"])).status_code == 200
    for headers in ({}, bearer("tdm_nope"), {"Authorization": "Basic YTpi"}):
        reply = client.get(url, headers=headers)
        assert reply.status_code == 401
        assert reply.get_json()["error"]["code"] == "unauthorized"
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    sign_in_as(client, seeded.admin_id)  # a signed-in administrator's session cookie is not a token
    assert client.get(url).status_code == 401
    token_id = service.api_tokens_of_program(container, seeded.program_id)[0].id
    assert service.revoke_api_token(container, seeded.program_id, token_id)
    reply = client.get(url, headers=bearer(tokens["a"]))
    assert reply.status_code == 401
    assert "revoked" in reply.get_json()["error"]["message"]


def test_unknown_routes_and_bad_input_answer_in_the_error_shape(client, seeded, tokens):
    headers = bearer(tokens["a"])
    missing = client.get("/api/v1/nothing-here", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong = client.delete(f"/api/v1/programs/{seeded.program_id}", headers=headers)
    assert wrong.status_code == 405 and wrong.get_json()["error"]["code"] == "method_not_allowed"
    for query in ("limit=0", "limit=1001", "state=sleeping", "at_risk=maybe", "cursor=abc"):
        reply = client.get(f"/api/v1/programs/{seeded.program_id}/pairs?{query}", headers=headers)
        assert reply.status_code == 400, query
        error = reply.get_json()["error"]
        assert error["code"] == "bad_request" and error["message"], query
    reply = client.get(f"/api/v1/programs/{seeded.program_id}/reports/missed?from=2026-04-01&to=2026-03-01",
                       headers=headers)
    assert reply.status_code == 400 and "before" in reply.get_json()["error"]["message"]


def test_pairs_are_paginated_with_an_opaque_cursor(client, container, seeded, tokens):
    rows = [{"mentor_email": f"m{i}@example.org", "mentee_email": f"e{i}@example.org"} for i in range(7)]
    assert client.post(f"/api/v1/programs/{seeded.program_id}/pairs", json={"pairs": rows},
                       headers=bearer(tokens["a"])).status_code == 201
    seen, cursor, pages = [], None, 0
    while True:
        url = f"/api/v1/programs/{seeded.program_id}/pairs?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=bearer(tokens["a"])).get_json()
        pages += 1
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 8 == len(set(seen)) and seen == sorted(seen)
    invited = client.get(f"/api/v1/programs/{seeded.program_id}/pairs?state=invited&limit=1000",
                         headers=bearer(tokens["a"])).get_json()
    assert len(invited["items"]) == 8 and invited["next_cursor"] is None
    assert client.get(f"/api/v1/programs/{seeded.program_id}/pairs?state=booked",
                      headers=bearer(tokens["a"])).get_json()["items"] == []


def test_adding_pairs_is_all_or_nothing_with_the_import_s_checks(client, container, seeded, tokens):
    url = f"/api/v1/programs/{seeded.program_id}/pairs"
    bad = {"pairs": [{"mentor_email": "ok.mentor@example.org", "mentee_email": "ok.mentee@example.org"},
                     {"mentor_email": "same@example.org", "mentee_email": "same@example.org"},
                     {"mentor_email": "mentor@example.org", "mentee_email": "mentee@example.org"}]}
    reply = client.post(url, json=bad, headers=bearer(tokens["a"]))
    assert reply.status_code == 422
    error = reply.get_json()["error"]
    assert error["code"] == "invalid"
    assert [d["index"] for d in error["details"]] == [1, 2]
    assert "same person" in error["details"][0]["message"] and "already a pair" in error["details"][1]["message"]
    pairs = client.get(url, headers=bearer(tokens["a"])).get_json()["items"]
    assert len(pairs) == 1  # nothing was added
    reply = client.post(url, json={"pairs": bad["pairs"][:1]}, headers=bearer(tokens["a"]))
    assert reply.status_code == 201 and reply.get_json() == {"pairs_created": 1, "people_created": 2}
    assert client.post(url, json={"pairs": []}, headers=bearer(tokens["a"])).status_code == 400


def test_sessions_carry_attendance_and_signals_in_pages(client, seeded, tokens, sessions):
    url = f"/api/v1/programs/{seeded.program_id}/sessions?from=2026-03-01&to=2026-04-01&limit=1"
    first = client.get(url, headers=bearer(tokens["a"])).get_json()
    assert [s["attendance"] for s in first["items"]] == ["held"]
    second = client.get(url + f"&cursor={first['next_cursor']}", headers=bearer(tokens["a"])).get_json()
    (missed,) = second["items"]
    assert missed["attendance"] == "missed" and missed["start"] == "2026-03-09T14:00:00Z"
    assert missed["signals"][0]["kind"] == "answer" and "didn't meet" in missed["signals"][0]["text"]
    assert second["next_cursor"] is None


def test_a_figure_is_the_same_in_the_api_csv_the_api_json_the_web_report_and_the_dashboard(
        client, container, seeded, tokens, sessions):
    api = f"/api/v1/programs/{seeded.program_id}/reports"
    web = f"/programs/{seeded.program_id}/reports"
    sign_in_as(client, seeded.coordinator_id)
    for kind in ("missed", "equal-access", "recognition"):
        api_csv = client.get(f"{api}/{kind}?from=2026-03-01&to=2026-04-01&format=csv", headers=bearer(tokens["a"]))
        assert api_csv.mimetype == "text/csv"
        web_csv = client.get(f"{web}/{kind}.csv?from=2026-03-01&to=2026-04-01")
        assert api_csv.get_data(as_text=True) == web_csv.get_data(as_text=True)
        api_json = client.get(f"{api}/{kind}?from=2026-03-01&to=2026-04-01", headers=bearer(tokens["a"])).get_json()
        assert api_json == client.get(f"{web}/{kind}.json?from=2026-03-01&to=2026-04-01").get_json()
        rows = list(csv.DictReader(io.StringIO(api_csv.get_data(as_text=True))))
        assert len(rows) == len(api_json["items"]) >= 1
    recognition = client.get(f"{api}/recognition?from=2026-03-01&to=2026-04-01", headers=bearer(tokens["a"]))
    assert recognition.get_json()["items"][0]["sessions_held"] == 1
    # the dashboard's headline and the API's program detail: one computation
    from scheduler.services.dashboard import dashboard
    board = dashboard(container, seeded.program_id, viewer_tz="UTC")
    detail = client.get(f"/api/v1/programs/{seeded.program_id}", headers=bearer(tokens["a"])).get_json()
    assert detail["headline"]["pairs"] == board.headline.pairs == 1
    assert detail["headline"]["sessions_held_this_month"] == board.headline.held_this_month
    assert detail["headline"]["sessions_missed_this_month"] == board.headline.missed_this_month
    assert detail["headline"]["at_risk"] == board.headline.at_risk
    (line,) = board.lines
    (item,) = client.get(f"/api/v1/programs/{seeded.program_id}/pairs", headers=bearer(tokens["a"])).get_json()["items"]
    assert item["misses_in_a_row"] == line.misses_in_a_row
    assert [r["rule"] for r in item["at_risk_reasons"]] == [r.rule for r in line.reasons]
    assert item["state"] == line.state and item["connection_health"] == line.connection


def test_the_rate_limit_is_429_with_retry_after_and_last_use_is_recorded(settings, seeded, container):
    from web import create_app
    from config.bootstrap import bootstrap

    limited = bootstrap(settings.with_overrides({"api.requests_per_minute": 3}))
    try:
        client = create_app(container=limited).test_client()
        token = service.create_api_token(limited, name="tight", program_id=seeded.program_id).token
        replies = [client.get("/api/v1/programs", headers=bearer(token)) for _ in range(4)]
        assert [r.status_code for r in replies] == [200, 200, 200, 429]
        assert replies[0].headers["X-RateLimit-Remaining"] == "2"
        assert 1 <= int(replies[3].headers["Retry-After"]) <= 60
        assert replies[3].get_json()["error"]["code"] == "rate_limited"
        (line,) = service.api_tokens_of_program(limited, seeded.program_id)
        assert line.last_used_at is not None
    finally:
        limited.dispose()


def test_the_openapi_document_is_3_1_with_bearer_security_and_every_route(client):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "An API token (tandem api-token create)."}
    paths = set(document["paths"])
    assert paths == {"/api/v1/programs", "/api/v1/programs/{program_id}", "/api/v1/programs/{program_id}/pairs",
                     "/api/v1/programs/{program_id}/sessions", "/api/v1/programs/{program_id}/reports/missed",
                     "/api/v1/programs/{program_id}/reports/equal-access",
                     "/api/v1/programs/{program_id}/reports/recognition", "/api/v1/people/{person_id}/export",
                     "/api/v1/people/{person_id}"}
    assert "text/csv" in document["paths"]["/api/v1/programs/{program_id}/reports/missed"]["get"]["responses"]["200"][
        "content"]


def test_a_coordinator_creates_lists_and_revokes_tokens_on_the_program_page(client, container, seeded):
    csrf = sign_in_as(client, seeded.coordinator_id)
    page = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    assert 'id="api-tokens"' in page and "Create a token" in page
    made = client.post(f"/programs/{seeded.program_id}/api-tokens", data={"name": "HR export", "csrf_token": csrf})
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    token = re.search(r'value="(tdm_[^"]+)"', made.get_data(as_text=True)).group(1)
    assert client.get(f"/api/v1/programs/{seeded.program_id}", headers=bearer(token)).status_code == 200
    page = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    assert "HR export" in page and token not in page  # listed, never shown again
    assert "Cora Coordinator" in page and "never" not in page.split("HR export")[1].split("</tr>")[0]
    (line,) = service.api_tokens_of_program(container, seeded.program_id)
    assert client.post(f"/programs/{seeded.program_id}/api-tokens/{line.id}/revoke",
                       data={"csrf_token": csrf}).status_code == 302
    assert client.get(f"/api/v1/programs/{seeded.program_id}", headers=bearer(token)).status_code == 401
    assert "Revoked" in client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)


def test_a_coordinator_of_a_cannot_make_or_revoke_tokens_of_b(client, container, seeded):
    other = service.create_api_token(container, name="B's", program_id=seeded.other_program_id)
    csrf = sign_in_as(client, seeded.coordinator_id)
    assert client.post(f"/programs/{seeded.other_program_id}/api-tokens",
                       data={"name": "mine now", "csrf_token": csrf}).status_code == 403
    assert client.post(f"/programs/{seeded.other_program_id}/api-tokens/{other.line.id}/revoke",
                       data={"csrf_token": csrf}).status_code == 403
    # a token of B named under A's address is not A's to revoke
    assert client.post(f"/programs/{seeded.program_id}/api-tokens/{other.line.id}/revoke",
                       data={"csrf_token": csrf}).status_code == 404
    assert service.api_tokens_of_program(container, seeded.other_program_id)[0].active
    assert service.api_tokens_of_program(container, seeded.program_id) == []
    # the forms need the CSRF token like every other form
    assert client.post(f"/programs/{seeded.program_id}/api-tokens", data={"name": "x"}).status_code == 400
