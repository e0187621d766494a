"""Examples for the OpenAPI schema, by component name: what the API answers for the 2024 plan
(sub-project 超高速寬頻網路普及 of 數位發展部, its report for a past quarter, a red flag). Each one is checked
against its component's schema by the test suite, so they stay true to the API.

The report to file and what is owed name the current quarter (``dated_examples``): it has begun, so a lead may
file it, and the demo data (``seed_demo``) leaves it without a report whatever the day it was loaded, so the
example is one the demo accepts."""

import datetime

TAIPEI_TIME = "2026-01-11T10:00:00+08:00"

PROJECT = {
    "id": 3,
    "plan": 1,
    "parent": 2,
    "kind": "subproject",
    "number": "(一)",
    "position": 0,
    "title": "超高速寬頻網路普及",
    "description": "",
    "convening_agency": None,
    "lead_agencies": [{"id": 1, "name": "數位發展部", "short_name": "數位部"}],
    "co_agencies": [],
    "start_date": "2024-01-01",
    "end_date": "2025-12-31",
    "budget": "30000000",
    "control_level": "executive_yuan",
    "light": "red",
    "baseline": {
        "version": 2,
        "original": {"start_date": "2024-01-01", "end_date": "2025-09-30"},
        "current": {"start_date": "2024-01-01", "end_date": "2025-12-31"},
    },
    "updated_at": TAIPEI_TIME,
}

REPORT = {
    "id": 16,
    "project": 3,
    "plan": 1,
    "period": "2025Q4",
    "kind": "quarterly",
    "year": 2025,
    "quarter": 4,
    "month": None,
    "status": "accepted",
    "version": 3,
    "etag": '"16-3"',
    "planned_progress": "100.00",
    "actual_progress": "92.50",
    "budget_spent": "25800000",
    "budget_payables": "2700000",
    "budget_savings": "300000",
    "budget_forecast_rate": "98.00",
    "budget_explanation": "",
    "achievements": "完成 2Gbps 網路建設，涵蓋率 83.3%。",
    "delay_reasons": "採購作業延宕，系統整合測試較預期費時。",
    "countermeasures": "調整採購時程，增加測試人力。",
    "progress_explanation": "",
    "milestone_entries": [{"milestone": 4, "completed_on": None, "forecast_date": "2026-03-31", "note": ""}],
    "indicator_values": [{"indicator": 14, "value": "2225.0000", "text": ""}],
    "budget_allocated": "30000000",
    "execution_rate": "96.0",
    "due_on": "2026-01-10",
    "is_late": False,
    "submitted_on_time": True,
    "first_submitted_at": "2026-01-06T10:00:00+08:00",
    "submitted_at": "2026-01-06T10:00:00+08:00",
    "returned_at": None,
    "return_reason": "",
    "endorsed_at": TAIPEI_TIME,
    "accepted_at": TAIPEI_TIME,
    "reopened_at": None,
    "reopen_reason": "",
    "created_at": "2025-12-21T10:00:00+08:00",
    "updated_at": TAIPEI_TIME,
}

FLAG = {
    "id": 1,
    "project": 3,
    "rule": "progress_gap",
    "period": "2025Q4",
    "severity": "yellow",
    "status": "acknowledged",
    "evidence": {
        "rule": "progress_gap",
        "period": "2025Q4",
        "report": 16,
        "planned_progress": "100",
        "actual_progress": "92.5",
        "gap": "-7.5",
        "yellow_at_or_below": "-5",
        "red_at_or_below": "-10",
    },
    "opened_at": "2026-01-12T02:00:00+08:00",
    "severity_raised_at": None,
    "acknowledged_at": "2026-01-12T09:30:00+08:00",
    "resolved_at": None,
    "resolution": "",
    "updated_at": "2026-01-12T09:30:00+08:00",
    "acknowledged_by": "secretariat",
    "resolved_by": None,
    "resolution_reason": "",
    "comments": [
        {
            "id": 1,
            "author": "moda-lead",
            "kind": "improvement_plan",
            "body": "調整採購時程，2026Q1 完成系統上線。",
            "created_at": "2026-01-13T15:00:00+08:00",
        }
    ],
}

EXAMPLES = {
    "Agency": {
        "id": 1,
        "name": "數位發展部",
        "short_name": "數位部",
        "aliases": ["數位部", "數發部"],
        "parent": None,
        "updated_at": TAIPEI_TIME,
    },
    "Plan": {
        "id": 1,
        "code": "plan-2021-2025",
        "name": "智慧國家方案",
        "start_year": 2021,
        "end_year": 2025,
        "secretariat": "國家科學及技術委員會",
        "report_due_days": 10,
        "updated_at": TAIPEI_TIME,
    },
    "Project": PROJECT,
    "Milestone": {
        "id": 1,
        "project": 3,
        "title": "需求訪談與規劃完成",
        "planned_date": "2024-06-30",
        "forecast_date": None,
        "completed_on": "2024-06-25",
        "weight": "20.00",
        "is_critical": False,
        "baseline": {
            "version": 2,
            "original": {"planned_date": "2024-06-30", "weight": "20.00"},
            "current": {"planned_date": "2024-06-30", "weight": "20.00"},
        },
        "updated_at": TAIPEI_TIME,
    },
    "Indicator": {
        "id": 14,
        "plan": 1,
        "project": 3,
        "owner": "subproject",
        "key": "貳/二/(一)/usage",
        "dimension": "",
        "name": "服務使用人次",
        "unit": "人次",
        "measure": "number",
        "direction": "higher",
        "is_cumulative": True,
        "baseline": {"year": 2023, "value": "1000.0000"},
        "targets": [
            {"year": 2024, "quarter": 0, "value": "1600.0000"},
            {"year": 2025, "quarter": 0, "value": "2200.0000"},
        ],
        "actuals": [
            {
                "year": 2025,
                "quarter": 3,
                "value": "2225.0000",
                "text": "",
                "is_estimate": False,
                "as_of": "2025-09-30",
                "source": "季報 2025Q3",
            }
        ],
        "evaluation": {
            "as_of": "2026-01-20",
            "actual": "2225.0000",
            "expected": "2200.0000",
            "target": "2200.0000",
            "target_year": 2025,
            "ratio": "1.0208",
            "status": "met",
        },
        "note": "",
        "updated_at": TAIPEI_TIME,
    },
    "Report": REPORT,
    "Flag": FLAG,
    "LightCount": {"id": 1, "name": "數位基盤分組", "red": 7, "yellow": 2, "green": 10, "total": 19},
    "OverallRow": {
        "indicator": 1,
        "dimension": "創新數位經濟",
        "name": "數位經濟規模",
        "unit": "兆元",
        "target_year": 2025,
        "target": "6.5000",
        "result_year": 2024,
        "result": "9.3000",
        "result_is_estimate": True,
        "met": True,
    },
    "ReportEvent": {
        "id": 44,
        "action": "return",
        "actor": "secretariat",
        "at": "2026-01-08T10:00:00+08:00",
        "from_status": "submitted",
        "to_status": "returned",
        "version": 3,
        "changes": {},
        "reason": "預算執行率與附件不符，請更正。",
    },
    "Deletion": {"resource": "milestones", "id": 9, "deleted_at": TAIPEI_TIME},
    "PatchedReportUpdateRequest": {"actual_progress": "73.00", "delay_reasons": "採購作業延宕兩週。"},
    "ReturnRequest": {"reason": "預算執行率與附件不符，請更正。"},
    "ResolveRequest": {"reason": "已於 2026Q1 補提季報。", "override": False},
    "ControlLevelRequest": {"control_level": "executive_yuan", "reason": "行政院指定為重點列管計畫。"},
    "CommentRequest": {"body": "調整採購時程，2026Q1 完成系統上線。", "kind": "improvement_plan"},
    "ActualWriteRequest": {
        "year": 2024,
        "quarter": 0,
        "value": "9.3",
        "is_estimate": True,
        "as_of": "2024-12-31",
        "source": "113 年階段成果報告",
    },
    "SignInRequest": {"username": "moda-lead", "password": "moda-lead-demo"},
    "SignedInUser": {
        "username": "moda-lead",
        "role": "lead",
        "agency": {"id": 1, "name": "數位發展部", "short_name": "數位部"},
    },
}


def _quarter_start(year: int, quarters: int) -> datetime.date:
    """The first day of the quarter ``quarters`` quarters after the first of ``year``."""
    return datetime.date(year + quarters // 4, quarters % 4 * 3 + 1, 1)


def dated_examples(today: datetime.date) -> dict:
    """The examples that name the quarter to file: the one holding ``today``."""
    quarter = (today.month - 1) // 3
    period = f"{today.year}Q{quarter + 1}"
    end = _quarter_start(today.year, quarter + 1) - datetime.timedelta(days=1)
    next_end = _quarter_start(today.year, quarter + 2) - datetime.timedelta(days=1)
    return {
        "OwedReport": {
            "project": 3,
            "project_title": "超高速寬頻網路普及",
            "period": period,
            "kind": "quarterly",
            "due_on": (end + datetime.timedelta(days=10)).isoformat(),  # the plan's default due days
            "status": "missing",
            "report": None,
            "is_overdue": False,
        },
        "ReportCreateRequest": {
            "project": 3,
            "period": period,
            "planned_progress": "75.00",
            "actual_progress": "72.50",
            # Cumulative for the year, so they grow with its quarters (never below an earlier accepted quarter's).
            "budget_spent": str(2_300_000 * (quarter + 1)),
            "budget_payables": str(100_000 * (quarter + 1)),
            "budget_savings": "0",
            "budget_forecast_rate": "97.00",
            "achievements": "完成系統整合測試。",
            "delay_reasons": "採購作業延宕。",
            "countermeasures": "調整採購時程。",
            "milestone_entries": [{"milestone": 4, "forecast_date": next_end.isoformat()}],
            "indicator_values": [{"indicator": 14, "value": "2400"}],
        },
    }


ERROR_EXAMPLES = {
    "400": {
        "detail": "The request has invalid fields.",
        "code": "max_value",
        "errors": {"actual_progress": ["Ensure this value is less than or equal to 100."]},
    },
    "401": {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"},
    "403": {"detail": "Only the Executive Secretariat can review reports.", "code": "permission_denied"},
    "404": {"detail": "Not found.", "code": "not_found"},
    "409": {"detail": "This action is not allowed in the report's current status.", "code": "invalid_transition"},
    "412": {
        "detail": "The report has changed since it was read; fetch it again and retry with the new ETag.",
        "code": "precondition_failed",
    },
    "413": {
        "detail": "The request body is larger than this server accepts (1048576 bytes at most).",
        "code": "request_too_large",
    },
    "415": {"detail": 'Unsupported media type "text/plain" in request.', "code": "unsupported_media_type"},
    "422": {"detail": "This Idempotency-Key was used for a different request.", "code": "idempotency_key_reused"},
    "428": {"detail": "Send If-Match with the report's ETag.", "code": "precondition_required"},
    "429": {"detail": "Too many writes: the limit is 300 per minute. Try again in 42 seconds.", "code": "throttled"},
    "503": {
        "detail": "The service is unavailable for a moment; retry in a few seconds.",
        "code": "service_unavailable",
    },
}
