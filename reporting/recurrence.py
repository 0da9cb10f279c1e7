"""Recurrence rules: when the next run of a recurring task is due.

Three forms, as a task's `recurrence`:
- `{"every": "7d", "anchor": "finished"}`: the next run is the end of this run + the interval
  (a weekly snapshot taken 7 days after the last one completed);
- `{"every": "1h", "anchor": "scheduled"}`: a fixed rate from the scheduled time, skipping
  occurrences already in the past;
- `{"cron": "0 6 * * MON", "timezone": "Europe/London"}`: the next cron time after this run's
  scheduled time, in that timezone (daylight-saving aware).
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
INTERVAL = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
MIN_INTERVAL = dt.timedelta(minutes=1)
MAX_INTERVAL = dt.timedelta(days=366)  # a longer one would step out of the dates a task may have


class Anchor(StrEnum):
    finished = "finished"
    scheduled = "scheduled"


def parse_interval(text: str) -> dt.timedelta:
    match = INTERVAL.match(text)
    if not match:
        raise ValueError(f"{text!r} is not an interval like 90s, 30m, 1h, 7d or 2w")
    seconds = int(match[1]) * UNITS[match[2]]
    if seconds > MAX_INTERVAL.total_seconds():  # before timedelta, which overflows
        raise ValueError(f"interval {text[:40]!r} is longer than {MAX_INTERVAL.days} days")
    interval = dt.timedelta(seconds=seconds)
    if interval < MIN_INTERVAL:
        raise ValueError(f"interval {text!r} is shorter than {MIN_INTERVAL}")
    return interval


def _check_interval(text: str) -> str:
    parse_interval(text)
    return text


def _check_cron(text: str) -> str:
    if not croniter.is_valid(text):
        raise ValueError(f"{text!r} is not a valid cron expression")
    return text


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}") from None
    return name


class Recurrence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    every: Annotated[str, AfterValidator(_check_interval)] | None = Field(
        default=None, description="Interval: 90s, 30m, 1h, 7d, 2w", examples=["7d"]
    )
    anchor: Anchor = Field(
        default=Anchor.finished,
        description="`finished`: next run = end of the last run + every; `scheduled`: fixed rate",
    )
    cron: Annotated[str, AfterValidator(_check_cron)] | None = Field(
        default=None, description="Cron expression, instead of `every`", examples=["0 6 * * MON"]
    )
    timezone: Annotated[str, AfterValidator(_check_timezone)] = "UTC"

    @model_validator(mode="after")
    def _one_rule(self) -> Recurrence:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of `every` or `cron`")
        return self

    @property
    def kind(self) -> Literal["every", "cron"]:
        return "every" if self.every else "cron"

    def next_run(
        self, scheduled: dt.datetime, finished: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime | None:
        """When the run after one scheduled at `scheduled` (and ended at `finished`) is due;
        None while that depends on a run that has not finished."""
        if self.cron:
            zone = ZoneInfo(self.timezone)
            after = max(scheduled, now).astimezone(zone)
            return croniter(self.cron, after).get_next(dt.datetime).astimezone(dt.UTC)
        interval = parse_interval(self.every or "")
        if self.anchor is Anchor.finished:
            return None if finished is None else finished + interval
        missed = max(0, (now - scheduled) // interval)
        return scheduled + interval * (missed + 1)
