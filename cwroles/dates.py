"""The one date parser (waiver expiry dates, the policy pack's "today")."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

# A date as YAML or the Pulumi CLI hands it over: a date, "2027-06-30", "2027-06-30T00:00:00Z", or what the
# CLI's Go YAML makes of an unquoted date in a stack file: "2027-06-30 00:00:00 +0000 UTC".
_DATE_RE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*(?:Z|[+-]\d{2}:?\d{2}))?"
                      r"(?:\s+[A-Za-z0-9_/+-]+)?)?\s*$")
DATE_FIX = "write it as YYYY-MM-DD, e.g. 2027-11-22"


def parse_date(value: Any) -> dt.date:
    """A calendar date from any of those forms; raises ValueError("… is not a date") otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        m = _DATE_RE.match(value)
        if m:
            try:
                return dt.date.fromisoformat(m.group(1))
            except ValueError:
                pass
    raise ValueError(f"{value!r} is not a date; {DATE_FIX}")


Date = Annotated[dt.date, BeforeValidator(parse_date)]

__all__ = ["parse_date", "Date", "DATE_FIX"]
