"""Signing in and out, with Django's own views, and the landing page."""

from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy

from accounts import lockout
from reviews import access


class SignInView(auth_views.LoginView):
    template_name = "console/sign_in.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("console:home")


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out sign-in (``AXES_LOCKOUT_CALLABLE``): the console's sign-in
    page answers a page of the console, 429 with ``Retry-After``; the API and the admin keep
    ``accounts.lockout``'s JSON and plain text."""
    if request.path != reverse("console:login") or lockout.wants_json(request):
        return lockout.lockout_response(request, original_response, credentials)
    seconds = lockout.lockout_seconds(request)
    context = {"message": lockout.lockout_message(seconds)}
    response = render(request, "console/locked_out.html", context, status=429)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


class SignOutView(auth_views.LogoutView):
    next_page = reverse_lazy("console:login")


def home(request):
    """A lead lands on what its agency owes, a ministry reviewer on what waits for its endorsement; the
    secretariat and readers on the dashboard."""
    if not request.user.is_authenticated:
        return redirect("console:login")
    if access.can_endorse_reports(request.user):
        return redirect("console:review-queue")
    if access.can_see_owed(request.user) and not access.can_choose_owed_agency(request.user):
        return redirect("console:agency")
    return redirect("console:dashboard")
