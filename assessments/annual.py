"""The year's assessment in the annual report (``export_report``): once the secretariat publishes a plan's
results of the year, a chapter of their own after the report's: the grades counted by group, as a table and a
bar chart, then every sub-project's grade and final total, in plan order. Before publication, no chapter.

Only what publication makes public is written: grades and final totals, never the levels' scores or reasons.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from django.utils import timezone

from gstp.calendar import format_year
from reviews.annual import Chart, Heading, Paragraph, Row, Series, Table, chinese_numeral, numbered
from reviews.annual.wording import date_text

from . import selectors
from .models import AssessmentScheme

TITLE = "{year} 年度考評結果"
INTRO = (
    "{year} 年度考評就 {count} 項子計畫，依{criteria}評分，等第為{bands}；"
    "經主辦機關自評、部會初核及執行秘書室複核，於 {published}公布。"
)
GRADES_HEADING = "等第分布"
GRADES_CAPTION = "表、{year} 年度考評等第分布（依分組）"
CHART_TITLE = "{year} 年度考評等第分布"
CHART_CAPTION = "圖、{year} 年度考評等第分布（依分組）"
GROUP_COLUMN = "分組"
TOTAL = "合計"
COUNT_LABEL = "子計畫數"
RESULTS_HEADING = "各子計畫考評結果"
RESULTS_CAPTION = "表、{year} 年度各子計畫考評結果"
RESULT_COLUMNS = ("子計畫", "主辦機關", "總分", "等第")


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:.2f}"


def _agency_name(agency) -> str:
    return (agency.short_name or agency.name) if agency else ""


def _bands_text(scheme: AssessmentScheme) -> str:
    """優等 90 分以上、甲等 80 分以上、乙等 70 分以上、丙等未滿 70 分."""
    bands = sorted(scheme.bands.all(), key=lambda band: band.minimum, reverse=True)
    parts = []
    for index, band in enumerate(bands):
        if band.minimum:
            parts.append(f"{band.name} {_number(band.minimum)} 分以上")
        elif index:
            parts.append(f"{band.name}未滿 {_number(bands[index - 1].minimum)} 分")
        else:
            parts.append(band.name)
    return "、".join(parts)


def assessment_chapter(*, plan, year: int, user, number: str) -> list:
    scheme = (
        AssessmentScheme.objects.filter(plan=plan, year=year, published_at__isnull=False)
        .prefetch_related("criteria", "bands")
        .first()
    )
    if scheme is None:
        return []
    assessments = selectors.published_assessments(scheme=scheme, user=user)
    if not assessments:
        return []
    year_text = format_year(year)
    grades = selectors.grade_names(scheme)
    leads = selectors.lead_agencies_of(assessment.node_id for assessment in assessments)
    groups = selectors.count_grades(assessments, by="group")
    overall = Counter(assessment.grade for assessment in assessments)

    blocks: list = [Heading(1, numbered(number, TITLE.format(year=year_text)))]
    criteria = "、".join(f"{criterion.name} {_number(criterion.weight)}%" for criterion in scheme.criteria.all())
    blocks.append(
        Paragraph(
            INTRO.format(
                year=year_text,
                count=len(assessments),
                criteria=criteria,
                bands=_bands_text(scheme),
                published=date_text(timezone.localdate(scheme.published_at)),
            )
        )
    )
    blocks.append(Heading(2, numbered(chinese_numeral(1), GRADES_HEADING)))
    rows = [
        Row((group["label"], *(str(group["grades"].get(grade, 0)) for grade in grades), str(group["total"])))
        for group in groups
    ]
    rows.append(Row((TOTAL, *(str(overall[grade]) for grade in grades), str(len(assessments)))))
    blocks.append(
        Table(
            columns=(GROUP_COLUMN, *grades, TOTAL),
            rows=tuple(rows),
            caption=GRADES_CAPTION.format(year=year_text),
        )
    )
    blocks.append(
        Chart(
            title=CHART_TITLE.format(year=year_text),
            categories=tuple(grades),
            series=tuple(
                Series(group["label"], tuple(group["grades"].get(grade, 0) for grade in grades)) for group in groups
            ),
            category_label="等第",
            value_label=COUNT_LABEL,
            caption=CHART_CAPTION.format(year=year_text),
        )
    )
    blocks.append(Heading(2, numbered(chinese_numeral(2), RESULTS_HEADING)))
    blocks.append(
        Table(
            columns=RESULT_COLUMNS,
            rows=tuple(
                Row(
                    (
                        assessment.node.title,
                        _agency_name(leads.get(assessment.node_id)),
                        f"{assessment.final_total:.2f}",
                        assessment.grade,
                    )
                )
                for assessment in assessments
            ),
            caption=RESULTS_CAPTION.format(year=year_text),
        )
    )
    return blocks
