"""Signing in and out, with Django's own views, and the landing page."""

from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import reverse_lazy

from accounts.models import Role


class SignInView(auth_views.LoginView):
    template_name = "console/sign_in.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("console:home")


class SignOutView(auth_views.LogoutView):
    next_page = reverse_lazy("console:login")


def home(request):
    """A lead lands on what its agency owes; the secretariat and readers on the dashboard."""
    if not request.user.is_authenticated:
        return redirect("console:login")
    if request.user.role == Role.LEAD:
        return redirect("console:agency")
    return redirect("console:dashboard")
