"""Dates and periods as people write them: Gregorian (``2024-07-01``, ``2024Q3``, ``2024-07``) or in the
ROC calendar (民國紀年: ``113/07/01``, ``113年第3季``, ``113年7月``), read in either and written in the one
a reader chose.

A year of four digits is Gregorian; a year of one to three digits is an ROC year (民國1年 is 1912).
Full-width digits and punctuation (``１１３／０７／０１``) read as their ASCII forms (NFKC).

The API's JSON is always ISO 8601 and ``2024Q3``; the calendar chosen applies to what people read (the
console, CSV and XLSX exports, the annual report). ``activate`` sets it for the current request or job, as
Django's ``timezone.activate`` does for the time zone; ``active()`` is what the formatting helpers fall
back to.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from contextlib import contextmanager

from asgiref.local import Local
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ROC_OFFSET = 1911  # 民國 N 年 is Gregorian N + 1911


class Calendar(models.TextChoices):
    GREGORIAN = "gregorian", _("Gregorian (2024-07-01, 2024Q3)")
    ROC = "roc", _("ROC, 民國 (113/07/01, 113年第3季)")


QUARTER_FORMS = _("Write the quarter as 2024Q3, 113Q3, 113年第3季 or 民國113年第3季.")
MONTH_FORMS = _("Write the month as 2024-07, 113/07, 113年7月 or 民國113年7月.")
DATE_FORMS = _("Write the date as 2024-07-01, 113/07/01, 113/7/1 or 民國113年7月1日.")
PERIOD_FORMS = _(
    "Write the quarter as 2024Q3, 113Q3, 113年第3季 or 民國113年第3季, or a monthly update's month as 2024-08, 113/08, "
    "113年8月 or 民國113年8月."
)
YEAR_FORMS = _("Write the year as 2024, 113, 113年 or 民國113年.")


class CalendarError(ValueError):
    """Text that is not a date or period in an accepted form; ``message`` says which forms are."""

    def __init__(self, text, message):
        super().__init__(text)
        self.text = text
        self.message = message

    def __str__(self):
        return str(self.message)


# --- reading ---------------------------------------------------------------------------------------

_YEAR = r"(?P<roc>民國)?(?P<year>\d{1,4})"
_CHINESE_QUARTERS = {"一": "1", "二": "2", "三": "3", "四": "4"}
# Written with digits and signs alone (113Q3, 113/07, 113/07/01), a year has three or four digits: an ROC
# year below 100 is written 099, so that 07/01/24 or 24Q3 is refused rather than read as 民國7 or 24年.
# With 年 or 民國 it may have fewer (99年第4季, 民國1年1月1日).
_BARE_YEAR = r"(?P<year>\d{3,4})"
_YEAR_PATTERNS = (
    re.compile(_BARE_YEAR),
    re.compile(_YEAR + r"年(?:度)?"),
    re.compile(r"(?P<roc>民國)(?P<year>\d{1,4})"),
)
_QUARTER_PATTERNS = (
    re.compile(_BARE_YEAR + r"Q(?P<quarter>\d)", re.IGNORECASE),
    re.compile(_YEAR + r"年(?:度)?第(?P<quarter>\d|[一二三四])季"),
)
_MONTH_PATTERNS = (
    re.compile(_BARE_YEAR + r"(?P<sep>[-/.])(?P<month>\d{1,2})"),
    re.compile(_YEAR + r"年(?P<month>\d{1,2})月"),
)
_DATE_PATTERNS = (
    re.compile(_BARE_YEAR + r"(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"),
    re.compile(_YEAR + r"年(?P<month>\d{1,2})月(?P<day>\d{1,2})日"),
)


def _normalized(text) -> str:
    if not isinstance(text, str):
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _match(patterns, text):
    for pattern in patterns:
        match = pattern.fullmatch(text)
        if match:
            return match
    return None


def _gregorian_year(match) -> int | None:
    """The Gregorian year a match names: four digits as they are, one to three digits as an ROC year.
    None for a year no calendar has (民國0年, 0000) or an ROC mark on a four-digit year."""
    digits = match.group("year")
    named_roc = "roc" in match.re.groupindex and match.group("roc")
    if len(digits) == 4:
        if named_roc or digits.startswith("0"):
            return None
        return int(digits)
    roc_year = int(digits)
    return roc_year + ROC_OFFSET if roc_year >= 1 else None


def parse_year(text) -> int:
    """The Gregorian year of ``2024``, ``113``, ``113年`` or ``民國113年``."""
    match = _match(_YEAR_PATTERNS, _normalized(text))
    year = _gregorian_year(match) if match else None
    if year is None:
        raise CalendarError(text, YEAR_FORMS)
    return year


def parse_quarter(text) -> tuple[int, int]:
    """``(year, quarter)`` of ``2024Q3``, ``113Q3``, ``113年第3季``, ``民國113年第3季`` (Gregorian year)."""
    match = _match(_QUARTER_PATTERNS, _normalized(text))
    year = _gregorian_year(match) if match else None
    quarter = int(_CHINESE_QUARTERS.get(match.group("quarter"), match.group("quarter"))) if match else 0
    if year is None or not 1 <= quarter <= 4:
        raise CalendarError(text, QUARTER_FORMS)
    return year, quarter


def parse_month(text) -> tuple[int, int]:
    """``(year, month)`` of ``2024-07``, ``113/07``, ``113-7``, ``113年7月``, ``民國113年7月`` (Gregorian year)."""
    match = _match(_MONTH_PATTERNS, _normalized(text))
    year = _gregorian_year(match) if match else None
    month = int(match.group("month")) if match else 0
    if year is None or not 1 <= month <= 12:
        raise CalendarError(text, MONTH_FORMS)
    return year, month


def parse_date(text) -> datetime.date:
    """The day of ``2024-07-01``, ``2024/07/01``, ``113/07/01``, ``113/7/1``, ``113-07-01``,
    ``民國113年7月1日`` or ``113年7月1日``."""
    match = _match(_DATE_PATTERNS, _normalized(text))
    year = _gregorian_year(match) if match else None
    if year is None:
        raise CalendarError(text, DATE_FORMS)
    try:
        return datetime.date(year, int(match.group("month")), int(match.group("day")))
    except ValueError:
        raise CalendarError(text, DATE_FORMS) from None


# --- writing ---------------------------------------------------------------------------------------


def _chosen(calendar) -> str:
    return active() if calendar is None else calendar


def roc_year(year: int) -> int:
    return year - ROC_OFFSET


LAST_ROC_YEAR = 999 + ROC_OFFSET  # 民國999年 (2910): later years have four digits, read as Gregorian


def _writes_roc(calendar, year: int) -> bool:
    """Whether ``year`` is written in the ROC calendar: chosen, and within 民國1年 to 民國999年 (other years
    stay Gregorian, so that what is written reads back as the same year)."""
    return _chosen(calendar) == Calendar.ROC and ROC_OFFSET < year <= LAST_ROC_YEAR


def format_year(year: int, calendar: str | None = None) -> str:
    """``2024``, or ``113`` in the ROC calendar (years before 1912 stay Gregorian)."""
    if _writes_roc(calendar, year):
        return f"{roc_year(year):03d}"
    return str(year)


def format_date(day: datetime.date, calendar: str | None = None) -> str:
    """``2024-07-01``, or ``113/07/01`` in the ROC calendar (days before 1912 stay ISO 8601)."""
    if _writes_roc(calendar, day.year):
        return f"{roc_year(day.year):03d}/{day.month:02d}/{day.day:02d}"
    return day.isoformat()


def format_datetime(moment: datetime.datetime, calendar: str | None = None) -> str:
    """A moment as read in Asia/Taipei to the minute: ``2024-07-01 14:03``, or ``113/07/01 14:03``."""
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return f"{format_date(moment.date(), calendar)} {moment:%H:%M}"


def format_quarter(year: int, quarter: int, calendar: str | None = None) -> str:
    """``2024Q3``, or ``113年第3季`` in the ROC calendar."""
    if _writes_roc(calendar, year):
        return f"{roc_year(year)}年第{quarter}季"
    return f"{year}Q{quarter}"


def format_month(year: int, month: int, calendar: str | None = None) -> str:
    """``2024-07``, or ``113年7月`` in the ROC calendar."""
    if _writes_roc(calendar, year):
        return f"{roc_year(year)}年{month}月"
    return f"{year}-{month:02d}"


_STORED_QUARTER = re.compile(r"(\d{4})Q([1-4])")
_STORED_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def format_period(period, calendar: str | None = None) -> str:
    """A period as stored or shown by the API (``2024Q3``, ``2024-07``, or an object with ``year`` and
    ``quarter`` or ``month``) in the chosen calendar; any other text as it is."""
    if hasattr(period, "quarter") and isinstance(getattr(period, "quarter", None), int):
        return format_quarter(period.year, period.quarter, calendar)
    if hasattr(period, "month") and isinstance(getattr(period, "month", None), int):
        return format_month(period.year, period.month, calendar)
    text = "" if period is None else str(period)
    if match := _STORED_QUARTER.fullmatch(text):
        return format_quarter(int(match.group(1)), int(match.group(2)), calendar)
    if match := _STORED_MONTH.fullmatch(text):
        return format_month(int(match.group(1)), int(match.group(2)), calendar)
    return text


def format_value(value, calendar: str | None = None) -> str:
    """A date, a moment or anything else as text a person reads in the chosen calendar."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return format_datetime(value, calendar)
    if isinstance(value, datetime.date):
        return format_date(value, calendar)
    return str(value)


# --- the calendar of the current request or job ----------------------------------------------------

_active = Local()


def activate(calendar) -> None:
    """Set the calendar for the current request or job: a ``Calendar`` value, or a function giving one
    (called once, the first time a date is written, so a page that prints none never asks)."""
    _active.value = calendar


def deactivate() -> None:
    if hasattr(_active, "value"):
        del _active.value


def active() -> str:
    """The calendar dates are written in now (Gregorian unless one was activated)."""
    value = getattr(_active, "value", None)
    if callable(value):
        value = _active.value = value() or Calendar.GREGORIAN
    return value or Calendar.GREGORIAN


@contextmanager
def override(calendar):
    previous = getattr(_active, "value", None)
    activate(calendar)
    try:
        yield
    finally:
        if previous is None:
            deactivate()
        else:
            activate(previous)


def calendar_choice(text) -> str | None:
    """The ``Calendar`` value ``text`` names, or None."""
    value = (text or "").strip().lower()
    return value if value in Calendar.values else None
