from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from gifts.models import GiftCode


class RedeemedFilter(admin.SimpleListFilter):
    title = "redeemed"
    parameter_name = "redeemed"

    def lookups(self, request, model_admin):
        return [("yes", "Redeemed"), ("no", "Not redeemed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(redeemed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(redeemed_at__isnull=True)
        return queryset


@admin.register(GiftCode)
class GiftCodeAdmin(SimpleHistoryAdmin):
    list_display = (
        "code",
        "customer",
        "kind",
        "value",
        "product",
        "source",
        "issued_at",
        "expires_on",
        "redeemed_at",
        "redeemed_by",
    )
    list_filter = (RedeemedFilter, "kind", "source", "expires_on", "issued_at")
    search_fields = (
        "code",
        "customer__first_name",
        "customer__last_name",
        "customer__preferred_name",
        "customer__email",
    )
    list_select_related = ("customer", "product", "redeemed_by")
    raw_id_fields = ("customer", "issued_by", "redeemed_by", "product")
    readonly_fields = ("issued_at",)
    date_hierarchy = "issued_at"
    ordering = ("-issued_at",)

    def get_search_results(self, request, queryset, search_term):
        # Staff paste codes as read aloud ("abcd-efgh"): search the stored form too.
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        compact = "".join(ch for ch in search_term.upper() if ch.isalnum())
        if compact and compact != search_term:
            queryset |= self.model.objects.filter(code=compact)
        return queryset, may_have_duplicates
