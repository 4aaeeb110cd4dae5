"""Meeting invitations between mailboxes of the emulator (opt-in: ``deliver_invitations``).

Like Exchange in one tenant: a meeting created with attendees who have a mailbox here appears in
their calendars as *tentative*; the organizer's later changes and cancellations follow; an
attendee's accept / tentativelyAccept / decline updates the organizer's attendee list (and a
declined meeting leaves the attendee's calendar).
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from .model import Attendee, Event, User, new_id
from .store import Store

RESPONSES = {"accept": "accepted", "tentativelyAccept": "tentativelyAccepted", "decline": "declined"}
SHOW_AS_AFTER = {"accepted": "busy", "tentativelyAccepted": "tentative"}


class Invitations:
    """Copies meetings into attendees' mailboxes and carries answers back (under the store lock)."""
    def __init__(self, store: Store, on_change: Callable[[User, str, str], None]):
        self.store = store
        self.on_change = on_change

    @property
    def enabled(self) -> bool:
        return self.store.deliver_invitations

    def deliver(self, organizer: User, ev: Event) -> None:
        """Put a tentative copy of ``ev`` into each attendee's mailbox (under the store lock)."""
        if not self.enabled:
            return
        for attendee in ev.attendees:
            user = self.store.users.get(attendee.email.lower())
            if user is None or user is organizer or attendee.email.lower() in ev.copies:
                continue
            copy = Event(id=new_id(), owner=user.email, subject=ev.subject, start=ev.start, end=ev.end,
                         start_zone=ev.start_zone, end_zone=ev.end_zone, show_as="tentative",
                         organizer_email=organizer.email, created=self.store.now())
            copy.invited_by = (organizer.email.lower(), ev.id)
            self._copy_fields(ev, copy)
            user.events[copy.id] = copy
            ev.copies[attendee.email.lower()] = copy.id
            self.on_change(user, copy.id, "created")

    def sync(self, ev: Event) -> None:
        """Carry the organizer's change of ``ev`` into the attendees' copies."""
        for user, copy in self._copies(ev):
            copy.start, copy.end, copy.start_zone, copy.end_zone = ev.start, ev.end, ev.start_zone, ev.end_zone
            self._copy_fields(ev, copy)
            copy.is_cancelled = ev.is_cancelled
            copy.touch(self.store.now())
            self.on_change(user, copy.id, "updated")

    def cancel(self, ev: Event) -> None:
        """The organizer cancelled or deleted the meeting: the copies stay, marked cancelled."""
        ev.is_cancelled = True
        self.sync(ev)

    def respond(self, attendee: User, copy: Event, action: str) -> None:
        """The attendee answers with ``accept``, ``tentativelyAccept`` or ``decline``."""
        response = RESPONSES[action]
        now = self.store.now()
        if copy.invited_by is not None:
            organizer = self.store.users.get(copy.invited_by[0])
            master = organizer.events.get(copy.invited_by[1]) if organizer else None
            if master is not None:
                _set_response(master, attendee.email, response, now)
                master.touch(now)
                self.on_change(organizer, master.id, "updated")
        if response == "declined":
            attendee.events.pop(copy.id, None)
            self.on_change(attendee, copy.id, "deleted")
            return
        copy.show_as = SHOW_AS_AFTER[response]
        _set_response(copy, attendee.email, response, now)
        copy.touch(self.store.now())
        self.on_change(attendee, copy.id, "updated")

    def _copies(self, ev: Event):
        for email, copy_id in ev.copies.items():
            user = self.store.users.get(email)
            copy = user.events.get(copy_id) if user else None
            if copy is not None:
                yield user, copy

    @staticmethod
    def _copy_fields(ev: Event, copy: Event) -> None:
        copy.subject, copy.body, copy.body_type, copy.location = ev.subject, ev.body, ev.body_type, ev.location
        copy.recurrence = ev.recurrence
        copy.exceptions = dict(ev.exceptions)
        copy.cancelled = set(ev.cancelled)
        copy.is_online_meeting, copy.online_meeting_provider, copy.join_url = (
            ev.is_online_meeting, ev.online_meeting_provider, ev.join_url)
        copy.attendees = [Attendee(a.email, a.name, a.type, a.response, a.response_time) for a in ev.attendees]


def _set_response(ev: Event, email: str, response: str, when: datetime) -> None:
    for a in ev.attendees:
        if a.email.lower() == email.lower():
            a.response, a.response_time = response, when
            return
    ev.attendees.append(Attendee(email, response=response, response_time=when))
