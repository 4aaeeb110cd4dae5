"""The SMTP :class:`~scheduler.ports.Mailer`: a kept connection per thread, errors mapped by meaning.

Message layout (what Gmail, Outlook and Apple Mail all read as an invitation)::

    multipart/mixed
    ├── multipart/alternative
    │   ├── text/plain
    │   ├── text/html                          (when given)
    │   └── text/calendar; method=REQUEST      (when an .ics is given: the iTIP part)
    └── application/ics                        (the same .ics as a download: invite.ics)

Without an .ics there is no multipart/mixed: text and html are a multipart/alternative, text
alone a single text/plain part. The mailer writes the message with
:func:`adapters.mail.mime.encode_message`, straight to bytes (about 10 µs for a reminder and
60 µs for an invitation, instead of 0.9 and 1.5 ms); :func:`build_message` is the readable
reference with Python's ``email`` package, and the tests prove the two equivalent.

The Message-ID is derived from the idempotency key alone, so a retried send of the same outbox
row carries the same Message-ID and mail clients show it once.

Connections: each thread (a Dramatiq worker thread) keeps its own SMTP connection and sends
one email after another on it (``MAIL``/``RCPT``/``DATA`` per email), up to
``mail.max_messages_per_connection`` (then ``QUIT`` and a fresh one; 1 gives the old
connection per email). A connection idle for more than ``IDLE_CHECK_SECONDS`` is checked with
``NOOP`` first. A kept connection the server has closed meanwhile is noticed before anything
of the message is sent (``NOOP``, ``MAIL`` or ``RCPT`` fails): the email is then sent once on a
fresh connection, which cannot double it. Once ``DATA`` has started, a failure is not retried
here: the server may have accepted the message, so the error goes to the outbox like any other,
and the retry carries the same Message-ID. Any failure discards the connection.

Errors: a temporary failure (4xx, refused or dropped connection, timeout, our sender or login
refused) raises :class:`~scheduler.errors.MailUnavailable` and the outbox retries; a permanent
refusal of recipients or of the message (5xx) raises :class:`~scheduler.errors.MailRejected`
naming the addresses, and retrying will not help.
"""
from __future__ import annotations

import smtplib
import ssl
import threading
import time
import weakref
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, parseaddr
from typing import TYPE_CHECKING

from adapters.mail.mime import ATTACHMENT_NAME, InvalidEmail, encode_message, ics_method, message_id_for
from adapters.metrics import EMAILS_FAILED, EMAILS_SENT
from scheduler.errors import InvalidInput, MailRejected, MailUnavailable
from scheduler.ports import OutgoingEmail

if TYPE_CHECKING:  # the settings' type only: adapters never read settings themselves
    from config.settings import MailSection

IDLE_CHECK_SECONDS = 5.0  # a kept connection idle longer than this is checked with NOOP before use


def build_message(email: OutgoingEmail, *, from_address: str, date: str | None = None) -> EmailMessage:
    """The MIME message for ``email`` (layout in the module docstring), built with the stdlib.

    The readable reference: the mailer sends :func:`~adapters.mail.mime.encode_message` instead,
    the same message written straight to bytes, proven equivalent by
    ``tests/unit/test_mime_encoding.py``; the delivery benchmark uses this one as its plain
    smtplib baseline. ``date`` is an RFC 5322 date; None means now.
    """
    if not email.to:
        raise InvalidEmail("an email needs at least one recipient")
    method = ics_method(email)
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = ", ".join(email.to)
    message["Subject"] = email.subject
    message["Date"] = date or formatdate(usegmt=True)
    message["Message-ID"] = message_id_for(email.idempotency_key)
    # RFC 3834: automatic mail, so out-of-office responders stay quiet.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    if email.ics is not None:
        message.add_alternative(email.ics, subtype="calendar", params={"method": method})
        message.add_attachment(email.ics.encode("utf-8"), maintype="application", subtype="ics",
                               filename=ATTACHMENT_NAME)
    return message


class _Connection(smtplib.SMTP):
    """An SMTP client that knows whether the current email's ``DATA`` has begun (after that a
    failure may hide an accepted message, so it must not be resent on the spot)."""

    def __init__(self, *args, **kwargs):
        self.data_started = False
        self.sent = 0
        self.last_used = time.monotonic()
        super().__init__(*args, **kwargs)

    def data(self, msg):
        self.data_started = True
        return super().data(msg)


class SmtpMailer:
    """Sends over a kept SMTP connection per thread (STARTTLS and login when configured, once per
    connection); see the module docstring for when a connection is renewed."""

    def __init__(self, settings: MailSection, *, timeout: float = 30.0, tls_context: ssl.SSLContext | None = None):
        self._settings = settings
        self._timeout = timeout
        self._tls_context = tls_context
        self._envelope_from = parseaddr(settings.from_address)[1] or settings.from_address
        self._max_messages = max(1, settings.max_messages_per_connection)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[_Connection] = set()
        # a mailer dropped without close() still closes its sockets (no network talk then)
        weakref.finalize(self, _close_all, self._open, self._lock)

    def send(self, email: OutgoingEmail) -> None:
        """Deliver ``email`` or raise :class:`MailUnavailable` / :class:`MailRejected` (counted in
        ``tandem_emails_sent`` / ``tandem_emails_failed``)."""
        try:
            self._send(email)
        except MailRejected:
            EMAILS_FAILED.labels("rejected").inc()
            raise
        except MailUnavailable:
            EMAILS_FAILED.labels("unavailable").inc()
            raise
        except InvalidInput:
            EMAILS_FAILED.labels("invalid").inc()
            raise
        EMAILS_SENT.inc()

    def close(self) -> None:
        """``QUIT`` every kept connection (each thread's); the next email opens a new one."""
        with self._lock:
            connections = list(self._open)
            self._open.clear()
        for smtp in connections:
            _quit(smtp)

    def _send(self, email: OutgoingEmail) -> None:
        data = encode_message(email, from_address=self._settings.from_address)
        recipients = [address for _, address in getaddresses(list(email.to))]
        try:
            refused = self._transmit(data, recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            raise _recipients_error(exc.recipients) from exc
        except smtplib.SMTPDataError as exc:
            if _permanent(exc.smtp_code):
                raise MailRejected(f"the mail server refused the message ({exc.smtp_code}): "
                                   f"{_reply(exc.smtp_error)}", tuple(recipients), exc.smtp_code) from exc
            raise _unavailable(f"the mail server deferred the message ({exc.smtp_code})") from exc
        except smtplib.SMTPSenderRefused as exc:
            raise _unavailable(f"the mail server refused our sender address {exc.sender} ({exc.smtp_code}); "
                               "check mail.from_address") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise _unavailable(f"the mail server refused our login ({exc.smtp_code}); "
                               "check mail.smtp_user and mail.smtp_password") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise _unavailable(f"the mail server does not support what we asked ({exc}); "
                               "check mail.starttls and mail.smtp_user") from exc
        except smtplib.SMTPResponseException as exc:
            raise _unavailable(f"the mail server answered {exc.smtp_code}: {_reply(exc.smtp_error)}") from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timeout, TLS failure
            raise _unavailable(f"could not reach the mail server at {self._settings.smtp_host}:"
                               f"{self._settings.smtp_port} ({exc.__class__.__name__}: {exc})") from exc
        if refused:
            # Some recipients got it. A permanent refusal is reported, not retried; a temporary one
            # is retried, which resends to everyone under the same Message-ID (clients show it once).
            raise _recipients_error(refused)

    def _transmit(self, data: bytes, recipients: list[str]) -> dict:
        """Send on this thread's kept connection; a stale one (closed by the server while idle) is
        replaced once, which is safe only because nothing of the message was sent on it."""
        smtp, reused = self._connection()
        try:
            smtp.data_started = False
            refused = smtp.sendmail(self._envelope_from, recipients, data)
        except (smtplib.SMTPServerDisconnected, OSError):
            self._discard(smtp)
            if not reused or smtp.data_started:
                raise
            smtp, _ = self._connection()  # the kept connection had gone stale: one fresh try
            try:
                smtp.data_started = False
                refused = smtp.sendmail(self._envelope_from, recipients, data)
            except BaseException:
                self._discard(smtp)
                raise
        except BaseException:
            self._discard(smtp)
            raise
        smtp.sent += 1
        smtp.last_used = time.monotonic()
        if smtp.sent >= self._max_messages:
            self._discard(smtp, polite=True)
        return refused

    def _connection(self) -> tuple[_Connection, bool]:
        """This thread's connection and whether it was kept from an earlier email."""
        smtp = getattr(self._local, "smtp", None)
        if smtp is not None and time.monotonic() - smtp.last_used > IDLE_CHECK_SECONDS:
            try:
                alive = smtp.noop()[0] == 250
            except (smtplib.SMTPException, OSError):
                alive = False
            if not alive:
                self._discard(smtp)
                smtp = None
        if smtp is not None:
            return smtp, True
        smtp = _Connection(self._settings.smtp_host, self._settings.smtp_port, timeout=self._timeout)
        try:
            self._prepare(smtp)
        except BaseException:
            _close(smtp)
            raise
        self._local.smtp = smtp
        with self._lock:
            self._open.add(smtp)
        return smtp, False

    def _discard(self, smtp: _Connection, *, polite: bool = False) -> None:
        if getattr(self._local, "smtp", None) is smtp:
            self._local.smtp = None
        with self._lock:
            self._open.discard(smtp)
        _quit(smtp) if polite else _close(smtp)

    def _prepare(self, smtp: smtplib.SMTP) -> None:
        smtp.ehlo()
        if self._settings.starttls:
            smtp.starttls(context=self._tls_context or ssl.create_default_context())
            smtp.ehlo()
        if self._settings.smtp_user:
            smtp.login(self._settings.smtp_user, self._settings.smtp_password)


def _close_all(connections: set[_Connection], lock: threading.Lock) -> None:
    with lock:
        for smtp in connections:
            _close(smtp)
        connections.clear()


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        _close(smtp)


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass


def _permanent(code: int) -> bool:
    return 500 <= code < 600


def _reply(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _unavailable(what: str) -> MailUnavailable:
    return MailUnavailable(f"{what}; the email stays queued and is retried")


def _recipients_error(refused: dict[str, tuple[int, bytes]]) -> MailUnavailable | MailRejected:
    """5xx for any address: MailRejected naming those addresses; only 4xx: MailUnavailable."""
    permanent = {address: answer for address, answer in refused.items() if _permanent(answer[0])}
    if permanent:
        details = "; ".join(f"{address} ({code} {_reply(text)})" for address, (code, text) in permanent.items())
        first_code = next(iter(permanent.values()))[0]
        return MailRejected(f"the mail server refused {details}; check the address", tuple(permanent), first_code)
    details = ", ".join(f"{address} ({code})" for address, (code, _) in refused.items())
    return _unavailable(f"the mail server deferred {details}")
