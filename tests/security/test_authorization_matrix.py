"""Issue 15, keep it closed: an authorization matrix generated from Flask's URL map.

Every route and method of the app is requested as each of six people — anonymous, a member of
pair A (its mentee), a member of another pair in another program, the coordinator of program A,
a coordinator of program B, an administrator — with the URL's parts filled with program A's
objects, and the outcome is compared with :data:`RULES`. A route missing from :data:`RULES`
fails :func:`test_every_route_has_a_rule`: whoever adds a route says who may use it.

Outcomes: ``ok`` (the view ran: any 2xx/3xx that is not a sign-in redirect, or a 400/409/429 about
the request's content), ``signin`` (redirected to sign in), ``forbidden`` (403), ``hidden`` (404),
``link`` (400: a signed-link route refusing a bad token — the link is the authority),
``bearer`` (401 without a bearer token; cookie sessions never authorise).

Routes under ``/api/`` are bearer-only by rule (:func:`expected`): every role gets 401/403 with a
session cookie and no token; give such routes an entry in :data:`RULES` with ``"bearer"``.
Each route is one test on a fresh database, denied roles first, so an allowed request's effect
(a pause, a sign-out) cannot change another role's answer.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from adapters.storage.models import (ApiToken, CalendarConnection, Goal, Membership, Occurrence, Person, Program,
                                     Series, WebhookEndpoint)

ROLES = ("anonymous", "member", "other_member", "coordinator_a", "coordinator_b", "admin")

# access classes -> the outcome for each role
PUBLIC = dict.fromkeys(ROLES, "ok")
LINK = dict.fromkeys(ROLES, "link")
SIGNED_IN = dict(PUBLIC, anonymous="signin")
PAIR_MEMBER = dict(anonymous="signin", member="ok", other_member="forbidden", coordinator_a="forbidden",
                   coordinator_b="forbidden", admin="forbidden")
PROGRAM_COORDINATOR = dict(anonymous="signin", member="forbidden", other_member="forbidden", coordinator_a="ok",
                           coordinator_b="forbidden", admin="ok")
ANY_COORDINATOR = dict(PROGRAM_COORDINATOR, coordinator_b="ok")
PROGRAM_PARTICIPANT = dict(anonymous="signin", member="ok", other_member="hidden", coordinator_a="hidden",
                           coordinator_b="hidden", admin="hidden")
ADMIN = dict(anonymous="signin", member="forbidden", other_member="forbidden", coordinator_a="forbidden",
             coordinator_b="forbidden", admin="ok")
BEARER = dict.fromkeys(ROLES, "bearer")

# (rule, method) -> who may use it. /demo routes exist only with app.demo (refused in production).
RULES: dict[tuple[str, str], dict[str, str]] = {
    ("/", "GET"): PUBLIC,
    ("/healthz", "GET"): PUBLIC,
    ("/readyz", "GET"): PUBLIC,
    ("/metrics", "GET"): PUBLIC,  # with metrics.token unset outside production; a bearer token otherwise
    ("/static/<path:filename>", "GET"): PUBLIC,
    ("/signin", "GET"): PUBLIC,
    ("/signin/email", "POST"): PUBLIC,
    ("/signin/link/<token>", "GET"): LINK,
    ("/signin/link/<token>", "POST"): LINK,
    ("/signout", "POST"): PUBLIC,
    ("/signout/everywhere", "POST"): SIGNED_IN,
    ("/invite/<token>", "GET"): LINK,
    ("/invite/<token>", "POST"): LINK,
    ("/feedback/<token>", "GET"): LINK,
    ("/feedback/<token>", "POST"): LINK,
    ("/digest/unsubscribe/<token>", "GET"): LINK,
    ("/digest/unsubscribe/<token>", "POST"): LINK,
    ("/webhooks/google", "POST"): PUBLIC,  # the channel token is the authority (test_webhook_channels.py)
    ("/webhooks/microsoft", "POST"): PUBLIC,
    ("/oauth/<provider>/start", "GET"): dict.fromkeys(ROLES, "hidden"),  # no OAuth client configured here
    ("/oauth/google/callback", "GET"): PUBLIC,  # the OAuth state in the session is the authority
    ("/oauth/microsoft/callback", "GET"): PUBLIC,
    ("/oauth/microsoft/callback", "POST"): PUBLIC,
    ("/onboarding", "GET"): SIGNED_IN,
    ("/onboarding", "POST"): SIGNED_IN,
    ("/calendars/", "GET"): SIGNED_IN,
    ("/calendars/caldav", "GET"): SIGNED_IN,
    ("/calendars/caldav", "POST"): SIGNED_IN,
    ("/calendars/ics", "GET"): SIGNED_IN,
    ("/calendars/ics", "POST"): SIGNED_IN,
    # the service acts on one's own connections only (another's id: "not found" and back to the
    # list; test_another_persons_connection_cannot_be_disconnected checks nothing changed)
    ("/calendars/<connection_id>/disconnect", "POST"): SIGNED_IN,
    ("/pairs/<pair_id>", "GET"): PAIR_MEMBER,
    ("/pairs/<pair_id>/goals", "POST"): PAIR_MEMBER,
    ("/pairs/<pair_id>/goals/<goal_id>", "POST"): PAIR_MEMBER,
    ("/pairs/<pair_id>/pause", "POST"): PAIR_MEMBER,
    ("/pairs/<pair_id>/resume", "POST"): PAIR_MEMBER,
    ("/pairs/<pair_id>/try-again", "POST"): PAIR_MEMBER,
    ("/pairs/<pair_id>/sessions/<occurrence_id>/agenda", "POST"): PAIR_MEMBER,
    ("/pairs/<pair_id>/sessions/<occurrence_id>/move", "GET"): PAIR_MEMBER,
    ("/pairs/<pair_id>/sessions/<occurrence_id>/move", "POST"): PAIR_MEMBER,
    ("/pairs/<pair_id>/sessions/<occurrence_id>/skip", "POST"): PAIR_MEMBER,
    ("/programs/", "GET"): ANY_COORDINATOR,
    ("/programs/new", "GET"): ANY_COORDINATOR,
    ("/programs/new", "POST"): ANY_COORDINATOR,
    ("/programs/digest", "POST"): ANY_COORDINATOR,
    ("/programs/<program_id>", "GET"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/import", "POST"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/invitations", "POST"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/pairs/<pair_id>", "GET"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/pairs/<pair_id>/sessions/<occurrence_id>/attendance", "POST"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/reports", "GET"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/reports/<kind>.csv", "GET"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/reports/<kind>.json", "GET"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/join", "GET"): PROGRAM_PARTICIPANT,
    ("/programs/<program_id>/join", "POST"): PROGRAM_PARTICIPANT,
    # one's own data (export, delete my account): whoever is signed in, about themselves
    ("/account/export", "POST"): SIGNED_IN,
    ("/account/delete", "GET"): SIGNED_IN,
    ("/account/delete", "POST"): SIGNED_IN,
    ("/admin/privacy", "GET"): ADMIN,
    ("/admin/people/<person_id>/export", "POST"): ADMIN,
    ("/admin/people/<person_id>/erase", "GET"): ADMIN,
    ("/admin/people/<person_id>/erase", "POST"): ADMIN,
    ("/pairs/<pair_id>/goals/<goal_id>/review", "POST"): PAIR_MEMBER,
    ("/pairs/<pair_id>/goals/<goal_id>/text", "POST"): PAIR_MEMBER,
    ("/pairs/<pair_id>/pause", "GET"): PAIR_MEMBER,
    ("/pairs/<pair_id>/sessions/<occurrence_id>/skip", "GET"): PAIR_MEMBER,
    ("/pairs/<pair_id>/sessions/<occurrence_id>/undo-skip", "POST"): PAIR_MEMBER,
    ("/programs/<program_id>/alerts", "POST"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/settings", "GET"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/settings", "POST"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/sharing", "POST"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/api-tokens", "POST"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/api-tokens/<token_id>/revoke", "POST"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/pairs/<pair_id>/<action>", "POST"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/pairs/<pair_id>/remove", "GET"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/webhooks/", "GET"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/webhooks/", "POST"): PROGRAM_COORDINATOR,
    # allowed to both, but coordinator A's request deletes the endpoint, so the administrator's,
    # after it, finds none ("gone": a 404 that comes after the allowed roles)
    ("/programs/<program_id>/webhooks/<endpoint_id>/delete", "POST"): dict(PROGRAM_COORDINATOR, admin="gone"),
    ("/programs/<program_id>/webhooks/<endpoint_id>/enable", "POST"): PROGRAM_COORDINATOR,
    ("/programs/<program_id>/webhooks/<endpoint_id>/test", "POST"): PROGRAM_COORDINATOR,
    # the JSON API: bearer tokens only, a session cookie never authorises
    ("/api/openapi.json", "GET"): PUBLIC,
}


def expected(rule: str, method: str) -> dict[str, str] | None:
    if rule.startswith("/api/") and (rule, method) not in RULES:
        return BEARER  # bearer-only by rule; the lead adds each /api/ route to RULES at merge
    return RULES.get((rule, method))


def _routes(app) -> list[tuple[str, str]]:
    return sorted({(rule.rule, method) for rule in app.url_map.iter_rules()
                   for method in rule.methods - {"HEAD", "OPTIONS"}})


def test_every_route_has_a_rule(app):
    missing = [f"{method} {rule}" for rule, method in _routes(app) if expected(rule, method) is None]
    assert missing == [], ("routes without an entry in tests/security/test_authorization_matrix.py RULES "
                           f"(say who may use them): {missing}")
    stale = sorted(set(RULES) - set(_routes(app)))
    assert stale == [], f"RULES names routes the app no longer has: {stale}"


# --- the people and the objects -------------------------------------------------------------
def _world(container, seeded) -> dict[str, str]:
    """Program A (seeded), with a coordinator of another program B, an occurrence, a goal and a
    connection of pair A's mentee; returns person ids by role and the URL parts."""
    with container.uow() as uow:
        s = uow.session
        cole = Person(email="cole@example.org", name="Cole CoordinatorB")
        program_b = Program(name="Program B")
        s.add_all([cole, program_b])
        s.flush()
        s.add(Membership(program_id=program_b.id, person_id=cole.id, role="coordinator"))
        series = Series(pair_id=seeded.pair_id, rrule="FREQ=WEEKLY", dtstart_local="2026-01-01T10:00:00", tz="UTC",
                        duration_min=45, status="booked")
        s.add(series)
        s.flush()
        start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=2)
        occurrence = Occurrence(series_id=series.id, original_start=start, start=start,
                                end=start + timedelta(minutes=45))
        goal = Goal(pair_id=seeded.pair_id, text="Ship it")
        connection = CalendarConnection(person_id=seeded.mentee_id, provider="ics", account_email="mia@example.org",
                                        calendar_id="x", token_blob=container.cipher.encrypt({"url": "https://x"}))
        token = ApiToken(token_hash="matrix", name="matrix", program_id=seeded.program_id)
        endpoint = WebhookEndpoint(program_id=seeded.program_id, url="https://example.org/hook", events=["pair.booked"],
                                   secret_blob=container.cipher.encrypt({"secret": "whsec_matrix"}))
        s.add_all([occurrence, goal, connection, token, endpoint])
        s.flush()
        world = dict(program_id=seeded.program_id, pair_id=seeded.pair_id, occurrence_id=occurrence.id,
                     goal_id=goal.id, connection_id=connection.id, token="not-a-valid-token", kind="missed",
                     provider="google", filename="tandem.css", token_id=token.id, endpoint_id=endpoint.id,
                     action="pause", person_id=seeded.mentee_id)
        uow.commit()
    world["people"] = dict(member=seeded.mentee_id, other_member=seeded.other_mentee_id,
                           coordinator_a=seeded.coordinator_id, coordinator_b=cole.id, admin=seeded.admin_id)
    return world


def _url(rule: str, world: dict) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(world[m.group(1)]), rule)


def _client(app, container, person_id: str | None):
    from scheduler.services.web_sessions import start_session

    client = app.test_client()
    with client.session_transaction() as session:
        session["_csrf"] = "matrix-csrf"
        if person_id:
            session["pid"], session["sid"] = person_id, start_session(container, person_id)
    return client


def outcome(reply, rule: str) -> str:
    status = reply.status_code
    if status in (301, 302, 303, 307, 308) and "/signin" in reply.headers.get("Location", "") \
            and not rule.startswith("/signin"):
        return "signin"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "hidden"
    if status == 401:
        return "bearer"
    if status == 400 and "<token>" in rule:
        return "link"
    if status >= 500:
        return f"error {status}"
    return "ok"


def _order(rules: dict[str, str]) -> list[str]:
    return sorted(ROLES, key=lambda role: rules[role] in ("ok", "gone"))  # denied first, then allowed


ROUTES = sorted(RULES)


@pytest.mark.parametrize("rule, method", ROUTES, ids=[f"{m} {r}" for r, m in ROUTES])
def test_each_role_gets_the_expected_answer(app, container, seeded, rule, method):
    if (rule, method) not in _routes(app):
        pytest.skip("route not in this app (test_every_route_has_a_rule names it)")
    world = _world(container, seeded)
    rules = expected(rule, method)
    url = _url(rule, world)
    seen = {}
    for role in _order(rules):
        client = _client(app, container, world["people"].get(role))
        with client.open(url, method=method, data={"csrf_token": "matrix-csrf"} if method == "POST" else None) as reply:
            seen[role] = outcome(reply, rule)
    assert seen == {role: "hidden" if o == "gone" else o for role, o in rules.items()}, f"{method} {rule}"


def test_another_persons_connection_cannot_be_disconnected(app, container, seeded):
    world = _world(container, seeded)
    for role in ("other_member", "coordinator_a", "coordinator_b", "admin"):
        client = _client(app, container, world["people"][role])
        client.post(f"/calendars/{world['connection_id']}/disconnect", data={"csrf_token": "matrix-csrf"})
    with container.uow() as uow:
        assert uow.session.get(CalendarConnection, world["connection_id"]) is not None
