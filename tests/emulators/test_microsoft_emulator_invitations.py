"""Meeting invitations between emulator mailboxes (opt-in): copies appear tentative, follow the
organizer's changes and cancellation, and the attendee's answer reaches the organizer."""
from __future__ import annotations

from tests.emulators.microsoft_helpers import bearer, tokens, unique, weekly_event

WINDOW = {"startDateTime": "2027-03-01T00:00:00Z", "endDateTime": "2027-04-15T00:00:00Z"}


def _meeting(emu, http):
    emu.set_deliver_invitations(True)
    ada, bob = unique("ada"), unique("bob")
    organizer, attendee = tokens(emu, http, ada), tokens(emu, http, bob)
    body = weekly_event(attendees=[{"emailAddress": {"address": bob}, "type": "required"}])
    master = http.post(f"{emu.graph_url}/me/events", json=body, headers=bearer(organizer)).json()
    return ada, bob, organizer, attendee, master


def _view(emu, http, token_reply):
    return http.get(f"{emu.graph_url}/me/calendarView", params={**WINDOW, "$top": "50"},
                    headers=bearer(token_reply)).json()["value"]


def test_invitation_lands_tentative_and_the_answer_reaches_the_organizer(emu, http):
    ada, bob, organizer, attendee, master = _meeting(emu, http)

    copies = _view(emu, http, attendee)
    assert len(copies) == 6 and {c["showAs"] for c in copies} == {"tentative"}
    assert copies[0]["organizer"]["emailAddress"]["address"] == ada
    copy_id = copies[0]["seriesMasterId"]

    assert http.post(f"{emu.graph_url}/me/events/{copy_id}/accept", json={"sendResponse": True},
                     headers=bearer(attendee)).status_code == 202

    read = http.get(f"{emu.graph_url}/me/events/{master['id']}", headers=bearer(organizer)).json()
    assert read["attendees"][0]["status"]["response"] == "accepted"
    assert {c["showAs"] for c in _view(emu, http, attendee)} == {"busy"}
    own = http.post(f"{emu.graph_url}/me/events/{master['id']}/accept", json={}, headers=bearer(organizer))
    assert own.status_code == 400


def test_organizer_changes_and_cancellation_follow_into_the_copy(emu, http):
    ada, bob, organizer, attendee, master = _meeting(emu, http)
    instances = http.get(f"{emu.graph_url}/me/events/{master['id']}/instances", params=WINDOW,
                         headers=bearer(organizer)).json()["value"]

    http.patch(f"{emu.graph_url}/me/events/{instances[0]['id']}", headers=bearer(organizer),
               json={"start": {"dateTime": "2027-03-03T18:00:00", "timeZone": "UTC"},
                     "end": {"dateTime": "2027-03-03T18:45:00", "timeZone": "UTC"}})
    moved = _view(emu, http, attendee)[0]
    assert moved["type"] == "exception" and moved["start"]["dateTime"].startswith("2027-03-03T18:00")

    http.post(f"{emu.graph_url}/me/events/{master['id']}/cancel", json={}, headers=bearer(organizer))
    after = _view(emu, http, attendee)
    assert after and all(c["isCancelled"] for c in after)
    schedule = http.post(f"{emu.graph_url}/me/calendar/getSchedule", headers=bearer(attendee), json={
        "schedules": [bob], "startTime": {"dateTime": "2027-03-01T00:00:00", "timeZone": "UTC"},
        "endTime": {"dateTime": "2027-04-15T00:00:00", "timeZone": "UTC"}}).json()
    assert schedule["value"][0]["scheduleItems"] == []


def test_decline_removes_the_copy_and_is_recorded(emu, http):
    ada, bob, organizer, attendee, master = _meeting(emu, http)
    copy_id = _view(emu, http, attendee)[0]["seriesMasterId"]

    http.post(f"{emu.graph_url}/me/events/{copy_id}/decline", json={"comment": "sorry"}, headers=bearer(attendee))

    assert _view(emu, http, attendee) == []
    read = http.get(f"{emu.graph_url}/me/events/{master['id']}", headers=bearer(organizer)).json()
    assert read["attendees"][0]["status"]["response"] == "declined"


def test_invitations_are_off_by_default_and_switchable_over_http(emu, http):
    ada, bob = unique("ada"), unique("bob")
    organizer, attendee = tokens(emu, http, ada), tokens(emu, http, bob)
    body = weekly_event(attendees=[{"emailAddress": {"address": bob}, "type": "required"}])
    http.post(f"{emu.graph_url}/me/events", json=body, headers=bearer(organizer))
    assert _view(emu, http, attendee) == []

    assert http.post(f"{emu.origin}/_emulator/invitations", json={"enabled": True}).ok
    http.post(f"{emu.graph_url}/me/events", json=body, headers=bearer(organizer))
    assert len(_view(emu, http, attendee)) == 6
