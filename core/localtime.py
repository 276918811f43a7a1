"""The district's calendar day: stored times are naive UTC, people and deadlines count in Asia/Shanghai.
One place for the conversions every reminder, queue, weekly and monthly figure relies on. Pure."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_today() -> date:
    return datetime.now(LOCAL_TZ).date()


def local_date(moment: datetime) -> date:
    """A stored (naive UTC) time as the district's calendar day."""
    return moment.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ).date()


def local_midnight_utc(day: date) -> datetime:
    """The start of the district's `day`, as stored (naive UTC): the bound for "received that day"."""
    return datetime.combine(day, time(), LOCAL_TZ).astimezone(timezone.utc).replace(tzinfo=None)


def week_of(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


def local_datetime(moment: datetime) -> datetime:
    """A stored (naive UTC) time as the district's wall-clock time, naive (for .xlsx cells and text)."""
    return moment.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ).replace(tzinfo=None)
