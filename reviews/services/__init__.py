"""Writes of the reviews app: quarterly reports, lag flags and their scan, notifications."""

from .budgets import budget_year_create, budget_year_update
from .files import comment_file_add, report_file_add, report_file_remove
from .flags import lag_flag_acknowledge, lag_flag_comment, lag_flag_resolve, lag_settings_update
from .locks import lock_exception_grant, lock_exception_revoke, quarter_lock_create, quarter_lock_delete
from .outbox import outbox_enqueue, outbox_relay
from .reports import (
    ensure_quarter_open,
    report_accept,
    report_create,
    report_endorse,
    report_reopen,
    report_return,
    report_submit,
    report_update,
    report_withdraw,
)
from .revisions import (
    baseline_content,
    baseline_ensure_original,
    revision_approve,
    revision_endorse,
    revision_reject,
    revision_request,
    revision_update,
    revision_withdraw,
)
from .scan import ScanResult, lag_scan
from .scan_runs import (
    dispatch_scan,
    scan_batch_run,
    scan_run_publish,
    scan_run_result,
    scan_run_wait,
    scan_runs_resume,
)

__all__ = [
    "baseline_content",
    "baseline_ensure_original",
    "revision_approve",
    "revision_endorse",
    "revision_reject",
    "revision_request",
    "revision_update",
    "revision_withdraw",
    "ScanResult",
    "budget_year_create",
    "budget_year_update",
    "comment_file_add",
    "report_file_add",
    "report_file_remove",
    "ensure_quarter_open",
    "lock_exception_grant",
    "lock_exception_revoke",
    "quarter_lock_create",
    "quarter_lock_delete",
    "report_endorse",
    "report_reopen",
    "report_withdraw",
    "lag_flag_acknowledge",
    "lag_flag_comment",
    "lag_flag_resolve",
    "lag_scan",
    "dispatch_scan",
    "scan_batch_run",
    "scan_run_publish",
    "scan_run_result",
    "scan_run_wait",
    "scan_runs_resume",
    "lag_settings_update",
    "outbox_enqueue",
    "outbox_relay",
    "report_accept",
    "report_create",
    "report_return",
    "report_submit",
    "report_update",
]
