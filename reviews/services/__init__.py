"""Writes of the reviews app: quarterly reports, lag flags and their scan, notifications."""

from .flags import lag_flag_acknowledge, lag_flag_comment, lag_flag_resolve, lag_settings_update
from .outbox import outbox_enqueue, outbox_relay
from .reports import report_accept, report_create, report_return, report_submit, report_update
from .scan import ScanResult, lag_scan

__all__ = [
    "ScanResult",
    "lag_flag_acknowledge",
    "lag_flag_comment",
    "lag_flag_resolve",
    "lag_scan",
    "lag_settings_update",
    "outbox_enqueue",
    "outbox_relay",
    "report_accept",
    "report_create",
    "report_return",
    "report_submit",
    "report_update",
]
