"""Owner pages for data in and out: import, export, one customer's data, history."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import AuditRecord
from accounts.services import audit_record
from crm.clock import shop_today
from crm.forms import form_add_errors
from crm.roles import owner_required
from customers.models import Customer
from dataio import exporting, selectors
from dataio.forms import EraseForm, MappingForm, StartForm, UploadForm
from dataio.importing import FORMAT_LABELS, read_rows
from dataio.models import ImportJob
from dataio.services import customer_erase, import_job_configure, import_job_create, import_job_start

PREVIEW_ROWS = 8


@owner_required
def data_home(request):
    ctx = {
        "upload_form": UploadForm(),
        "jobs": ImportJob.objects.defer("text", "parsed_rows").select_related("created_by")[:10],
        "audit": selectors.audit_records_for(limit=30),
    }
    return render(request, "dataio/home.html", ctx)


@owner_required
@require_POST
def import_upload(request):
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_job_create(uploaded_by=request.user, file_name=upload.name, raw=upload.read())
            return redirect("dataio:import_detail", job.pk)
        except ValidationError as exc:
            form_add_errors(form, exc)
    ctx = {
        "upload_form": form,
        "jobs": ImportJob.objects.defer("text", "parsed_rows").select_related("created_by")[:10],
        "audit": selectors.audit_records_for(limit=30),
    }
    return render(request, "dataio/home.html", ctx, status=400)


def _job_context(job: ImportJob, mapping_form=None, start_form=None) -> dict:
    headers, rows = read_rows(job.text, job.delimiter)
    preview = [(offset + 2, row + [""] * (len(headers) - len(row))) for offset, row in enumerate(rows[:PREVIEW_ROWS])]
    return {
        "job": job,
        "format_label": FORMAT_LABELS.get(job.detected_format, job.detected_format),
        "headers": headers,
        "preview": preview,
        "mapping_form": mapping_form or MappingForm(job=job),
        "start_form": start_form or StartForm(initial={"mode": job.mode, "on_match": job.on_match}),
    }


@owner_required
def import_detail(request, job_id: int):
    """The preview: first rows, the column mapping (changeable), then the check's results."""
    job = get_object_or_404(ImportJob.objects.defer("parsed_rows"), pk=job_id)
    if request.method == "POST":
        form = MappingForm(request.POST, job=job)
        if form.is_valid():
            try:
                import_job_configure(
                    job=job,
                    configured_by=request.user,
                    mapping=form.mapping(),
                    date_order=form.cleaned_data["date_order"],
                )
                return redirect("dataio:import_detail", job.pk)
            except ValidationError as exc:
                form_add_errors(form, exc)
        job.refresh_from_db()
        return render(request, "dataio/import_detail.html", _job_context(job, mapping_form=form), status=400)
    return render(request, "dataio/import_detail.html", _job_context(job))


@owner_required
@require_GET
def import_progress(request, job_id: int):
    """Polled by htmx while a job runs; once it has finished the whole page reloads."""
    job = get_object_or_404(ImportJob.objects.defer("text", "parsed_rows"), pk=job_id)
    response = render(request, "dataio/includes/_progress.html", {"job": job})
    if not job.is_running:
        response["HX-Refresh"] = "true"
    return response


@owner_required
@require_POST
def import_start(request, job_id: int):
    job = get_object_or_404(ImportJob.objects.defer("parsed_rows"), pk=job_id)
    form = StartForm(request.POST)
    if form.is_valid():
        try:
            import_job_start(job=job, started_by=request.user, **form.cleaned_data)
            return redirect("dataio:import_detail", job.pk)
        except ValidationError as exc:
            form_add_errors(form, exc)
    job.refresh_from_db()
    return render(request, "dataio/import_detail.html", _job_context(job, start_form=form), status=400)


def _csv_response(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    response = StreamingHttpResponse(exporting.csv_stream(header, rows), content_type="text/csv; charset=utf-8")
    stamp = shop_today().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    return response


@owner_required
@require_GET
def export_customers(request):
    audit_record(actor=request.user, action=AuditRecord.Action.CUSTOMERS_EXPORTED)
    return _csv_response("customers", exporting.CUSTOMER_COLUMNS, exporting.customer_rows())


@owner_required
@require_GET
def export_touchpoints(request):
    audit_record(actor=request.user, action=AuditRecord.Action.TOUCHPOINTS_EXPORTED)
    return _csv_response("touchpoints", exporting.TOUCHPOINT_COLUMNS, exporting.touchpoint_rows())


@owner_required
def customer_data_page(request, customer_id: int):
    customer = get_object_or_404(Customer, pk=customer_id)
    ctx = {
        "customer": customer,
        "erase_form": EraseForm(),
        "audit": selectors.audit_records_for(customer=customer, limit=20),
    }
    return render(request, "dataio/customer_data.html", ctx)


@owner_required
@require_GET
def customer_export(request, customer_id: int):
    customer = get_object_or_404(Customer, pk=customer_id)
    payload = exporting.customer_zip(customer)
    audit_record(actor=request.user, action=AuditRecord.Action.CUSTOMER_EXPORTED, target=customer)
    response = HttpResponse(payload, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}-data.zip"'
    return response


@owner_required
@require_POST
def customer_erase_view(request, customer_id: int):
    customer = get_object_or_404(Customer, pk=customer_id)
    form = EraseForm(request.POST)
    if form.is_valid():
        try:
            customer_erase(customer=customer, erased_by=request.user, confirm_name=form.cleaned_data["confirm_name"])
            messages.success(request, "The customer's personal data has been erased. The erasure is in the audit log.")
            return redirect("dataio:customer_data", customer.pk)
        except ValidationError as exc:
            form_add_errors(form, exc)
    ctx = {"customer": customer, "erase_form": form, "audit": selectors.audit_records_for(customer=customer, limit=20)}
    return render(request, "dataio/customer_data.html", ctx, status=400)


@owner_required
@require_GET
def customer_history_page(request, customer_id: int):
    customer = get_object_or_404(Customer, pk=customer_id)
    ctx = {
        "customer": customer,
        "entries": selectors.customer_history(customer=customer),
        "audit": selectors.audit_records_for(customer=customer, limit=20),
    }
    return render(request, "dataio/history.html", ctx)


@owner_required
@require_GET
def settings_history_page(request):
    return render(request, "dataio/settings_history.html", {"entries": selectors.settings_history()})
