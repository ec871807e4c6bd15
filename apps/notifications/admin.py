"""Read-only: the outbox is written by services only; the admin is for looking."""

from django.contrib import admin

from apps.notifications.models import DeliveryAttempt, Notification


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["at", "channel", "address", "ok", "permanent", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "recipient_name",
        "subject",
        "status",
        "sent_via_channel",
        "attempts",
        "next_attempt_at",
    ]
    list_filter = ["status", "sent_via_channel", "delivery_attempts__channel", "template"]
    search_fields = ["recipient_key", "recipient_name", "subject", "event_key", "subject_id"]
    readonly_fields = [field.name for field in Notification._meta.fields]
    inlines = [DeliveryAttemptInline]
    show_full_result_count = False
    date_hierarchy = None

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
