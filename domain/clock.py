"""Business time: one injectable clock, never scattered ``datetime.now()``.

The ledger's business time zone is a setting (rules §10), UTC unless
``CONTRACTLEDGER_BUSINESS_TIME_ZONE`` names an IANA zone; day counting (the
30-day reactivation window, the 5-day debt publication rule) uses dates in
that zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

BUSINESS_TIME_ZONE_SETTING = "CONTRACTLEDGER_BUSINESS_TIME_ZONE"


class UnknownBusinessTimeZone(ValueError):
    """The setting names no time zone; its message is the one sentence to print."""

    setting = BUSINESS_TIME_ZONE_SETTING


def business_zone_named(name: str | None) -> tzinfo:
    """rules §10: the zone an IANA name stands for (such as America/Toronto); UTC when not set."""
    if name is None or not name.strip():
        return timezone.utc
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownBusinessTimeZone(
            f"{BUSINESS_TIME_ZONE_SETTING}={name!r} is not a time zone this system knows; give an IANA name "
            "such as 'America/Toronto', or leave it unset for UTC."
        ) from None


class Clock(Protocol):
    business_zone: tzinfo

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


def today(clock: Clock) -> date:
    """The current date in the ledger's business time zone."""
    return clock.now().astimezone(clock.business_zone).date()


def business_date(clock: Clock, instant: datetime) -> date:
    """The date an instant falls on in the ledger's business time zone."""
    return instant.astimezone(clock.business_zone).date()


def end_of_day(clock: Clock, day: date) -> datetime:
    """The last instant of ``day`` in the ledger's business time zone."""
    start_of_next = datetime.combine(day + timedelta(days=1), time.min, tzinfo=clock.business_zone)
    return start_of_next - timedelta(microseconds=1)


class SystemClock:
    """Production time: the real UTC now."""

    def __init__(self, business_zone: tzinfo = timezone.utc) -> None:
        self.business_zone = business_zone

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> "SystemClock":
        """The clock in the business time zone the settings name (UnknownBusinessTimeZone if none)."""
        return cls(business_zone_named(settings.get(BUSINESS_TIME_ZONE_SETTING)))

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class SettableClock:
    """Time that tests move by hand."""

    def __init__(self, start: datetime, business_zone: tzinfo = timezone.utc) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock's instant must be timezone-aware")
        self._now = start
        self.business_zone = business_zone

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("a clock's instant must be timezone-aware")
        self._now = instant

    def advance(self, **delta: float) -> datetime:
        self._now = self._now + timedelta(**delta)
        return self._now
