from django.contrib import admin

from apps.timers.models import Deadline, SweepHeartbeat


@admin.register(Deadline)
class DeadlineAdmin(admin.ModelAdmin):
    list_display = ["kind", "subject_type", "subject_id", "due_at", "fired_at", "cancelled_at", "attempts"]
    list_filter = ["kind"]
    search_fields = ["subject_id", "kind"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # deadlines change only through apps.timers.services

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SweepHeartbeat)
class SweepHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "last_run_at", "last_fired", "last_duration_ms"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False
