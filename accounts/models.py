from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gstp.calendar import Calendar


class Role(models.TextChoices):
    SECRETARIAT = "secretariat", _("Executive Secretariat")  # 執行秘書室
    LEAD = "lead", _("Agency project lead")  # 主辦機關 計畫承辦人
    REVIEWER = "reviewer", _("Ministry reviewer")  # 部會管考窗口
    READER = "reader", _("Reader")


class User(AbstractUser):
    """A person or another system, tied to an agency with a role."""

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.READER)
    agency = models.ForeignKey(
        "projects.Agency",
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    calendar = models.CharField(
        _("calendar"),
        max_length=16,
        choices=Calendar.choices,
        blank=True,
        help_text=_("How dates and periods are written for you; blank for the plan's own."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
            models.CheckConstraint(
                condition=~Q(role=Role.LEAD) | Q(agency__isnull=False),
                name="user_lead_has_agency",
                violation_error_message=_("A project lead must belong to an agency."),
            ),
            models.CheckConstraint(
                condition=~Q(role=Role.REVIEWER) | Q(agency__isnull=False),
                name="user_reviewer_has_agency",
                violation_error_message=_("A ministry reviewer must belong to a ministry."),
            ),
        ]

    def clean(self):
        super().clean()
        from .access import role_needs_ministry

        # Without an agency at all, the constraints say so.
        if role_needs_ministry(self.role) and self.agency_id and self.agency.parent_id:
            raise ValidationError(
                {"agency": _("A ministry reviewer belongs to a ministry, not to one of its sub-units.")}
            )


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiKey(models.Model):
    """A named key another system (or a person's script) uses as ``Authorization: Token <key>``.

    Only a SHA-256 hash of the key is stored; the key itself is shown once, when it is issued.
    """

    user = models.ForeignKey(User, verbose_name=_("account"), on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("key starts with"), max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name or self.user.username} ({self.prefix}…)"
