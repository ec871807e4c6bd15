from django.contrib import admin

from apps.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "address", "subject", "status", "attempts"]
    list_filter = ["status", "channel"]
    search_fields = ["address", "subject", "event_key"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
