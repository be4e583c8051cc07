from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from touchpoints.models import Touchpoint


@admin.register(Touchpoint)
class TouchpointAdmin(SimpleHistoryAdmin):
    list_display = ("happened_at", "kind", "customer", "amount", "feedback_kind", "sentiment", "logged_by")
    list_filter = ("kind", "feedback_kind", "sentiment", "logged_by")
    search_fields = ("note", "customer__first_name", "customer__last_name", "customer__email")
    list_select_related = ("customer", "logged_by")
    raw_id_fields = ("customer",)
    filter_horizontal = ("products",)
    date_hierarchy = "happened_at"
    show_full_result_count = False
