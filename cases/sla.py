"""SLA clock arithmetic: business time in a service level's calendar.

A calendar is the working days of the week, the opening hours of each working day, the
holidays (local dates) and the time zone all of them are meant in. Targets are business time:
"first response within 4 business hours" raised on Friday 16:00 in Helsinki with 8-17 hours is
due on Monday 12:00 Helsinki time. Pure functions over aware datetimes; no database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

# A target further out than this many calendar days is taken to be wrong (no working days).
MAX_DAYS = 3660


@dataclass(frozen=True)
class BusinessCalendar:
    time_zone: str = "UTC"
    opens: dt.time = dt.time(0, 0)
    closes: dt.time = dt.time(0, 0)  # 00:00 closing means midnight: open until the day ends
    weekdays: frozenset[int] = frozenset(range(7))  # Monday is 0
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def build(
        cls,
        *,
        time_zone: str,
        opens: dt.time,
        closes: dt.time,
        weekdays: Iterable[int],
        holidays: Iterable[dt.date] = (),
    ) -> BusinessCalendar:
        return cls(time_zone, opens, closes, frozenset(weekdays), frozenset(holidays))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def always_open(self) -> bool:
        return (
            self.opens == dt.time(0, 0)
            and self.closes == dt.time(0, 0)
            and len(self.weekdays) == 7
            and not self.holidays
        )

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The day's business hours as aware datetimes, or None on a day off."""
        if day.weekday() not in self.weekdays or day in self.holidays:
            return None
        zone = self.zone
        start = dt.datetime.combine(day, self.opens, tzinfo=zone)
        if self.closes == dt.time(0, 0) or self.closes <= self.opens:
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=zone)
        else:
            end = dt.datetime.combine(day, self.closes, tzinfo=zone)
        return start, end


ALWAYS = BusinessCalendar()


def add_business_time(start: dt.datetime, delta: dt.timedelta, calendar: BusinessCalendar) -> dt.datetime:
    """The moment ``delta`` of business time after ``start``."""
    if calendar.always_open:
        return start + delta
    remaining = delta
    local = start.astimezone(calendar.zone)
    day = local.date()
    for _ in range(MAX_DAYS):
        window = calendar.window(day)
        if window is not None:
            opens, closes = window
            begin = max(opens, local)
            if begin < closes:
                # Compare in UTC: a DST day's window is shorter or longer than its wall-clock hours.
                available = closes.astimezone(dt.UTC) - begin.astimezone(dt.UTC)
                if remaining <= available:
                    return (begin.astimezone(dt.UTC) + remaining).astimezone(start.tzinfo)
                remaining -= available
        day += dt.timedelta(days=1)
    raise ValueError("The calendar has no business hours within ten years.")


def business_time_between(start: dt.datetime, end: dt.datetime, calendar: BusinessCalendar) -> dt.timedelta:
    """How much business time lies between ``start`` and ``end`` (zero when end is not later)."""
    if end <= start:
        return dt.timedelta(0)
    if calendar.always_open:
        return end - start
    total = dt.timedelta(0)
    day = start.astimezone(calendar.zone).date()
    last = end.astimezone(calendar.zone).date()
    while day <= last:
        window = calendar.window(day)
        if window is not None:
            begin = max(window[0].astimezone(dt.UTC), start.astimezone(dt.UTC))
            finish = min(window[1].astimezone(dt.UTC), end.astimezone(dt.UTC))
            if finish > begin:
                total += finish - begin
        day += dt.timedelta(days=1)
    return total


@dataclass(frozen=True)
class Clock:
    """One SLA target of a case: when it is due and when it turns amber."""

    due_at: dt.datetime
    warn_at: dt.datetime


def clock(start: dt.datetime, target: dt.timedelta, calendar: BusinessCalendar, *, warn_ratio: float) -> Clock:
    """Due after ``target`` business time; amber once ``warn_ratio`` of it has gone."""
    return Clock(
        due_at=add_business_time(start, target, calendar),
        warn_at=add_business_time(start, target * warn_ratio, calendar),
    )
