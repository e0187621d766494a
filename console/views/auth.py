"""Signing in and out, with Django's own views, and the landing page."""

from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import reverse_lazy

from reviews import access


class SignInView(auth_views.LoginView):
    template_name = "console/sign_in.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("console:home")


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
