from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from apps.policies.models import (
    BusinessCalendar,
    CalendarClosure,
    ChangeFreeze,
    EscalationLevel,
    EscalationPolicy,
    GovernanceThreshold,
    MaintenanceWindow,
    ResponseThreshold,
    Service,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class LevelInline(ReadOnlyInline):
    model = EscalationLevel
    fields = ["order", "name", "target_kind", "authority_rank", "requires_approval"]


class ThresholdInline(ReadOnlyInline):
    model = ResponseThreshold


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(SimpleHistoryAdmin):
    """Read-only here: policies change through the portal's editor, which validates the chain
    as a whole and requires a change reason."""

    list_display = ["name", "category", "owner", "next_review_on", "active"]
    list_filter = ["category", "active"]
    inlines = [LevelInline, ThresholdInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


admin.site.register(BusinessCalendar, SimpleHistoryAdmin)
admin.site.register(CalendarClosure, SimpleHistoryAdmin)
admin.site.register(Service, SimpleHistoryAdmin)
admin.site.register(MaintenanceWindow, SimpleHistoryAdmin)
admin.site.register(ChangeFreeze, SimpleHistoryAdmin)
admin.site.register(GovernanceThreshold, SimpleHistoryAdmin)
