"""China's working-day calendar: official holidays and make-up working days (调休) from chinesecalendar
(2004–2026) and config/holidays.toml (later years, corrections). Where a year has no data the calendar
falls back to weekends only and every answer says so, so a deadline is never silently wrong. Pure."""
from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import chinese_calendar

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueDate:
    due: date
    fallback_years: frozenset[int] = frozenset()  # years counted with weekends only

    @property
    def uncertain(self) -> bool:
        return bool(self.fallback_years)

    def warning(self) -> str:
        if not self.fallback_years:
            return ""
        years = ", ".join(str(y) for y in sorted(self.fallback_years))
        return (f"warning: no official holiday schedule for {years}; counted weekends only "
                f"(add the year to config/holidays.toml)")


@dataclass
class WorkCalendar:
    holidays: set[date] = field(default_factory=set)   # from the config: days off
    workdays: set[date] = field(default_factory=set)   # from the config: make-up working days
    complete_years: set[int] = field(default_factory=set)
    _warned: set[frozenset[int]] = field(default_factory=set, repr=False, compare=False)
    _days: dict[date, tuple[bool, bool]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_config(cls, path: Path) -> "WorkCalendar":
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        cal = cls()
        for year, spec in (data.get("years") or {}).items():
            cal.holidays |= {date.fromisoformat(d) for d in spec.get("holidays", [])}
            cal.workdays |= {date.fromisoformat(d) for d in spec.get("workdays", [])}
            if spec.get("complete"):
                cal.complete_years.add(int(year))
        corrections = data.get("corrections") or {}
        cal.holidays |= {date.fromisoformat(d) for d in corrections.get("holidays", [])}
        cal.workdays |= {date.fromisoformat(d) for d in corrections.get("workdays", [])}
        return cal

    def known(self, year: int) -> bool:
        return year in self.complete_years or _library_knows(year)

    def is_workday(self, day: date) -> tuple[bool, bool]:
        """(is a working day, answered by the weekends-only fallback). Memoised: the library's own
        look-up is slow, and a reminders pass asks about the same few weeks thousands of times."""
        answer = self._days.get(day)
        if answer is None:
            answer = self._days[day] = self._look_up(day)
        return answer

    def _look_up(self, day: date) -> tuple[bool, bool]:
        if day in self.workdays:
            return True, False
        if day in self.holidays:
            return False, False
        if day.year in self.complete_years:
            return day.weekday() < 5, False
        if _library_knows(day.year):
            return chinese_calendar.is_workday(day), False
        return day.weekday() < 5, True

    def add_workdays(self, start: date, count: int) -> DueDate:
        """The `count`-th working day after `start` (start itself not counted)."""
        return self._count_workdays(start, count, timedelta(days=1))

    def sub_workdays(self, end: date, count: int) -> DueDate:
        """The `count`-th working day before `end` (end itself not counted)."""
        return self._count_workdays(end, count, timedelta(days=-1))

    def _count_workdays(self, day: date, count: int, step: timedelta) -> DueDate:
        left, fallback = count, set()
        while left > 0:
            day += step
            working, guessed = self.is_workday(day)
            if guessed:
                fallback.add(day.year)
            left -= working
        return self._done(DueDate(day, frozenset(fallback)))

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)[0]
        return count

    def next_workday(self, day: date) -> date:
        """`day` itself if it is a working day, else the next one."""
        while not self.is_workday(day)[0]:
            day += timedelta(days=1)
        return day

    def add_days(self, start: date, count: int) -> DueDate:
        """Civil-code counting: the start day is not counted; a last day that is not a working day
        moves to the next working day."""
        day, fallback = start + timedelta(days=count), set()
        working, guessed = self.is_workday(day)
        while True:
            if guessed:
                fallback.add(day.year)
            if working:
                break
            day += timedelta(days=1)
            working, guessed = self.is_workday(day)
        return self._done(DueDate(day, frozenset(fallback)))

    def _done(self, result: DueDate) -> DueDate:
        if result.uncertain and result.fallback_years not in self._warned:  # loud, once per process and years
            self._warned.add(result.fallback_years)
            log.warning(result.warning())
        return result

    def missing_years(self, *years: int) -> list[int]:
        """Those of `years` with no official schedule (counted with weekends only)."""
        return [y for y in years if not self.known(y)]


@lru_cache(maxsize=None)
def _library_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True
