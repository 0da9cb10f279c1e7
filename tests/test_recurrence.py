import datetime as dt

import pytest
from pydantic import ValidationError

from reporting.recurrence import Recurrence, parse_interval

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 28, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("1h", 3600), ("7d", 604800), ("2w", 1209600)]
)
def test_intervals(text, seconds):
    assert parse_interval(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["7", "d7", "1.5h", "10s", "7 days", ""])
def test_bad_intervals(text):
    with pytest.raises(ValueError):
        parse_interval(text)


def test_weekly_snapshot_is_seven_days_after_the_last_finished():
    rule = Recurrence(every="7d", anchor="finished")
    finished = T0 + dt.timedelta(minutes=42)
    assert rule.next_run(T0, None, T0) is None  # not known until the run ends
    assert rule.next_run(T0, finished, finished) == finished + dt.timedelta(days=7)


def test_fixed_rate_skips_missed_occurrences():
    rule = Recurrence(every="1h", anchor="scheduled")
    assert rule.next_run(T0, None, T0 + dt.timedelta(minutes=5)) == T0 + dt.timedelta(hours=1)
    late = T0 + dt.timedelta(hours=3, minutes=10)  # the worker was down for three hours
    assert rule.next_run(T0, late, late) == T0 + dt.timedelta(hours=4)


def test_cron_in_a_timezone_follows_daylight_saving():
    rule = Recurrence(cron="0 6 * * MON", timezone="Europe/London")
    # Saturday 28 March 2026; clocks go forward on Sunday 29 March.
    assert rule.next_run(T0, None, T0) == dt.datetime(2026, 3, 30, 5, 0, tzinfo=UTC)  # 06:00 BST
    winter = dt.datetime(2026, 1, 10, tzinfo=UTC)
    assert rule.next_run(winter, None, winter) == dt.datetime(2026, 1, 12, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, None),
        ({"every": "7d", "cron": "0 6 * * *"}, None),
        ({"every": "soon"}, "every"),
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "0 6 * * *", "timezone": "Mars/Olympus"}, "timezone"),
        ({"every": "1h", "anchor": "whenever"}, "anchor"),
        ({"every": "1h", "colour": "red"}, "colour"),
    ],
)
def test_invalid_rules_name_the_field(body, field):
    with pytest.raises(ValidationError) as raised:
        Recurrence.model_validate(body)
    if field:
        assert raised.value.errors()[0]["loc"][0] == field
