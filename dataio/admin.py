from django.contrib import admin

from dataio.models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["file_name", "status", "total_rows", "created_count", "updated_count", "created_at"]
    exclude = ["text"]
    readonly_fields = ["created_by", "status", "errors"]
