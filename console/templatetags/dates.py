"""Dates, moments and periods as the reader chose to read them (``gstp.calendar``): ``{% load dates %}``,
then ``{{ report.due_on|day }}``, ``{{ report.submitted_at|moment }}``, ``{{ report.period|period }}``."""

import datetime

from django import template
from django.utils import timezone

from gstp import calendar

register = template.Library()


@register.filter
def day(value):
    """``2024-07-01`` or ``113/07/01``; a moment by its day in Asia/Taipei; nothing for nothing."""
    if value in (None, ""):
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return calendar.format_date(value) if isinstance(value, datetime.date) else value


@register.filter
def moment(value):
    """``2024-07-01 14:03`` or ``113/07/01 14:03``, in Asia/Taipei."""
    if value in (None, ""):
        return ""
    return calendar.format_datetime(value) if isinstance(value, datetime.datetime) else day(value)


@register.filter
def period(value):
    """``2024Q3`` or ``113年第3季``; ``2024-07`` or ``113年7月``."""
    return calendar.format_period(value)


@register.simple_tag
def reads_roc() -> bool:
    """Whether the reader reads the ROC calendar: a date field is then a text input (113/07/01), not the
    browser's Gregorian date picker. ``{% reads_roc as roc %}``"""
    return calendar.active() == calendar.Calendar.ROC
