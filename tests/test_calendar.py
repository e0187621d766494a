"""Dates and periods read in either calendar (民國紀年 or Gregorian) and written in the one chosen."""

import datetime

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from gstp import calendar
from gstp.calendar import Calendar, CalendarError
from reviews.periods import Month, Quarter

QUARTERS = [
    ("2024Q3", (2024, 3)),
    ("2024q3", (2024, 3)),
    (" 2024Q3 ", (2024, 3)),
    ("113Q3", (2024, 3)),
    ("113年第3季", (2024, 3)),
    ("民國113年第3季", (2024, 3)),
    ("民國 113 年 第 3 季", (2024, 3)),
    ("１１３年第３季", (2024, 3)),
    ("民國１１３年第３季", (2024, 3)),
    ("１１３Ｑ３", (2024, 3)),
    ("113年第三季", (2024, 3)),
    ("2024年第3季", (2024, 3)),
    ("001Q1", (1912, 1)),
    ("99年第4季", (2010, 4)),
    ("民國1年第1季", (1912, 1)),
]
BAD_QUARTERS = [
    "1Q1",
    "24Q3",
    "113Q5",
    "113Q0",
    "2024Q5",
    "民國0年第1季",
    "0Q1",
    "民國2024年第3季",
    "0113Q3",
    "2024-07",
    "",
    "Q3",
]

MONTHS = [
    ("2024-07", (2024, 7)),
    ("2024/7", (2024, 7)),
    ("113/07", (2024, 7)),
    ("113-07", (2024, 7)),
    ("113/7", (2024, 7)),
    ("113年7月", (2024, 7)),
    ("民國113年7月", (2024, 7)),
    ("１１３年７月", (2024, 7)),
    ("113年12月", (2024, 12)),
]
BAD_MONTHS = ["24/7", "7/2024", "113/13", "113年0月", "民國0年7月", "2024-13", "2024Q3", "113年7月1日", "July"]

DATES = [
    ("2024-07-01", datetime.date(2024, 7, 1)),
    ("2024/07/01", datetime.date(2024, 7, 1)),
    ("113/07/01", datetime.date(2024, 7, 1)),
    ("113/7/1", datetime.date(2024, 7, 1)),
    ("113-07-01", datetime.date(2024, 7, 1)),
    ("113.7.1", datetime.date(2024, 7, 1)),
    ("民國113年7月1日", datetime.date(2024, 7, 1)),
    ("113年7月1日", datetime.date(2024, 7, 1)),
    ("民國 113 年 7 月 1 日", datetime.date(2024, 7, 1)),
    ("１１３／０７／０１", datetime.date(2024, 7, 1)),
    ("民國１１３年７月１日", datetime.date(2024, 7, 1)),
    ("２０２４－０７－０１", datetime.date(2024, 7, 1)),
    ("113/02/29", datetime.date(2024, 2, 29)),
    ("001/1/1", datetime.date(1912, 1, 1)),
    ("民國1年1月1日", datetime.date(1912, 1, 1)),
    ("099/12/31", datetime.date(2010, 12, 31)),
]
BAD_DATES = [
    "07/01/24",  # a month, a day and a year, not 民國7年
    "1/1/1",
    "99/12/31",  # 民國99年 is written 099/12/31, or with 年
    "113/13/01",
    "113/02/30",
    "112/02/29",
    "2024-02-30",
    "民國0年1月1日",
    "0/1/1",
    "113/07-01",
    "民國2024年7月1日",
    "113年7月",
    "2024-07",
    "1130701",
    "tomorrow",
    "",
]


@pytest.mark.parametrize(("text", "expected"), QUARTERS)
def test_quarters_in_either_calendar(text, expected):
    assert calendar.parse_quarter(text) == expected
    assert Quarter.parse(text) == Quarter(*expected)


@pytest.mark.parametrize("text", BAD_QUARTERS)
def test_what_is_not_a_quarter(text):
    with pytest.raises(CalendarError) as refused:
        calendar.parse_quarter(text)
    with pytest.raises(ValueError):
        Quarter.parse(text)
    for example in ("2024Q3", "113Q3", "113年第3季", "民國113年第3季"):
        assert example in str(refused.value)


@pytest.mark.parametrize(("text", "expected"), MONTHS)
def test_months_in_either_calendar(text, expected):
    assert calendar.parse_month(text) == expected
    assert Month.parse(text) == Month(*expected)


@pytest.mark.parametrize("text", BAD_MONTHS)
def test_what_is_not_a_month(text):
    with pytest.raises(CalendarError) as refused:
        Month.parse(text)
    for example in ("2024-07", "113/07", "113年7月", "民國113年7月"):
        assert example in str(refused.value)


@pytest.mark.parametrize(("text", "expected"), DATES)
def test_dates_in_either_calendar(text, expected):
    assert calendar.parse_date(text) == expected


@pytest.mark.parametrize("text", BAD_DATES)
def test_what_is_not_a_date(text):
    with pytest.raises(CalendarError) as refused:
        calendar.parse_date(text)
    for example in ("2024-07-01", "113/07/01", "113/7/1", "民國113年7月1日"):
        assert example in str(refused.value)


def test_not_a_string_is_not_a_date():
    with pytest.raises(CalendarError):
        calendar.parse_date(20240701)


def test_the_message_speaks_traditional_chinese():
    with translation.override("zh-Hant"), pytest.raises(CalendarError) as refused:
        calendar.parse_date("113/13/01")
    assert "日期請寫成" in str(refused.value)
    assert "民國113年7月1日" in str(refused.value)


@pytest.mark.parametrize(
    ("writer", "args", "gregorian", "roc"),
    [
        (calendar.format_date, (datetime.date(2024, 7, 1),), "2024-07-01", "113/07/01"),
        (calendar.format_date, (datetime.date(1912, 1, 1),), "1912-01-01", "001/01/01"),
        (calendar.format_date, (datetime.date(2910, 12, 31),), "2910-12-31", "999/12/31"),
        (calendar.format_date, (datetime.date(2911, 1, 1),), "2911-01-01", "2911-01-01"),
        (calendar.format_date, (datetime.date(1911, 12, 31),), "1911-12-31", "1911-12-31"),
        (calendar.format_quarter, (2024, 3), "2024Q3", "113年第3季"),
        (calendar.format_month, (2024, 7), "2024-07", "113年7月"),
        (calendar.format_year, (2024,), "2024", "113"),
        (calendar.format_year, (2010,), "2010", "099"),
        (calendar.format_period, ("2024Q3",), "2024Q3", "113年第3季"),
        (calendar.format_period, (Quarter(2024, 3),), "2024Q3", "113年第3季"),
        (calendar.format_period, ("2024-07",), "2024-07", "113年7月"),
        (calendar.format_period, (Month(2024, 7),), "2024-07", "113年7月"),
        (calendar.format_period, ("—",), "—", "—"),
    ],
)
def test_writing_in_each_calendar(writer, args, gregorian, roc):
    assert writer(*args, Calendar.GREGORIAN) == gregorian
    assert writer(*args, Calendar.ROC) == roc


def test_a_moment_is_written_in_taipei_to_the_minute():
    moment = datetime.datetime(2024, 7, 1, 6, 3, tzinfo=datetime.UTC)
    assert calendar.format_datetime(moment, Calendar.GREGORIAN) == "2024-07-01 14:03"
    assert calendar.format_datetime(moment, Calendar.ROC) == "113/07/01 14:03"


def test_the_active_calendar_is_gregorian_unless_one_is_chosen():
    day = datetime.date(2024, 7, 1)
    assert calendar.format_date(day) == "2024-07-01"
    with calendar.override(Calendar.ROC):
        assert calendar.format_date(day) == "113/07/01"
        with calendar.override(lambda: Calendar.GREGORIAN):
            assert calendar.format_date(day) == "2024-07-01"
        assert calendar.format_date(day) == "113/07/01"
    assert calendar.active() == Calendar.GREGORIAN


@pytest.mark.parametrize(("year", "quarter"), [(1912, 1), (2024, 3), (2910, 4), (2911, 1)])
def test_quarters_round_trip(year, quarter):
    for chosen in Calendar.values:
        assert calendar.parse_quarter(calendar.format_quarter(year, quarter, chosen)) == (year, quarter)


@pytest.mark.parametrize(("year", "month"), [(1912, 1), (2024, 7), (2910, 12), (2911, 1)])
def test_months_round_trip(year, month):
    for chosen in Calendar.values:
        assert calendar.parse_month(calendar.format_month(year, month, chosen)) == (year, month)


# Every day from 1912: ROC years of up to three digits reach 2910 (民國999年); later days are written Gregorian.
@given(st.dates(min_value=datetime.date(1912, 1, 1)))
def test_gregorian_to_roc_and_back_is_the_identity(day):
    assert calendar.parse_date(calendar.format_date(day, Calendar.ROC)) == day
    assert calendar.parse_date(calendar.format_date(day, Calendar.GREGORIAN)) == day


@given(st.dates(min_value=datetime.date(1912, 1, 1), max_value=datetime.date(2910, 12, 31)))
def test_roc_written_in_words_reads_back(day):
    words = f"民國{day.year - 1911}年{day.month}月{day.day}日"
    assert calendar.parse_date(words) == day
