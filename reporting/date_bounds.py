"""The dates a client may send: ISO 8601 strings, years 2000 to 2100.

Every date and date-time a request carries (a task's `run_at`, an API key's `expires_at`, a
snapshot's `start`/`end`, a notebook's `date` parameters) is one of these types. A number is
refused (pydantic would read it as seconds since 1970), and so is a year outside the range:
`0001-01-01T00:00:00+14:00` or `9999-12-31` cannot be moved to UTC or stepped by a
recurrence without overflowing, and no report covers them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError

MIN_YEAR, MAX_YEAR = 2000, 2100
RANGE = f"{MIN_YEAR}-01-01 to {MAX_YEAR}-12-31"


def _iso_text(kind: str) -> Any:
    """A validator refusing numbers and other non-strings (pydantic would read a number as a
    timestamp), with pydantic's own error type (`date_type`, `datetime_type`)."""

    def check(value: Any) -> Any:
        if isinstance(value, dt.date | str):
            return value
        raise PydanticCustomError(
            f"{kind}_type", f"Input should be a valid {kind} as an ISO 8601 string"
        )

    return BeforeValidator(check)


def _in_range(value: dt.date) -> dt.date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise PydanticCustomError("date_out_of_range", f"must be in {RANGE}")
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.UTC)  # years 2000..2100 never overflow here
        if not MIN_YEAR <= utc.year <= MAX_YEAR:
            raise PydanticCustomError("date_out_of_range", f"must be in {RANGE} (UTC)")
    return value


def _in_future(value: dt.datetime) -> dt.datetime:
    if value <= dt.datetime.now(dt.UTC):
        raise PydanticCustomError("datetime_future", "Input should be in the future")
    return value


# A date-time with a UTC offset, 2000..2100.
BoundedDatetime = Annotated[AwareDatetime, _iso_text("datetime"), AfterValidator(_in_range)]
# The same, and later than now (an expiry).
FutureDatetime = Annotated[BoundedDatetime, AfterValidator(_in_future)]
# A calendar day, 2000..2100.
BoundedDate = Annotated[dt.date, _iso_text("date"), AfterValidator(_in_range)]
