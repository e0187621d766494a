"""Who a user is to GSTP: each role as the capabilities it carries, written once.

Every app's ``access`` module (``projects.access``, ``indicators.access``, ``reviews.access``) answers, for
its own models, which rows a user sees, which fields of a row and which actions it may take, and builds
those answers from the predicates here. No other module compares ``user.role``: a role is a set of
capabilities, so adding one (a ministry reviewer, say) changes this table and the access modules only.

The predicates are django-rules predicates rather than plain functions because the same object answers in
every place that asks: code calls it (``can_accept(user, report)``), it composes with ``&``, ``|`` and
``~`` into the apps' action rules, and the apps register those rules as object permissions that Django's
``user.has_perm(name, obj)``, the admin and the templates' ``{% has_perm %}`` already understand
(``has_perm`` answers yes to an active superuser before asking any rule, as Django always does; code asks
the predicates, which know no superuser). Row visibility is a queryset, which no predicate library
expresses, so the apps write those by hand beside their predicates.
"""

from __future__ import annotations

import enum

import rules

from .models import Role, User


class Capability(enum.StrEnum):
    OVERSEE = "oversee"  # sees every report, flag and field; reviews reports, works the flag queue, sets thresholds
    FILE = "file"  # files reports and answers flags for the sub-projects its agency (or a sub-unit) leads
    ENDORSE = "endorse"  # endorses (初核) the reports of the sub-projects its ministry (or a sub-unit) leads
    READ_PUBLISHED = "read_published"  # reads what the programme publishes whole: every flag's public fields
    ADMINISTER = "administer"  # works in the admin: settings, API keys, accounts, webhooks, the plan structure


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.SECRETARIAT: frozenset({Capability.OVERSEE, Capability.ADMINISTER}),
    Role.LEAD: frozenset({Capability.FILE}),
    Role.REVIEWER: frozenset({Capability.ENDORSE}),
    Role.READER: frozenset({Capability.READ_PUBLISHED}),
}

# The roles that act for an agency, and so must belong to one.
AGENCY_CAPABILITIES = frozenset({Capability.FILE, Capability.ENDORSE})

# The admin group each capability brings, and what its members may do in the admin: Django permissions,
# (app, model) -> actions. ``accounts.services.admin_groups_sync`` keeps the groups equal to this table
# after every migration (a new model the secretariat works on is added here).
SECRETARIAT_GROUP = "執行秘書室"
CAPABILITY_GROUPS = {Capability.ADMINISTER: SECRETARIAT_GROUP}
_ALL = ("add", "change", "delete", "view")
_WRITE = ("add", "change", "view")
_READ = ("view",)
_SECRETARIAT_PERMISSIONS = {
    # Accounts and API keys: people are deactivated rather than deleted, keys revoked.
    ("accounts", "user"): _WRITE,
    ("accounts", "apikey"): _WRITE,
    # The plan structure.
    ("projects", "agency"): _ALL,
    ("projects", "agencyalias"): _ALL,
    ("projects", "plan"): _WRITE,
    ("projects", "plannode"): _ALL,
    ("projects", "nodeagency"): _ALL,
    ("projects", "milestone"): _ALL,
    ("indicators", "indicator"): _ALL,
    ("indicators", "indicatortarget"): _ALL,
    ("indicators", "indicatoractual"): _READ,
    # Lag settings (each change recorded), webhook subscriptions; the rest is shown, changed only by services.
    ("reviews", "lagsettings"): _WRITE,
    ("reviews", "lagsettingschange"): _READ,
    ("reviews", "webhooksubscription"): _ALL,
    ("reviews", "webhookdelivery"): _READ,
    ("reviews", "quarterlyreport"): _READ,
    ("reviews", "reportevent"): _READ,
    ("reviews", "evidencefile"): _READ,
    ("reviews", "lagflag"): _READ,
    ("reviews", "quarterlock"): _READ,
    ("reviews", "lockexception"): _READ,
    ("reviews", "outboxmessage"): _READ,
    ("reviews", "emaillog"): _READ,
    # The year's assessment: its scheme (criteria, grades, calendar) set through the services; the rest shown.
    ("assessments", "assessmentscheme"): _WRITE,
    ("assessments", "criterion"): _ALL,
    ("assessments", "gradeband"): _ALL,
    ("assessments", "assessment"): _READ,
    ("assessments", "assessmentevent"): _READ,
    ("assessments", "score"): _READ,
    ("assessments", "assessmentfile"): _READ,
    # The schedule of periodic jobs (django-celery-beat): when the scan, the reminders and the digest run.
    ("django_celery_beat", "periodictask"): _ALL,
    ("django_celery_beat", "crontabschedule"): _ALL,
    ("django_celery_beat", "intervalschedule"): _ALL,
    ("django_celery_beat", "clockedschedule"): _ALL,
    # Sign-in lockouts, which the secretariat may lift.
    ("axes", "accessattempt"): ("view", "delete"),
}
ADMIN_GROUP_PERMISSIONS = {SECRETARIAT_GROUP: _SECRETARIAT_PERMISSIONS}


def capabilities_of_role(role: str) -> frozenset[Capability]:
    return ROLE_CAPABILITIES.get(role, frozenset())


def capabilities(user) -> frozenset[Capability]:
    """What a signed-in, active user may do by its role; nothing for anyone else."""
    if not (user is not None and user.is_authenticated and user.is_active):
        return frozenset()
    capability_set = capabilities_of_role(getattr(user, "role", ""))
    if capability_set & AGENCY_CAPABILITIES and not user.agency_id:
        return capability_set - AGENCY_CAPABILITIES  # a lead without an agency leads nothing
    return capability_set


def role_needs_agency(role: str) -> bool:
    return bool(capabilities_of_role(role) & AGENCY_CAPABILITIES)


def role_needs_ministry(role: str) -> bool:
    """A role that acts for a whole ministry (a reviewer) belongs to a ministry, not to one of its sub-units."""
    return Capability.ENDORSE in capabilities_of_role(role)


def role_works_in_admin(role: str) -> bool:
    return Capability.ADMINISTER in capabilities_of_role(role)


def admin_groups_for_role(role: str) -> list[str]:
    """The admin groups an account of this role belongs to."""
    return [group for capability, group in CAPABILITY_GROUPS.items() if capability in capabilities_of_role(role)]


def roles_with(capability: Capability) -> list[str]:
    return [role for role, capability_set in ROLE_CAPABILITIES.items() if capability in capability_set]


def users_with(capability: Capability):
    """Active accounts whose role carries ``capability`` (those acting for an agency: only with one)."""
    users = User.objects.filter(is_active=True, role__in=roles_with(capability))
    if capability in AGENCY_CAPABILITIES:
        users = users.filter(agency__isnull=False)
    return users


# Each predicate takes the object acted on too, unused: called directly with (user, object), as every
# predicate of the apps' access modules is, it answers for the user alone.


@rules.predicate
def is_signed_in(user, _object=None) -> bool:
    """A signed-in, active account (sign-in and API keys refuse inactive ones too)."""
    return bool(user is not None and user.is_authenticated and user.is_active)


@rules.predicate
def oversees(user, _object=None) -> bool:
    """The Executive Secretariat (執行秘書室)."""
    return Capability.OVERSEE in capabilities(user)


@rules.predicate
def files_for_agency(user, _object=None) -> bool:
    """An agency project lead (主辦機關 計畫承辦人) with its agency."""
    return Capability.FILE in capabilities(user)


@rules.predicate
def endorses_for_ministry(user, _object=None) -> bool:
    """A ministry reviewer (部會管考窗口) with its ministry."""
    return Capability.ENDORSE in capabilities(user)


@rules.predicate
def reads_published(user, _object=None) -> bool:
    """A reader: an open-data portal, a dashboard, a person who follows the programme."""
    return Capability.READ_PUBLISHED in capabilities(user)


@rules.predicate
def administers(user, _object=None) -> bool:
    return Capability.ADMINISTER in capabilities(user) or bool(getattr(user, "is_superuser", False))


def acting_agency(user):
    """The agency a user files for (its sub-units included), or None."""
    return user.agency if files_for_agency(user) else None


def reviewing_agency(user):
    """The ministry whose sub-projects' reports a user endorses (its sub-units' included), or None."""
    return user.agency if endorses_for_ministry(user) else None
