"""The calendar a signed-in person reads dates in (``gstp.calendar``), active while their page is made."""

from gstp import calendar
from projects.selectors import reading_calendar


class ReadingCalendarMiddleware:
    """Activates the user's calendar (their own choice, else their plan's) for the request; it is looked up
    only when a page writes a date or a period."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        calendar.activate(lambda: reading_calendar(user=user) if user is not None else None)
        try:
            return self.get_response(request)
        finally:
            calendar.deactivate()
