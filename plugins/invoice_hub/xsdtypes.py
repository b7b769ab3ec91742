"""XML Schema's ``xs:date`` as UBL 2.1 and CEN's EN 16931 rules read it: ``YYYY-MM-DD`` with an
optional time zone (``2016-04-04Z``, ``2016-04-04+01:00``); and ``xs:decimal``, which is digits with
one optional point and sign, no exponent, NaN or infinity (all three of which Python's ``Decimal``
would take, and pydantic would then refuse deep inside a read).

One parser for every check that reads a UBL date, so that ``validate: structure`` never refuses what
the schema accepts, and date comparisons (BR-29, BR-30: an end not before its start) compare as
XPath does: an ``xs:date`` is the day starting at its midnight in its time zone; one without a zone
is taken in UTC, the implicit time zone the hub's validation uses. AP Agility's own date form is
here too, so that its reader and its structure check (``formats`` and ``validation``) share it.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

#: xs:date's lexical form (four-digit years: invoices have no years before 1000 or after 9999).
_XS_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(Z|[+-](\d{2}):(\d{2}))?")


def xs_date(text: str) -> tuple[dt.date, dt.timezone | None] | None:
    """The date and its time zone (None: none given), or None when ``text`` is not an xs:date."""
    match = _XS_DATE.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, zone, hours, minutes = match.groups()
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:  # 2016-02-30
        return None
    if zone is None:
        return date, None
    if zone == "Z":
        return date, dt.UTC
    offset = dt.timedelta(hours=int(hours), minutes=int(minutes))
    if int(minutes) > 59 or offset > dt.timedelta(hours=14):  # xs:date allows -14:00 .. +14:00
        return None
    return date, dt.timezone(-offset if zone[0] == "-" else offset)


def xs_date_start(text: str) -> dt.datetime | None:
    """The moment an xs:date starts (its midnight in its zone, UTC when it has none): what XPath's
    date comparisons compare. None when ``text`` is not an xs:date."""
    parsed = xs_date(text)
    if parsed is None:
        return None
    date, zone = parsed
    return dt.datetime.combine(date, dt.time(), zone or dt.UTC)


def ap_agility_date(text: str) -> dt.date:
    """AP Agility's ``M/D/YYYY h:mm:ss AM`` (the time is ignored), or ISO ``YYYY-MM-DD``: its reader
    and its structure check read a date the same way."""
    day = text.split(" ", 1)[0].split("T", 1)[0]
    if "/" in day:
        return dt.datetime.strptime(day, "%m/%d/%Y").date()
    return dt.date.fromisoformat(day)


_XS_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def xs_decimal(text: str | None) -> Decimal | None:
    """``text`` (surrounding blanks aside) as an ``xs:decimal``; None when it is empty or is not one
    (``1E3``, ``NaN``, ``Infinity``, ``1,5``)."""
    text = text.strip() if text else ""
    return Decimal(text) if _XS_DECIMAL.fullmatch(text) else None
