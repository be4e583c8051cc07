from django.contrib import admin

from automations.models import Automation, EmailOptOut, MessageTemplate, OutboundMessage, OutboxControl, Suppression


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["kind", "recipient_key", "occasion_key", "status", "planned_at", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["recipient_key", "occasion_key", "to_email"]
    raw_id_fields = ["customer", "staff_user"]
    # The sender owns these; editing them by hand would break "sent at most once".
    readonly_fields = ["status", "attempts", "claimed_at", "sent_at", "message_id", "last_error"]


@admin.register(Automation)
class AutomationAdmin(admin.ModelAdmin):
    list_display = ["kind", "enabled", "review_before_sending", "days"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["kind", "subject", "updated_at"]


admin.site.register(OutboxControl)
admin.site.register(Suppression)
admin.site.register(EmailOptOut)
