"""Shared helpers for the web tests (integration and browser): seed people, programs and pairs,
and sign a test client in."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from dataclasses import dataclass
from datetime import datetime, timezone

from adapters.storage.models import Membership, Pair, Person, Program

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Seeded:
    admin_id: str
    coordinator_id: str
    program_id: str
    other_program_id: str
    mentor_id: str
    mentee_id: str
    pair_id: str
    other_mentee_id: str
    other_pair_id: str


def seed(container) -> Seeded:
    """An admin, a coordinator of one program, a pair in it, and a second pair (same mentor) in a
    program the coordinator does not run."""
    with container.uow() as uow:
        s = uow.session
        admin = Person(email="admin@example.org", name="Ada Admin", is_admin=True)
        coordinator = Person(email="coordinator@example.org", name="Cora Coordinator")
        mentor = Person(email="mentor@example.org", name="Max Mentor")
        mentee = Person(email="mentee@example.org", name="Mia Mentee")
        other_mentee = Person(email="other@example.org", name="Olu Other")
        program = Program(name="Sandbox program", is_sandbox=True)
        other_program = Program(name="Another program")
        s.add_all([admin, coordinator, mentor, mentee, other_mentee, program, other_program])
        s.flush()
        s.add_all([Membership(program_id=program.id, person_id=coordinator.id, role="coordinator"),
                   Membership(program_id=program.id, person_id=mentor.id, role="mentor"),
                   Membership(program_id=program.id, person_id=mentee.id, role="mentee"),
                   Membership(program_id=other_program.id, person_id=mentor.id, role="mentor"),
                   Membership(program_id=other_program.id, person_id=other_mentee.id, role="mentee")])
        pair = Pair(program_id=program.id, mentor_id=mentor.id, mentee_id=mentee.id)
        other_pair = Pair(program_id=other_program.id, mentor_id=mentor.id, mentee_id=other_mentee.id)
        s.add_all([pair, other_pair])
        s.flush()
        seeded = Seeded(admin.id, coordinator.id, program.id, other_program.id, mentor.id, mentee.id, pair.id,
                        other_mentee.id, other_pair.id)
        uow.commit()
    return seeded


def sign_in_as(client, person_id: str) -> str:
    """Put ``person_id`` into the client's session (as a finished sign-in would: a server-side
    session is started); returns the CSRF token to post with."""
    from scheduler.services.web_sessions import start_session

    token = start_session(client.application.extensions["tandem"], person_id)
    with client.session_transaction() as session:
        session.clear()
        session["pid"], session["sid"] = person_id, token
        session["_csrf"] = "test-csrf-token"
    return "test-csrf-token"


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


class PageStructure(HTMLParser):
    """What the accessibility checks read off a page: headings, language, skip link, labels."""

    def __init__(self):
        super().__init__()
        self.h1 = 0
        self.lang = None
        self.skip_link = False
        self.label_for: set[str] = set()
        self.controls: list[tuple[str | None, bool, bool]] = []  # (id, inside a label, has aria-label)
        self._label_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "a" and a.get("href") == "#main":
            self.skip_link = True
        elif tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append((a.get("id"), self._label_depth > 0, bool(a.get("aria-label"))))

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_depth -= 1
