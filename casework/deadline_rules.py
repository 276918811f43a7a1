"""The time limits of a case as data (config/deadlines.toml) and their arithmetic. Pure: no Flask,
no database. `DeadlinePolicy.due()` turns a stage, its start day and the case's item and unit into a
due date on the working-day calendar; `reminder_schedule()` says when to remind about it."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path

from core.workdays import DueDate, WorkCalendar

COUNTS = ("days", "workdays", "fixed")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class DeadlineConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Stage:
    name: str
    label: str
    label_zh: str
    count: str                 # days | workdays | fixed (a date someone set, e.g. the 五定 time limit)
    length: int = 0
    real_name_only: bool = False
    pausable: bool = False
    max_extension_days: int = 0


@dataclass(frozen=True)
class Override:
    stage: str
    length: int
    item: str | None = None
    unit: str | None = None

    @property
    def rank(self) -> int:
        return (2 if self.item else 0) + (1 if self.unit else 0)


@dataclass(frozen=True)
class ReminderRules:
    before_workdays: int = 3
    repeat_after_workdays: int = 5
    escalate_after_workdays: int = 5
    send_from: time = time(8, 30)
    weekly_day: int = 3  # Thursday
    weekly_time: time = time(14, 0)


@dataclass(frozen=True)
class Phase:
    """One moment to remind about a deadline: `kind` is before | due | overdue.N | escalate."""
    kind: str
    on: date


@dataclass(frozen=True)
class ReminderPlan:
    current: Phase | None   # the phase to send now (None: too early)
    next_on: date           # when the next phase falls
    escalate_on: date       # from this day the case is on the 督办 list

    def wake_on(self, escalated: bool) -> date:
        """The next day the reminders pass needs to look at this deadline."""
        return self.next_on if escalated else min(self.next_on, self.escalate_on)


@dataclass
class DeadlinePolicy:
    stages: dict[str, Stage]
    reminders: ReminderRules = field(default_factory=ReminderRules)
    overrides: list[Override] = field(default_factory=list)

    @classmethod
    def from_config(cls, path: Path) -> "DeadlinePolicy":
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict) -> "DeadlinePolicy":
        stages = {}
        for name, spec in (data.get("stages") or {}).items():
            count = spec.get("count", "days")
            if count not in COUNTS:
                raise DeadlineConfigError(f"stage {name}: count must be one of {COUNTS}")
            length = int(spec.get("length", 0))
            if count != "fixed" and length <= 0:
                raise DeadlineConfigError(f"stage {name}: length must be a positive number of {count}")
            stages[name] = Stage(name=name, label=spec.get("label", name), label_zh=spec.get("label_zh", name),
                                 count=count, length=length, real_name_only=bool(spec.get("real_name_only")),
                                 pausable=bool(spec.get("pausable")),
                                 max_extension_days=int(spec.get("max_extension_days", 0)))
        overrides = []
        for spec in data.get("override") or []:
            if spec.get("stage") not in stages:
                raise DeadlineConfigError(f"override for unknown stage {spec.get('stage')!r}")
            overrides.append(Override(stage=spec["stage"], length=int(spec["length"]), item=spec.get("item"),
                                      unit=spec.get("unit")))
        r = data.get("reminders") or {}
        day = str(r.get("weekly_day", "thu")).lower()[:3]
        if day not in WEEKDAYS:
            raise DeadlineConfigError(f"weekly_day must be one of {WEEKDAYS}")
        rules = ReminderRules(before_workdays=int(r.get("before_workdays", 3)),
                              repeat_after_workdays=max(1, int(r.get("repeat_after_workdays", 5))),
                              escalate_after_workdays=max(0, int(r.get("escalate_after_workdays", 5))),
                              send_from=time.fromisoformat(r.get("send_from", "08:30")),
                              weekly_day=WEEKDAYS.index(day), weekly_time=time.fromisoformat(r.get("weekly_time", "14:00")))
        return cls(stages=stages, reminders=rules, overrides=overrides)

    def length(self, stage: str, *, item: str | None = None, unit: str | None = None) -> int:
        best = None
        for o in self.overrides:
            if o.stage != stage or (o.item and o.item != item) or (o.unit and o.unit != unit):
                continue
            if best is None or o.rank > best.rank:
                best = o
        return best.length if best else self.stages[stage].length

    def due(self, calendar: WorkCalendar, stage: str, start: date, *, item: str | None = None,
            unit: str | None = None, extension_days: int = 0, paused: int = 0) -> DueDate:
        """The due date of `stage` counted from `start`; `paused` is in the stage's own unit."""
        spec = self.stages[stage]
        if spec.count == "fixed":
            return DueDate(start)
        length = self.length(stage, item=item, unit=unit) + paused + extension_days
        if spec.count == "workdays":
            return calendar.add_workdays(start, length)
        return calendar.add_days(start, length)

    def reminder_plan(self, calendar: WorkCalendar, due: date, today: date) -> "ReminderPlan":
        """Which reminder applies on `today` for a deadline on `due` (only the latest one: a pass that
        comes late skips the phases it missed instead of sending them all), when the next one falls,
        and when the case goes on the supervision list. Phases fall on working days."""
        r = self.reminders
        phases = []
        if r.before_workdays > 0:
            phases.append(Phase("before", calendar.sub_workdays(due, r.before_workdays).due))
        phases.append(Phase("due", calendar.next_workday(due)))
        n, day = 0, due
        while phases[-1].on <= today:
            n += 1
            day = calendar.add_workdays(day, r.repeat_after_workdays).due
            phases.append(Phase(f"overdue.{n}", day))
        current = next((p for p in reversed(phases) if p.on <= today), None)
        following = next(p for p in phases if p.on > today)
        escalate_on = calendar.add_workdays(due, r.escalate_after_workdays).due if r.escalate_after_workdays else \
            calendar.next_workday(due)
        return ReminderPlan(current=current, next_on=following.on, escalate_on=escalate_on)

    def label(self, stage: str, lang: str = "zh") -> str:
        spec = self.stages.get(stage)
        if spec is None:
            return stage
        return spec.label_zh if lang.startswith("zh") else spec.label

    def weekly_reminder_day(self, calendar: WorkCalendar, any_day: date) -> date | None:
        """The day of `any_day`'s week (Mon–Sun) when the weekly reminder goes out: the configured day,
        or the last working day before it in that week if it is a holiday; None if the week has none."""
        monday = date.fromordinal(any_day.toordinal() - any_day.weekday())
        target = date.fromordinal(monday.toordinal() + self.reminders.weekly_day)
        day = target
        while day >= monday:
            if calendar.is_workday(day)[0]:
                return day
            day = date.fromordinal(day.toordinal() - 1)
        return None
