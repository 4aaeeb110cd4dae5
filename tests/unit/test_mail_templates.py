"""What the emails say: times in both people's zones, the daylight-saving note, the links,
and nothing about anyone's other meetings or private feedback."""
from __future__ import annotations

import doctest
import inspect
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.mail import localtime, templates
from adapters.mail.templates import (
    Session, render_feedback_request, render_occurrence_moved, render_pair_needs_attention,
    render_program_invitation, render_reconnect_needed, render_series_booked, render_session_reminder,
)

NY = ZoneInfo("America/New_York")
# A weekly series kept at 10:00 New York from 23 Feb 2027: the US changes clocks on 14 March,
# Europe on 28 March, so Berlin sees 16:00, then 15:00 for two weeks, then 16:00 again.
STARTS = [datetime(2027, 2, 23, 10, tzinfo=NY) + timedelta(weeks=i) for i in range(8)]
VIDEO = "https://video.example.org/r/ana-sam?pwd=a&b=1"


def _booked(recipient_tz: str, other_tz: str, sessions=None, **names):
    return render_series_booked(recipient_name=names.get("recipient", "Ana Lima"), other_name=names.get("other", "Sam Berg"),
                                recipient_tz=recipient_tz, other_tz=other_tz,
                                sessions=sessions or [Session(s) for s in STARTS], duration_min=45, video_url=VIDEO,
                                manage_url="https://tandem.example.org/pairs/p1", invite_attached=True)


def _rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ")]


def test_series_booked_shows_both_local_times_and_the_dst_shift_of_the_other_person():
    subject, text, html = _booked("America/New_York", "Europe/Berlin")

    assert subject == "Your sessions with Sam are booked"
    assert "Tuesdays at 10:00 (New York time), which is 16:00 for Sam in Berlin" in text
    assert _rows(text) == [
        "- Tue 23 Feb 2027, 10:00 / 16:00", "- Tue 2 Mar 2027, 10:00 / 16:00", "- Tue 9 Mar 2027, 10:00 / 16:00",
        "- Tue 16 Mar 2027, 10:00 / 15:00", "- Tue 23 Mar 2027, 10:00 / 15:00", "- Tue 30 Mar 2027, 10:00 / 16:00",
        "- Tue 6 Apr 2027, 10:00 / 16:00", "- Tue 13 Apr 2027, 10:00 / 16:00"]
    notes = [line for line in text.splitlines() if line.startswith("Note:")]
    assert notes == [
        "Note: From Tue 16 Mar 2027, sessions start at 15:00 for Sam instead of 16:00 (Berlin time): "
        "your clocks change on Sun 14 Mar.",
        "Note: From Tue 30 Mar 2027, sessions start at 16:00 for Sam instead of 15:00 (Berlin time): "
        "Sam's clocks change on Sun 28 Mar."]
    assert "sessions start at 15:00 for Sam instead of 16:00" in html
    assert VIDEO in text and 'href="https://video.example.org/r/ana-sam?pwd=a&amp;b=1"' in html
    assert "https://tandem.example.org/pairs/p1" in text and "invitation is attached" in text


def test_series_booked_for_the_other_person_notes_their_own_shift():
    _, text, _ = _booked("Europe/Berlin", "America/New_York", recipient="Sam Berg", other="Ana Lima")

    assert "Tuesdays at 16:00 (Berlin time), which is 10:00 for Ana in New York" in text
    assert "From Tue 16 Mar 2027, sessions start at 15:00 for you instead of 16:00 (Berlin time)" in text
    assert "for Ana instead" not in text  # the series is wall-clock in New York: Ana's time never moves


def test_a_zone_without_dst_sees_the_series_shift_too():
    _, text, _ = _booked("America/Phoenix", "America/New_York", recipient="Sam Berg", other="Ana Lima")

    assert "From Tue 16 Mar 2027, sessions start at 07:00 for you instead of 08:00 (Phoenix time)" in text


def test_no_dst_note_when_local_times_never_move():
    tokyo = [Session(datetime(2027, 2, 23, 10, tzinfo=ZoneInfo("Asia/Tokyo")) + timedelta(weeks=i)) for i in range(8)]
    for recipient_tz, other_tz, sessions in (("America/New_York", "America/New_York", None),
                                             ("Asia/Tokyo", "Asia/Kolkata", tokyo)):
        _, text, html = _booked(recipient_tz, other_tz, sessions=sessions)
        assert "daylight saving" not in text and "daylight saving" not in html
    _, same_zone_text, _ = _booked("America/New_York", "America/New_York")
    assert _rows(same_zone_text)[0] == "- Tue 23 Feb 2027, 10:00"


def test_a_session_moved_alone_is_listed_as_moved_and_is_not_a_dst_shift():
    sessions = [Session(s) for s in STARTS]
    sessions[0] = Session(datetime(2027, 2, 24, 9, tzinfo=NY), original_start=STARTS[0])
    sessions[1] = Session(datetime(2027, 3, 3, 15, tzinfo=NY), original_start=STARTS[1])

    _, text, _ = _booked("America/New_York", "America/New_York", sessions=sessions)

    assert "Tuesdays at 10:00" in text and "The first one is Wed 24 Feb 2027, 09:00" in text
    assert "- Wed 3 Mar 2027, 15:00 (moved from Tue 2 Mar 2027, 10:00)" in _rows(text)
    assert "daylight saving" not in text


def test_the_reminder_carries_agenda_goals_video_link_and_the_other_persons_date():
    subject, text, html = render_session_reminder(
        recipient_name="Ana Lima", other_name="Kenji Sato", start=STARTS[0], duration_min=45,
        recipient_tz="America/New_York", other_tz="Asia/Tokyo", agenda=["Check in", "Career goals"],
        goals=["Give a conference talk"], video_url=VIDEO, reschedule_url="https://tandem.example.org/r/1")

    assert subject == "Coming up: your session with Kenji, Tue 23 Feb 2027 at 10:00"
    assert "Tue 23 Feb 2027, 10:00 (New York time) until 10:45" in text
    assert "for Kenji: Wed 24 Feb 2027, 00:00 in Tokyo" in text
    assert "- Check in\n- Career goals\n" in text and "- Give a conference talk" in text
    assert VIDEO in text and "<li>Career goals</li>" in html and "https://tandem.example.org/r/1" in html


def test_the_feedback_request_has_three_one_click_links_a_form_and_a_privacy_promise():
    links = dict(met_url="https://t.example.org/f/met?sig=a&x=1", not_met_url="https://t.example.org/f/no?sig=b",
                 moved_url="https://t.example.org/f/moved?sig=c", form_url="https://t.example.org/f/form?sig=d")

    subject, text, html = render_feedback_request(recipient_name="Ana Lima", other_name="Sam Berg", start=STARTS[3],
                                                  recipient_tz="America/New_York", **links)

    assert subject == "Did you and Sam meet?"
    assert "Tue 16 Mar 2027, 10:00 (New York time)" in text
    for url in links.values():
        assert url in text
        assert f'href="{url.replace("&", "&amp;")}"' in html
    for label in ("We met", "We didn't meet", "We moved it"):
        assert label in text and label.replace("'", "&#39;") in html
    assert "stays between you and Sam" in text


def test_the_moved_email_says_what_moved_from_when_to_when_and_why():
    subject, text, html = render_occurrence_moved(
        recipient_name="Ana Lima", other_name="Sam Berg", original_start=STARTS[2],
        new_start=datetime(2027, 3, 10, 11, tzinfo=NY), duration_min=45, recipient_tz="America/New_York",
        other_tz="Europe/Berlin", reason="Sam's calendar now shows them busy then.", video_url=VIDEO)

    assert subject == "Your session with Sam moved to Wed 10 Mar 2027 at 11:00"
    assert "Was: Tue 9 Mar 2027, 10:00 (New York time)" in text
    assert "Now: Wed 10 Mar 2027, 11:00 (New York time) until 11:45 (for Sam: Wed 10 Mar 2027, 17:00 in Berlin)" in text
    assert "We moved one session with Sam: Sam's calendar now shows them busy then." in text
    assert "Your other sessions stay as they were" in html


def test_invitation_and_reconnect_have_their_one_link():
    _, text, html = render_program_invitation(recipient_name="Sam Berg", program_name="Spring Cohort",
                                              coordinator_name="Kim", role="mentee",
                                              join_url="https://t.example.org/join/abc?sig=1", expires_on=date(2027, 3, 1))
    assert "Kim has invited you to Spring Cohort as a mentee" in text
    assert "https://t.example.org/join/abc?sig=1" in text and "Mon 1 Mar 2027" in text
    assert "your mentor" in text and 'href="https://t.example.org/join/abc?sig=1"' in html

    subject, text, html = render_reconnect_needed(recipient_name="Sam Berg", calendar_label="Google Calendar",
                                                  reconnect_url="https://t.example.org/connect?sig=2")
    assert subject == "Please reconnect your Google Calendar"
    assert re.findall(r"https?://\S+", text) == ["https://t.example.org/connect?sig=2"]
    assert 'href="https://t.example.org/connect?sig=2"' in html


def test_the_coordinator_email_carries_attendance_signals_only():
    subject, text, html = render_pair_needs_attention(
        coordinator_name="Kim Lee", program_name="Spring Cohort", mentor_name="Ana Lima", mentee_name="Sam Berg",
        signals=["2 sessions in a row did not happen", "Sam's calendar is disconnected"],
        pair_url="https://t.example.org/coordinator/pairs/p1", last_met=date(2027, 3, 2))

    assert subject == "Ana Lima and Sam Berg may need a hand (Spring Cohort)"
    assert "- 2 sessions in a row did not happen\n- Sam's calendar is disconnected" in text
    assert "They last met on Tue 2 Mar 2027." in text and "https://t.example.org/coordinator/pairs/p1" in html
    # Feedback answers are private to the pair: there is no way to hand them to this email.
    assert set(inspect.signature(render_pair_needs_attention).parameters) == {
        "coordinator_name", "program_name", "mentor_name", "mentee_name", "signals", "pair_url", "last_met"}
    with pytest.raises(ValueError):
        render_pair_needs_attention(coordinator_name="Kim", program_name="P", mentor_name="A", mentee_name="B",
                                    signals=[], pair_url="https://t.example.org/p")


def test_a_rendered_email_becomes_an_outgoing_email():
    rendered = _booked("America/New_York", "Europe/Berlin")

    email = rendered.to_email(["ana@example.org"], "booked:series-7:ana", ics="BEGIN:VCALENDAR...", ics_method="REQUEST")

    assert (email.to, email.subject, email.text, email.html) == (("ana@example.org",), *rendered)
    assert (email.idempotency_key, email.ics_method) == ("booked:series-7:ana", "REQUEST")


def test_names_are_escaped_in_html_and_kept_as_written_in_text():
    _, text, html = _booked("America/New_York", "Europe/Berlin", other="<b>Sam</b> & co")

    assert "<b>Sam</b>" in text
    assert "<b>Sam</b>" not in html and "&lt;b&gt;Sam&lt;/b&gt;" in html


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="aware"):
        render_feedback_request(recipient_name="Ana", other_name="Sam", start=datetime(2027, 3, 2, 10),
                                recipient_tz="America/New_York", met_url="u", not_met_url="u", moved_url="u",
                                form_url="u")


def test_doctests():
    assert doctest.testmod(localtime).failed == 0
    assert doctest.testmod(templates).failed == 0


def test_a_reader_without_dst_is_told_whose_clocks_change():
    # The series keeps 10:00 in New York; the reader is in Kolkata, where clocks never change
    _, text, _ = _booked("Asia/Kolkata", "America/New_York", recipient="Priya Rao", other="Ana Lima")

    notes = [line for line in text.splitlines() if line.startswith("Note:")]
    assert notes == ["Note: From Tue 16 Mar 2027, sessions start at 19:30 for you instead of 20:30 (Kolkata time): "
                     "Ana's clocks change on Sun 14 Mar."]
    assert "your clocks" not in text
