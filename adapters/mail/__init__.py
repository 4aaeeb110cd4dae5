"""Email: the SMTP and in-memory mailers, the iTIP invitations and the email templates.

- :mod:`adapters.mail.smtp` — :class:`SmtpMailer` (the production :class:`~scheduler.ports.Mailer`)
- :mod:`adapters.mail.memory` — :class:`InMemoryMailer` (demo and tests)
- :mod:`adapters.mail.itip` — ``METHOD:REQUEST`` / ``CANCEL`` calendars for a series
- :mod:`adapters.mail.templates` — one template function per email, returning ``(subject, text, html)``
- :mod:`adapters.mail.renderers` — :class:`MailRenderer` (the :class:`~scheduler.ports.EmailRenderer`): one
  renderer per notification kind, from a plain context to an email (iTIP attached where due)

Nothing is built at import time; the composition root builds the mailer from ``settings.mail``.
"""
from __future__ import annotations

from adapters.mail.memory import InMemoryMailer
from adapters.mail.smtp import SmtpMailer

__all__ = ["InMemoryMailer", "SmtpMailer"]
