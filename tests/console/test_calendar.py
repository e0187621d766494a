"""Pages in the reader's calendar: their own choice on the preferences page, else their plan's; forms take
dates and quarters written either way."""

import datetime

import pytest

from gstp.calendar import Calendar
from reviews.models import QuarterLock, QuarterlyReport, ReportStatus
from reviews.periods import Quarter
from tests.console.conftest import make_flag
from tests.reviews.factories import report_in_status

FIGURES = {"planned_progress": "50", "actual_progress": "55", "achievements": "完成資料盤點"}


def choose(client, calendar):
    response = client.post("/preferences/", {"calendar": calendar})
    assert response.status_code == 302, response.content[:300]


def test_a_reader_chooses_the_roc_calendar_and_another_keeps_gregorian(secretariat, reader, world):
    # given a report of 2024Q3, due 2024-10-10
    report = report_in_status(node=world.subproject, status=ReportStatus.ACCEPTED, period=Quarter(2024, 3))

    # when the secretariat chooses the ROC calendar
    choose(secretariat, Calendar.ROC)

    # then its pages write 113年第3季 and 113/10/10; the reader's still write 2024Q3 and 2024-10-10
    world.secretariat.refresh_from_db()
    assert world.secretariat.calendar == Calendar.ROC
    roc = secretariat.get(f"/reports/{report.pk}/").content.decode()
    gregorian = reader.get(f"/reports/{report.pk}/").content.decode()
    assert "113年第3季" in roc and "113/10/10" in roc
    assert "2024Q3" in gregorian and "2024-10-10" in gregorian and "113年第3季" not in gregorian
    # a moment to the minute, in Asia/Taipei
    submitted = report.submitted_at.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    assert f"{submitted.year - 1911}/{submitted:%m/%d %H:%M}" in roc


def test_the_plan_writes_for_who_has_not_chosen(secretariat, reader, world):
    world.plan.calendar = Calendar.ROC
    world.plan.save()
    report = report_in_status(node=world.subproject, status=ReportStatus.ACCEPTED, period=Quarter(2024, 3))
    choose(secretariat, Calendar.GREGORIAN)

    assert "113年第3季" in reader.get(f"/reports/{report.pk}/").content.decode()
    assert "113年第3季" not in secretariat.get(f"/reports/{report.pk}/").content.decode()

    # back to the plan's: blank
    choose(secretariat, "")
    world.secretariat.refresh_from_db()
    assert world.secretariat.calendar == ""
    assert "113年第3季" in secretariat.get(f"/reports/{report.pk}/").content.decode()


def test_the_preferences_page_offers_the_choice(lead):
    page = lead.get("/preferences/")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="calendar"' in html and 'value="roc"' in html and 'value="gregorian"' in html


def test_an_unknown_calendar_is_refused_on_the_page(lead, world):
    response = lead.post("/preferences/", {"calendar": "julian"})

    assert response.status_code == 400
    world.lead.refresh_from_db()
    assert world.lead.calendar == ""


def test_a_report_form_takes_a_roc_quarter_and_roc_dates(lead, world):
    milestone = world.subproject.milestones.order_by("planned_date").last()
    typed = {f"milestone-{milestone.pk}-forecast_date": "民國114年9月30日"}

    response = lead.post(
        f"/projects/{world.subproject.pk}/reports/new/", {"period": "114年第2季", "action": "save", **FIGURES, **typed}
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    report = QuarterlyReport.objects.get(node=world.subproject)
    assert report.quarter_obj == Quarter(2025, 2)
    assert report.milestone_entries.get().forecast_date == datetime.date(2025, 9, 30)


def test_a_quarter_lock_typed_in_the_roc_calendar(secretariat, world):
    response = secretariat.post("/locks/", {"lock-period": "１１３年第４季", "lock-reason": ""})

    assert response.status_code == 302, response.content.decode()[:2000]
    assert QuarterLock.objects.get().period == "2024Q4"


@pytest.mark.parametrize(("language", "text"), [("en", "Write the quarter as"), ("zh-Hant", "季別請寫成")])
def test_a_bad_quarter_is_refused_with_every_form(secretariat, world, language, text):
    response = secretariat.post("/locks/", {"lock-period": "113Q5", "lock-reason": ""}, HTTP_ACCEPT_LANGUAGE=language)

    html = response.content.decode()
    assert response.status_code == 400
    assert text in html and "民國113年第3季" in html
    assert not QuarterLock.objects.exists()


def test_a_past_moment_typed_in_the_roc_calendar(secretariat, world):
    response = secretariat.get("/dashboard/", {"as_of": "113/12/31"})

    assert response.status_code == 200
    assert 'id="as-of-banner"' in response.content.decode()


def test_date_fields_are_text_inputs_for_who_reads_roc(lead, world):
    choose(lead, Calendar.ROC)

    form = lead.get(f"/projects/{world.subproject.pk}/revisions/new/").content.decode()
    page = lead.get(f"/projects/{world.subproject.pk}/").content.decode()

    assert 'name="end_date" value="114/12/31"' in form and 'placeholder="113/07/01"' in form
    assert 'type="text" placeholder="113/07/01"' in page and 'name="as_of"' in page


def test_a_revision_typed_in_the_roc_calendar_sends_only_what_changed(lead, world):
    choose(lead, Calendar.ROC)
    milestone = world.subproject.milestones.order_by("planned_date").last()

    response = lead.post(
        f"/projects/{world.subproject.pk}/revisions/new/",
        {
            "reason": "工期展延",
            "end_date": "114/12/31",  # as it stands: not a change
            f"milestone-{milestone.pk}-planned_date": "民國114年9月30日",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    revision = world.subproject.revisions.get()
    assert "end_date" not in revision.changes
    assert revision.changes["milestones"][0]["planned_date"] == "2025-09-30"


def test_the_filing_link_takes_a_roc_quarter(lead, world):
    page = lead.get(f"/projects/{world.subproject.pk}/reports/new/", {"period": "114年第2季"}).content.decode()

    assert '<option value="2025Q2" selected>' in page


def test_a_flag_and_its_evidence_in_the_roc_calendar(secretariat, world):
    make_flag(world.subproject, evidence={"period": "2024Q4", "due_on": "2025-01-10", "days_late": 21})
    choose(secretariat, Calendar.ROC)

    html = secretariat.get("/dashboard/").content.decode()

    assert "113年第4季" in html and "114/01/10" in html and "2025-01-10" not in html
