"""ICS feeds as real calendar apps export them, loaded by name from tests/fixtures/ics_feed."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from adapters.providers.ics_feed import IcsFeedCalendarProvider
from adapters.providers.retry import RetryPolicy
from adapters.providers.safe_fetch import FetchedDocument
from scheduler.errors import InvalidCalendarFile, ReconnectNeeded, UnsafeUrl
from scheduler.ports import CalendarAccount

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ics_feed"
UTC = timezone.utc
MARCH = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))


def utc(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2027, month, day, hour, tzinfo=UTC)


def uploaded(name: str, tz: str) -> CalendarAccount:
    return CalendarAccount(connection_id=name, provider="ics", email="ada@example.org",
                           credentials={"ics_text": (FIXTURES / f"{name}.ics").read_text(), "tz": tz})


def busy_of(account: CalendarAccount) -> list[tuple[datetime, datetime]]:
    result = IcsFeedCalendarProvider().free_busy([account], *MARCH)[account.connection_id]
    assert result.error is None
    return [(iv.start, iv.end) for iv in result.busy]


def test_outlook_export_with_windows_zone_exdate_and_moved_occurrence():
    # Mondays 09:00 Berlin: 15 March excluded, 22 March moved to 14:00, EU DST starts 28 March.
    assert busy_of(uploaded("outlook_windows_zone", "Europe/Berlin")) == [
        (utc(1, 8), utc(1, 9)), (utc(8, 8), utc(8, 9)), (utc(22, 13), utc(22, 14)), (utc(29, 7), utc(29, 8))]


def test_apple_export_all_day_and_floating_are_in_the_persons_zone():
    # All-day 3 March and floating 09:00 on 4 March, in New York; transparent/cancelled are free.
    assert busy_of(uploaded("apple_floating_all_day", "America/New_York")) == [
        (utc(3, 5), utc(4, 5)), (utc(4, 14), utc(4, 15))]


def test_google_export_recurs_in_its_x_wr_timezone_across_dst():
    # A daily UTC-written event in a New York calendar keeps 11:00 local after 14 March.
    assert busy_of(uploaded("google_x_wr_timezone", "America/New_York")) == [
        (utc(12, 15), utc(12, 16)), (utc(13, 15), utc(13, 16)), (utc(14, 14), utc(14, 15)), (utc(15, 14), utc(15, 15))]


def test_broken_file_is_unknown_not_free_and_does_not_quote_the_file():
    provider = IcsFeedCalendarProvider()
    broken, fine = uploaded("broken_date", "UTC"), uploaded("apple_floating_all_day", "America/New_York")

    result = provider.free_busy([broken, fine], *MARCH)

    assert result[broken.connection_id].busy == () and "not be read" in result[broken.connection_id].error
    assert "Secret-Broken-Title" not in result[broken.connection_id].error
    assert result[fine.connection_id].error is None and result[fine.connection_id].busy
    with pytest.raises(InvalidCalendarFile):
        provider.check_feed(broken, now=MARCH[0])


def feed_account(url: str) -> CalendarAccount:
    return CalendarAccount(connection_id="feed", provider="ics", email="ada@example.org",
                           credentials={"url": url, "tz": "UTC"})


def test_unsafe_feed_link_is_refused_before_any_fetch():
    provider = IcsFeedCalendarProvider()
    account = feed_account("http://169.254.169.254/latest/meta-data")

    assert "private or local" in provider.free_busy([account], *MARCH)["feed"].error
    with pytest.raises(UnsafeUrl):
        provider.check_feed(account, now=MARCH[0])


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_a_dead_feed_link_needs_a_new_link_without_retrying(status):
    fetched = []

    def fetch(url: str) -> FetchedDocument:
        fetched.append(url)
        return FetchedDocument(url=url, status=status, headers={}, body=b"")
    provider = IcsFeedCalendarProvider(fetch=fetch, retry_policy=RetryPolicy(attempts=3), sleep=lambda s: None)

    with pytest.raises(ReconnectNeeded, match=f"HTTP {status}"):
        provider.check_feed(feed_account("https://calendar.example.org/private.ics"), now=MARCH[0])
    assert len(fetched) == 1
