"""Date inputs that read both calendars (``gstp.calendar``): a DRF field for request bodies, a form field
for pages, and a django-filter filter for query strings. Each refuses bad text with the accepted forms."""

from __future__ import annotations

import datetime

from django import forms
from django.db import models
from django.utils.translation import gettext as _
from django_filters import rest_framework as django_filters
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from . import calendar


class DateField(serializers.DateField):
    """A day in a request body: ``2024-07-01``, ``113/07/01``, ``113/7/1`` or ``民國113年7月1日``.
    Written back as ISO 8601."""

    default_error_messages = {"invalid": calendar.DATE_FORMS}

    def to_internal_value(self, value):
        if isinstance(value, datetime.datetime):
            self.fail("datetime")
        if isinstance(value, datetime.date):
            return value
        try:
            return calendar.parse_date(value)
        except calendar.CalendarError:
            self.fail("invalid")


class DateInputsMixin:
    """A ModelSerializer whose date columns read both calendars (``DateField``)."""

    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping, models.DateField: DateField}


class DateFormField(forms.DateField):
    """A day typed on a page or in a query string, in either calendar."""

    default_error_messages = {"invalid": calendar.DATE_FORMS}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        try:
            return calendar.parse_date(value)
        except calendar.CalendarError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class DateFilter(django_filters.DateFilter):
    """``?planned_after=113/07/01`` as ``?planned_after=2024-07-01``; bad text is a 400 naming the parameter."""

    field_class = DateFormField


class YearFormField(forms.IntegerField):
    """A year typed in either calendar: ``2024``, ``113``, ``113年`` or ``民國113年``."""

    default_error_messages = {"invalid": calendar.YEAR_FORMS}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, int):
            return value
        try:
            return calendar.parse_year(value)
        except calendar.CalendarError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class YearFilter(django_filters.NumberFilter):
    """``?year=113`` as ``?year=2024``; bad text is a 400 naming the parameter."""

    field_class = YearFormField


def calendar_asked(request) -> str | None:
    """The calendar ``?calendar=`` asks a file to be written in (gregorian or roc), None when not given; a
    400 naming ``calendar`` for any other."""
    value = request.query_params.get("calendar")
    if value is None:
        return None
    chosen = calendar.calendar_choice(value)
    if chosen is None:
        raise ValidationError({"calendar": [_("Use gregorian or roc.")]})
    return chosen
