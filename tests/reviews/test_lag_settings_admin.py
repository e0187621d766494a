"""The secretariat changes a plan's lag thresholds (落後警示門檻) and its review chain (審查流程: whether its ministries
endorse reports first, and in how many days) in the admin.

Each saved change is recorded (``LagSettingsChange``) with the actor and ``{field: [before, after]}`` for exactly
the fields that changed; a save without changes records nothing; a red threshold looser than its yellow one is
refused with a form error; and the next scan judges by the new thresholds.

Who gets in: a staff user of the secretariat role (or a superuser) with ``change_lagsettings``; the service
refuses anyone else even with the permission. The secretariat's staff flag alone (``account_create_or_update``
sets it) opens no model in the admin. The change history shows inline to whoever may view it (a superuser, or
``view_lagsettingschange``); the tests of the recording use a secretariat staff user with ``change_lagsettings``
only, for whom the inline is left out.
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied

from accounts.models import Role
from projects.models import ControlLevel
from reviews import services
from reviews.models import LagFlag, LagRule, LagSettings, LagSettingsChange, LevelSettings, ReportStatus
from reviews.models.flags import LEVEL_THRESHOLD_FIELDS
from reviews.periods import Quarter
from tests.accounts.factories import UserFactory
from tests.projects.factories import PlanFactory, make_tree

from .factories import LagSettingsFactory, report_in_status

FIELDS = [
    "late_red_days_after_quarter_end",
    "returned_red_days",
    "milestone_red_days",
    "progress_gap_yellow",
    "progress_gap_red",
    "budget_yellow_below",
    "budget_red_below",
    "indicator_yellow_ratio",
    "indicator_red_ratio",
    "consecutive_yellow_turns_red",
    "reminder_days_before_due",
    "endorsement_required",
    "endorsement_days",
    "rebaselined_yellow_days",
    "rebaselined_red_days",
    "rebaselined_red_revisions",
]
BOOLEANS = ("consecutive_yellow_turns_red", "endorsement_required")


def change_url(lag_settings):
    return f"/admin/reviews/lagsettings/{lag_settings.pk}/change/"


@pytest.fixture
def plan(db):
    return PlanFactory(code="smart-nation")


@pytest.fixture
def lag_settings(plan):
    return LagSettingsFactory(plan=plan)


@pytest.fixture
def superuser(db):
    return UserFactory(username="admin", role=Role.SECRETARIAT, is_staff=True, is_superuser=True)


@pytest.fixture
def secretariat_staff(db):
    """The secretariat as it works in the admin: staff, with the permission to change thresholds."""
    user = UserFactory(username="secretariat-staff", role=Role.SECRETARIAT, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_lagsettings"))
    return user


@pytest.fixture
def history_viewer(db):
    """The secretariat with the permission to see the change history inline as well."""
    user = UserFactory(username="secretariat-historian", role=Role.SECRETARIAT, is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="change_lagsettings"),
        Permission.objects.get(codename="view_lagsettingschange"),
    )
    return user


@pytest.fixture
def admin_user(secretariat_staff):
    return secretariat_staff


def admin_client_for(client, user):
    client.force_login(user)
    return client


def level_form_data(lag_settings, levels=None):
    """The control levels' table as the browser sends it: one row per level, the levels' saved rows first,
    then a row of its defaults for each level without one; ``levels`` changes cells: ``{level: {field: value}}``."""
    rows = sorted(lag_settings.levels.all(), key=lambda row: ControlLevel.values.index(row.level))
    saved = len(rows)
    rows += [
        LevelSettings.default(lag_settings, level)
        for level in ControlLevel.values
        if level not in {row.level for row in rows}
    ]
    data = {
        "levels-TOTAL_FORMS": len(rows),
        "levels-INITIAL_FORMS": saved,
        "levels-MIN_NUM_FORMS": 0,
        "levels-MAX_NUM_FORMS": len(rows),
    }
    for index, row in enumerate(rows):
        cells = {
            "id": row.pk,
            "lag_settings": lag_settings.pk,
            "rhythm": row.rhythm,
            "report_due_days": row.report_due_days,
            "monthly_due_days": row.monthly_due_days,
            **{name: getattr(row, name) for name in LEVEL_THRESHOLD_FIELDS},
            **(levels or {}).get(row.level, {}),
        }
        data.update({f"levels-{index}-{name}": "" if value is None else value for name, value in cells.items()})
    return data


def form_data(lag_settings, levels=None, **changes):
    """Every field of the change form as the browser sends it, with ``changes`` applied (and ``levels``
    to the control levels' table, ``level_form_data``)."""
    data = {"plan": lag_settings.plan_id, **level_form_data(lag_settings, levels)}
    for name in FIELDS:
        data[name] = getattr(lag_settings, name)
    data.update(changes)
    for name in BOOLEANS:  # a checkbox is sent only when ticked
        if data.pop(name):
            data[name] = "on"
    # the read-only history inline's management form
    existing = lag_settings.changes.count()
    data.update(
        {
            "changes-TOTAL_FORMS": existing,
            "changes-INITIAL_FORMS": existing,
            "changes-MIN_NUM_FORMS": 0,
            "changes-MAX_NUM_FORMS": 0,
        }
    )
    return {name: str(value) for name, value in data.items()}


def post_change(client, lag_settings, levels=None, **changes):
    return client.post(change_url(lag_settings), form_data(lag_settings, levels, **changes))


# --------------------------------------------------------------------------- access


def test_the_change_form_opens_for_the_secretariat(client, admin_user, lag_settings):
    response = admin_client_for(client, admin_user).get(change_url(lag_settings))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert set(FIELDS) | {"plan"} == set(form.fields)


@pytest.mark.parametrize("user", ["superuser", "history_viewer"])
def test_the_change_form_with_its_history_opens(client, lag_settings, user, request):
    LagSettingsChange.objects.create(
        lag_settings=lag_settings, actor=request.getfixturevalue(user), changes={"milestone_red_days": [90, 60]}
    )

    response = admin_client_for(client, request.getfixturevalue(user)).get(change_url(lag_settings))

    assert response.status_code == 200
    (inline,) = [
        inline for inline in response.context["inline_admin_formsets"] if inline.formset.model is LagSettingsChange
    ]
    assert [form.instance.changes for form in inline.formset.forms] == [{"milestone_red_days": [90, 60]}]


def test_a_superuser_changes_a_threshold(client, superuser, lag_settings):
    response = post_change(admin_client_for(client, superuser), lag_settings, progress_gap_yellow="-7.00")

    assert response.status_code == 302
    assert LagSettings.objects.get(pk=lag_settings.pk).progress_gap_yellow == Decimal("-7.00")
    (change,) = LagSettingsChange.objects.all()
    assert (change.actor, change.changes) == (superuser, {"progress_gap_yellow": ["-5.00", "-7.00"]})


def test_the_staff_flag_alone_opens_nothing(client, lag_settings):
    staff = UserFactory(username="bare-staff", role=Role.SECRETARIAT, is_staff=True)

    response = admin_client_for(client, staff).post(change_url(lag_settings), form_data(lag_settings))

    assert response.status_code == 403
    assert not LagSettingsChange.objects.exists()


def test_a_non_secretariat_staff_user_cannot_change_thresholds_even_with_the_permission(client, lag_settings):
    # the admin asks the role (accounts.access), and so does the service: the permission is not enough
    staff = UserFactory(username="reader-staff", role=Role.READER, is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_lagsettings"))

    response = admin_client_for(client, staff).post(
        change_url(lag_settings), form_data(lag_settings, progress_gap_yellow=Decimal("-7.00"))
    )

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    with pytest.raises(PermissionDenied):
        services.lag_settings_update(
            lag_settings=lag_settings, actor=staff, values={"progress_gap_yellow": Decimal("-7.00")}
        )
    lag_settings.refresh_from_db()
    assert lag_settings.progress_gap_yellow == Decimal("-5.00")
    assert not LagSettingsChange.objects.exists()


def test_anonymous_is_sent_to_the_login(client, lag_settings):
    response = client.post(change_url(lag_settings), form_data(lag_settings, progress_gap_yellow="-7"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert LagSettings.objects.get(pk=lag_settings.pk).progress_gap_yellow == Decimal("-5.00")


# --------------------------------------------------------------------------- a change is saved and recorded


def test_changing_a_threshold_saves_it_and_records_who_and_what(client, admin_user, lag_settings):
    # when
    response = post_change(admin_client_for(client, admin_user), lag_settings, progress_gap_yellow="-7.00")

    # then the value is saved
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    lag_settings.refresh_from_db()
    assert lag_settings.progress_gap_yellow == Decimal("-7.00")
    assert lag_settings.progress_gap_red == Decimal("-10.00")
    # and one change row records the actor and exactly that field, before and after
    (change,) = LagSettingsChange.objects.all()
    assert change.lag_settings == lag_settings
    assert change.actor == admin_user
    assert change.changes == {"progress_gap_yellow": ["-5.00", "-7.00"]}


def test_several_fields_at_once_are_one_change_row(client, admin_user, lag_settings):
    response = post_change(
        admin_client_for(client, admin_user),
        lag_settings,
        progress_gap_red="-12.50",
        budget_yellow_below="85.00",
        milestone_red_days=60,
        consecutive_yellow_turns_red=False,
    )

    assert response.status_code == 302
    (change,) = LagSettingsChange.objects.all()
    assert change.changes == {
        "progress_gap_red": ["-10.00", "-12.50"],
        "budget_yellow_below": ["90.00", "85.00"],
        "milestone_red_days": [90, 60],
        "consecutive_yellow_turns_red": [True, False],
    }
    lag_settings.refresh_from_db()
    assert (
        lag_settings.progress_gap_red,
        lag_settings.budget_yellow_below,
        lag_settings.milestone_red_days,
        lag_settings.consecutive_yellow_turns_red,
    ) == (Decimal("-12.50"), Decimal("85.00"), 60, False)


def test_each_save_adds_its_own_row(client, admin_user, lag_settings):
    admin = admin_client_for(client, admin_user)
    post_change(admin, lag_settings, progress_gap_yellow="-6.00")
    lag_settings.refresh_from_db()

    post_change(admin, lag_settings, progress_gap_yellow="-7.00")

    assert sorted(change.changes["progress_gap_yellow"] for change in LagSettingsChange.objects.all()) == [
        ["-5.00", "-6.00"],
        ["-6.00", "-7.00"],
    ]


def test_saving_without_changes_records_nothing(client, admin_user, lag_settings):
    before = LagSettings.objects.get(pk=lag_settings.pk)

    response = post_change(admin_client_for(client, admin_user), lag_settings)

    assert response.status_code == 302
    assert not LagSettingsChange.objects.exists()
    after = LagSettings.objects.get(pk=lag_settings.pk)
    assert [getattr(after, name) for name in FIELDS] == [getattr(before, name) for name in FIELDS]


def test_the_same_value_written_differently_is_no_change(client, admin_user, lag_settings):
    response = post_change(
        admin_client_for(client, admin_user), lag_settings, progress_gap_yellow="-5", budget_red_below="80.0"
    )

    assert response.status_code == 302
    assert not LagSettingsChange.objects.exists()


# --------------------------------------------------------------------------- the review chain (審查流程)


def test_the_review_chain_has_its_own_section_of_the_form(client, admin_user, lag_settings):
    response = admin_client_for(client, admin_user).get(change_url(lag_settings))

    sections = {str(fieldset.name): list(fieldset.fields) for fieldset in response.context["adminform"]}
    assert sections["審查流程"] == ["endorsement_required", "endorsement_days"]
    assert "endorsement_required" not in sections["落後警示門檻"]


def test_turning_endorsement_on_is_saved_and_recorded_with_who_and_what(client, admin_user, lag_settings):
    assert not LagSettings.endorsement_required_for(lag_settings.plan_id)

    response = post_change(
        admin_client_for(client, admin_user), lag_settings, endorsement_required=True, endorsement_days=5
    )

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert LagSettings.endorsement_required_for(lag_settings.plan_id)
    assert LagSettings.objects.get(pk=lag_settings.pk).endorsement_days == 5
    (change,) = LagSettingsChange.objects.all()
    assert (change.lag_settings, change.actor) == (lag_settings, admin_user)
    assert change.changes == {"endorsement_required": [False, True], "endorsement_days": [7, 5]}


def test_turning_endorsement_off_again_is_its_own_change(client, admin_user, lag_settings):
    admin = admin_client_for(client, admin_user)
    post_change(admin, lag_settings, endorsement_required=True)
    lag_settings.refresh_from_db()

    post_change(admin, lag_settings, endorsement_required=False)

    assert not LagSettings.endorsement_required_for(lag_settings.plan_id)
    assert [change.changes for change in LagSettingsChange.objects.order_by("at", "pk")] == [
        {"endorsement_required": [False, True]},
        {"endorsement_required": [True, False]},
    ]


@pytest.mark.parametrize("days", ["0", "-1", "abc"])
def test_endorsement_days_under_one_are_refused(client, admin_user, lag_settings, days):
    response = post_change(
        admin_client_for(client, admin_user), lag_settings, endorsement_required=True, endorsement_days=days
    )

    assert response.status_code == 200
    assert "endorsement_days" in response.context["adminform"].form.errors
    assert not LagSettings.endorsement_required_for(lag_settings.plan_id)
    assert not LagSettingsChange.objects.exists()


# --------------------------------------------------------------------------- invalid combinations are refused


@pytest.mark.parametrize(
    "changes",
    [
        {"progress_gap_red": "-3.00"},  # red at -3 would fire before yellow at -5
        {"progress_gap_yellow": "-12.00"},
        {"budget_red_below": "95.00"},
        {"budget_yellow_below": "70.00"},
        {"indicator_red_ratio": "0.95"},
    ],
)
def test_a_red_threshold_looser_than_yellow_is_refused(client, admin_user, lag_settings, changes):
    before = LagSettings.objects.get(pk=lag_settings.pk)

    response = post_change(admin_client_for(client, admin_user), lag_settings, **changes)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors
    assert [getattr(LagSettings.objects.get(pk=lag_settings.pk), name) for name in FIELDS] == [
        getattr(before, name) for name in FIELDS
    ]
    assert not LagSettingsChange.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("budget_yellow_below", "101"),
        ("budget_red_below", "-1"),
        ("milestone_red_days", "-5"),
        ("progress_gap_red", "abc"),
    ],
)
def test_out_of_range_values_are_refused(client, admin_user, lag_settings, field, value):
    response = post_change(admin_client_for(client, admin_user), lag_settings, **{field: value})

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not LagSettingsChange.objects.exists()


def test_equal_red_and_yellow_thresholds_are_allowed(client, admin_user, lag_settings):
    response = post_change(admin_client_for(client, admin_user), lag_settings, progress_gap_red="-5.00")

    assert response.status_code == 302
    assert LagSettings.objects.get(pk=lag_settings.pk).progress_gap_red == Decimal("-5.00")


# --------------------------------------------------------------------------- the scan uses the changed threshold

AS_OF = datetime.date(2024, 5, 15)


@pytest.fixture
def six_points_behind(plan, agency, lag_settings):
    """A sub-project whose accepted 2024Q1 report is 6 points behind plan: yellow under the default -5."""
    _, _, _, (sub,) = make_tree(plan, lead_agency=agency)
    report = report_in_status(
        node=sub,
        status=ReportStatus.ACCEPTED,
        period=Quarter(2024, 1),
        planned_progress=Decimal("40.00"),
        actual_progress=Decimal("34.00"),
        delay_reasons="採購流標",
    )
    assert report.status == ReportStatus.ACCEPTED
    return sub


def progress_gap_flags(sub, **filters):
    return LagFlag.objects.filter(node=sub, rule=LagRule.PROGRESS_GAP, **filters)


def test_a_six_point_gap_is_yellow_under_the_defaults(six_points_behind):
    services.lag_scan(as_of=AS_OF)

    (flag,) = progress_gap_flags(six_points_behind)
    assert (flag.severity, flag.status, flag.period) == ("yellow", "open", "2024Q1")
    assert flag.evidence["gap"] == "-6"
    assert flag.evidence["yellow_at_or_below"] == "-5"


def test_after_the_yellow_threshold_moves_to_minus_7_a_six_point_gap_raises_nothing(
    client, admin_user, lag_settings, six_points_behind
):
    # given
    response = post_change(admin_client_for(client, admin_user), lag_settings, progress_gap_yellow="-7.00")
    assert response.status_code == 302

    # when
    services.lag_scan(as_of=AS_OF)

    # then
    assert not progress_gap_flags(six_points_behind).exists()


def test_moving_the_threshold_clears_an_open_flag_on_the_next_scan(client, admin_user, lag_settings, six_points_behind):
    # given the yellow flag of the defaults
    services.lag_scan(as_of=AS_OF)
    assert progress_gap_flags(six_points_behind, status="open").count() == 1

    # when the threshold moves to -7 and the scan runs again
    post_change(admin_client_for(client, admin_user), lag_settings, progress_gap_yellow="-7.00")
    services.lag_scan(as_of=AS_OF)

    # then the flag is cleared, not deleted
    (flag,) = progress_gap_flags(six_points_behind)
    assert (flag.status, flag.resolution) == ("resolved", "cleared")


def test_tightening_the_red_threshold_raises_the_flag_to_red(client, admin_user, lag_settings, six_points_behind):
    post_change(admin_client_for(client, admin_user), lag_settings, progress_gap_red="-6.00")

    services.lag_scan(as_of=AS_OF)

    (flag,) = progress_gap_flags(six_points_behind)
    assert flag.severity == "red"
    assert flag.evidence["red_at_or_below"] == "-6"
