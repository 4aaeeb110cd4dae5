"""Time zones as Graph speaks them: Windows names ("W. Europe Standard Time") or IANA names,
and ``dateTimeTimeZone`` values (``{"dateTime": "2027-03-02T09:00:00.0000000", "timeZone": ...}``).

The Windows <-> IANA table is the CLDR mapping that ``icalendar`` ships.
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

# IANA -> Windows, for replies that carry Windows names like real Graph does.
_OLSON_TO_WINDOWS: dict[str, str] = {}
for _win, _iana in WINDOWS_TO_OLSON.items():
    _OLSON_TO_WINDOWS.setdefault(_iana, _win)
_OLSON_TO_WINDOWS["Etc/UTC"] = "UTC"

GRAPH_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.0000000"


# The IANA names Graph documents next to the Windows ids (the dateTimeTimeZone resource page, v1.0);
# where the page gives two spellings ("Europe/Kyiv (Kiev)") both are listed.
DOCUMENTED_IANA_NAMES = frozenset("""
Etc/GMT+12 Etc/GMT+11 Pacific/Honolulu America/Anchorage America/Santa_Isabel America/Los_Angeles
America/Phoenix America/Chihuahua America/Denver America/Guatemala America/Chicago America/Mexico_City
America/Regina America/Bogota America/New_York America/Indiana/Indianapolis America/Caracas America/Asuncion
America/Halifax America/Cuiaba America/La_Paz America/Santiago America/St_Johns America/Sao_Paulo
America/Argentina/Buenos_Aires America/Cayenne America/Godthab America/Montevideo America/Bahia Etc/GMT+2
Atlantic/Azores Atlantic/Cape_Verde Africa/Casablanca Etc/GMT Europe/London Atlantic/Reykjavik Europe/Berlin
Europe/Budapest Europe/Paris Europe/Warsaw Africa/Lagos Africa/Windhoek Europe/Bucharest Asia/Beirut
Africa/Cairo Asia/Damascus Africa/Johannesburg Europe/Kyiv Europe/Kiev Europe/Istanbul Asia/Jerusalem
Asia/Amman Asia/Baghdad Europe/Kaliningrad Asia/Riyadh Africa/Nairobi Asia/Tehran Asia/Dubai Asia/Baku
Europe/Moscow Indian/Mauritius Asia/Tbilisi Asia/Yerevan Asia/Kabul Asia/Karachi Asia/Toshkent Asia/Tashkent
Asia/Kolkata Asia/Colombo Asia/Kathmandu Asia/Astana Asia/Almaty Asia/Dhaka Asia/Yekaterinburg Asia/Yangon
Asia/Rangoon Asia/Bangkok Asia/Novosibirsk Asia/Shanghai Asia/Krasnoyarsk Asia/Singapore Australia/Perth
Asia/Taipei Asia/Ulaanbaatar Asia/Irkutsk Asia/Tokyo Asia/Seoul Australia/Adelaide Australia/Darwin
Australia/Brisbane Australia/Sydney Pacific/Port_Moresby Australia/Hobart Asia/Yakutsk Pacific/Guadalcanal
Asia/Vladivostok Pacific/Auckland Etc/GMT-12 Pacific/Fiji Asia/Magadan Pacific/Tongatapu Pacific/Apia
Pacific/Kiritimati
""".split())
WINDOWS_NAMES = frozenset(WINDOWS_TO_OLSON) | {"UTC"}


class ZoneError(ValueError):
    """A time-zone name Graph would not accept."""


class UnsupportedZone(ZoneError):
    """A name create/update refuses: neither a Windows id nor one of the documented IANA names."""


def check_writable_zone(name: object) -> str:
    """What create and update accept as ``timeZone``: a Windows id or a documented IANA name.
    Graph answers anything else with 400 ``TimeZoneNotSupportedException``.

    >>> check_writable_zone("India Standard Time"), check_writable_zone("Asia/Kolkata")
    ('India Standard Time', 'Asia/Kolkata')
    >>> check_writable_zone("Europe/Madrid")
    Traceback (most recent call last):
    ...
    emulators.microsoft.zones.UnsupportedZone: A valid TimeZone value must be specified. The following TimeZone value is not supported: 'Europe/Madrid'.
    """
    text = "" if name is None else str(name)
    if text in WINDOWS_NAMES or text in DOCUMENTED_IANA_NAMES:
        return text
    raise UnsupportedZone("A valid TimeZone value must be specified. The following TimeZone value is not "
                          f"supported: '{text}'.")


def to_zoneinfo(name: str) -> ZoneInfo:
    """Resolve a Windows or IANA zone name.

    >>> to_zoneinfo("W. Europe Standard Time").key
    'Europe/Berlin'
    >>> to_zoneinfo("Asia/Kathmandu").key
    'Asia/Kathmandu'
    """
    if not name:
        raise ZoneError("empty time zone")
    if name in ("UTC", "Coordinated Universal Time", "tzone://Microsoft/Utc"):
        return ZoneInfo("UTC")
    iana = WINDOWS_TO_OLSON.get(name, name)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ZoneError(f"unknown time zone {name!r}") from exc


def windows_name(iana: str) -> str:
    """The Windows name of an IANA zone when one exists, else the IANA name unchanged.

    >>> windows_name("Europe/Berlin")
    'W. Europe Standard Time'
    """
    if iana in ("UTC", "Etc/UTC"):
        return "UTC"
    return _OLSON_TO_WINDOWS.get(iana, iana)


def parse_datetime_tz(value: object, field: str) -> datetime:
    """Parse a ``dateTimeTimeZone`` object into an aware datetime."""
    if not isinstance(value, dict) or "dateTime" not in value:
        raise ValueError(f"{field} must be a dateTimeTimeZone object with dateTime and timeZone")
    zone = to_zoneinfo(str(value.get("timeZone") or "UTC"))
    raw = str(value["dateTime"])
    naive = parse_iso_naive(raw)
    if naive.tzinfo is not None:
        return naive.astimezone(zone)
    return naive.replace(tzinfo=zone)


def parse_iso_naive(raw: str) -> datetime:
    """Parse Graph's ISO strings, which may carry 7 fractional digits or a ``Z``."""
    text = raw.strip().replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        rest = tail[len(digits):]
        text = head + "." + (digits[:6].ljust(6, "0")) + rest
    return datetime.fromisoformat(text)


def parse_query_instant(raw: str | None) -> datetime | None:
    """A ``startDateTime``/``endDateTime`` query value; no offset means UTC (as Graph says)."""
    if not raw:
        return None
    dt = parse_iso_naive(raw)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def format_datetime_tz(dt: datetime, zone_name: str) -> dict:
    """Render an aware datetime in ``zone_name`` (Windows or IANA) as Graph does."""
    zone = to_zoneinfo(zone_name)
    return {"dateTime": dt.astimezone(zone).strftime(GRAPH_DATETIME_FORMAT), "timeZone": zone_name}


def format_instant(dt: datetime) -> str:
    """``2027-03-02T08:00:00Z`` style (used by originalStart, subscriptions)."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def preferred_zone(prefer_header: str | None) -> str:
    """The zone named by ``Prefer: outlook.timezone="..."``, else UTC."""
    if not prefer_header:
        return "UTC"
    for part in prefer_header.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "outlook.timezone" and value:
            name = value.strip().strip('"')
            to_zoneinfo(name)
            return name
    return "UTC"
