"""Control levels (列管等級): a sub-project at 院列管 reports monthly by default and may be held to tighter
thresholds and due days than the plan's, set per plan and level (``LevelSettings``); a level tightens the
plan's thresholds, never loosens them. The scan judges each sub-project by its level's settings.

The lag settings page of the admin shows the three levels as one table (a row per level, the defaults where
a level has no row yet); a change to a level's row is recorded with the settings' own."""

import datetime
from decimal import Decimal

import pytest
from django.contrib import admin as admin_site
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from accounts.models import Role
from projects.models import ControlLevel, PlanNode
from reviews import services
from reviews.models import LagFlag, LagRule, LagSettings, LagSettingsChange, LevelSettings, ReportStatus, Rhythm
from reviews.periods import Quarter
from tests.accounts.factories import UserFactory
from tests.projects.factories import PlanFactory, make_tree

from .factories import LagSettingsFactory, report_in_status
from .test_lag_settings_admin import admin_client_for, change_url, post_change

EY, MINISTRY, AGENCY = ControlLevel.EXECUTIVE_YUAN, ControlLevel.MINISTRY, ControlLevel.AGENCY


@pytest.fixture
def plan(db):
    return PlanFactory(code="smart-nation")


@pytest.fixture
def staff(db):
    """The secretariat in the admin, with the permission to change the lag settings (and so the levels')."""
    user = UserFactory(username="secretariat-staff", role=Role.SECRETARIAT, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_lagsettings"))
    return user


@pytest.fixture
def lag_settings(plan):
    return LagSettingsFactory(plan=plan)


def level_row(lag_settings, level, **values):
    row = LevelSettings(
        lag_settings=lag_settings, level=level, rhythm=LevelSettings.default(lag_settings, level).rhythm
    )
    for name, value in values.items():
        setattr(row, name, value)
    row.full_clean()
    row.save()
    return row


def two_subprojects(plan, agency, *, levels=(EY, AGENCY), start=datetime.date(2021, 1, 1)):
    """Two sub-projects alike in everything but their control levels."""
    _, _, _, subs = make_tree(plan, lead_agency=agency, subprojects=len(levels))
    for sub, level in zip(subs, levels, strict=True):
        sub.control_level, sub.start_date = level, start
        sub.save()
    return subs


def flags_of(sub, rule):
    return [(str(flag.period), flag.severity) for flag in LagFlag.objects.filter(node=sub, rule=rule)]


# --------------------------------------------------------------------------- thresholds by level


@pytest.mark.parametrize(
    ("gap", "executive_yuan", "agency_level"),
    [
        (Decimal("-4"), [("2024Q1", "yellow")], []),  # past 院列管's -3, short of the plan's -5
        (Decimal("-8"), [("2024Q1", "red")], [("2024Q1", "yellow")]),  # past 院列管's red -7: redder
    ],
)
def test_the_same_figures_flag_a_sub_project_by_its_levels_thresholds(
    plan, agency, lag_settings, gap, executive_yuan, agency_level
):
    # given: 院列管 tightens the progress gap to yellow -3, red -7; 自行列管 keeps the plan's -5 and -10
    level_row(lag_settings, EY, progress_gap_yellow=Decimal(-3), progress_gap_red=Decimal(-7))
    watched, own = two_subprojects(plan, agency)
    for sub in (watched, own):
        report_in_status(
            node=sub,
            status=ReportStatus.ACCEPTED,
            period=Quarter(2024, 1),
            planned_progress=Decimal(40),
            actual_progress=Decimal(40) + gap,
            delay_reasons="採購流標",
        )

    # when
    services.lag_scan(as_of=datetime.date(2024, 5, 15))

    # then
    assert flags_of(watched, LagRule.PROGRESS_GAP) == executive_yuan
    assert flags_of(own, LagRule.PROGRESS_GAP) == agency_level
    flag = LagFlag.objects.get(node=watched, rule=LagRule.PROGRESS_GAP)
    assert (flag.evidence["yellow_at_or_below"], flag.evidence["red_at_or_below"]) == ("-3", "-7")


def test_a_missing_report_is_late_by_its_levels_due_days(plan, agency, lag_settings):
    # given: 部會列管's quarterly reports fall due 5 days after the quarter, the plan's 10
    level_row(lag_settings, MINISTRY, report_due_days=5)
    ministry, own = two_subprojects(plan, agency, levels=(MINISTRY, AGENCY), start=datetime.date(2024, 7, 1))

    # when: 7 October, neither has filed its 2024Q3 report
    services.lag_scan(as_of=datetime.date(2024, 10, 7))

    # then: only the ministry's is late (due 5 October); the other's falls due on the 10th
    assert flags_of(ministry, LagRule.LATE_REPORT) == [("2024Q3", "yellow")]
    assert flags_of(own, LagRule.LATE_REPORT) == []
    assert LagFlag.objects.get(node=ministry).evidence["due_on"] == "2024-10-05"


def test_a_late_report_turns_red_sooner_at_a_tightened_level(plan, agency, lag_settings):
    level_row(lag_settings, EY, late_red_days_after_quarter_end=20)
    watched, own = two_subprojects(plan, agency, start=datetime.date(2024, 7, 1))

    services.lag_scan(as_of=datetime.date(2024, 10, 25))  # 25 days after the quarter ended

    assert flags_of(watched, LagRule.LATE_REPORT) == [("2024Q3", "red")]
    assert flags_of(own, LagRule.LATE_REPORT) == [("2024Q3", "yellow")]


# --------------------------------------------------------------------------- a level tightens, never loosens


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("progress_gap_yellow", Decimal(-6)),  # the plan's is -5: -6 flags later
        ("budget_yellow_below", Decimal(85)),  # the plan's is 90
        ("late_red_days_after_quarter_end", 40),  # the plan's is 30
        ("indicator_red_ratio", Decimal("0.5")),  # the plan's is 0.7
    ],
)
def test_a_loosened_threshold_is_refused(lag_settings, field, value):
    row = LevelSettings(lag_settings=lag_settings, level=EY, rhythm=Rhythm.MONTHLY, **{field: value})

    with pytest.raises(ValidationError) as refused:
        row.full_clean()

    assert list(refused.value.message_dict) == [field]


def test_a_tightened_threshold_and_the_plans_own_are_accepted(lag_settings):
    LevelSettings(
        lag_settings=lag_settings,
        level=EY,
        rhythm=Rhythm.MONTHLY,
        progress_gap_yellow=Decimal(-5),  # the same as the plan's
        progress_gap_red=Decimal(-7),
        budget_yellow_below=Decimal(92),
        late_red_days_after_quarter_end=20,
    ).full_clean()


def test_red_stays_beyond_yellow_at_a_level(lag_settings):
    # -4 is tighter than the plan's red -10 but would fire before the plan's yellow -5
    row = LevelSettings(lag_settings=lag_settings, level=EY, rhythm=Rhythm.MONTHLY, progress_gap_red=Decimal(-4))

    with pytest.raises(ValidationError) as refused:
        row.full_clean()

    assert list(refused.value.message_dict) == ["progress_gap_red"]


# --------------------------------------------------------------------------- rhythm and due days by level


def test_each_level_has_its_default_rhythm_and_the_plans_due_days(lag_settings):
    settings = {level: lag_settings.for_level(level) for level in ControlLevel.values}

    assert {level: s.rhythm for level, s in settings.items()} == {
        EY: Rhythm.MONTHLY,
        MINISTRY: Rhythm.QUARTERLY,
        AGENCY: Rhythm.QUARTERLY,
    }
    assert {s.report_due_days for s in settings.values()} == {lag_settings.plan.report_due_days}
    assert settings[EY].progress_gap_yellow == lag_settings.progress_gap_yellow


def test_a_levels_row_overrides_its_default_rhythm(lag_settings):
    level_row(lag_settings, EY, rhythm=Rhythm.QUARTERLY)
    level_row(lag_settings, MINISTRY, rhythm=Rhythm.MONTHLY, monthly_due_days=7)
    fresh = LagSettings.objects.get(pk=lag_settings.pk)

    assert fresh.for_level(EY).rhythm == Rhythm.QUARTERLY
    assert (fresh.for_level(MINISTRY).rhythm, fresh.for_level(MINISTRY).monthly_due_days) == (Rhythm.MONTHLY, 7)
    assert fresh.for_level(AGENCY).rhythm == Rhythm.QUARTERLY


# --------------------------------------------------------------------------- the levels' table in the admin


def test_the_settings_page_shows_the_three_levels_with_their_defaults(client, staff, lag_settings):
    level_row(lag_settings, AGENCY, progress_gap_yellow=Decimal(-4))

    response = admin_client_for(client, staff).get(change_url(lag_settings))

    assert response.status_code == 200
    (levels,) = [i for i in response.context["inline_admin_formsets"] if i.formset.model is LevelSettings]
    rows = [
        (
            form.instance.pk is not None,
            form["level"].value(),
            form["rhythm"].value(),
            form["progress_gap_yellow"].value(),
        )
        for form in levels.formset.forms
    ]
    assert rows == [
        (True, AGENCY, Rhythm.QUARTERLY, Decimal("-4.00")),
        (False, EY, Rhythm.MONTHLY, None),  # the defaults of a level without a row
        (False, MINISTRY, Rhythm.QUARTERLY, None),
    ]
    assert levels.formset.forms[0].fields["level"].disabled
    assert not levels.formset.can_delete
    assert levels.formset.max_num == 3
    content = response.content.decode()
    assert "院列管" in content and "部會列管" in content and "自行列管" in content and "填報頻率" in content


def test_saving_a_level_row_saves_it_and_records_the_change(client, staff, lag_settings):
    admin = admin_client_for(client, staff)

    response = post_change(
        admin, lag_settings, levels={EY: {"progress_gap_yellow": "-3.00", "budget_yellow_below": "92.00"}}
    )

    assert response.status_code == 302, response.context and response.context["inline_admin_formsets"][0].formset.errors
    # only the changed level got a row; the others keep their defaults without one
    (row,) = LevelSettings.objects.filter(lag_settings=lag_settings)
    assert (row.level, row.rhythm, row.progress_gap_yellow, row.budget_yellow_below, row.progress_gap_red) == (
        EY,
        Rhythm.MONTHLY,
        Decimal("-3.00"),
        Decimal("92.00"),
        None,
    )
    (change,) = LagSettingsChange.objects.all()
    assert (change.actor, change.changes) == (
        staff,
        {"levels": {EY: {"progress_gap_yellow": [None, "-3.00"], "budget_yellow_below": [None, "92.00"]}}},
    )

    # and a second change to the same row, with one of the plan's thresholds, is one more row
    lag_settings.refresh_from_db()
    post_change(admin, lag_settings, levels={EY: {"rhythm": Rhythm.QUARTERLY}}, milestone_red_days=60)

    latest = LagSettingsChange.objects.order_by("-at", "-pk").first()
    assert latest.changes == {"milestone_red_days": [90, 60], "levels": {EY: {"rhythm": ["monthly", "quarterly"]}}}
    assert LevelSettings.objects.get(pk=row.pk).rhythm == Rhythm.QUARTERLY


def test_a_loosened_level_threshold_is_shown_next_to_its_field_and_nothing_is_saved(client, staff, lag_settings):
    response = post_change(
        admin_client_for(client, staff), lag_settings, levels={MINISTRY: {"progress_gap_yellow": "-6"}}
    )

    assert response.status_code == 200
    (levels,) = [i for i in response.context["inline_admin_formsets"] if i.formset.model is LevelSettings]
    (errors,) = [form.errors for form in levels.formset.forms if form.errors]
    assert list(errors) == ["progress_gap_yellow"]
    assert not LevelSettings.objects.exists()
    assert not LagSettingsChange.objects.exists()


def test_a_plan_threshold_that_would_loosen_a_levels_is_refused(client, staff, lag_settings):
    # 院列管 flags a gap of -5, as the plan does; moving the plan's line to -4 would leave 院列管's the looser
    level_row(lag_settings, EY, progress_gap_yellow=Decimal(-5))

    response = post_change(admin_client_for(client, staff), lag_settings, progress_gap_yellow="-4.00")

    assert response.status_code == 200
    (levels,) = [i for i in response.context["inline_admin_formsets"] if i.formset.model is LevelSettings]
    assert [list(form.errors) for form in levels.formset.forms] == [["progress_gap_yellow"], [], []]
    assert LagSettings.objects.get(pk=lag_settings.pk).progress_gap_yellow == Decimal("-5.00")
    assert not LagSettingsChange.objects.exists()


def test_saving_the_page_untouched_creates_no_level_rows(client, staff, lag_settings):
    response = post_change(admin_client_for(client, staff), lag_settings)

    assert response.status_code == 302
    assert not LevelSettings.objects.exists()
    assert not LagSettingsChange.objects.exists()


# --------------------------------------------------------------------------- a sub-project's level in the admin


@pytest.fixture
def superuser(db):
    return UserFactory(username="admin", role=Role.SECRETARIAT, is_staff=True, is_superuser=True)


def test_the_plan_tree_admin_lists_and_filters_sub_projects_by_level(client, superuser, plan, agency):
    watched, own = two_subprojects(plan, agency)

    response = admin_client_for(client, superuser).get(
        "/admin/projects/plannode/", {"control_level__exact": EY, "kind__exact": "subproject"}
    )

    assert response.status_code == 200
    assert [node.pk for node in response.context["cl"].result_list] == [watched.pk]
    assert "院列管" in response.content.decode()


def test_the_level_is_editable_on_a_sub_project_only_and_by_the_secretariat(client, superuser, plan, agency):
    group, _strategy, _measure, (sub,) = make_tree(plan, lead_agency=agency)
    admin = admin_client_for(client, superuser)

    def form_fields(node):
        response = admin.get(f"/admin/projects/plannode/{node.pk}/change/")
        assert response.status_code == 200
        return response.context["adminform"].form.fields

    assert "control_level" in form_fields(sub)
    assert "control_level" not in form_fields(group)  # shown, read-only: a group has no level of its own
    # a staff account of another role with the plan tree's permissions still may not set it
    reader = UserFactory(username="reader-staff", role=Role.READER, is_staff=True)
    request = RequestFactory().get("/")
    request.user = reader
    assert "control_level" in admin_site.site._registry[PlanNode].get_readonly_fields(request, sub)
