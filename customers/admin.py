from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from customers.models import Customer, FollowUp, ImportantDate, Product, Tag


class ImportantDateInline(admin.TabularInline):
    model = ImportantDate
    extra = 0


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = (
        "full_name",
        "preferred_name",
        "email",
        "phone",
        "owner",
        "health",
        "stage",
        "last_touchpoint_at",
        "purchase_count",
        "email_consent",
        "is_archived",
    )
    list_filter = (
        "health",
        "stage",
        "is_archived",
        "email_consent",
        "consent_method",
        "owner",
        "tags",
        "birthday_month",
    )
    search_fields = ("first_name", "last_name", "preferred_name", "email", "phone")
    list_select_related = ("owner",)
    raw_id_fields = ("referred_by",)
    filter_horizontal = ("favourite_products", "tags")
    readonly_fields = ("created_at", "updated_at", "created_by", *Customer.FIGURE_FIELDS)
    date_hierarchy = "created_at"
    inlines = [ImportantDateInline]
    show_full_result_count = False  # no COUNT(*) over 100,000 rows on every page


@admin.register(FollowUp)
class FollowUpAdmin(SimpleHistoryAdmin):
    list_display = ("reason", "customer", "assignee", "due_date", "status", "source")
    list_filter = ("status", "source", "assignee", "due_date")
    search_fields = ("reason", "customer__first_name", "customer__last_name")
    list_select_related = ("customer", "assignee")
    raw_id_fields = ("customer",)
    show_full_result_count = False


@admin.register(ImportantDate)
class ImportantDateAdmin(SimpleHistoryAdmin):
    list_display = ("label", "customer", "date_day", "date_month", "date_year")
    list_filter = ("date_month",)
    search_fields = ("label", "customer__first_name", "customer__last_name")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name",)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
