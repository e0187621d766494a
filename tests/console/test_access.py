"""Who sees which page and who may act, in the browser as over the API.

A page starts from the same scoping functions as the API: a sub-project, report or flag outside a user's scope
is a 404, the same answer as one that does not exist; a visible object and a forbidden action is a 403 that
says why, and nothing changes. A lead's pages show the sub-projects its agency or one of its sub-units leads.
"""

import pytest
from django.test import Client

from reviews.models import CommentKind, FlagComment, FlagStatus, QuarterlyReport, ReportStatus
from tests.console.conftest import make_flag
from tests.reviews.factories import FlagCommentFactory, report_in_status

ROLES = ["secretariat", "lead", "other_lead", "reader"]


def as_role(request, role) -> Client:
    return request.getfixturevalue(role)


# --- signing in ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", "/dashboard/", "/agency/", "/plan/", "/projects/1/", "/reports/1/", "/projects/1/reports/new/"],
)
def test_every_page_asks_an_anonymous_visitor_to_sign_in(db, path):
    response = Client().get(path)

    assert response.status_code == 302
    if path == "/":
        assert response["Location"] == "/accounts/login/"
    else:
        assert response["Location"] == f"/accounts/login/?next={path}"


def test_sign_in_page_has_labelled_fields_and_signs_in_to_the_role_s_start_page(world):
    page = Client().get("/accounts/login/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<label for="id_username"' in html and '<label for="id_password"' in html

    client = Client()
    response = client.post(
        "/accounts/login/", {"username": world.lead.username, "password": "correct horse battery staple"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/")["Location"] == "/agency/"


def test_a_wrong_password_is_refused_on_the_page(world):
    response = Client().post("/accounts/login/", {"username": world.lead.username, "password": "wrong"})

    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_sign_out_is_a_post_and_ends_the_session(lead):
    assert lead.get("/dashboard/").status_code == 200

    response = lead.post("/accounts/logout/")

    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert lead.get("/dashboard/").status_code == 302


@pytest.mark.parametrize(
    ("role", "landing"),
    [("secretariat", "/dashboard/"), ("lead", "/agency/"), ("reader", "/dashboard/")],
)
def test_the_start_page_depends_on_the_role(request, role, landing):
    assert as_role(request, role).get("/")["Location"] == landing


# --- pages ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_dashboard_opens_for_every_role(request, role):
    assert as_role(request, role).get("/dashboard/").status_code == 200


@pytest.mark.parametrize(
    ("role", "target", "expected"),
    [
        ("secretariat", "subproject", 200),
        ("reader", "subproject", 200),
        ("lead", "subproject", 200),
        ("lead", "unit_subproject", 200),  # led by a sub-unit of the lead's agency
        # every signed-in user reads every sub-project, in the console as in the API
        ("lead", "other_subproject", 200),
        ("other_lead", "subproject", 200),
        ("other_lead", "other_subproject", 200),
        ("secretariat", "group", 404),  # only sub-projects have a page
        ("secretariat", "measure", 404),
    ],
)
def test_sub_project_pages_are_scoped(request, world, role, target, expected):
    node = getattr(world, target)

    assert as_role(request, role).get(f"/projects/{node.pk}/").status_code == expected


def test_an_unknown_sub_project_is_the_same_404(secretariat):
    assert secretariat.get("/projects/999999/").status_code == 404


@pytest.mark.parametrize(
    ("role", "status", "expected"),
    [
        ("secretariat", ReportStatus.DRAFT, 200),
        ("lead", ReportStatus.DRAFT, 200),
        ("other_lead", ReportStatus.DRAFT, 404),
        ("reader", ReportStatus.DRAFT, 404),
        ("reader", ReportStatus.SUBMITTED, 404),
        ("reader", ReportStatus.ACCEPTED, 200),
        ("other_lead", ReportStatus.ACCEPTED, 200),
    ],
)
def test_report_pages_follow_the_api_s_report_scope(request, world, role, status, expected):
    report = report_in_status(node=world.subproject, status=status)

    assert as_role(request, role).get(f"/reports/{report.pk}/").status_code == expected


@pytest.mark.parametrize(
    ("role", "expected"), [("lead", 200), ("secretariat", 403), ("reader", 403), ("other_lead", 403)]
)
def test_only_the_sub_project_s_lead_opens_the_filing_form(request, world, role, expected):
    response = as_role(request, role).get(f"/projects/{world.subproject.pk}/reports/new/")

    assert response.status_code == expected
    if expected == 403:
        # The API's own refusal, word for word.
        assert (
            "Only a lead of this sub-project" in response.content.decode() or "僅本子計畫" in response.content.decode()
        )


@pytest.mark.parametrize(("role", "expected"), [("lead", 200), ("secretariat", 200), ("reader", 403)])
def test_what_is_owed_is_for_leads_and_the_secretariat(request, world, role, expected):
    assert as_role(request, role).get("/agency/").status_code == expected


def test_a_lead_s_page_lists_its_agency_and_sub_units_but_no_other(lead, world):
    html = lead.get("/agency/").content.decode()

    assert world.subproject.title in html
    assert world.unit_subproject.title in html
    assert world.other_subproject.title not in html


def test_the_secretariat_chooses_the_agency(secretariat, world):
    html = secretariat.get("/agency/", {"agency": world.other_agency.pk}).content.decode()

    assert world.other_subproject.title in html
    assert world.subproject.title not in html


@pytest.mark.parametrize("role", ROLES)
def test_the_plan_page_opens_for_every_role(request, world, role):
    client = as_role(request, role)
    assert client.get("/plan/")["Location"] == f"/plans/{world.plan.pk}/"
    assert client.get(f"/plans/{world.plan.pk}/").status_code == 200
    assert client.get("/plans/999999/").status_code == 404


# --- flag actions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected", "after"),
    [
        ("secretariat", 302, FlagStatus.ACKNOWLEDGED),
        ("lead", 403, FlagStatus.OPEN),
        ("reader", 403, FlagStatus.OPEN),
        ("other_lead", 404, FlagStatus.OPEN),
    ],
)
def test_acknowledging_a_flag(request, world, role, expected, after):
    flag = make_flag(world.subproject)

    response = as_role(request, role).post(f"/flags/{flag.pk}/acknowledge/")

    assert response.status_code == expected
    flag.refresh_from_db()
    assert flag.status == after


@pytest.mark.parametrize(
    ("role", "expected", "after"),
    [
        ("secretariat", 302, FlagStatus.RESOLVED),
        ("lead", 403, FlagStatus.OPEN),
        ("reader", 403, FlagStatus.OPEN),
        ("other_lead", 404, FlagStatus.OPEN),
    ],
)
def test_resolving_a_flag(request, world, role, expected, after):
    flag = make_flag(world.subproject)

    response = as_role(request, role).post(
        f"/flags/{flag.pk}/resolve/", {f"resolve-{flag.pk}-reason": "已於 2025Q1 補正", "next": "/dashboard/"}
    )

    assert response.status_code == expected
    flag.refresh_from_db()
    assert flag.status == after


@pytest.mark.parametrize(
    ("role", "expected", "kind"),
    [
        ("secretariat", 302, CommentKind.COMMENT),
        ("lead", 302, CommentKind.IMPROVEMENT_PLAN),
        ("reader", 403, None),
        ("other_lead", 404, None),
    ],
)
def test_commenting_on_a_flag(request, world, role, expected, kind):
    flag = make_flag(world.subproject)
    data = {f"comment-{flag.pk}-body": "增派人力，按月追蹤。"}
    if role == "lead":
        data[f"comment-{flag.pk}-kind"] = CommentKind.IMPROVEMENT_PLAN

    response = as_role(request, role).post(f"/flags/{flag.pk}/comment/", data)

    assert response.status_code == expected
    assert list(FlagComment.objects.filter(flag=flag).values_list("kind", flat=True)) == ([kind] if kind else [])


def test_a_flag_action_goes_back_to_the_page_it_was_taken_on_but_never_off_site(secretariat, world):
    flag, other = make_flag(world.subproject), make_flag(world.other_subproject)

    here = secretariat.post(f"/flags/{flag.pk}/acknowledge/", {"next": f"/projects/{world.subproject.pk}/"})
    away = secretariat.post(f"/flags/{other.pk}/acknowledge/", {"next": "https://example.com/"})

    assert here["Location"] == f"/projects/{world.subproject.pk}/"
    assert away["Location"] == "/dashboard/"


def test_actions_are_posts_only(secretariat, world):
    flag = make_flag(world.subproject)
    report = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)

    assert secretariat.get(f"/flags/{flag.pk}/acknowledge/").status_code == 405
    assert secretariat.get(f"/reports/{report.pk}/accept/").status_code == 405


# --- review actions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected", "after"),
    [
        ("secretariat", 302, ReportStatus.ACCEPTED),
        ("lead", 403, ReportStatus.SUBMITTED),
        ("reader", 404, ReportStatus.SUBMITTED),  # a reader sees accepted reports only
        ("other_lead", 404, ReportStatus.SUBMITTED),
    ],
)
def test_accepting_a_report(request, world, role, expected, after):
    report = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)

    response = as_role(request, role).post(f"/reports/{report.pk}/accept/", {"version": report.version})

    assert response.status_code == expected
    assert QuarterlyReport.objects.get(pk=report.pk).status == after


@pytest.mark.parametrize(
    ("role", "expected", "after"),
    [
        ("secretariat", 302, ReportStatus.RETURNED),
        ("lead", 403, ReportStatus.SUBMITTED),
        ("reader", 404, ReportStatus.SUBMITTED),
        ("other_lead", 404, ReportStatus.SUBMITTED),
    ],
)
def test_returning_a_report(request, world, role, expected, after):
    report = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)

    response = as_role(request, role).post(
        f"/reports/{report.pk}/return/", {"version": report.version, f"return-{report.pk}-reason": "請補充經費說明"}
    )

    assert response.status_code == expected
    assert QuarterlyReport.objects.get(pk=report.pk).status == after


@pytest.mark.parametrize(("role", "expected"), [("secretariat", 403), ("reader", 404), ("other_lead", 404)])
def test_only_the_lead_edits_its_report(request, world, role, expected):
    report = report_in_status(node=world.subproject, status=ReportStatus.DRAFT)

    response = as_role(request, role).post(
        f"/reports/{report.pk}/", {"version": report.version, "actual_progress": "10", "action": "save"}
    )

    assert response.status_code == expected
    assert QuarterlyReport.objects.get(pk=report.pk).version == report.version


def test_a_reader_sees_no_action_and_no_thread(reader, world):
    flag = make_flag(world.subproject, resolution_reason="")
    FlagCommentFactory(flag=flag, author=world.secretariat, body="內部意見：請先電話聯繫")
    report_in_status(node=world.subproject, status=ReportStatus.ACCEPTED)

    html = reader.get("/dashboard/").content.decode() + reader.get(f"/projects/{world.subproject.pk}/").content.decode()

    assert f'id="flag-{flag.pk}"' in html
    assert "內部意見" not in html
    assert 'data-action="acknowledge"' not in html
    assert 'data-action="resolve"' not in html
    assert 'data-action="comment"' not in html
    assert 'data-action="accept"' not in html


def test_a_lead_sees_only_its_agency_s_flags_and_can_only_comment(lead, world):
    own, foreign = make_flag(world.subproject), make_flag(world.other_subproject)

    html = lead.get("/dashboard/").content.decode()

    assert f'id="flag-{own.pk}"' in html
    assert f'id="flag-{foreign.pk}"' not in html
    assert 'data-action="comment"' in html
    assert 'data-action="acknowledge"' not in html and 'data-action="resolve"' not in html
