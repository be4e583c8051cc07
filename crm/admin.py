from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from crm.models import ShopSettings


@admin.register(ShopSettings)
class ShopSettingsAdmin(SimpleHistoryAdmin):
    list_display = ("name", "time_zone", "currency", "phone_region", "default_cadence_days", "updated_at")
    search_fields = ("name",)
    list_filter = ("time_zone", "currency")

    def has_add_permission(self, request) -> bool:
        return not ShopSettings.objects.exists()  # one row only

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
