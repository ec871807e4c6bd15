from django.contrib import admin

from apps.approvals.models import ApprovalDecision, ApprovalRequest, ExecutiveBrief


class ReadOnly(admin.ModelAdmin):
    """Approvals change only through their services; the admin shows them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnly):
    list_display = [
        "pk",
        "kind",
        "escalation",
        "level",
        "approver",
        "route",
        "status",
        "requested_at",
        "due_at",
    ]
    list_filter = ["status", "kind"]


@admin.register(ApprovalDecision)
class ApprovalDecisionAdmin(ReadOnly):
    list_display = ["at", "approval", "outcome", "decided_by_name", "on_behalf_of_name"]
    list_filter = ["outcome"]


@admin.register(ExecutiveBrief)
class ExecutiveBriefAdmin(ReadOnly):
    list_display = ["escalation", "approval", "sent_at"]
