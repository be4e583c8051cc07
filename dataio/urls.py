from django.urls import path

from dataio import views

app_name = "dataio"
urlpatterns = [
    path("", views.data_home, name="home"),
    path("import/", views.import_upload, name="import_upload"),
    path("import/<int:job_id>/", views.import_detail, name="import_detail"),
    path("import/<int:job_id>/progress/", views.import_progress, name="import_progress"),
    path("import/<int:job_id>/start/", views.import_start, name="import_start"),
    path("export/customers.csv", views.export_customers, name="export_customers"),
    path("export/touchpoints.csv", views.export_touchpoints, name="export_touchpoints"),
    path("customers/<int:customer_id>/", views.customer_data_page, name="customer_data"),
    path("customers/<int:customer_id>/export.zip", views.customer_export, name="customer_export"),
    path("customers/<int:customer_id>/erase/", views.customer_erase_view, name="customer_erase"),
    path("customers/<int:customer_id>/history/", views.customer_history_page, name="customer_history"),
    path("settings-history/", views.settings_history_page, name="settings_history"),
]
