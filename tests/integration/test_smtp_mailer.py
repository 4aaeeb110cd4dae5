"""SmtpMailer against a real SMTP server (aiosmtpd, in-process on loopback)."""
from __future__ import annotations

import contextlib
import email
import email.policy
import socket
import ssl
from datetime import datetime, timezone
from typing import Iterator

import icalendar
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from adapters.mail.itip import build_request, build_cancel
from adapters.mail.smtp import SmtpMailer, message_id_for
from adapters.providers.ical_util import series_uid
from config.settings import MailSection
from scheduler.errors import MailRejected, MailUnavailable
from scheduler.ports import OutgoingEmail, SeriesSpec

SPEC = SeriesSpec(series_key="series-9", title="Mentoring", description="Agenda", organizer_email="ana@example.org",
                  attendee_emails=("zoe@example.org",), start_local=datetime(2027, 3, 2, 10), tz="Europe/Berlin",
                  duration_min=30, rrule="FREQ=WEEKLY;COUNT=4")
NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)


class RecordingHandler:
    """Accepts mail, except recipients it was told to refuse (5xx) or defer (4xx)."""

    def __init__(self, refuse: tuple[str, ...] = (), defer: tuple[str, ...] = ()):
        self.refuse, self.defer = refuse, defer
        self.received: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.peers: list = []  # the client's (address, port) of each accepted message: one per connection
        self.hang_up_after_data = False  # take the message, then drop the connection before answering

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd hook
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        if address in self.defer:
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        self.peers.append(session.peer)
        if self.hang_up_after_data:
            server.transport.close()
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_server(handler: RecordingHandler, port: int | None = None, **smtp_options) -> Iterator[int]:
    controller = Controller(handler, hostname="127.0.0.1", port=port or _free_port(), **smtp_options)
    controller.start()
    try:
        yield controller.port
    finally:
        while MAILERS:  # hang up kept connections first: aiosmtpd leaves open ones unclosed at stop
            MAILERS.pop().close()
        controller.stop()


MAILERS: list[SmtpMailer] = []


def _mailer(port: int, **settings) -> SmtpMailer:
    MAILERS.append(SmtpMailer(MailSection(smtp_host="127.0.0.1", smtp_port=port,
                                          from_address="Tandem <tandem@example.org>", **settings), timeout=5))
    return MAILERS[-1]


def _invite(to: tuple[str, ...] = ("Zoë Example <zoe@example.org>",), key: str = "booked:series-9:zoe") -> OutgoingEmail:
    return OutgoingEmail(to=to, subject="Your sessions with Ana are booked ☕", text="Hi Zoë,\nAll set.\n",
                         idempotency_key=key, html="<p>Hi Zoë,</p><p>All set.</p>",
                         ics=build_request(SPEC, now=NOW), ics_method="REQUEST")


def test_an_invitation_arrives_with_headers_text_html_and_the_itip_parts():
    handler = RecordingHandler()
    with smtp_server(handler) as port:
        _mailer(port).send(_invite())

    ((mail_from, rcpt_tos, message),) = handler.received
    assert (mail_from, rcpt_tos) == ("tandem@example.org", ["zoe@example.org"])
    assert message["From"] == "Tandem <tandem@example.org>"
    assert message["To"] == "Zoë Example <zoe@example.org>"
    assert message["Subject"] == "Your sessions with Ana are booked ☕"
    assert message["Message-ID"] == message_id_for("booked:series-9:zoe")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    plain, html, calendar_part = alternative.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert plain.get_content().replace("\r\n", "\n") == "Hi Zoë,\nAll set.\n"
    assert html.get_content_type() == "text/html" and "<p>Hi Zoë,</p>" in html.get_content()
    assert calendar_part.get_content_type() == "text/calendar"
    assert calendar_part.get_param("method") == "REQUEST"
    assert attachment.get_filename() == "invite.ics"
    ics = attachment.get_content()
    assert (ics.decode() if isinstance(ics, bytes) else ics) == calendar_part.get_content()
    calendar = icalendar.Calendar.from_ical(calendar_part.get_content())
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(calendar.walk("VEVENT")[0]["UID"]) == series_uid("series-9")


def test_a_plain_email_has_only_text():
    handler = RecordingHandler()
    with smtp_server(handler) as port:
        _mailer(port).send(OutgoingEmail(to=("sam@example.org",), subject="Reminder", text="See you at 10:00.",
                                         idempotency_key="reminder:occ-1"))

    ((_, _, message),) = handler.received
    assert message.get_content_type() == "text/plain"
    assert message.get_content().strip() == "See you at 10:00."


def test_a_cancel_is_labelled_cancel_from_the_ics_when_no_method_is_given():
    handler = RecordingHandler()
    cancel = build_cancel(SPEC, now=NOW, sequence=1)
    with smtp_server(handler) as port:
        _mailer(port).send(OutgoingEmail(to=("zoe@example.org",), subject="Sessions cancelled", text="Cancelled.",
                                         idempotency_key="cancel:series-9", ics=cancel))

    ((_, _, message),) = handler.received
    calendar_part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert calendar_part.get_param("method") == "CANCEL"


def test_a_resend_carries_the_same_message_id():
    handler = RecordingHandler()
    with smtp_server(handler) as port:
        mailer = _mailer(port)
        mailer.send(_invite(key="booked:series-9:zoe"))
        mailer.send(_invite(key="booked:series-9:zoe"))
        mailer.send(_invite(key="booked:series-9:ana"))

    ids = [message["Message-ID"] for _, _, message in handler.received]
    assert ids[0] == ids[1] != ids[2]


def test_login_when_a_user_is_configured():
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    handler = RecordingHandler()
    # Plain-text login on loopback only: production uses STARTTLS (mail.starttls = true).
    with smtp_server(handler, authenticator=authenticator, auth_require_tls=False) as port:
        _mailer(port, smtp_user="tandem", smtp_password="s3cret").send(_invite())
        with pytest.raises(MailUnavailable, match="refused our login"):
            _mailer(port, smtp_user="tandem", smtp_password="wrong").send(_invite(key="other"))

    # smtplib tries each mechanism the server offers before giving up on a wrong password.
    assert logins[0] == (b"tandem", b"s3cret") and set(logins[1:]) == {(b"tandem", b"wrong")}
    assert len(handler.received) == 1


def test_starttls_then_login_when_configured():
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    sessions = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        sessions.append(session.ssl is not None)
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    handler = RecordingHandler()
    # The server refuses mail and login before STARTTLS, so delivery proves the upgrade happened.
    with smtp_server(handler, tls_context=server_context, require_starttls=True, authenticator=authenticator) as port:
        mailer = SmtpMailer(MailSection(smtp_host="127.0.0.1", smtp_port=port, starttls=True, smtp_user="tandem",
                                        smtp_password="s3cret", from_address="tandem@example.org"),
                            timeout=5, tls_context=client_context)
        MAILERS.append(mailer)
        mailer.send(_invite())
        with pytest.raises(MailUnavailable, match="CERTIFICATE_VERIFY_FAILED"):  # system trust: not our CA
            SmtpMailer(MailSection(smtp_host="127.0.0.1", smtp_port=port, starttls=True), timeout=5).send(_invite())

    assert sessions == [True]
    assert len(handler.received) == 1


def test_a_refused_recipient_is_rejected_with_the_address():
    handler = RecordingHandler(refuse=("gone@example.org",))
    with smtp_server(handler) as port:
        with pytest.raises(MailRejected) as raised:
            _mailer(port).send(_invite(to=("gone@example.org",)))

    assert raised.value.addresses == ("gone@example.org",)
    assert raised.value.code == 550
    assert "gone@example.org" in str(raised.value)
    assert handler.received == []


def test_one_refused_recipient_among_several_is_reported_after_the_others_got_it():
    handler = RecordingHandler(refuse=("gone@example.org",))
    with smtp_server(handler) as port:
        with pytest.raises(MailRejected) as raised:
            _mailer(port).send(_invite(to=("zoe@example.org", "gone@example.org")))

    assert raised.value.addresses == ("gone@example.org",)
    assert [rcpt for _, rcpt, _ in handler.received] == [["zoe@example.org"]]


def test_a_deferred_recipient_is_temporary():
    handler = RecordingHandler(defer=("busy@example.org",))
    with smtp_server(handler) as port:
        with pytest.raises(MailUnavailable, match="retried"):
            _mailer(port).send(_invite(to=("busy@example.org",)))


def test_a_server_that_is_down_is_temporary():
    with pytest.raises(MailUnavailable, match="could not reach the mail server"):
        _mailer(_free_port()).send(_invite())


def test_a_server_that_never_answers_times_out_as_temporary():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts the connection, never sends a greeting
        mailer = SmtpMailer(MailSection(smtp_host="127.0.0.1", smtp_port=silent.getsockname()[1]), timeout=0.3)
        with pytest.raises(MailUnavailable, match="could not reach"):
            mailer.send(_invite())


def test_an_invitation_without_a_valid_method_is_a_programming_error():
    ics = build_request(SPEC, now=NOW).replace("METHOD:REQUEST\r\n", "")
    with pytest.raises(ValueError, match="REQUEST or CANCEL"):
        _mailer(_free_port()).send(OutgoingEmail(to=("zoe@example.org",), subject="s", text="t",
                                                 idempotency_key="k", ics=ics))


def test_one_kept_connection_carries_many_emails_up_to_the_limit():
    handler = RecordingHandler()
    with smtp_server(handler) as port:
        mailer = _mailer(port, max_messages_per_connection=3)
        for n in range(7):
            mailer.send(_invite(key=f"booked:series-9:{n}"))
        mailer.close()

    assert len(handler.received) == 7
    per_connection = [handler.peers.count(peer) for peer in dict.fromkeys(handler.peers)]
    assert per_connection == [3, 3, 1]


def test_each_thread_keeps_its_own_connection():
    import threading

    handler = RecordingHandler()
    with smtp_server(handler) as port:
        mailer = _mailer(port)

        def send_some(thread: int):
            for n in range(4):
                mailer.send(_invite(key=f"t{thread}:{n}"))

        threads = [threading.Thread(target=send_some, args=(t,)) for t in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        mailer.close()

    assert len({message["Message-ID"] for _, _, message in handler.received}) == 12
    assert sorted(handler.peers.count(peer) for peer in set(handler.peers)) == [4, 4, 4]


def test_a_kept_connection_the_server_dropped_is_replaced_and_the_email_sent_once():
    handler = RecordingHandler()
    port = _free_port()
    with smtp_server(handler, port=port):
        mailer = _mailer(port)
        mailer.send(_invite(key="first"))
    with smtp_server(handler, port=port):  # a restart: the kept connection is dead
        mailer.send(_invite(key="second"))
        mailer.close()

    assert [message["Message-ID"] for _, _, message in handler.received] == [message_id_for("first"),
                                                                            message_id_for("second")]
    assert len(set(handler.peers)) == 2


def test_a_connection_lost_after_the_message_was_sent_is_not_resent_on_the_spot():
    """The server may have accepted it (here it did): the outbox retries later, same Message-ID."""
    handler = RecordingHandler()
    with smtp_server(handler) as port:
        mailer = _mailer(port)
        mailer.send(_invite(key="warm-up"))  # the connection is now a kept one
        handler.hang_up_after_data = True
        with pytest.raises(MailUnavailable, match="retried"):
            mailer.send(_invite(key="lost-answer"))
        handler.hang_up_after_data = False
        mailer.send(_invite(key="after"))
        mailer.close()

    ids = [message["Message-ID"] for _, _, message in handler.received]
    assert ids == [message_id_for("warm-up"), message_id_for("lost-answer"), message_id_for("after")]
