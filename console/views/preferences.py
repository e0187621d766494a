"""The signed-in person's own preferences: the calendar dates and periods are written in."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.services import user_calendar_set
from gstp.calendar import Calendar

from .base import console_page, validation_errors


class PreferencesForm(forms.Form):
    calendar = forms.ChoiceField(
        label=capfirst(User._meta.get_field("calendar").verbose_name),
        choices=[("", _("As the plan writes them")), *Calendar.choices],
        required=False,
        widget=forms.RadioSelect,
        help_text=_("How the console, exports and the annual report write dates and quarters for you."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


@console_page
def preferences_page(request):
    user = request.user
    form = PreferencesForm(request.POST or None, initial={"calendar": user.calendar})
    if request.method == "POST" and form.is_valid():
        try:
            user_calendar_set(user=user, calendar=form.cleaned_data["calendar"])
        except ValidationError as exc:
            for field, errors in validation_errors(exc).items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Saved your preferences."))
            return redirect("console:preferences")
    status = 400 if form.errors else 200
    return render(request, "console/preferences.html", {"form": form, "here": "preferences"}, status=status)
