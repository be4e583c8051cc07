from django.contrib import admin

from mailevents.models import CalendarFeed, InboundMail, MailEvent


@admin.register(MailEvent)
class MailEventAdmin(admin.ModelAdmin):
    """Delivery reports as they came, and refused (forged) webhook calls with the reason."""

    list_display = ["received_at", "provider", "event_type", "recipient", "status", "outcome"]
    list_filter = ["status", "provider", "event_type"]
    search_fields = ["recipient", "provider_message_id", "event_id"]
    raw_id_fields = ["message", "customer"]
    # Written by the webhook and the task; kept as evidence, not edited.
    readonly_fields = [f.name for f in MailEvent._meta.fields]


@admin.register(InboundMail)
class InboundMailAdmin(admin.ModelAdmin):
    list_display = ["received_at", "source", "from_email", "subject", "status", "outcome"]
    list_filter = ["status", "source"]
    search_fields = ["from_email", "subject"]
    raw_id_fields = ["customer", "touchpoint"]
    exclude = ["raw"]
    readonly_fields = [f.name for f in InboundMail._meta.fields if f.name != "raw"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = ["user", "scope", "created_at", "revoked_at"]
    list_filter = ["scope"]
    exclude = ["token"]  # the secret stays on the user's own page
    readonly_fields = ["user", "scope", "created_at"]
