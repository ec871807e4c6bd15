"""Every change to protection records (one function per verb, each in a transaction, writing
its audit event, confined to the protection app's own trail)."""

from apps.protection.services.cases import (
    excluded_ids,
    message_from_reporter,
    message_to_reporter,
    note_add,
    report_acknowledge,
    report_mark_opened,
    report_send_feedback,
    report_set_status,
    reviewer_assign,
    reviewer_ids,
)
from apps.protection.services.disclosure import disclosure_decide, disclosure_request
from apps.protection.services.intake import attempt_allowed, format_key, report_by_key, report_file
from apps.protection.services.watch import (
    adverse_action_record,
    adverse_action_sign_off,
    flag_close,
    integration_for,
    integration_token_create,
    pseudonym,
    watch_window_open,
    watched_windows,
)

__all__ = [
    "adverse_action_record",
    "adverse_action_sign_off",
    "attempt_allowed",
    "disclosure_decide",
    "disclosure_request",
    "excluded_ids",
    "flag_close",
    "format_key",
    "integration_for",
    "integration_token_create",
    "message_from_reporter",
    "message_to_reporter",
    "note_add",
    "pseudonym",
    "report_acknowledge",
    "report_by_key",
    "report_file",
    "report_mark_opened",
    "report_send_feedback",
    "report_set_status",
    "reviewer_assign",
    "reviewer_ids",
    "watch_window_open",
    "watched_windows",
]
