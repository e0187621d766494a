"""The published assessment in the annual report: its own chapter after the report's, with the grades by group
as a table and a chart, and every sub-project's grade and final total; nothing before publication, and never
the levels' scores or reasons."""

import io

import pytest
from docx import Document
from lxml import etree

from assessments import services
from assessments.models import AssessmentStatus
from reviews.annual import annual_report_build, publication_reader
from reviews.annual.docx import render_docx
from reviews.annual.markdown import render_markdown
from tests.accounts.factories import secretariat_user

from .factories import SELF_SCORES, chain, open_scheme, scores

pytestmark = pytest.mark.django_db

CHART_NS = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart"}
SECRET_NOTE = "機密理由甲乙丙"


def finalize_all(agency, scheme, assessments, finals):
    """Each assessment through the three levels, the secretariat setting ``finals`` (progress) on each."""
    for assessment, progress in zip(assessments, finals, strict=True):
        people = chain(agency=agency, scheme_and_assessments=(scheme, [assessment]))
        services.assessment_score(
            actor=people.lead,
            assessment=assessment,
            expected_version=None,
            entries=scores(SELF_SCORES, note=SECRET_NOTE),
        )
        services.assessment_submit(actor=people.lead, assessment=assessment, expected_version=None)
        services.assessment_endorse(actor=people.reviewer, assessment=assessment, expected_version=None)
        services.assessment_score(
            actor=people.secretariat,
            assessment=assessment,
            expected_version=None,
            entries=[{"criterion": "progress", "score": progress, "note": SECRET_NOTE}],
        )
        services.assessment_finalize(actor=people.secretariat, assessment=assessment, expected_version=None)
    return people


@pytest.fixture
def published(agency):
    scheme, assessments = open_scheme(agency=agency, subprojects=3)
    # Self-assessed 87.50 each; the secretariat's progress: 100 → 90.50 優等, 70 → 81.50 甲等, 20 → 66.50 丙等.
    people = finalize_all(agency, scheme, assessments, ("100", "70", "20"))
    return scheme, assessments, people


def chapter_of(markdown: str) -> str:
    start = markdown.index("年度考評結果")
    return markdown[markdown.rindex("\n#", 0, start) :]


def test_before_publication_the_report_has_no_assessment_chapter(published):
    scheme, _assessments, people = published
    for user in (people.secretariat, publication_reader()):
        markdown = render_markdown(annual_report_build(plan=scheme.plan, year=2024, user=user))
        assert "年度考評" not in markdown
        assert SECRET_NOTE not in markdown


def test_after_publication_the_chapter_has_the_grades_by_group_and_every_subproject(published):
    scheme, assessments, people = published
    services.scheme_publish(actor=people.secretariat, scheme=scheme)
    report = annual_report_build(plan=scheme.plan, year=2024, user=publication_reader())
    markdown = render_markdown(report)
    chapter = chapter_of(markdown)
    # The report's own chapters are 壹 (foreword), 貳 (its one group) and 參 (flags): this one is 肆.
    assert chapter.lstrip("\n").startswith("## 肆、2024 年度考評結果")
    assert "計畫執行進度 30%、經費執行 20%、目標達成 30%、作業管理 20%" in chapter
    assert "優等 90 分以上、甲等 80 分以上、乙等 70 分以上、丙等未滿 70 分" in chapter
    group = assessments[0].node.parent.parent.parent.title
    assert f"| {group} | 1 | 1 | 0 | 1 | 3 |" in chapter
    assert "| 合計 | 1 | 1 | 0 | 1 | 3 |" in chapter
    for assessment, total, grade in zip(
        assessments, ("90.50", "81.50", "66.50"), ("優等", "甲等", "丙等"), strict=True
    ):
        assert f"| {assessment.node.title} | 數位部 | {total} | {grade} |" in chapter
    # What publication does not make public: the levels' scores and reasons.
    assert SECRET_NOTE not in markdown and "87.50" not in markdown

    document = Document(io.BytesIO(render_docx(report)))
    charts = [part for part in document.part.package.iter_parts() if part.partname.startswith("/word/charts/chart")]
    assert len(charts) == 1
    xml = etree.fromstring(charts[0].blob)
    categories = [point.text for point in xml.iterfind(".//c:cat//c:pt/c:v", CHART_NS)]
    values = [point.text for point in xml.iterfind(".//c:val//c:pt/c:v", CHART_NS)]
    assert categories == ["優等", "甲等", "乙等", "丙等"]
    assert [float(value) for value in values] == [1, 1, 0, 1]


def test_the_chapter_reads_a_fixed_number_of_queries(agency, django_assert_max_num_queries):
    from assessments.annual import assessment_chapter

    scheme, assessments = open_scheme(agency=agency, subprojects=4)
    finalize_all(agency, scheme, assessments, ("100", "90", "80", "70"))
    services.scheme_publish(actor=secretariat_user(), scheme=scheme)
    with django_assert_max_num_queries(6):
        blocks = assessment_chapter(plan=scheme.plan, year=2024, user=publication_reader(), number="伍")
    assert len(blocks) == 7
    assert all(a.status == AssessmentStatus.FINALIZED for a in scheme.assessments.all())
