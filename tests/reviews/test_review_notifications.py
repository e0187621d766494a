"""Emails of the review chain: each step tells who acts next, or the lead of the outcome.

- submitted, in a plan requiring endorsement: the ministry's reviewers (待初核);
- endorsed: the secretariat (部會初核通過，待複核);
- returned, reopened, accepted: the sub-project's leads, with the reason for a return or a reopening (and a
  return by the secretariat of an endorsed report to the ministry's reviewers too);
- endorsement reminders: once a day, each reviewer with reports waiting longer than the plan's endorsement days.

Every step writes a ``reviews.notify_report_step`` job in the outbox; the tests run the jobs as a worker would,
and an email goes out once per report version and step however often its job runs (``EmailLog``). Django's
locmem backend (pytest-django's ``mailoutbox``) catches what is sent.
"""

import datetime
import zoneinfo

import pytest

from accounts.models import Role
from reviews import services, tasks
from reviews.models import EmailLog, LagRule, OutboxMessage, QuarterlyReport, ReportStatus, Severity
from reviews.periods import Quarter
from reviews.services import notifications
from tests.accounts.factories import UserFactory, lead_user, reader_user, secretariat_user
from tests.projects.factories import AgencyFactory, PlanFactory, make_tree
from tests.reviews.factories import LagFlagFactory, LagSettingsFactory, report_in_status

pytestmark = pytest.mark.django_db

TAIPEI = zoneinfo.ZoneInfo("Asia/Taipei")
REASON = "請補附佐證資料"


def reviewer(username, ministry, **fields):
    """A ministry reviewer (部會管考窗口) of ``ministry``."""
    fields.setdefault("email", f"{username}@example.org")
    return UserFactory(username=username, role=Role.REVIEWER, agency=ministry, **fields)


@pytest.fixture
def people(agency, other_agency):
    """Who should and should not hear of a report of a sub-project led by a unit of ``agency`` (數位發展部)."""
    unit = AgencyFactory(name="數位發展部數位產業署", parent=agency)
    return {
        "unit": unit,
        "secretariat": secretariat_user("sec", email="sec@example.org"),
        "lead": lead_user(unit, "lead-unit", email="lead-unit@example.org"),
        "ministry_lead": lead_user(agency, "lead-ministry", email="lead-ministry@example.org"),
        "reviewer": reviewer("moda-reviewer", agency),
        "second_reviewer": reviewer("moda-reviewer-2", agency),
        "inactive_reviewer": reviewer("moda-reviewer-gone", agency, is_active=False),
        "other_reviewer": reviewer("moea-reviewer", other_agency),
        "other_lead": lead_user(other_agency, "lead-other", email="lead-other@example.org"),
        "reader": reader_user("reader-mail", email="reader@example.org"),
    }


def subproject(agency, *, endorsement: bool, title="寬頻普及"):
    plan = PlanFactory()
    LagSettingsFactory(plan=plan, endorsement_required=endorsement)
    _, _, _, (node,) = make_tree(plan, lead_agency=agency, prefix=title)
    return node


@pytest.fixture
def node(people):
    """A sub-project led by 數位產業署, in a plan whose reports 數位發展部 endorses first."""
    return subproject(people["unit"], endorsement=True)


def submitted(node, people) -> QuarterlyReport:
    return report_in_status(node=node, status=ReportStatus.SUBMITTED, author=people["lead"])


def endorse(report, people) -> QuarterlyReport:
    return services.report_endorse(actor=people["reviewer"], report=report, expected_version=report.version)


def step_jobs() -> list[dict]:
    """The ``notify_report_step`` jobs in the outbox, oldest first."""
    return list(
        OutboxMessage.objects.filter(task="reviews.notify_report_step").order_by("pk").values_list("kwargs", flat=True)
    )


def run_step_jobs() -> int:
    """Run every ``notify_report_step`` job as a worker would; the number of emails sent."""
    return sum(tasks.notify_report_step(**kwargs) for kwargs in step_jobs())


def addresses(mail) -> set[str]:
    return set(mail.to)


# --- each step ----------------------------------------------------------------------------------------------


def test_a_report_waiting_for_endorsement_is_told_to_its_ministrys_reviewers(node, people, mailoutbox):
    report = submitted(node, people)

    assert step_jobs() == [{"report_id": report.pk, "step": "awaiting_endorsement", "version": report.version}]
    assert run_step_jobs() == 1
    (mail,) = mailoutbox
    assert addresses(mail) == {"moda-reviewer@example.org", "moda-reviewer-2@example.org"}
    assert mail.subject == f"[GSTP] 季報待初核：{node.title} 2024Q1"
    assert mail.body.splitlines() == [f"子計畫：{node.title}", "季報：2024Q1（已送出）"]


def test_without_endorsement_no_reviewer_is_told(people, mailoutbox):
    node = subproject(people["unit"], endorsement=False)

    submitted(node, people)

    assert step_jobs() == []
    assert mailoutbox == []


def test_an_endorsed_report_is_told_to_the_secretariat(node, people, mailoutbox):
    report = endorse(submitted(node, people), people)
    mailoutbox.clear()
    OutboxMessage.objects.filter(kwargs__step="awaiting_endorsement").delete()

    assert run_step_jobs() == 1

    (mail,) = mailoutbox
    assert addresses(mail) == {"sec@example.org"}
    assert mail.subject == f"[GSTP] 季報部會初核通過，待複核：{node.title} 2024Q1"
    assert report.status == ReportStatus.ENDORSED


def test_a_return_by_the_reviewer_is_told_to_the_leads_with_the_reason(node, people, mailoutbox):
    report = submitted(node, people)
    services.report_return(actor=people["reviewer"], report=report, expected_version=report.version, reason=REASON)

    run_step_jobs()

    (returned,) = [mail for mail in mailoutbox if "退回修正" in mail.subject]
    assert addresses(returned) == {"lead-unit@example.org", "lead-ministry@example.org"}
    assert returned.subject == f"[GSTP] 季報退回修正：{node.title} 2024Q1"
    assert returned.body.splitlines() == [f"子計畫：{node.title}", "季報：2024Q1（已退回）", f"原因：{REASON}"]


def test_a_return_by_the_secretariat_after_endorsement_is_told_to_the_reviewers_too(node, people, mailoutbox):
    report = endorse(submitted(node, people), people)
    services.report_return(actor=people["secretariat"], report=report, expected_version=report.version, reason=REASON)

    run_step_jobs()

    (returned,) = [mail for mail in mailoutbox if "退回修正" in mail.subject]
    assert addresses(returned) == {
        "lead-unit@example.org",
        "lead-ministry@example.org",
        "moda-reviewer@example.org",
        "moda-reviewer-2@example.org",
    }
    assert f"原因：{REASON}" in returned.body


def test_acceptance_and_reopening_are_told_to_the_leads(node, people, mailoutbox):
    report = endorse(submitted(node, people), people)
    report = services.report_accept(actor=people["secretariat"], report=report, expected_version=report.version)
    services.report_reopen(
        actor=people["secretariat"], report=report, expected_version=report.version, reason="經費數據有誤"
    )

    run_step_jobs()

    by_subject = {mail.subject: mail for mail in mailoutbox}
    accepted = by_subject[f"[GSTP] 季報複核通過：{node.title} 2024Q1"]
    reopened = by_subject[f"[GSTP] 季報重新開啟更正：{node.title} 2024Q1"]
    leads = {"lead-unit@example.org", "lead-ministry@example.org"}
    assert addresses(accepted) == addresses(reopened) == leads
    # each tells of the step as it was taken: accepted, then returned with the reason
    assert accepted.body.splitlines() == [f"子計畫：{node.title}", "季報：2024Q1（複核通過）"]
    assert reopened.body.splitlines() == [f"子計畫：{node.title}", "季報：2024Q1（已退回）", "原因：經費數據有誤"]


def test_nobody_else_hears_of_any_step(node, people, mailoutbox):
    report = endorse(submitted(node, people), people)
    report = services.report_accept(actor=people["secretariat"], report=report, expected_version=report.version)
    services.report_reopen(actor=people["secretariat"], report=report, expected_version=report.version, reason="有誤")

    run_step_jobs()

    told = set().union(*(addresses(mail) for mail in mailoutbox))
    for name in ("other_reviewer", "other_lead", "reader", "inactive_reviewer"):
        assert people[name].email not in told, name


# --- once per version and step -------------------------------------------------------------------------------------


def test_a_job_run_twice_sends_one_email(node, people, mailoutbox):
    submitted(node, people)

    first, again = run_step_jobs(), run_step_jobs()

    assert (first, again) == (1, 0)
    assert len(mailoutbox) == 1
    assert EmailLog.objects.filter(key__startswith="report-step:").count() == 1


def test_each_return_of_a_report_is_its_own_email_with_its_own_reason(node, people, mailoutbox):
    # given the report returned, resubmitted and returned again, and the worker running only afterwards
    report = submitted(node, people)
    report = services.report_return(
        actor=people["reviewer"], report=report, expected_version=report.version, reason="第一次退回原因"
    )
    report = services.report_submit(actor=people["lead"], report=report, expected_version=report.version)
    services.report_return(
        actor=people["reviewer"], report=report, expected_version=report.version, reason="第二次退回原因"
    )

    run_step_jobs()
    run_step_jobs()

    returns = [mail for mail in mailoutbox if "退回修正" in mail.subject]
    assert sorted(mail.body.splitlines()[-1] for mail in returns) == ["原因：第一次退回原因", "原因：第二次退回原因"]
    assert len([mail for mail in mailoutbox if "待初核" in mail.subject]) == 2  # each submission


def test_a_late_job_tells_of_the_step_not_of_the_report_as_it_is_now(node, people, mailoutbox):
    # given the report was returned and then resubmitted before the worker ran
    report = submitted(node, people)
    report = services.report_return(
        actor=people["reviewer"], report=report, expected_version=report.version, reason=REASON
    )
    services.report_submit(actor=people["lead"], report=report, expected_version=report.version)

    run_step_jobs()

    (returned,) = [mail for mail in mailoutbox if "退回修正" in mail.subject]
    assert "季報：2024Q1（已退回）" in returned.body.splitlines()
    assert f"原因：{REASON}" in returned.body


# --- endorsement reminders -------------------------------------------------------------------------------------------


def submitted_on(node, people, day: datetime.date) -> QuarterlyReport:
    """The sub-project's 2024Q1 report, submitted at noon in Taipei on ``day``."""
    report = report_in_status(node=node, status=ReportStatus.SUBMITTED, author=people["lead"])
    moment = datetime.datetime.combine(day, datetime.time(12), tzinfo=TAIPEI)
    QuarterlyReport.objects.filter(pk=report.pk).update(submitted_at=moment)
    return report


ON = datetime.date(2024, 7, 20)


@pytest.mark.parametrize(
    ("submitted_day", "reminded"),
    [
        (datetime.date(2024, 7, 13), False),  # waiting 7 days: the plan's endorsement days, not more
        (datetime.date(2024, 7, 12), True),  # 8 days
        (datetime.date(2024, 5, 1), True),
    ],
)
def test_a_reviewer_is_reminded_of_reports_waiting_longer_than_the_endorsement_days(
    node, people, mailoutbox, submitted_day, reminded
):
    submitted_on(node, people, submitted_day)

    sent = notifications.endorsement_reminders(on=ON)

    waited = (ON - submitted_day).days
    if not reminded:
        assert (sent, mailoutbox) == (0, [])
        return
    assert sent == 2
    assert sorted(mail.to[0] for mail in mailoutbox) == ["moda-reviewer-2@example.org", "moda-reviewer@example.org"]
    mail = mailoutbox[0]
    assert mail.subject == "[GSTP] 初核提醒：1 件季報待初核逾期"
    assert mail.body.splitlines() == [f"{node.title} 2024Q1：{submitted_day.isoformat()} 提報，已等待 {waited} 日"]


def test_the_plans_endorsement_days_decide(people, mailoutbox):
    plan = PlanFactory()
    LagSettingsFactory(plan=plan, endorsement_required=True, endorsement_days=3)
    _, _, _, (node,) = make_tree(plan, lead_agency=people["unit"])
    submitted_on(node, people, ON - datetime.timedelta(days=4))

    assert notifications.endorsement_reminders(on=ON) == 2


def test_only_reviewers_with_reports_waiting_are_reminded_and_each_of_its_own(node, people, other_agency, mailoutbox):
    # given a report waiting for each ministry, and one in a plan without endorsement
    submitted_on(node, people, datetime.date(2024, 7, 1))
    theirs = subproject(other_agency, endorsement=True, title="產業創新")
    report_in_status(node=theirs, status=ReportStatus.SUBMITTED)
    QuarterlyReport.objects.filter(node=theirs).update(submitted_at=datetime.datetime(2024, 7, 15, tzinfo=TAIPEI))
    direct = subproject(people["unit"], endorsement=False, title="直送")
    submitted_on(direct, people, datetime.date(2024, 5, 1))

    notifications.endorsement_reminders(on=ON)

    moda = [mail for mail in mailoutbox if mail.to == ["moda-reviewer@example.org"]]
    assert [mail.body.splitlines() for mail in moda] == [[f"{node.title} 2024Q1：2024-07-01 提報，已等待 19 日"]]
    # the other ministry's report has waited 5 days only; the reader, leads and secretariat hear nothing
    assert {mail.to[0] for mail in mailoutbox} == {"moda-reviewer@example.org", "moda-reviewer-2@example.org"}


def test_reminders_go_once_a_day(node, people, mailoutbox):
    submitted_on(node, people, datetime.date(2024, 7, 1))

    first = notifications.endorsement_reminders(on=ON)
    again = notifications.endorsement_reminders(on=ON)
    next_day = notifications.endorsement_reminders(on=ON + datetime.timedelta(days=1))

    assert (first, again, next_day) == (2, 0, 2)
    assert EmailLog.objects.filter(key=f"endorsement-reminder:{people['reviewer'].pk}:{ON.isoformat()}").exists()


def test_endorsed_reports_are_not_reminded(node, people, mailoutbox):
    endorse(submitted_on(node, people, datetime.date(2024, 7, 1)), people)

    assert notifications.endorsement_reminders(on=ON) == 0


def test_the_reminder_job_runs_the_same(node, people, mailoutbox):
    submitted_on(node, people, datetime.date(2024, 7, 1))

    assert tasks.endorsement_reminders(on=ON.isoformat()) == 2


# --- a red flag of the ministry's overdue endorsement --------------------------------------------------------------


def test_a_red_overdue_endorsement_is_emailed_to_the_secretariat_and_the_reviewers_not_the_leads(
    node, people, mailoutbox
):
    flag = LagFlagFactory(
        node=node, rule=LagRule.REVIEW_OVERDUE, severity=Severity.RED, period=Quarter(2024, 1), evidence={}
    )

    assert notifications.notify_red_flags(flag_ids=[flag.pk]) == 1

    (mail,) = mailoutbox
    assert addresses(mail) == {"sec@example.org", "moda-reviewer@example.org", "moda-reviewer-2@example.org"}
    assert mail.subject == f"[GSTP] 紅燈 {node.title} — {LagRule.REVIEW_OVERDUE.label} 2024Q1"
