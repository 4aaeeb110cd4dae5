"""The emulator's calendar objects: users, events (single, series master), their instances.

Instances are computed from the master's recurrence within a window; a moved occurrence is an
*exception* stored on the master, a cancelled one is remembered in ``cancelled`` and left out
of instance lists (like Graph, which lists it in the master's ``cancelledOccurrences``).
"""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .recurrence import Recurrence

PERSONAL_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # the tenant id of every Microsoft account (MSA)
SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")


def new_id(prefix: str = "AAMkAG") -> str:
    """An opaque id that looks like Exchange's (base64url of random bytes)."""
    raw = base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode().rstrip("=")
    return prefix + raw


@dataclass
class User:
    email: str
    oid: str
    tid: str
    personal: bool = False
    display_name: str = ""
    time_zone: str = "UTC"  # mailbox time zone (Windows name), used for working hours
    events: dict[str, "Event"] = field(default_factory=dict)
    by_transaction: dict[str, str] = field(default_factory=dict)
    change_seq: int = 0
    changes: list[tuple[int, str, str]] = field(default_factory=list)  # (seq, event id, "upsert"|"delete")

    def record_change(self, event_id: str, kind: str) -> int:
        self.change_seq += 1
        self.changes.append((self.change_seq, event_id, kind))
        return self.change_seq


@dataclass
class Attendee:
    email: str
    name: str = ""
    type: str = "required"
    response: str = "none"  # none | accepted | declined | tentativelyAccepted | notResponded
    response_time: datetime | None = None


@dataclass
class Instance:
    """One occurrence view of an event (or the single event itself)."""

    id: str
    event: "Event"
    type: str  # singleInstance | occurrence | exception
    start: datetime
    end: datetime
    original_start: datetime | None = None

    @property
    def show_as(self) -> str:
        return self.event.show_as


@dataclass
class Event:
    id: str
    owner: str  # email of the mailbox
    subject: str
    start: datetime  # aware, in ``start_zone``
    end: datetime
    start_zone: str  # as the client gave it (Windows or IANA)
    end_zone: str
    body_type: str = "text"
    body: str = ""
    location: str = ""
    show_as: str = "busy"
    is_all_day: bool = False
    is_cancelled: bool = False
    sensitivity: str = "normal"
    organizer_email: str = ""
    attendees: list[Attendee] = field(default_factory=list)
    recurrence: Recurrence | None = None
    transaction_id: str | None = None
    is_online_meeting: bool = False
    online_meeting_provider: str = "unknown"
    join_url: str | None = None
    extended: dict[str, str] = field(default_factory=dict)  # singleValueExtendedProperties id -> value
    exceptions: dict[datetime, tuple[datetime, datetime]] = field(default_factory=dict)  # original(UTC) -> (start, end)
    cancelled: set[datetime] = field(default_factory=set)  # originals (UTC)
    copies: dict[str, str] = field(default_factory=dict)  # attendee email -> id of their copy
    invited_by: tuple[str, str] | None = None  # (organizer email, organizer's event id) on a copy
    ical_uid: str = field(default_factory=lambda: "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex.upper())
    change_key: str = field(default_factory=lambda: new_id("CQAAA"))
    created: datetime = field(kw_only=True)  # the emulator's time (Store.now), never a global clock
    modified: datetime | None = field(default=None, kw_only=True)  # None: ``created``

    def __post_init__(self) -> None:
        if self.modified is None:
            self.modified = self.created

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def type(self) -> str:
        return "seriesMaster" if self.recurrence else "singleInstance"

    @property
    def hidden(self) -> bool:
        """Cancelled by its organizer: moved to Deleted Items, gone from every calendar view, but
        still readable by id (``isCancelled: true``)."""
        return self.is_cancelled and self.organizer_email.lower() == self.owner.lower()

    def touch(self, now: datetime) -> None:
        """A change at ``now`` (the emulator's time): new modified stamp and change key."""
        self.modified = now
        self.change_key = new_id("CQAAA")

    # --- instances ------------------------------------------------------------------------
    def occurrence_id(self, original: datetime) -> str:
        stamp = original.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        token = base64.urlsafe_b64encode(f"{self.id}|{stamp}".encode()).decode().rstrip("=")
        return "AAMkOcc" + token

    def instances(self, start: datetime, end: datetime) -> list[Instance]:
        """Instances overlapping ``[start, end)``; cancelled occurrences are left out."""
        if self.hidden:
            return []
        if self.recurrence is None:
            if self.start < end and start < self.end:
                return [Instance(self.id, self, "singleInstance", self.start, self.end)]
            return []
        slack = timedelta(days=40)  # an exception may have moved into the window from nearby
        out = []
        for original in self.recurrence.originals_between(start - slack - self.duration, end + slack):
            key = original.astimezone(timezone.utc)
            if key in self.cancelled:
                continue
            if key in self.exceptions:
                s, e = self.exceptions[key]
                kind = "exception"
            else:
                s, e = original, original + self.duration
                kind = "occurrence"
            if s < end and start < e:
                out.append(Instance(self.occurrence_id(original), self, kind, s, e, original))
        out.sort(key=lambda i: i.start)
        return out

    def find_original(self, occurrence_id: str) -> datetime | None:
        """The original start named by an occurrence id of this series, if it is one."""
        if not occurrence_id.startswith("AAMkOcc"):
            return None
        raw = occurrence_id[len("AAMkOcc"):]
        try:
            master, _, stamp = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().partition("|")
        except (ValueError, UnicodeDecodeError):
            return None
        if master != self.id or self.recurrence is None:
            return None
        original = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        return original if self.recurrence.is_original(original) else None


def split_occurrence_id(occurrence_id: str) -> str | None:
    """The master id inside an occurrence id produced by :meth:`Event.occurrence_id`."""
    if not occurrence_id.startswith("AAMkOcc"):
        return None
    raw = occurrence_id[len("AAMkOcc"):]
    try:
        master, sep, _ = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().partition("|")
    except (ValueError, UnicodeDecodeError):
        return None
    return master if sep else None
