"""Emails: red flags to the secretariat and the sub-project's leads, the weekly digest, report reminders.

Each is sent once per key (``EmailLog``): a job run twice, or a message published twice, sends nothing more.
Django's locmem backend (pytest-django's ``mailoutbox``) catches what is sent.
"""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone

from projects.models import AgencyRole
from reviews import services
from reviews.models import (
    EmailLog,
    FlagStatus,
    LagFlag,
    LagRule,
    OutboxMessage,
    ReportStatus,
    Severity,
)
from reviews.periods import Quarter
from reviews.services import notifications
from tests.accounts.factories import lead_user, reader_user, secretariat_user
from tests.projects.factories import AgencyFactory, NodeAgencyFactory, PlanFactory, make_tree
from tests.reviews.factories import LagFlagFactory, LagSettingsFactory, QuarterlyReportFactory, report_in_status

pytestmark = pytest.mark.django_db

TAIPEI = zoneinfo.ZoneInfo("Asia/Taipei")


def at(year, month, day, hour=12):
    """An aware moment in Asia/Taipei."""
    return datetime.datetime(year, month, day, hour, tzinfo=TAIPEI)


def subproject(agency, *, plan=None, title="", start=datetime.date(2024, 1, 1), end=datetime.date(2024, 12, 31)):
    _, _, _, (node,) = make_tree(plan or PlanFactory(), lead_agency=agency, prefix=title)
    node.start_date, node.end_date = start, end
    node.save()
    return node


def flag(node, *, severity=Severity.RED, status=FlagStatus.OPEN, rule=LagRule.PROGRESS_GAP, period=(2024, 1), **extra):
    opened_at = extra.pop("opened_at", at(2024, 5, 1))
    if status == FlagStatus.RESOLVED:
        extra.setdefault("resolved_at", opened_at + datetime.timedelta(days=1))
    return LagFlagFactory(
        node=node,
        rule=rule,
        period=Quarter(*period),
        severity=severity,
        status=status,
        opened_at=opened_at,
        evidence={"rule": rule, "gap": "-12"},
        **extra,
    )


def secretariat(username="sec", email="sec@example.org", **extra):
    return secretariat_user(username, email=email, **extra)


def lead(username, agency, email=None, **extra):
    return lead_user(agency, username, email=email or f"{username}@example.org", **extra)


def email_keys() -> set[tuple[int, datetime.datetime]]:
    """The red-flag emails logged, as (flag id, moment): ``red-flag:<id>:<ISO moment>``."""
    keys = set()
    for key in EmailLog.objects.values_list("key", flat=True):
        kind, flag_id, moment = key.split(":", 2)
        assert kind == "red-flag", key
        keys.add((int(flag_id), datetime.datetime.fromisoformat(moment)))
    return keys


# --- red flags ----------------------------------------------------------------------------------------------


@pytest.fixture
def people(agency, other_agency):
    """Who should and should not hear of a red flag on a sub-project led by ``agency``."""
    unit = AgencyFactory(name="數位發展部數位產業署", parent=agency)
    co_agency = AgencyFactory(name="國家發展委員會")
    return {
        "secretariat": secretariat(),
        "secretariat_without_email": secretariat("sec-no-mail", email=""),
        "inactive_secretariat": secretariat("sec-gone", email="gone@example.org", is_active=False),
        "lead": lead("lead-main", agency),
        "lead_of_a_unit": lead("lead-unit", unit),
        "lead_of_another_agency": lead("lead-other", other_agency),
        "lead_of_a_co_agency": lead("lead-co", co_agency),
        "inactive_lead": lead("lead-gone", agency, is_active=False),
        "lead_without_email": lead_user(agency, "lead-no-mail", email=""),
        "reader": reader_user("reader-mail", email="reader@example.org"),
        "co_agency": co_agency,
    }


@pytest.fixture
def red_node(agency, people):
    node = subproject(agency, title="甲")
    NodeAgencyFactory(node=node, agency=people["co_agency"], role=AgencyRole.CO)
    return node


def test_a_red_flag_is_emailed_to_the_secretariat_and_the_leads_who_see_it(red_node, people, mailoutbox):
    red = flag(red_node)

    sent = notifications.notify_red_flags(flag_ids=[red.pk])

    assert sent == 1
    (mail,) = mailoutbox
    # the secretariat and the sub-project's leads, who see its flags (reviews.access): not a sub-unit of the
    # lead agency, which leads none of it, a co-agency, another agency, a reader, an inactive user or one
    # without an address
    assert mail.to == sorted(["sec@example.org", "lead-main@example.org"])
    assert "紅燈" in mail.subject
    assert red_node.title in mail.subject and "2024Q1" in mail.subject
    assert red_node.title in mail.body and '"gap": "-12"' in mail.body
    log = EmailLog.objects.get()
    assert email_keys() == {(red.pk, red.opened_at)}
    assert log.recipients == mail.to


def test_a_red_flag_of_a_sub_units_sub_project_reaches_the_leads_of_the_unit_and_of_its_ministry(
    agency, people, mailoutbox
):
    # given: a sub-project led by the sub-unit, which the ministry's leads see too
    unit = AgencyFactory(name="數位發展部數位產業署")  # the one ``people`` made
    red = flag(subproject(unit, title="乙"))

    notifications.notify_red_flags(flag_ids=[red.pk])

    (mail,) = mailoutbox
    assert mail.to == sorted(["sec@example.org", "lead-main@example.org", "lead-unit@example.org"])


def test_a_red_flag_is_emailed_once_however_often_the_job_runs(red_node, people, mailoutbox):
    red = flag(red_node)

    first = notifications.notify_red_flags(flag_ids=[red.pk])
    second = notifications.notify_red_flags(flag_ids=[red.pk])

    assert (first, second) == (1, 0)
    assert len(mailoutbox) == 1
    assert EmailLog.objects.count() == 1


def test_each_red_flag_has_its_own_email(red_node, people, mailoutbox):
    flags = [flag(red_node, period=(2024, 1)), flag(red_node, period=(2024, 2))]

    sent = notifications.notify_red_flags(flag_ids=[f.pk for f in flags])

    assert sent == 2
    assert sorted(mail.subject.rsplit(" ", 1)[-1] for mail in mailoutbox) == ["2024Q1", "2024Q2"]


def test_yellow_and_resolved_flags_are_not_emailed(red_node, people, mailoutbox):
    yellow = flag(red_node, severity=Severity.YELLOW, period=(2024, 1))
    resolved = flag(red_node, status=FlagStatus.RESOLVED, period=(2024, 2))
    acknowledged = flag(red_node, status=FlagStatus.ACKNOWLEDGED, period=(2024, 3))

    sent = notifications.notify_red_flags(flag_ids=[yellow.pk, resolved.pk, acknowledged.pk])

    assert sent == 1
    assert [mail.subject.rsplit(" ", 1)[-1] for mail in mailoutbox] == ["2024Q3"]


def test_a_flag_raised_to_red_later_is_emailed_again_for_that_moment(red_node, people, mailoutbox):
    red = flag(red_node)
    notifications.notify_red_flags(flag_ids=[red.pk])

    # the severity was raised again at a later moment (the key is the flag and that moment)
    LagFlag.objects.filter(pk=red.pk).update(severity_raised_at=at(2024, 8, 1))
    again = notifications.notify_red_flags(flag_ids=[red.pk])

    assert again == 1
    assert len(mailoutbox) == 2
    assert email_keys() == {(red.pk, red.opened_at), (red.pk, at(2024, 8, 1))}


def test_no_recipient_no_email_and_nothing_logged(agency, mailoutbox):
    node = subproject(agency)
    red = flag(node)

    assert notifications.notify_red_flags(flag_ids=[red.pk]) == 0
    assert mailoutbox == []
    assert not EmailLog.objects.exists()


@pytest.fixture
def lagging_node(agency):
    """A sub-project of 2024Q1 only whose accepted report is 12 points behind plan: one red flag when scanned."""
    node = subproject(agency, title="乙", start=datetime.date(2024, 1, 1), end=datetime.date(2024, 3, 31))
    report_in_status(
        node=node,
        status=ReportStatus.ACCEPTED,
        period=Quarter(2024, 1),
        planned_progress=Decimal("60"),
        actual_progress=Decimal("48"),
        budget_spent=Decimal("500000"),
        delay_reasons="採購延宕",
    )
    return node


def run_notify_jobs():
    """Run the notify_red_flags jobs waiting in the outbox, as the worker would; marks them sent."""
    sent = 0
    for message in OutboxMessage.objects.filter(task="reviews.notify_red_flags", sent_at__isnull=True):
        sent += notifications.notify_red_flags(**message.kwargs)
        message.sent_at = timezone.now()
        message.save(update_fields=["sent_at"])
    return sent


def test_a_scan_that_raises_a_red_flag_asks_for_its_email(lagging_node, mailoutbox):
    secretariat()

    services.lag_scan(as_of=datetime.date(2024, 12, 31), node_ids=[lagging_node.pk])

    red = LagFlag.objects.get(node=lagging_node)
    assert red.severity == Severity.RED
    assert list(OutboxMessage.objects.filter(task="reviews.notify_red_flags").values_list("kwargs", flat=True)) == [
        {"flag_ids": [red.pk]}
    ]
    assert run_notify_jobs() == 1
    # a second scan finds the same flag: no new job, no new email
    services.lag_scan(as_of=datetime.date(2024, 12, 31), node_ids=[lagging_node.pk])
    assert run_notify_jobs() == 0
    assert len(mailoutbox) == 1


def test_a_red_flag_that_comes_back_after_being_resolved_is_emailed_again(lagging_node, mailoutbox):
    actor = secretariat()
    services.lag_scan(as_of=datetime.date(2024, 12, 31), node_ids=[lagging_node.pk])
    red = LagFlag.objects.get(node=lagging_node)
    assert run_notify_jobs() == 1

    # the secretariat resolves it by hand, but the report still shows the gap: the next scan reopens it, red
    services.lag_flag_resolve(flag=red, actor=actor, reason="機關表示已改善")
    services.lag_scan(as_of=datetime.date(2024, 12, 31), node_ids=[lagging_node.pk])
    red.refresh_from_db()
    assert (red.status, red.severity) == (FlagStatus.OPEN, Severity.RED)
    assert OutboxMessage.objects.filter(task="reviews.notify_red_flags", sent_at__isnull=True).exists()

    assert run_notify_jobs() == 1
    assert len(mailoutbox) == 2


def test_the_red_flag_email_names_the_rule_in_traditional_chinese(red_node, people, mailoutbox):
    notifications.notify_red_flags(flag_ids=[flag(red_node).pk])

    (mail,) = mailoutbox
    assert "Progress behind plan" not in mail.subject
    assert "Progress behind plan" not in mail.body


# --- weekly digest ----------------------------------------------------------------------------------------------


@pytest.fixture
def digest_flags(agency):
    """Monday 2024-12-30 starts ISO week 2025-W01; the week before runs 2024-12-23 to 2024-12-29."""
    plan = PlanFactory()
    nodes = [subproject(agency, plan=plan, title=f"{name}-") for name in "ABCDE"]
    return {
        "new_red": flag(nodes[0], opened_at=at(2024, 12, 23, 0)),  # first hour of last week, in Taipei
        "old_red_acknowledged": flag(nodes[1], status=FlagStatus.ACKNOWLEDGED, opened_at=at(2024, 11, 1)),
        "new_yellow": flag(nodes[2], severity=Severity.YELLOW, opened_at=at(2024, 12, 29, 23)),
        "new_red_resolved": flag(nodes[3], status=FlagStatus.RESOLVED, opened_at=at(2024, 12, 25)),
        "yellow_this_week": flag(nodes[4], severity=Severity.YELLOW, opened_at=at(2024, 12, 30, 9)),
        "nodes": nodes,
    }


def test_the_weekly_digest_counts_active_red_and_yellow_flags_and_last_weeks_new_ones(digest_flags, mailoutbox):
    secretariat()
    secretariat("sec-two", email="sec2@example.org")
    lead("lead-digest", digest_flags["nodes"][0].agency_links.get().agency)

    sent = notifications.weekly_digest(week_of=datetime.date(2024, 12, 30))

    assert sent is True
    (mail,) = mailoutbox
    assert mail.to == ["sec2@example.org", "sec@example.org"]
    assert mail.subject == "[GSTP] 每週落後警示摘要 2025-W01"
    lines = mail.body.splitlines()
    assert lines[0] == "截至 2024-12-30：紅燈 2 件，黃燈 2 件；上週新增 3 件。"
    listed = [line for line in lines if line.startswith("- ")]
    assert len(listed) == 4  # the active flags; not the resolved one
    assert not any(digest_flags["nodes"][3].title in line for line in listed)


def test_the_weekly_digest_is_sent_once_per_iso_week(digest_flags, mailoutbox):
    secretariat()

    monday = notifications.weekly_digest(week_of=datetime.date(2024, 12, 30))
    friday = notifications.weekly_digest(week_of=datetime.date(2025, 1, 3))
    next_monday = notifications.weekly_digest(week_of=datetime.date(2025, 1, 6))

    assert (monday, friday, next_monday) == (True, False, True)
    assert [mail.subject for mail in mailoutbox] == [
        "[GSTP] 每週落後警示摘要 2025-W01",
        "[GSTP] 每週落後警示摘要 2025-W02",
    ]
    assert sorted(EmailLog.objects.values_list("key", flat=True)) == ["digest:2025-W01", "digest:2025-W02"]


def test_without_a_secretariat_address_the_digest_waits_for_one(digest_flags, mailoutbox):
    secretariat(email="")

    assert notifications.weekly_digest(week_of=datetime.date(2024, 12, 30)) is False
    secretariat("sec-later", email="later@example.org")
    assert notifications.weekly_digest(week_of=datetime.date(2024, 12, 30)) is True
    assert [mail.to for mail in mailoutbox] == [["later@example.org"]]


def test_the_weekly_digest_lists_red_flags_first(agency, mailoutbox):
    secretariat()
    plan = PlanFactory()
    crowded = subproject(agency, plan=plan, title="黃-", start=datetime.date(2021, 1, 1))
    combos = [(rule, year, quarter) for rule in LagRule.values for year in range(2021, 2025) for quarter in (1, 2, 3)]
    for rule, year, quarter in combos[:50]:
        flag(crowded, severity=Severity.YELLOW, rule=rule, period=(year, quarter), opened_at=at(2024, 6, 1))
    red_node = subproject(agency, plan=plan, title="紅-")
    flag(red_node, opened_at=at(2024, 12, 1))

    notifications.weekly_digest(week_of=datetime.date(2024, 12, 30))

    (mail,) = mailoutbox
    listed = [line for line in mail.body.splitlines() if line.startswith("- ")]
    assert red_node.title in listed[0]


# --- report reminders ---------------------------------------------------------------------------------------------


@pytest.fixture
def owed(agency, other_agency):
    """On 2024-07-05: 2024Q2 reports are due 2024-07-10 (in 5 days), 2024Q1 ones were due 2024-04-10."""
    plan = PlanFactory()
    unit = AgencyFactory(name="數位發展部數位產業署", parent=agency)
    mine = subproject(agency, plan=plan, title="甲")
    units = subproject(unit, plan=plan, title="丙")
    theirs = subproject(other_agency, plan=plan, title="乙")
    QuarterlyReportFactory(node=mine, period=Quarter(2024, 1), accepted=True)  # mine Q2 is missing
    QuarterlyReportFactory(node=units, period=Quarter(2024, 1))  # a draft, overdue
    QuarterlyReportFactory(node=units, period=Quarter(2024, 2), submitted=True)
    QuarterlyReportFactory(node=theirs, period=Quarter(2024, 1), returned=True)  # theirs Q2 is missing
    users = {
        "parent": lead("lead-parent", agency),
        "unit": lead("lead-unit", unit),
        "other": lead("lead-other", other_agency),
    }
    lead("lead-gone", agency, is_active=False)
    lead_user(agency, "lead-no-mail", email="")
    return {"mine": mine, "units": units, "theirs": theirs, **users}


def mail_to(mailoutbox, address):
    return [mail for mail in mailoutbox if mail.to == [address]]


def test_each_lead_gets_one_reminder_of_what_its_agency_and_units_owe(owed, mailoutbox):
    sent = notifications.report_reminders(on=datetime.date(2024, 7, 5))

    assert sent == 3
    assert sorted(mail.to[0] for mail in mailoutbox) == [
        "lead-other@example.org",
        "lead-parent@example.org",
        "lead-unit@example.org",
    ]
    (parent,) = mail_to(mailoutbox, "lead-parent@example.org")
    mine, units, theirs = owed["mine"].title, owed["units"].title, owed["theirs"].title
    assert parent.subject == "[GSTP] 季報提醒：1 件即將到期，1 件逾期"
    assert parent.body.splitlines() == [
        f"{mine} 2024Q2：2024-07-10 到期",
        f"{units} 2024Q1：已逾期（2024-04-10 到期）",
    ]
    (unit,) = mail_to(mailoutbox, "lead-unit@example.org")
    assert unit.subject == "[GSTP] 季報提醒：0 件即將到期，1 件逾期"
    assert unit.body.splitlines() == [f"{units} 2024Q1：已逾期（2024-04-10 到期）"]
    (other,) = mail_to(mailoutbox, "lead-other@example.org")
    assert other.body.splitlines() == [
        f"{theirs} 2024Q2：2024-07-10 到期",
        f"{theirs} 2024Q1：已逾期（2024-04-10 到期）",
    ]
    # accepted and submitted reports, and the current quarter not yet due, are not mentioned
    for mail in mailoutbox:
        assert "2024Q3" not in mail.body
        assert f"{mine} 2024Q1" not in mail.body
        assert f"{units} 2024Q2" not in mail.body


def test_reminders_are_sent_once_a_day(owed, mailoutbox):
    first = notifications.report_reminders(on=datetime.date(2024, 7, 5))
    again = notifications.report_reminders(on=datetime.date(2024, 7, 5))
    next_day = notifications.report_reminders(on=datetime.date(2024, 7, 6))

    assert (first, again, next_day) == (3, 0, 3)
    assert len(mailoutbox) == 6
    assert EmailLog.objects.filter(key=f"reminder:{owed['parent'].pk}:2024-07-05").exists()


def test_nothing_owed_nothing_sent(agency, mailoutbox):
    node = subproject(agency, start=datetime.date(2024, 1, 1), end=datetime.date(2024, 6, 30))
    QuarterlyReportFactory(node=node, period=Quarter(2024, 1), accepted=True)
    QuarterlyReportFactory(node=node, period=Quarter(2024, 2), submitted=True)
    lead("lead-done", agency)

    assert notifications.report_reminders(on=datetime.date(2024, 7, 5)) == 0
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("reminder_days", "on", "expected_subject"),
    [
        (None, datetime.date(2024, 7, 2), None),  # due in 8 days: outside the default window of 7
        (None, datetime.date(2024, 7, 3), "1 件即將到期，0 件逾期"),  # due in 7 days
        (None, datetime.date(2024, 7, 10), "1 件即將到期，0 件逾期"),  # due today: not overdue yet
        (None, datetime.date(2024, 7, 11), "0 件即將到期，1 件逾期"),
        (3, datetime.date(2024, 7, 6), None),  # due in 4 days, the plan reminds 3 days ahead
        (3, datetime.date(2024, 7, 7), "1 件即將到期，0 件逾期"),
    ],
)
def test_the_reminder_window_is_the_plans_setting(agency, mailoutbox, reminder_days, on, expected_subject):
    plan = PlanFactory()
    if reminder_days is not None:
        LagSettingsFactory(plan=plan, reminder_days_before_due=reminder_days)
    # a sub-project reporting from 2024Q2 on: its first report is due 2024-07-10
    subproject(agency, plan=plan, start=datetime.date(2024, 4, 1), end=datetime.date(2024, 12, 31))
    lead("lead-window", agency)

    sent = notifications.report_reminders(on=on)

    assert [mail.subject for mail in mailoutbox] == (
        [f"[GSTP] 季報提醒：{expected_subject}"] if expected_subject else []
    )
    assert sent == (1 if expected_subject else 0)
