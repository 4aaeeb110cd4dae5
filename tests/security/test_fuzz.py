"""Issue 15, keep it closed: Hypothesis fuzzing of what people and other servers send us.

Parsers of untrusted input — calendar files (ICS feeds, CalDAV objects), CSV imports, the hours
and preferences form, Graph and Google webhook requests — must answer every input with a result
or the clear error of their contract (:class:`InvalidInput` and its kinds; a 400 on the web),
never anything else (a 500), and within bounds that do not depend on the machine's speed: the
recurrence expansion budget and a peak-memory ceiling measured with ``tracemalloc``.

Budgets: ``make test`` runs a small deterministic run (profile ``tandem-suite``:
``derandomize=True``, a few dozen examples per target, no example database); ``make fuzz`` sets
``TANDEM_FUZZ=1`` for a long random run (profile ``tandem-fuzz``, ``TANDEM_FUZZ_EXAMPLES`` per
target, 4000 by default). No test asserts a duration.
"""
from __future__ import annotations

import json
import os
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st
from werkzeug.datastructures import MultiDict

from scheduler.core.ics_busy import ExpansionLimits, busy_from_ics
from scheduler.core.preferences import parse_preferences
from scheduler.errors import InvalidInput
from scheduler.services import programs
from scheduler.services.onboarding import check_answers
from web.onboarding.forms import answers_from_form

_QUIET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
          HealthCheck.filter_too_much]
settings.register_profile("tandem-suite", max_examples=40, derandomize=True, database=None, deadline=None,
                          suppress_health_check=_QUIET, print_blob=True)
settings.register_profile("tandem-fuzz", max_examples=int(os.environ.get("TANDEM_FUZZ_EXAMPLES", "4000")),
                          deadline=None, suppress_health_check=_QUIET, print_blob=True)
BUDGET = settings.get_profile("tandem-fuzz" if os.environ.get("TANDEM_FUZZ") else "tandem-suite")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ics"
SEEDS = sorted(p.read_bytes() for p in FIXTURES.glob("*.ics"))
WINDOW = (datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 4, 1, tzinfo=timezone.utc))
SMALL = ExpansionLimits(per_event=2_000, per_file=10_000)
MEMORY_CEILING = 64 * 1024 * 1024  # bytes at peak for one document of at most 64 KiB

# Values that have broken calendar parsers before: rule parts, dates, zones, escapes, sizes.
NASTY = [b"FREQ=SECONDLY", b"FREQ=MINUTELY;INTERVAL=1", b"FREQ=DAILY;COUNT=999999999", b"FREQ=YEARLY;BYSECOND=1,2,3",
         b"FREQ=WEEKLY;UNTIL=19000101", b"FREQ=HOURLY;BYDAY=MO,TU;BYSETPOS=-1", b"FREQ=DAILY;INTERVAL=0",
         b"19700101T000000Z", b"99991231T235959", b"20260230T250000", b"20260310", b"-0001",
         b"TZID=Europe/Berlin:", b"TZID=" + b"A" * 300 + b":", b"TZID=W. Europe Standard Time:",
         b"\\n", b"\r\n ", b";", b":", b"\x00", b"\xff\xfe", "\u2028".encode(), b"BEGIN:VEVENT",
         b"END:VCALENDAR", b"RECURRENCE-ID:20260310T100000Z", b"EXDATE:garbage", b"DURATION:P9999W",
         b"DURATION:-PT1H", b"TRANSP:TRANSPARENT", b"STATUS:CANCELLED"]


def _within_memory(work) -> None:
    """Run ``work`` and fail if its peak traced allocation passes :data:`MEMORY_CEILING`."""
    tracemalloc.start()
    try:
        work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_CEILING, f"peak {peak} bytes"


@st.composite
def mutated_calendars(draw) -> bytes:
    """A real calendar file with lines dropped, doubled or spliced with nasty values and bytes."""
    lines = draw(st.sampled_from(SEEDS)).split(b"\n")
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, max(0, len(lines) - 1)))
        action = draw(st.sampled_from(["drop", "double", "nasty", "bytes", "cut"]))
        if not lines:
            break
        if action == "drop":
            lines.pop(at)
        elif action == "double":
            lines.insert(at, lines[at])
        elif action == "nasty":
            line = lines[at]
            split = draw(st.integers(0, len(line)))
            lines[at] = line[:split] + draw(st.sampled_from(NASTY)) + line[split:]
        elif action == "bytes":
            lines.insert(at, draw(st.binary(max_size=80)))
        else:
            lines[at] = lines[at][:draw(st.integers(0, len(lines[at])))]
    return b"\n".join(lines)[:64 * 1024]


@settings(BUDGET)
@given(data=st.one_of(mutated_calendars(), st.binary(max_size=2048)),
       zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Pacific/Chatham"]))
def test_calendar_files_give_busy_times_or_a_clear_refusal(data, zone):
    def work():
        try:
            busy = busy_from_ics(data, "fuzzed.ics", zone, *WINDOW, limits=SMALL)
        except InvalidInput as refusal:
            assert str(refusal).strip()  # a message saying what is wrong
            return
        assert all(WINDOW[0] <= iv.start < iv.end <= WINDOW[1] for iv in busy)
    _within_memory(work)


CSV_CELLS = st.one_of(st.text(max_size=40), st.sampled_from([
    "a@example.org", "mentor@example.org", "mentee@example.org", "x@y", "Ünï@example.org", "a\r\nb", "\"", '"a,b"',
    "=cmd|' /C calc'!A0", "\x00", "a" * 300]))


@st.composite
def csv_texts(draw) -> str:
    header = draw(st.sampled_from(["mentor_email,mentee_email", "mentor_email,mentor_name,mentee_email,mentee_name",
                                   "mentee_email", "", "mentor_email;mentee_email", "\ufeffmentor_email,mentee_email"]))
    rows = draw(st.lists(st.lists(CSV_CELLS, min_size=0, max_size=5), max_size=8))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return ending.join([header] + [",".join(row) for row in rows])


@settings(BUDGET)
@given(text=st.one_of(csv_texts(), st.text(max_size=500)))
def test_csv_imports_give_a_result_or_line_numbered_problems(container, seeded, text):
    try:
        result = programs.import_pairs_csv(container, seeded.program_id, text)
    except InvalidInput as refusal:
        assert str(refusal)
        return
    assert result.ok or all(error.line >= 1 and error.message for error in result.errors)


FORM_VALUES = st.one_of(st.text(max_size=30), st.sampled_from(
    ["on", "09:00", "17:00", "24:00", "9", "-1:00", "23:59", "Europe/Berlin", "Mars/Olympus", "A" * 5000, "any",
     "morning", "weekly", "biweekly", "monthly", "45", "0", "99999999999999999999", "\x00"]))
FORM_KEYS = st.sampled_from(["tz", "preferred", "cadence", "duration_min", "earliest", "latest"]
                            + [f"{p}_{d}" for p in ("day", "start", "end", "avoid")
                               for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")])


@settings(BUDGET)
@given(pairs=st.lists(st.tuples(FORM_KEYS, FORM_VALUES), max_size=20))
def test_the_hours_form_gives_answers_or_problems_saying_what_to_change(pairs):
    try:
        answers = answers_from_form(MultiDict(pairs), may_choose_rhythm=True)
    except InvalidInput as refusal:
        assert str(refusal)
        return
    problems = check_answers(answers)
    assert all(isinstance(p, str) and p for p in problems)


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                   max_size=4), max_leaves=12)


@settings(BUDGET)
@given(raw=st.one_of(JSONISH, st.fixed_dictionaries({}, optional={
    "preferred": st.lists(st.lists(st.text(max_size=6), max_size=3), max_size=3),
    "earliest": st.text(max_size=8), "latest": st.text(max_size=8),
    "avoid_days": st.lists(st.sampled_from(["mon", "fri", "xyz", 3]), max_size=4)})))
def test_stored_preferences_parse_or_say_what_to_fix(raw):
    try:
        parse_preferences(raw if isinstance(raw, dict) else {"preferred": raw})
    except InvalidInput as refusal:
        assert str(refusal)


GRAPH_BODIES = st.one_of(
    JSONISH.map(json.dumps),
    st.fixed_dictionaries({"value": st.lists(st.dictionaries(
        st.sampled_from(["subscriptionId", "clientState", "changeType", "lifecycleEvent", "resourceData",
                         "resource", "tenantId"]), JSONISH, max_size=6), max_size=4)}).map(json.dumps),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")))


@settings(BUDGET)
@given(body=GRAPH_BODIES)
def test_graph_webhook_bodies_get_202_or_a_400_saying_what_is_expected(client, body):
    reply = client.post("/webhooks/microsoft", data=body, content_type="application/json")
    assert reply.status_code in (202, 400)
    if reply.status_code == 400:
        assert "expected a JSON object" in reply.get_data(as_text=True)


@settings(BUDGET)
@given(headers=st.dictionaries(st.sampled_from(["X-Goog-Channel-ID", "X-Goog-Channel-Token", "X-Goog-Resource-State",
                                                "X-Goog-Message-Number", "X-Goog-Resource-ID"]),
                               st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300),
                               max_size=5),
       body=st.binary(max_size=200))
def test_google_webhook_requests_always_get_the_quiet_200(client, headers, body):
    assert client.post("/webhooks/google", headers=headers, data=body).status_code == 200


def test_the_suite_budget_is_deterministic_and_bounded():
    """The run inside ``make test`` is reproducible; ``make fuzz`` is the long random one."""
    if os.environ.get("TANDEM_FUZZ"):
        assert BUDGET.max_examples >= 1 and not BUDGET.derandomize
    else:
        assert BUDGET.derandomize and BUDGET.database is None and BUDGET.max_examples <= 100
