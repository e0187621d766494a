"""The review loop in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright against
the live server. Three stories: a lagging sub-project's report returned, fixed and accepted, its flags then
leaving the dashboard; a report with a PDF carried through the whole chain (lead, ministry reviewer,
secretariat), reopened, corrected and carried through again; and a plan revision moving a sub-project's end
date and a milestone, approved, then the sub-project page now and as of the day before.

A scan has flagged a sub-project whose latest quarterly report is missing (late report) and whose last
milestone is overdue. Its lead files the report, the secretariat returns it with a reason, the lead fixes it
and submits it again, the secretariat accepts it; the next scan clears both flags and they leave the
dashboard. Screenshots of the dashboard (laptop and phone) and of the sub-project page are written to
``var/screenshots/``.
"""

import contextlib
import datetime
import os
import struct
import threading
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone
from simple_history.models import registered_models

from reviews import services
from reviews.models import ACTIVE_STATUSES, Baseline, LagFlag, LagRule, QuarterlyReport
from reviews.periods import Quarter, today
from tests.accounts.factories import UserFactory
from tests.console.conftest import small_pdf, subproject
from tests.indicators.factories import IndicatorFactory
from tests.projects.factories import AgencyFactory, MilestoneFactory, PlanFactory, allocate, make_tree
from tests.reviews.factories import LagSettingsFactory, report_in_status

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PASSWORD = "correct horse battery staple"

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.slow,
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the Playwright client is not installed")


def in_thread(function, *args, **kwargs):
    """Run database work beside the browser: Playwright's client keeps an event loop running in this
    thread, where Django refuses synchronous queries. The thread closes its connection when done."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as exc:  # re-raised below, in the test's thread
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def quarter_overdue() -> Quarter:
    """The latest quarter whose report is already overdue today."""
    quarter = Quarter.containing(today()).previous()
    while quarter.due_date(10) >= today():
        quarter = quarter.previous()
    return quarter


@pytest.fixture
def scene(transactional_db):
    """A year of one sub-project: three quarters accepted, the fourth's report missing and overdue, its last
    milestone not reported done; a few other sub-projects lagging too; then the daily scan."""
    late = quarter_overdue()
    quarters = [late.previous().previous().previous(), late.previous().previous(), late.previous()]
    plan = PlanFactory(
        code="smart-nation", name="智慧國家方案", start_year=quarters[0].year - 1, end_year=late.year + 1
    )
    moda = AgencyFactory(name="數位發展部", short_name="數位部")
    moea = AgencyFactory(name="經濟部")
    moe = AgencyFactory(name="教育部")
    _, _, measure, (node,) = make_tree(plan, lead_agency=moda)
    node.title = "政府資料開放，民間活化應用發展服務"
    node.start_date, node.end_date = quarters[0].start, late.end
    node.save()
    MilestoneFactory(node=node, title="需求訪談與規劃完成", planned_date=quarters[1].end, completed_on=quarters[1].end)
    last_milestone = MilestoneFactory(node=node, title="系統上線", planned_date=late.end, is_critical=True)
    indicator = IndicatorFactory(
        node=node,
        key="open-data/usage",
        name="資料集下載人次",
        unit="萬人次",
        is_cumulative=True,
        baseline_year=quarters[0].year - 1,
        baseline_value=Decimal(100),
        targets=[(late.year, 0, 180)],
    )

    lead = UserFactory(username="moda-lead", role="lead", agency=moda, password=PASSWORD)
    secretariat = UserFactory(username="secretariat", role="secretariat", password=PASSWORD)
    for step, quarter in enumerate(quarters, start=1):
        report_in_status(
            node=node,
            status="accepted",
            period=quarter,
            author=lead,
            reviewer=secretariat,
            planned_progress=Decimal(25 * step),
            actual_progress=Decimal(25 * step - 1),
            budget_allocated=Decimal(1_000_000 * quarter.quarter),  # 1,000,000 a quarter, to date in the year
            budget_spent=Decimal(960_000 * quarter.quarter),
            delay_reasons="資料介接測試較預期費時",
            indicator_values=[{"indicator": indicator, "value": Decimal(120 + 20 * step)}],
        )
    # The late quarter brings the year's allocation to date to 6,000,000.
    allocate(node, late.year, late.quarter, Decimal(6_000_000))
    # Others lagging, so the dashboard has a queue and its lights more than one colour.
    # Others: one missing its reports (red), one far behind and under-spending (red), one a little behind
    # (yellow), and one that started this quarter and owes nothing yet (green).
    subproject(measure, "智慧製造推動計畫", moea, start_date=quarters[0].start, end_date=late.end)
    for title, agency, period, actual, spent in (
        ("數位學習精進方案", moe, quarters[0], 18, 560_000),
        ("產業數位轉型計畫", moea, late, 44, 950_000),
    ):
        other = subproject(measure, title, agency, start_date=late.start, end_date=late.end)
        other.start_date = period.start
        other.save()
        report_in_status(
            node=other,
            status="accepted",
            period=period,
            planned_progress=Decimal(50 if period == late else 30),
            actual_progress=Decimal(actual),
            budget_allocated=Decimal(1_000_000 if period == late else 800_000),
            budget_spent=Decimal(spent),
            delay_reasons="採購流標",
        )
    this_quarter = Quarter.containing(today())
    subproject(measure, "5G 智慧應用示範", moe, start_date=this_quarter.start, end_date=this_quarter.end)
    services.lag_scan(as_of=today())
    flags = {flag.rule: flag.pk for flag in LagFlag.objects.filter(node=node, status__in=ACTIVE_STATUSES)}
    assert set(flags) == {LagRule.LATE_REPORT, LagRule.MILESTONE_OVERDUE}, flags
    return SimpleNamespace(node=node, late=late, flags=flags, milestone=last_milestone, indicator=indicator)


@contextlib.contextmanager
def launched():
    with sync_api.sync_playwright() as playwright:
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        yield chromium
        chromium.close()


@pytest.fixture
def browser(scene, live_server):
    with launched() as chromium:
        yield chromium


def sign_in(browser, live_server, username, **context):
    page = browser.new_context(locale="zh-TW", **context).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/")
    assert page.url == f"{live_server.url}/accounts/login/"
    page.get_by_label("使用者名稱").fill(username)  # Django's own labels, in Traditional Chinese
    page.get_by_label("密碼").fill(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    return page


def assert_png(path: Path, *, min_width: int) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= min_width and height > 400, (path, width, height)
    assert len(data) > 20_000, f"{path} is nearly empty ({len(data)} bytes)"


def test_a_report_goes_round_the_review_loop_and_its_flags_leave_the_dashboard(browser, live_server, scene):
    expect = sync_api.expect
    base = live_server.url
    node, late = scene.node, str(scene.late)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()

    # The secretariat's dashboard shows the flags the scan raised, each light in words too.
    desk = sign_in(browser, live_server, "secretariat", viewport={"width": 1366, "height": 900})
    assert desk.url == f"{base}/dashboard/"
    for pk in scene.flags.values():
        expect(desk.locator(f"#flag-{pk}")).to_be_visible()
    expect(desk.locator(f"#flag-{scene.flags[LagRule.LATE_REPORT]}")).to_contain_text("紅燈")
    desk.screenshot(path=SCREENSHOTS / "dashboard.png", full_page=True)
    phone = sign_in(browser, live_server, "secretariat", viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.screenshot(path=SCREENSHOTS / "dashboard-phone.png", full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling of the page

    # 1. The lead lands on what its agency owes and files the missing report.
    lead = sign_in(browser, live_server, "moda-lead", viewport={"width": 1280, "height": 900})
    assert lead.url == f"{base}/agency/"
    owed = lead.locator(f'tr[data-project="{node.pk}"][data-period="{late}"]')
    owed.locator('[data-action="file-report"]').click()
    expect(lead.locator("#id_period")).to_have_value(late)
    lead.locator("#id_planned_progress").fill("100")
    lead.locator("#id_actual_progress").fill("97")
    lead.locator("#id_budget_spent").fill("3000000")  # of 6,000,000 allocated to date: 50 %
    lead.locator("#id_achievements").fill("完成資料開放平臺改版上線")
    lead.locator(f"#id_milestone-{scene.milestone.pk}-completed_on").fill(scene.late.end.isoformat())
    lead.locator(f"#id_indicator-{scene.indicator.pk}-value").fill("185")
    lead.locator("#save-report").click()
    # Behind plan without reasons: refused with the API's message, next to the field.
    expect(lead.locator("#id_delay_reasons_error")).to_be_visible()
    expect(lead.locator("#id_delay_reasons")).to_have_attribute("aria-invalid", "true")
    lead.locator("#id_delay_reasons").fill("系統整合測試延長兩週")
    lead.locator("#id_countermeasures").fill("增派測試人力，按週追蹤")
    lead.locator("#submit-report").click()
    expect(lead.locator("#report-status")).to_have_attribute("data-status", "submitted")
    report_url = lead.url
    report_id = report_url.rstrip("/").rsplit("/", 1)[-1]

    # 2. The secretariat returns it with a reason, from the keyboard.
    desk.goto(f"{base}/dashboard/?reviews=1#reviews")
    row = desk.locator(f"#report-{report_id}")
    row.locator("summary").focus()
    desk.keyboard.press("Enter")
    row.locator("textarea").fill("經費執行率僅 50%，請確認累計執行數。")
    row.locator('[data-action="return"]').press("Enter")
    desk.wait_for_load_state()
    expect(desk.locator(f"#report-{report_id}")).to_have_count(0)
    desk.goto(report_url)
    expect(desk.locator("#report-status")).to_have_attribute("data-status", "returned")

    # 3. The lead sees why, fixes the figure and submits again.
    lead.goto(f"{base}/agency/")
    expect(owed).to_contain_text("經費執行率僅 50%")
    owed.locator('[data-action="open-report"]').click()
    expect(lead.locator("#return-reason")).to_contain_text("經費執行率僅 50%")
    lead.locator("#id_budget_spent").fill("5820000")
    lead.locator("#submit-report").click()
    expect(lead.locator("#report-status")).to_have_attribute("data-status", "submitted")

    # 4. The secretariat accepts it.
    desk.goto(f"{base}/dashboard/?reviews=1#reviews")
    desk.locator(f'#report-{report_id} [data-action="accept"]').click()
    desk.wait_for_load_state()
    expect(desk.locator(f"#report-{report_id}")).to_have_count(0)
    # The flags are still up until the next scan looks again.
    for pk in scene.flags.values():
        expect(desk.locator(f"#flag-{pk}")).to_be_visible()

    # 5. The scan (the job accepting queues, or the nightly one) finds the report in and the milestone done.
    in_thread(services.lag_scan, as_of=today())
    desk.goto(f"{base}/dashboard/")
    for pk in scene.flags.values():
        expect(desk.locator(f"#flag-{pk}")).to_have_count(0)

    # The sub-project is green now; its page shows the accepted quarter in its charts and history.
    desk.goto(f"{base}/projects/{node.pk}/")
    expect(desk.locator("#subproject-light")).to_contain_text("●")
    expect(desk.locator("#subproject-light .light--green")).to_have_count(1)
    expect(desk.locator("#progress-chart")).to_contain_text("97%")
    expect(desk.locator(f"#report-{report_id}")).to_contain_text(late)
    desk.screenshot(path=SCREENSHOTS / "subproject.png", full_page=True)

    assert_png(SCREENSHOTS / "dashboard.png", min_width=1366)
    assert_png(SCREENSHOTS / "dashboard-phone.png", min_width=390)
    assert_png(SCREENSHOTS / "subproject.png", min_width=1366)


# --- the review chain: lead, ministry reviewer (初核), secretariat (複核), reopened and round again -------------


@pytest.fixture
def chain_scene(transactional_db, settings, tmp_path):
    """A plan whose reports go through the ministry before the secretariat; one sub-project of 數位發展部 that
    owes the report of its first quarter; its lead, the ministry's reviewer and the secretariat."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    late = quarter_overdue()
    plan = PlanFactory(code="smart-nation", name="智慧國家方案", start_year=late.year - 1, end_year=late.year + 1)
    LagSettingsFactory(plan=plan, endorsement_required=True)
    moda = AgencyFactory(name="數位發展部", short_name="數位部")
    _, _, _, (node,) = make_tree(plan, lead_agency=moda)
    node.title = "數位身分識別推動計畫"
    node.start_date, node.end_date = late.start, late.next().next().end
    node.save()
    UserFactory(username="moda-lead", role="lead", agency=moda, password=PASSWORD)
    UserFactory(username="moda-reviewer", role="reviewer", agency=moda, password=PASSWORD)
    UserFactory(username="secretariat", role="secretariat", password=PASSWORD)
    return SimpleNamespace(node=node, late=late)


@pytest.fixture
def chain_browser(chain_scene, live_server):
    with launched() as chromium:
        yield chromium


def endorse_from_the_queue(reviewer, base, report_id):
    """The reviewer finds the report on its page, opens it and endorses it, from the keyboard."""
    expect = sync_api.expect
    reviewer.goto(f"{base}/review/")
    row = reviewer.locator(f"#report-{report_id}")
    expect(row).to_be_visible()
    row.locator('[data-action="open-report"]').click()
    expect(reviewer.locator("#report-status")).to_have_attribute("data-status", "submitted")
    reviewer.locator("#endorse-report").focus()
    with reviewer.expect_navigation():
        reviewer.keyboard.press("Enter")
    expect(reviewer.locator("#report-status")).to_have_attribute("data-status", "endorsed")


def accept_from_the_dashboard(desk, base, report_id):
    expect = sync_api.expect
    desk.goto(f"{base}/dashboard/#reviews")
    row = desk.locator(f"#reviews #report-{report_id}")
    expect(row.locator("[data-status]")).to_have_attribute("data-status", "endorsed")
    with desk.expect_navigation():
        row.locator('[data-action="accept"]').click()
    expect(desk.locator(f"#report-{report_id}")).to_have_count(0)
    desk.goto(f"{base}/reports/{report_id}/")
    expect(desk.locator("#report-status")).to_have_attribute("data-status", "accepted")


def test_a_report_with_a_pdf_goes_through_the_ministry_and_the_secretariat_twice(
    chain_browser, live_server, chain_scene
):
    expect = sync_api.expect
    base = live_server.url
    node, late = chain_scene.node, str(chain_scene.late)
    pdf = small_pdf("Q evidence")

    # 1. The lead files the quarter's report, attaches a PDF and submits it.
    lead = sign_in(chain_browser, live_server, "moda-lead", viewport={"width": 1280, "height": 900})
    assert lead.url == f"{base}/agency/"
    lead.locator(f'tr[data-project="{node.pk}"][data-period="{late}"] [data-action="file-report"]').click()
    lead.locator("#id_planned_progress").fill("30")
    lead.locator("#id_actual_progress").fill("30")
    lead.locator("#id_budget_spent").fill("450000")
    lead.locator("#id_achievements").fill("完成數位身分識別需求訪談")
    lead.locator("#save-report").click()
    expect(lead.locator("#report-status")).to_have_attribute("data-status", "draft")
    report_url = lead.url
    report_id = report_url.rstrip("/").rsplit("/", 1)[-1]
    lead.locator("#id_file").set_input_files(
        files=[{"name": "第一季執行成果.pdf", "mimeType": "application/pdf", "buffer": pdf}]
    )
    lead.locator("#add-file").click()
    expect(lead.locator("#file-list")).to_contain_text("第一季執行成果.pdf")
    lead.locator("#submit-report").click()
    expect(lead.locator("#report-status")).to_have_attribute("data-status", "submitted")

    # 2. The ministry's reviewer lands on what waits for its endorsement: the report, with its PDF.
    reviewer = sign_in(chain_browser, live_server, "moda-reviewer", viewport={"width": 1280, "height": 900})
    assert reviewer.url == f"{base}/review/"
    row = reviewer.locator(f"#report-{report_id}")
    expect(row).to_contain_text(node.title)
    link = row.get_by_role("link", name="第一季執行成果.pdf")
    href = link.get_attribute("href")
    assert href.startswith(f"/api/v1/reports/{report_id}/files/")
    download = reviewer.request.get(f"{base}{href}")  # the reviewer's own session, at the API
    assert download.status == 200 and download.body() == pdf
    endorse_from_the_queue(reviewer, base, report_id)
    expect(reviewer.locator("#files")).to_contain_text("第一季執行成果.pdf")

    # 3. The secretariat accepts it from its queue.
    desk = sign_in(chain_browser, live_server, "secretariat", viewport={"width": 1366, "height": 900})
    accept_from_the_dashboard(desk, base, report_id)

    # 4. Then reopens it, saying why.
    reason = "第一季經費執行數與會計報表不符，請更正"
    desk.locator(f"#id_reopen-{report_id}-reason").fill(reason)
    desk.locator("#reopen-report").click()
    expect(desk.locator("#report-status")).to_have_attribute("data-status", "returned")
    expect(desk.locator("#reopened")).to_be_visible()

    # 5. The lead reads why, corrects the figure and submits again.
    lead.goto(report_url)
    expect(lead.locator("#reopen-reason")).to_contain_text(reason)
    expect(lead.locator("#accepted-figures")).to_contain_text("450,000")
    lead.locator("#id_budget_spent").fill("420000")
    lead.locator("#submit-report").click()
    expect(lead.locator("#report-status")).to_have_attribute("data-status", "submitted")

    # 6. The reviewer endorses the correction, the secretariat accepts it: the report is no longer reopened.
    endorse_from_the_queue(reviewer, base, report_id)
    accept_from_the_dashboard(desk, base, report_id)
    expect(desk.locator("#reopened")).to_have_count(0)
    history = desk.locator("#history")
    expect(history).to_contain_text("重新開啟")
    expect(history).to_contain_text("新增佐證資料")
    expect(history.get_by_text("初核通過", exact=True)).to_have_count(2)  # two endorsements, each named once
    report = in_thread(QuarterlyReport.objects.get, pk=report_id)
    assert (report.status, report.budget_spent, report.is_reopened) == ("accepted", Decimal("420000"), False)


# --- a plan revision (計畫修正): requested by the lead, approved by the secretariat, seen now and as of before -----


@pytest.fixture
def revision_scene(transactional_db):
    """A sub-project of 數位發展部 with an accepted report and a milestone to come, recorded in history as standing
    since a week ago (so the page as of yesterday shows it); no ministry endorsement in its plan."""
    late = quarter_overdue()
    plan = PlanFactory(code="smart-nation", name="智慧國家方案", start_year=late.year - 1, end_year=late.year + 2)
    moda = AgencyFactory(name="數位發展部", short_name="數位部")
    _, _, _, (node,) = make_tree(plan, lead_agency=moda)
    node.title = "數位身分識別推動計畫"
    node.start_date, node.end_date = late.start, late.next().next().end
    node.save()
    milestone = MilestoneFactory(node=node, title="系統上線", planned_date=late.next().end)
    lead = UserFactory(username="moda-lead", role="lead", agency=moda, password=PASSWORD)
    secretariat = UserFactory(username="secretariat", role="secretariat", password=PASSWORD)
    report_in_status(node=node, status="accepted", period=late, author=lead, reviewer=secretariat)
    week_ago = timezone.now() - datetime.timedelta(days=7)
    for model in registered_models.values():
        model.history.update(history_date=week_ago)
    return SimpleNamespace(node=node, milestone=milestone, late=late)


@pytest.fixture
def revision_browser(revision_scene, live_server):
    with launched() as chromium:
        yield chromium


def test_a_revision_moves_the_end_date_and_the_page_as_of_the_day_before_shows_the_old_one(
    revision_browser, live_server, revision_scene
):
    expect = sync_api.expect
    base = live_server.url
    node, milestone, late = revision_scene.node, revision_scene.milestone, revision_scene.late
    start, old_end, new_end = late.start.isoformat(), node.end_date.isoformat(), late.next().next().next().end
    old_date, new_date = milestone.planned_date.isoformat(), late.next().next().end.isoformat()

    # 1. The lead opens the sub-project and requests the revision, saying why.
    lead = sign_in(revision_browser, live_server, "moda-lead", viewport={"width": 1280, "height": 900})
    lead.goto(f"{base}/projects/{node.pk}/")
    lead.get_by_role("link", name="申請計畫修正").click()
    lead.get_by_label("新的結束日期").fill(new_end.isoformat())
    lead.locator(f"#id_milestone-{milestone.pk}-planned_date").fill(new_date)
    lead.locator("#id_reason").fill("系統整合測試延長，展延一季")
    with lead.expect_navigation():
        lead.get_by_role("button", name="送出計畫修正申請").click()
    expect(lead.locator(".messages")).to_contain_text(f"已申請「{node.title}」的計畫修正。")

    # 2. The secretariat finds it among what waits for it and approves it with a reason, from the keyboard.
    desk = sign_in(revision_browser, live_server, "secretariat", viewport={"width": 1366, "height": 900})
    desk.get_by_role("navigation", name="主選單").get_by_role("link", name="計畫修正").click()
    desk.locator("#revisions-waiting tr", has_text=node.title).get_by_role("link").click()
    expect(desk.locator("#revision-changes")).to_contain_text(new_end.isoformat())
    desk.get_by_label("原因（選填）").fill("展延理由充分，同意")
    desk.get_by_role("button", name="核定").focus()
    with desk.expect_navigation():
        desk.keyboard.press("Enter")
    expect(desk.locator(".messages")).to_contain_text("已核定計畫修正：即為新的基準。")
    expect(desk.locator("#revision-status")).to_have_text("核定")
    expect(desk.locator("#revision-actions")).to_have_count(0)

    # 3. The sub-project page: the new end date, the original one, and the milestone's dates old and new.
    lead.goto(f"{base}/projects/{node.pk}/")
    about = lead.locator(".facts")
    expect(about).to_contain_text(f"{start} – {new_end.isoformat()}")
    expect(lead.locator("#subproject-baseline")).to_contain_text(f"第 2 版 · 原計畫結束日期 {old_end}")
    expect(lead.locator("#milestone-timeline-desc")).to_contain_text(f"系統上線: 預定 {new_date} (原計畫 {old_date})")
    expect(lead.locator("#milestones tbody tr", has_text="系統上線")).to_contain_text(old_date)
    expect(lead.get_by_role("link", name="申請計畫修正")).to_be_visible()

    # 4. As of the day before the approval: the old end date, a banner, nothing to act on.
    lead.get_by_label("查詢日期").fill((today() - datetime.timedelta(days=1)).isoformat())
    with lead.expect_navigation():
        lead.get_by_role("button", name="顯示當時狀態").click()
    expect(lead.locator("#as-of-banner")).to_contain_text("無法在此進行任何操作")
    expect(about).to_contain_text(f"{start} – {old_end}")
    expect(about).not_to_contain_text(new_end.isoformat())
    expect(lead.locator("#milestone-timeline-desc")).to_contain_text(f"系統上線: 預定 {old_date}")
    expect(lead.locator("#milestone-timeline-desc")).not_to_contain_text("原計畫")
    expect(lead.get_by_role("link", name="申請計畫修正")).to_have_count(0)
    expect(lead.get_by_role("link", name="填報季報")).to_have_count(0)
    expect(lead.locator("main form[method=post]")).to_have_count(0)

    assert in_thread(Baseline.objects.filter(node=node, version=2).exists)


# --- the year's assessment (年度考評): self-assessment, ministry review, final scores, publication ----------------


@pytest.fixture
def assessment_scene(transactional_db):
    """A plan's 2024 assessment opened by the secretariat: one sub-project of 數位發展部 with GSTP's suggested
    scores; its lead, the ministry's reviewer, the secretariat and a reader."""
    from assessments import services as assessment_services
    from assessments.models import Score

    plan = PlanFactory(code="smart-nation", name="智慧國家方案", start_year=2023, end_year=2026)
    moda = AgencyFactory(name="數位發展部", short_name="數位部")
    _, _, _, (node,) = make_tree(plan, lead_agency=moda)
    node.title = "數位身分識別推動計畫"
    node.save()
    UserFactory(username="moda-lead", role="lead", agency=moda, password=PASSWORD)
    UserFactory(username="moda-reviewer", role="reviewer", agency=moda, password=PASSWORD)
    UserFactory(username="reader", role="reader", password=PASSWORD)
    secretariat = UserFactory(username="secretariat", role="secretariat", password=PASSWORD)
    scheme = assessment_services.scheme_open(actor=secretariat, plan=plan, year=2024)
    assessment = scheme.assessments.get()
    for key, suggested, evidence in (
        ("progress", "80", {"planned_progress": "80.00", "actual_progress": "76.00", "gap": "-4.00"}),
        ("budget", "90", {"execution_rate": "92.40"}),
        ("targets", "85", {"indicators": 4, "met": 3}),
    ):
        Score.objects.filter(assessment=assessment, criterion__key=key).update(suggested=suggested, evidence=evidence)
    return SimpleNamespace(node=node, scheme=scheme, assessment=assessment)


@pytest.fixture
def assessment_browser(assessment_scene, live_server):
    with launched() as chromium:
        yield chromium


def open_from_the_menu(page, assessment_id, menu_entry):
    expect = sync_api.expect
    nav = page.get_by_role("navigation", name="主選單")
    expect(nav.locator("#nav-assessments")).to_contain_text(menu_entry)
    nav.locator("#nav-assessments").click()
    page.locator(f'#assessment-{assessment_id} [data-action="open-assessment"]').click()


def test_a_sub_project_is_scored_through_the_three_levels_and_published(
    assessment_browser, live_server, assessment_scene
):
    expect = sync_api.expect
    assessment_id, node = assessment_scene.assessment.pk, assessment_scene.node
    viewport = {"viewport": {"width": 1280, "height": 900}}

    # 1. The lead opens what waits for it, reads each suggestion with its figures, scores and submits.
    lead = sign_in(assessment_browser, live_server, "moda-lead", **viewport)
    expect(lead.locator("#nav-assessments-waiting")).to_contain_text("1")
    open_from_the_menu(lead, assessment_id, "年度考評")
    expect(lead.locator("#suggestion-progress")).to_contain_text("預定 80.00%、實際 76.00%、落後 4.00 個百分點")
    expect(lead.locator("#suggestion-budget")).to_contain_text("執行率 92.40%")
    for key, value, note in (
        ("progress", "90", "系統上線，完成預定查核點"),
        ("budget", "80", "執行率 92%"),
        ("targets", "85", "四項指標達成三項"),
        ("management", "95", "季報皆準時填報"),
    ):
        lead.locator(f"#id_score-{key}").fill(value)
        lead.locator(f"#id_note-{key}").fill(note)
    expect(lead.locator("#running-total")).to_have_text("87.50")  # 27 + 16 + 25.5 + 19
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    lead.screenshot(path=SCREENSHOTS / "assessment-form.png", full_page=True)
    with lead.expect_navigation():
        lead.locator("#submit-assessment").click()
    expect(lead.locator("#assessment-status")).to_have_attribute("data-status", "submitted")
    expect(lead.locator("#self-total")).to_have_text("87.5")

    # 2. The ministry's reviewer lowers one score, saying why, and passes it on (初核).
    reviewer = sign_in(assessment_browser, live_server, "moda-reviewer", **viewport)
    open_from_the_menu(reviewer, assessment_id, "考評複核")
    expect(reviewer.locator("#criterion-progress")).to_contain_text("系統上線，完成預定查核點")
    reviewer.locator("#id_score-progress").fill("80")
    reviewer.locator("#id_note-progress").fill("查核點落後一季，酌減")
    with reviewer.expect_navigation():
        reviewer.locator("#endorse-assessment").click()
    expect(reviewer.locator("#assessment-status")).to_have_attribute("data-status", "endorsed")
    expect(reviewer.locator("#review-total")).to_have_text("84.5")

    # 3. The secretariat sets the final scores (複核), then publishes the year.
    desk = sign_in(assessment_browser, live_server, "secretariat", viewport={"width": 1366, "height": 900})
    open_from_the_menu(desk, assessment_id, "考評複核")
    expect(desk.locator("#criterion-progress")).to_contain_text("查核點落後一季，酌減")
    desk.locator("#id_score-progress").fill("82")
    desk.locator("#id_note-progress").fill("已提出補救計畫，酌予回復")
    expect(desk.locator("#running-total")).to_have_text("85.10")
    desk.screenshot(path=SCREENSHOTS / "assessment-final.png", full_page=True)
    with desk.expect_navigation():
        desk.locator("#finalize-assessment").click()
    expect(desk.locator("#assessment-status")).to_have_attribute("data-status", "finalized")
    expect(desk.locator("#assessment-grade")).to_have_text("甲等")
    desk.get_by_role("link", name="智慧國家方案 2024 年度考評").click()
    expect(desk.locator('#status-counts [data-status="finalized"]')).to_have_text("1")
    with desk.expect_navigation():
        desk.locator("#publish-scheme").click()
    expect(desk.locator(".messages")).to_contain_text("已公布")

    # 4. A reader sees the grade, and nothing of the scores behind it.
    reader = sign_in(assessment_browser, live_server, "reader", **viewport)
    reader.get_by_role("navigation", name="主選單").get_by_role("link", name="考評結果").click()
    reader.get_by_role("link", name="智慧國家方案 2024 年度考評").click()
    row = reader.locator(f"#result-{assessment_id}")
    expect(row).to_contain_text(node.title)
    expect(row).to_contain_text("甲等")
    expect(row).to_contain_text("85.1")
    expect(reader.locator("main")).not_to_contain_text("酌減")
    assert_png(SCREENSHOTS / "assessment-form.png", min_width=1280)
