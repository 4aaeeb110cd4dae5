"""The weekly digest email as the renderer makes it from a ``DigestContext``: numbers, pairs with
reasons and links to the coordinator's pair page, "and N more", the one-click unsubscribe link,
and names escaped in HTML."""
from __future__ import annotations

from adapters.mail.renderers import MailRenderer
from scheduler.ports import DigestContext, DigestPair

BASE = "https://tandem.example/programs/p1"


def _context(**change) -> DigestContext:
    values = dict(
        to="cora@example.org", idempotency_key="digest:p1:c1:2026-W10", recipient_name="Cora Diaz",
        program_name="Pilot <2026>", week_label="23 Feb–1 Mar 2026", held=1, missed=2, missed_rate=2 / 3,
        at_risk=(DigestPair("Mina", "Ezra", ("Missed the last 2 sessions in a row.",), f"{BASE}/pairs/a"),
                 DigestPair("Ada", "Olu", ("No held session in 30 days.", "Ada's Google calendar needs reconnecting."),
                            f"{BASE}/pairs/b")),
        more_at_risk=5,
        broken=(DigestPair("Ada", "Olu", ("Ada's Google calendar needs reconnecting.",), f"{BASE}/pairs/b"),),
        more_broken=0, broken_connections=1, dashboard_url=BASE,
        unsubscribe_url="https://tandem.example/digest/unsubscribe/tok", settings_url="https://tandem.example/programs/")
    values.update(change)
    return DigestContext(**values)


def test_the_digest_has_the_numbers_the_pairs_and_their_links():
    email = MailRenderer().render("coordinator_digest", _context())
    assert email.to == ("cora@example.org",) and email.idempotency_key == "digest:p1:c1:2026-W10"
    assert email.subject == "Pilot <2026>: weekly digest, 7 pairs at risk"
    for body in (email.text, email.html):
        assert "23 Feb–1 Mar 2026" in body and "67%" in body
        assert f"{BASE}/pairs/a" in body and f"{BASE}/pairs/b" in body
        assert "Missed the last 2 sessions in a row." in body
        assert "and 5 more" in body
        assert "https://tandem.example/digest/unsubscribe/tok" in body
    assert "Sessions held: 1" in email.text and "Sessions missed: 2" in email.text
    assert "No held session in 30 days.; Ada" in email.text
    assert "Pilot &lt;2026&gt;" in email.html and "Pilot <2026>" not in email.html


def test_a_quiet_week_says_so():
    email = MailRenderer().render("coordinator_digest", _context(
        held=0, missed=0, missed_rate=None, at_risk=(), more_at_risk=0, broken=(), broken_connections=0))
    assert email.subject == "Pilot <2026>: weekly digest, no pairs at risk"
    assert "Missed rate: —" in email.text
    assert "No pair is at risk." in email.text and "No broken calendar connections." in email.html
    assert "and 0 more" not in email.text
