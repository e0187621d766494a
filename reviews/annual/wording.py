"""How the annual report words its numbers, dates, headings, agencies and the evidence of a flag."""

from __future__ import annotations

import datetime
import unicodedata
from decimal import Decimal

from gstp.calendar import format_date, format_period, format_year
from projects.models import AgencyRole, PlanNode

from ..models import LagRule
from . import texts

CAPITAL_DIGITS = "零壹貳參肆伍陸柒捌玖"
DIGITS = "〇一二三四五六七八九"


def _numeral(number: int, digits: str, ten: str) -> str:
    if not 0 < number < 100:
        return str(number)
    tens, units = divmod(number, 10)
    text = (digits[tens] if tens > 1 else "") + (ten if tens else "")
    return text + (digits[units] if units else "")


def capital_numeral(number: int) -> str:
    """壹, 貳, … 拾壹: the numbers of a report's chapters."""
    return _numeral(number, CAPITAL_DIGITS, "拾")


def chinese_numeral(number: int) -> str:
    """一, 二, … 十一: the numbers of a chapter's sections."""
    return _numeral(number, DIGITS, "十")


def numbered(number: str, title: str) -> str:
    """A title with its number written the official way: 貳、 二、 (一) 1. (1)."""
    if not number:
        return title
    if number.startswith(("(", "（")):
        return f"{number} {title}"
    if number.isascii() and number.isdigit():
        return f"{number}. {title}"
    return f"{number}、{title}"


def display_width(text: str) -> int:
    """How many columns ``text`` takes in a fixed-width font: two for a CJK character, one for the rest."""
    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)


def agencies_tag(node: PlanNode) -> str:
    """【lead agencies】 as the report tags a sub-project (agency links prefetched, in their order)."""
    names = [agency.name for agency in node.agencies_in_role(AgencyRole.LEAD)]
    return f"{texts.OPEN_BRACKET}{texts.SEPARATOR.join(names)}{texts.CLOSE_BRACKET}" if names else ""


def date_text(day: datetime.date) -> str:
    """113 年 7 月 1 日 (or 2024 年 7 月 1 日), as the report's calendar writes the year."""
    return texts.DATE.format(year=format_year(day.year), month=day.month, day=day.day)


def day_text(value) -> str:
    """A day a flag's evidence holds (ISO 8601) as the report's calendar writes it; anything else as it is."""
    try:
        return format_date(datetime.date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def number_text(value, unit: str = "", *, places: int = 4) -> str:
    """6.5 兆元, 83.3%, 1,561 人次: at most ``places`` decimals, no trailing zeros, thousands separated."""
    if value is None:
        return texts.NOT_AVAILABLE
    text = f"{Decimal(value).quantize(Decimal(1).scaleb(-places)).normalize():,f}"
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def percent_text(value) -> str:
    return number_text(value, "%")


def money_text(value) -> str:
    return texts.NOT_AVAILABLE if value is None else f"{Decimal(value).quantize(Decimal(1)):,}"


def evidence_text(rule: str, evidence: dict) -> str:
    """A flag's evidence in one sentence; empty when the evidence lacks what its rule writes."""
    try:
        text = _EVIDENCE[rule](evidence)
    except (KeyError, TypeError, ArithmeticError, ValueError):
        return ""
    escalated = evidence.get("escalated")
    if isinstance(escalated, dict) and escalated.get("previous_period"):
        text += texts.EVIDENCE_ESCALATED.format(previous_period=format_period(escalated["previous_period"]))
    return text


def _late_evidence(evidence: dict) -> str:
    status = evidence["report_status"]
    text = texts.EVIDENCE_LATE.format(
        due_on=day_text(evidence["due_on"]),
        days_late=evidence["days_late"],
        kind=texts.REPORT_KINDS[evidence.get("kind", "quarterly")],
        report_status=texts.REPORT_STATUSES.get(status, status),
    )
    if evidence.get("days_since_returned") is not None:
        text += texts.EVIDENCE_RETURNED.format(days_since_returned=evidence["days_since_returned"])
    return text


def _milestone_evidence(evidence: dict) -> str:
    text = texts.EVIDENCE_MILESTONE.format(title=evidence["title"], planned_date=day_text(evidence["planned_date"]))
    if evidence.get("days_overdue"):
        text += texts.EVIDENCE_MILESTONE_OVERDUE.format(days_overdue=evidence["days_overdue"])
    if evidence.get("forecast_date"):
        text += texts.EVIDENCE_MILESTONE_FORECAST.format(forecast_date=day_text(evidence["forecast_date"]))
    reasons = [
        texts.EVIDENCE_MILESTONE_REASONS[reason].format(red_over_days=evidence.get("red_over_days", ""))
        for reason in evidence.get("red_because", [])
        if reason in texts.EVIDENCE_MILESTONE_REASONS
    ]
    if reasons:
        text += f"（{texts.SEPARATOR.join(reasons)}）"
    if evidence.get("overdue_milestones", 1) > 1:
        text += texts.EVIDENCE_MILESTONE_MORE.format(more=evidence["overdue_milestones"] - 1)
    return text


def _gap_evidence(evidence: dict) -> str:
    return texts.EVIDENCE_GAP.format(
        planned=percent_text(evidence["planned_progress"]),
        actual=percent_text(evidence["actual_progress"]),
        gap=number_text(evidence["gap"]),
        red=number_text(evidence["red_at_or_below"]),
    )


def _budget_evidence(evidence: dict) -> str:
    return texts.EVIDENCE_BUDGET.format(
        rate=percent_text(evidence["execution_rate"]),
        spent=money_text(evidence["budget_spent"]),
        # Flags raised before payables and savings counted have neither: none was counted.
        payables=money_text(evidence.get("budget_payables", "0")),
        savings=money_text(evidence.get("budget_savings", "0")),
        allocated=money_text(evidence["budget_allocated"]),
        red=percent_text(evidence["red_below"]),
    )


def _indicator_evidence(evidence: dict) -> str:
    return texts.EVIDENCE_INDICATOR.format(
        name=evidence["name"],
        actual=number_text(evidence["actual"], places=2),
        expected=number_text(evidence["expected"], places=2),
        target=number_text(evidence["target"], places=2),
        target_year=format_year(int(evidence["target_year"])),
        ratio=number_text(evidence["ratio"]),
    )


def _review_overdue_evidence(evidence: dict) -> str:
    names = [ministry["name"] for ministry in evidence.get("reviewing_ministries") or []]
    return texts.EVIDENCE_REVIEW_OVERDUE.format(
        submitted_on=day_text(evidence["submitted_on"]),
        ministries=texts.SEPARATOR.join(names) or texts.REVIEWING_MINISTRY,
        days_waiting=evidence["days_waiting"],
        threshold_days=evidence["threshold_days"],
    )


def _rebaselined_evidence(evidence: dict) -> str:
    return texts.EVIDENCE_REBASELINED.format(
        original_end_date=day_text(evidence["original_end_date"]),
        current_end_date=day_text(evidence["current_end_date"]),
        days_moved=evidence["days_moved"],
        revisions=evidence["revisions"],
    )


_EVIDENCE = {
    LagRule.LATE_REPORT: _late_evidence,
    LagRule.MILESTONE_OVERDUE: _milestone_evidence,
    LagRule.PROGRESS_GAP: _gap_evidence,
    LagRule.BUDGET_EXECUTION: _budget_evidence,
    LagRule.INDICATOR_BEHIND: _indicator_evidence,
    LagRule.REVIEW_OVERDUE: _review_overdue_evidence,
    LagRule.REBASELINED: _rebaselined_evidence,
}
