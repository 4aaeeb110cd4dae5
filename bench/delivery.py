"""Delivery benchmark: ``python -m bench.delivery [--quick] [--messages N] [--threads T] [--database URL]``.

N due reminder emails (default 50,000; ``--quick``: 2,000) go through the whole pipeline — the
outbox rows, the tick claiming them and handing them over in batches, Dramatiq worker threads
(in-process broker) running ``deliver_notifications`` (one read per batch, render,
``SmtpMailer``, per email one transaction marking it sent and its row done) — to a loopback
aiosmtpd server in its own process (``bench.smtp_sink``). The baselines, measured in the same
run, each against its own sink: plain ``smtplib`` sending the same messages (rendered
beforehand, untimed) one after another on one kept connection — as a plain script does it
(``EmailMessage`` built and sent per email), with the messages built beforehand, and as bare
bytes serialized beforehand (the wire alone). Printed: messages, seconds, rate, the ratios to
the baselines, and duplicates and missing messages counted by Message-ID at the receiving
server. Speed is reported, never asserted; the target is a ratio of at least 0.8 to plain
``smtplib`` with no duplicates.

The database is SQLite in a temporary directory unless ``--database`` names another (an empty
PostgreSQL database, say); its schema is created by the migrations.
"""
from __future__ import annotations

import argparse
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from adapters.mail.smtp import SmtpMailer, build_message
from adapters.storage.migrate import upgrade
from adapters.storage.models import (Notification, Occurrence, OutboxMessage, Pair, Person, Program, Series,
                                     new_id)
from bench.smtp_sink import read_message_ids
from config.bootstrap import bootstrap
from config.settings import MailSection, load_settings
from scheduler.services.delivery import render
from workers.actors import bind_actors
from workers.broker import build_broker
from workers.runtime import start_worker
from workers.tick import run_tick_loop

FULL, QUICK = 50_000, 2_000
PER_PAIR = 100  # 50 weekly sessions, a reminder to each of the two people
FROM = "Tandem <tandem@bench.example>"
ENVELOPE_FROM = "tandem@bench.example"


@dataclass
class Result:
    name: str
    messages: int
    seconds: float
    delivered: int
    duplicates: int
    missing: int

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


@contextmanager
def smtp_sink(out: Path):
    """A ``bench.smtp_sink`` process; yields its port."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.smtp_sink", str(out)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    try:
        yield int(proc.stdout.readline())
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _settings(url: str, threads: int, port: int):
    """The shipped defaults (tick interval, batch sizes, lease), but for the database, the
    SMTP server and the worker threads."""
    return load_settings(environ={
        "TANDEM_APP__ENV": "test", "TANDEM_DATABASE__URL": url, "TANDEM_BROKER__URL": "memory://",
        "TANDEM_BROKER__WORKER_THREADS": str(threads), "TANDEM_SECURITY__SECRET_KEY": "b" * 48,
        "TANDEM_MAIL__SMTP_HOST": "127.0.0.1", "TANDEM_MAIL__SMTP_PORT": str(port), "TANDEM_MAIL__FROM_ADDRESS": FROM})


def seed(container, messages: int) -> None:
    """``messages`` due reminders (and their outbox rows) for sessions of messages/100 pairs."""
    now = container.clock.now()
    pairs = max(1, -(-messages // PER_PAIR))
    with container.session_factory() as session:
        program_id = new_id()
        session.execute(insert(Program), [dict(id=program_id, name="Delivery bench", cadence="weekly",
                                               duration_min=30, session_count=50)])
        made = 0
        for chunk in range(0, pairs, 50):
            people, pair_rows, series_rows, occ_rows, notes, outbox = [], [], [], [], [], []
            for p in range(chunk, min(pairs, chunk + 50)):
                mentor, mentee = new_id(), new_id()
                people += [dict(id=mentor, email=f"mentor{p}@bench.example", name=f"Mentor {p}", tz="Europe/Berlin"),
                           dict(id=mentee, email=f"mentee{p}@bench.example", name=f"Mentee {p}", tz="America/New_York")]
                pair_id, series_id = new_id(), new_id()
                pair_rows.append(dict(id=pair_id, program_id=program_id, mentor_id=mentor, mentee_id=mentee,
                                      status="booked"))
                series_rows.append(dict(id=series_id, pair_id=pair_id, rrule="FREQ=WEEKLY;COUNT=50",
                                        dtstart_local="", tz="Europe/Berlin", duration_min=30, status="booked",
                                        video_url="https://meet.bench.example/abc"))
                for week in range(PER_PAIR // 2):
                    occ_id, start = new_id(), now + timedelta(days=1, weeks=week)
                    occ_rows.append(dict(id=occ_id, series_id=series_id, original_start=start, start=start,
                                         end=start + timedelta(minutes=30), status="scheduled",
                                         agenda="Goals since last time\nWhat is blocking you"))
                    for person in (mentor, mentee):
                        if made == messages:
                            break
                        note_id, key = new_id(), f"reminder:{occ_id}:{person}:60"
                        notes.append(dict(id=note_id, kind="reminder", person_id=person, pair_id=pair_id,
                                          occurrence_id=occ_id, due_at=now, status="pending", idempotency_key=key,
                                          payload={}))
                        outbox.append(dict(id=new_id(), kind="deliver_notification", subject_id=note_id,
                                           idempotency_key=f"deliver:{note_id}", status="pending", due_at=now,
                                           attempts=0))
                        made += 1
            for model, rows in ((Person, people), (Pair, pair_rows), (Series, series_rows), (Occurrence, occ_rows),
                                (Notification, notes), (OutboxMessage, outbox)):
                if rows:
                    session.execute(insert(model), rows)
        session.commit()


def _notification_ids(container) -> list[str]:
    with container.session_factory() as session:
        return list(session.scalars(select(Notification.id).order_by(Notification.id)))


def render_all(container, chunk: int = 1000) -> list[list]:
    """Every due email as the pipeline renders it, in chunks of ``chunk`` (untimed, done once)."""
    ids, chunks = _notification_ids(container), []
    for start in range(0, len(ids), chunk):
        with container.uow() as uow:
            chunks.append([render(container, uow, uow.notifications.get(i)) for i in ids[start:start + chunk]])
    return chunks


def smtplib_bytes(container, rendered: list[list], port: int, sink: Path) -> Result:
    """The wire alone: the messages built and serialized to bytes beforehand (untimed), then
    ``sendmail`` on one kept connection (only the sending is timed)."""
    seconds = 0.0
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        for emails in rendered:
            built = [(list(email.to), _wire_bytes(build_message(email, from_address=FROM))) for email in emails]
            began = time.perf_counter()
            for to, data in built:
                smtp.sendmail(ENVELOPE_FROM, to, data)
            seconds += time.perf_counter() - began
    return _result("smtplib, bytes serialized beforehand", sum(map(len, rendered)), seconds, sink, container)


def _wire_bytes(message) -> bytes:
    """The message as ``send_message`` puts it on the wire (CRLF line ends, as SMTP wants)."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def smtplib_prebuilt(container, rendered: list[list], port: int, sink: Path) -> Result:
    """The floor: the messages rendered and built beforehand (untimed), then sent with
    ``send_message`` on one kept ``smtplib`` connection (only the sending is timed)."""
    seconds = 0.0
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        for emails in rendered:
            built = [(list(email.to), build_message(email, from_address=FROM)) for email in emails]
            began = time.perf_counter()
            for to, message in built:
                smtp.send_message(message, from_addr=ENVELOPE_FROM, to_addrs=to)
            seconds += time.perf_counter() - began
    return _result("smtplib, messages built beforehand", sum(map(len, rendered)), seconds, sink, container)


def smtplib_building(container, rendered: list[list], port: int, sink: Path) -> Result:
    """A plain script: each message built with the standard ``email`` package (``build_message``,
    the mailer's reference layout) and sent with ``send_message`` on one kept connection."""
    seconds = 0.0
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        for emails in rendered:
            began = time.perf_counter()
            for email in emails:
                smtp.send_message(build_message(email, from_address=FROM), from_addr=ENVELOPE_FROM,
                                  to_addrs=list(email.to))
            seconds += time.perf_counter() - began
    return _result("smtplib script, building each", sum(map(len, rendered)), seconds, sink, container)


def mailer_alone(container, rendered: list[list], port: int, sink: Path, max_per_connection: int) -> Result:
    """``SmtpMailer.send`` (builds, sends, maps errors) on the rendered emails, one thread."""
    mailer = SmtpMailer(MailSection(smtp_host="127.0.0.1", smtp_port=port, from_address=FROM,
                                    max_messages_per_connection=max_per_connection))
    seconds = 0.0
    for emails in rendered:
        began = time.perf_counter()
        for email in emails:
            mailer.send(email)
        seconds += time.perf_counter() - began
    mailer.close()
    what = "a connection per email" if max_per_connection == 1 else "kept connection"
    return _result(f"SmtpMailer alone, {what}", sum(map(len, rendered)), seconds, sink, container)


def pipeline(container, threads: int, sink: Path, deadline_s: float = 3600) -> Result:
    """Tick + worker threads deliver every due notification; timed until all are marked sent."""
    ids = _notification_ids(container)
    broker = build_broker(container.settings)
    bind_actors(broker, container)
    stop = threading.Event()
    began = time.perf_counter()
    worker = start_worker(broker, threads)
    tick = threading.Thread(target=run_tick_loop, args=(container, broker, stop), daemon=True)
    tick.start()
    try:
        deadline = time.monotonic() + deadline_s
        while _pending(container) and time.monotonic() < deadline:
            time.sleep(0.1)
        seconds = time.perf_counter() - began
    finally:
        stop.set()
        tick.join(timeout=30)
        worker.stop()
        broker.close()
        container.mailer.close()
    return _result(f"Tandem pipeline, {threads} worker threads", len(ids), seconds, sink, container)


def _pending(container) -> int:
    with container.reading() as uow:  # a reader: the measuring never holds up the workers' writes
        return uow.session.scalar(select(func.count()).select_from(Notification)
                                  .where(Notification.status == "pending")) or 0


def _result(name: str, messages: int, seconds: float, sink: Path, container) -> Result:
    from adapters.mail.smtp import message_id_for

    with container.session_factory() as session:
        keys = list(session.scalars(select(Notification.idempotency_key)))
    expected = {message_id_for(key) for key in keys}
    arrived = read_message_ids(sink)
    return Result(name, messages, seconds, sum(arrived.values()),
                  duplicates=sum(n - 1 for n in arrived.values() if n > 1),
                  missing=len(expected - set(arrived)))


def table(results: list[Result]) -> str:
    """One line per case; the ratios are to the first three cases: the plain ``smtplib`` script
    (the target's baseline), smtplib with the messages built beforehand, and the bare wire."""
    script, built, wire = (next((r.rate for r in results if r.name.startswith(prefix)), 0.0)
                           for prefix in ("smtplib script", "smtplib, messages", "smtplib, bytes"))

    def ratio(rate: float, base: float) -> str:
        return f"{rate / base:.2f}" if base else "-"

    lines = [f"{'case':<40} {'messages':>9} {'seconds':>8} {'msg/s':>7} {'÷ script':>9} {'÷ built':>8} "
             f"{'÷ wire':>7} {'arrived':>8} {'dupes':>6} {'missing':>8}"]
    for r in results:
        lines.append(f"{r.name:<40} {r.messages:>9,} {r.seconds:>8.1f} {r.rate:>7.0f} {ratio(r.rate, script):>9} "
                     f"{ratio(r.rate, built):>8} {ratio(r.rate, wire):>7} {r.delivered:>8,} {r.duplicates:>6} "
                     f"{r.missing:>8}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK:,} messages instead of {FULL:,}")
    parser.add_argument("--messages", type=int, help="how many due emails (overrides --quick)")
    parser.add_argument("--threads", type=int, default=4, help="worker threads (default 4, as shipped)")
    parser.add_argument("--database", help="an empty database URL (default: SQLite in a temporary directory)")
    parser.add_argument("--skip-old", action="store_true", help="leave out the connection-per-email case")
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)  # shared bench arguments
    args = parser.parse_args(argv)
    messages = args.messages or (QUICK if args.quick else FULL)
    if messages < 1 or args.threads < 1:
        parser.error("--messages and --threads must be at least 1")
    cases = [("building", smtplib_building), ("prebuilt", smtplib_prebuilt), ("bytes", smtplib_bytes),
             ("mailer", lambda c, r, port, sink: mailer_alone(c, r, port, sink, 100))]
    if not args.skip_old:
        cases.append(("mailer-per-email", lambda c, r, port, sink: mailer_alone(c, r, port, sink, 1)))
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        tmp_path = Path(tmp)
        url = args.database or f"sqlite:///{tmp_path / 'delivery.db'}"
        pipeline_out = tmp_path / "pipeline.txt"
        with smtp_sink(pipeline_out) as pipeline_port:
            container = bootstrap(_settings(url, args.threads, pipeline_port))
            try:
                upgrade(container.engine)
                print(f"seeding {messages:,} due reminders on {container.engine.url.get_backend_name()} ...",
                      flush=True)
                seed(container, messages)
                print("rendering them once for the baselines (untimed) ...", flush=True)
                rendered, results = render_all(container), []
                for name, case in cases:
                    out = tmp_path / f"{name}.txt"
                    with smtp_sink(out) as port:
                        results.append(case(container, rendered, port, out))
                    print(f"  {results[-1].name}: {results[-1].rate:.0f} msg/s", flush=True)
                del rendered
                results.append(pipeline(container, args.threads, pipeline_out))
            finally:
                container.dispose()
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
