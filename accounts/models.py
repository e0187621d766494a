from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SECRETARIAT = "secretariat", _("Executive Secretariat")  # 執行秘書室
    LEAD = "lead", _("Agency project lead")  # 主辦機關 計畫承辦人
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
        ]

    @property
    def is_secretariat(self) -> bool:
        return self.role == Role.SECRETARIAT

    @property
    def is_lead(self) -> bool:
        return self.role == Role.LEAD
