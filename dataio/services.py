"""Writes for data in and out: CSV imports and a customer's erasure on request."""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from types import SimpleNamespace

from django.apps import apps
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.models import AuditRecord
from accounts.services import audit_record
from automations.models import OutboundMessage
from automations.suppression import email_hash, suppression_add
from crm.models import ShopSettings
from crm.tasks import enqueue_on_commit
from crm.validators import CSV_MAX_BYTES
from customers.card_cache import (
    LIST_CHOICES,
    active_customers_changed,
    card_changed,
    cards_all_changed,
    shop_value_changed,
)
from customers.models import Customer, FollowUp, ImportantDate, Tag
from dataio.importing import (
    TARGET_FIELDS,
    ImportFileError,
    ParsedRow,
    date_order_from,
    decode,
    detect_mapping,
    find_duplicates,
    has_ambiguous_dates,
    parse_row,
    read_records,
    sniff_delimiter,
)
from dataio.models import ImportJob
from touchpoints.models import Touchpoint

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = CSV_MAX_BYTES
MAX_STORED_ERRORS = 500
BATCH = 1000


# --- Import ------------------------------------------------------------------------


@transaction.atomic
def import_job_create(*, uploaded_by: User, file_name: str, raw: bytes) -> ImportJob:
    """Read an uploaded CSV and guess its column mapping; raises ValidationError if unreadable."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ValidationError(
            {"file": f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MB: split it into smaller files."}
        )
    try:
        text, encoding = decode(raw)
        delimiter = sniff_delimiter(text)
        headers, records = read_records(text, delimiter)
    except ImportFileError as exc:
        raise ValidationError({"file": str(exc)})
    if not records:
        raise ValidationError({"file": "The file has a header row but no customers under it."})
    detected, mapping = detect_mapping(headers)
    job = ImportJob(
        created_by=uploaded_by,
        file_name=_file_name_clean(file_name),
        encoding=encoding,
        delimiter=delimiter,
        text=text,
        detected_format=detected,
        headers=headers,
        mapping=mapping,
        total_rows=len(records),
        date_order=_date_order_guess(headers, mapping, records, detected),
    )
    job.full_clean()
    job.save()
    return job


def _file_name_clean(name: str) -> str:
    """The upload's name as shown on the page: no control characters (PostgreSQL refuses NUL), at most 255."""
    cleaned = "".join(ch for ch in name if ch.isprintable()).strip()
    return cleaned[:255] or "upload.csv"


def _date_order_guess(headers: list[str], mapping: dict[str, str], records, detected: str) -> str:
    """The date order when the birthdays or the vendor settle it, else "" so the owner is asked.

    04/03/1990 in a spreadsheet is never guessed. Square documents its dates month first
    (see dataio.importing), unless a date in the file says otherwise.
    """
    column = next((int(i) for i, target in mapping.items() if target == "birthday"), None)
    if column is None:
        return ImportJob.DateOrder.DMY  # no dates to read: any order will do
    values = [r.cells[column] for r in records if not r.error and column < len(r.cells)]
    settled = date_order_from(values)
    if settled:
        return settled
    if detected == "square":
        return ImportJob.DateOrder.MDY
    return "" if has_ambiguous_dates(values) else ImportJob.DateOrder.DMY


def _check_mapping(mapping: dict[str, str], headers: list[str]) -> dict[str, str]:
    clean: dict[str, str] = {}
    used: set[str] = set()
    for index in range(len(headers)):
        target = mapping.get(str(index), "") or ""
        if target and target not in TARGET_FIELDS:
            raise ValidationError({"mapping": f"“{target}” is not a customer field."})
        if target and target in used:
            raise ValidationError({"mapping": f"Two columns both feed “{TARGET_FIELDS[target]}”: choose one."})
        if target:
            used.add(target)
        clean[str(index)] = target
    if "first_name" not in used and "last_name" not in used:
        raise ValidationError({"mapping": "Choose the column that holds the first name."})
    return clean


@transaction.atomic
def import_job_configure(*, job: ImportJob, configured_by: User, mapping: dict[str, str], date_order: str) -> ImportJob:
    """Set the column mapping and date order, and queue the check of every row."""
    if job.status in (ImportJob.Status.IMPORTING, ImportJob.Status.DONE):
        raise ValidationError("This import has already started.")
    job.mapping = _check_mapping(mapping, job.headers)
    if date_order not in ImportJob.DateOrder.values:
        raise ValidationError(
            {"date_order": "Say whether dates like 04/03/1990 mean 4 March (day first) or 3 April (month first)."}
        )
    job.date_order = date_order
    job.status = ImportJob.Status.CHECKING
    job.processed_rows = 0
    job.errors = []
    job.parsed_rows = []
    job.failure = ""
    job.queued_at = timezone.now()
    job.full_clean()
    job.save()
    _import_job_enqueue(job)
    return job


def _stored_rows(parsed: list[ParsedRow]) -> list[list]:
    return [[r.number, r.values, r.tags, r.consent, bool(r.errors)] for r in parsed]


def _rows_from_store(stored: list[list]) -> list[ParsedRow]:
    rows = []
    for number, values, tags, consent, has_errors in stored:
        rows.append(
            ParsedRow(
                number=number,
                values=values,
                tags=tags,
                consent=consent,
                errors=[("", "see the check")] if has_errors else [],
            )
        )
    return rows


def _parse_all(job: ImportJob, progress=None) -> list[ParsedRow]:
    if job.parsed_rows and job.status == ImportJob.Status.IMPORTING:
        return _rows_from_store(job.parsed_rows)
    region = ShopSettings.load().phone_region
    _, records = read_records(job.text, job.delimiter)
    parsed = []
    for offset, record in enumerate(records):
        if record.error:
            parsed.append(ParsedRow(number=record.line, errors=[("", record.error)]))
        else:
            parsed.append(
                parse_row(
                    number=record.line,
                    cells=record.cells,
                    headers=job.headers,
                    mapping=job.mapping,
                    date_order=job.date_order,
                    region=region,
                )
            )
        if progress and offset % BATCH == BATCH - 1:
            progress(offset + 1)
    headers_for = {target: job.headers[int(i)] for i, target in job.mapping.items() if target}
    find_duplicates(parsed, headers_for)
    return parsed


def _existing_matches(parsed: list[ParsedRow]) -> dict[int, int]:
    """Row number -> id of the existing customer it matches by email, else by phone (ids only: cheap)."""
    emails = sorted({r.values["email"] for r in parsed if r.values.get("email")})
    phones = sorted({r.values["phone"] for r in parsed if r.values.get("phone")})
    by_email: dict[str, int] = {}
    by_phone: dict[str, int] = {}
    for start in range(0, len(emails), BATCH):
        chunk = emails[start : start + BATCH]
        # Stored emails are lower-cased by the customer service; the annotation also catches old mixed-case rows.
        found = Customer.objects.annotate(email_l=Lower("email")).filter(email_l__in=chunk)
        for pk, email in found.values_list("pk", "email_l"):
            by_email[email] = pk
    for start in range(0, len(phones), BATCH):
        rows = (
            Customer.objects.filter(phone__in=phones[start : start + BATCH]).order_by("pk").values_list("pk", "phone")
        )
        for pk, phone in rows:
            by_phone.setdefault(phone, pk)
    matches: dict[int, int] = {}
    for row in parsed:
        match = by_email.get(row.values.get("email", "")) or by_phone.get(row.values.get("phone", ""))
        if match is not None:
            matches[row.number] = match
    return matches


def _flag_shared_matches(parsed: list[ParsedRow], matches: dict[int, int]) -> None:
    """Two rows that both match one existing customer (one by email, one by phone) are a duplicate."""
    first_row_for: dict[int, int] = {}
    for row in parsed:
        pk = matches.get(row.number)
        if pk is None or row.errors:
            continue
        first = first_row_for.setdefault(pk, row.number)
        if first != row.number:
            row.errors.append(("", f"Matches the same existing customer as row {first}."))


def _error_list(parsed: list[ParsedRow]) -> list[dict]:
    out = []
    for row in parsed:
        for column, reason in row.errors:
            out.append({"row": row.number, "column": column, "reason": reason})
            if len(out) >= MAX_STORED_ERRORS:
                return out
    return out


class _Progress:
    """Report progress on a connection of its own, so the page sees it while the import's
    one big transaction is still open (PostgreSQL; on SQLite the bar jumps at the end)."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.conn = connections.create_connection(DEFAULT_DB_ALIAS) if connection.vendor == "postgresql" else None

    def __call__(self, done: int) -> None:
        if self.conn is None:
            return
        try:
            with self.conn.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ImportJob._meta.db_table} SET processed_rows = %s WHERE id = %s AND status = %s",
                    [done, self.job_id, ImportJob.Status.IMPORTING],
                )
        except Exception:  # noqa: BLE001 - progress is a nicety; the import must not fail for it
            log.warning("Could not report import progress for job %s", self.job_id, exc_info=True)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def import_job_check(*, job_id: int) -> ImportJob | None:
    """Validate every row and count matches; nothing but the job row is written."""
    job = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.CHECKING).first()
    if job is None:
        return None

    def progress(done: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(processed_rows=done)

    parsed = _parse_all(job, progress)
    matches = _existing_matches(parsed)
    _flag_shared_matches(parsed, matches)
    error_rows = sum(1 for r in parsed if r.errors)
    ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.CHECKING).update(
        status=ImportJob.Status.CHECKED,
        processed_rows=len(parsed),
        valid_rows=len(parsed) - error_rows,
        error_rows=error_rows,
        matched_rows=sum(1 for r in parsed if r.number in matches and not r.errors),
        errors=_error_list(parsed),
        parsed_rows=_stored_rows(parsed),
    )
    job.refresh_from_db()
    return job


@transaction.atomic
def import_job_start(*, job: ImportJob, started_by: User, mode: str, on_match: str) -> ImportJob:
    """Queue the import itself, after the owner has seen the check."""
    if job.status != ImportJob.Status.CHECKED:
        raise ValidationError("Check the rows first.")
    if mode == ImportJob.Mode.ALL_OR_NOTHING and job.error_rows:
        raise ValidationError(
            f"{job.error_rows} row(s) have errors, so “all or nothing” imports nothing. "
            "Fix the file, or choose to import only the valid rows."
        )
    if not job.valid_rows:
        raise ValidationError("There are no valid rows to import.")
    job.mode, job.on_match = mode, on_match
    job.status = ImportJob.Status.IMPORTING
    job.processed_rows = 0
    job.queued_at = timezone.now()
    job.full_clean()
    job.save()
    _import_job_enqueue(job)
    return job


def _import_job_enqueue(job: ImportJob) -> None:
    """After commit, queue the job's check or import; a lost one is queued again by import_jobs_requeue."""
    from dataio.tasks import import_job_check_task, import_job_run_task

    task = import_job_check_task if job.status == ImportJob.Status.CHECKING else import_job_run_task
    enqueue_on_commit(task, backstop="import_jobs_requeue (every minute)", job_id=job.pk)


# A check or import that has not reported a row this long after it was queued was lost (a broker down,
# a worker killed before it began). Running one twice is safe: see import_job_check and import_job_run.
REQUEUE_AFTER = timedelta(minutes=2)


def import_jobs_requeue(*, now: datetime) -> int:
    """Queue again every check or import that never started; returns how many (the beat task's backstop)."""
    stuck = ImportJob.objects.filter(
        status__in=(ImportJob.Status.CHECKING, ImportJob.Status.IMPORTING),
        processed_rows=0,
        queued_at__lt=now - REQUEUE_AFTER,
    )
    count = 0
    for job in stuck.only("pk", "status"):
        # Claimed with a conditional UPDATE, so two beat runs at once queue it once.
        if ImportJob.objects.filter(pk=job.pk, queued_at__lt=now - REQUEUE_AFTER).update(queued_at=now):
            _import_job_enqueue(job)
            count += 1
    return count


def _tags_by_name(names: Iterable[str]) -> dict[str, Tag]:
    wanted = {n.lower(): n for n in names}
    found: dict[str, Tag] = {
        t.name.lower(): t for t in Tag.objects.annotate(l=Lower("name")).filter(l__in=list(wanted))
    }
    missing = [Tag(name=wanted[key]) for key in wanted if key not in found]
    if missing:
        Tag.objects.bulk_create(missing)
        shop_value_changed(LIST_CHOICES)  # the list's tag filter (bulk_create sends no post_save)
        found.update({t.name.lower(): t for t in Tag.objects.annotate(l=Lower("name")).filter(l__in=list(wanted))})
    return found


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Import the checked rows in one transaction: a failure half-way leaves nothing behind.

    Safe to run twice (a redelivered task): only the run that moves the job from
    "importing" to "done" commits; another run finds nothing to do or rolls back.
    """
    job = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.IMPORTING).first()
    if job is None:
        return None
    progress = _Progress(job_id)
    try:
        with transaction.atomic():
            counts = _import_rows(job, progress)
            cards_all_changed()
            active_customers_changed()
            finished = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.IMPORTING).update(
                status=ImportJob.Status.DONE, finished_at=timezone.now(), processed_rows=job.total_rows, **counts
            )
            if finished != 1:
                raise _AlreadyDone()
            audit_record(actor=job.created_by, action=AuditRecord.Action.IMPORT_DONE, target=job, detail=counts)
    except _AlreadyDone:
        return None
    except Exception as exc:
        log.exception("Import job %s failed; nothing was imported", job_id)
        ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.IMPORTING).update(
            status=ImportJob.Status.FAILED,
            failure=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        raise
    finally:
        progress.close()
    job.refresh_from_db()
    return job


class _AlreadyDone(Exception):
    pass


def _import_rows(job: ImportJob, progress: _Progress) -> dict[str, int]:
    parsed = _parse_all(job)
    matches = _existing_matches(parsed)
    _flag_shared_matches(parsed, matches)
    if job.mode == ImportJob.Mode.ALL_OR_NOTHING and any(r.errors for r in parsed):
        raise ValidationError("A row has errors and this import is all or nothing.")
    user, now = job.created_by, timezone.now()
    valid = [r for r in parsed if not r.errors]
    suppressed = _suppressed_hashes([r.values["email"] for r in valid if r.values.get("email")])
    tags = _tags_by_name({name for r in valid for name in r.tags})
    # Full rows only for the customers an update will change.
    existing_by_pk: dict[int, Customer] = {}
    if job.on_match == ImportJob.OnMatch.UPDATE:
        wanted = sorted({matches[r.number] for r in valid if r.number in matches})
        for start in range(0, len(wanted), BATCH):
            existing_by_pk.update(Customer.objects.in_bulk(wanted[start : start + BATCH]))

    # Customer, or on PostgreSQL a plain record with the same attributes (see _insert_with_history_pg).
    new_customers: list[tuple[Customer | SimpleNamespace, ParsedRow]] = []
    changed: dict[int, tuple[Customer, ParsedRow]] = {}
    changed_fields: set[str] = set()
    tag_only: dict[int, tuple[Customer, ParsedRow]] = {}
    skipped = 0
    # On PostgreSQL new rows are plain records (see _insert_with_history_pg): building 50,000
    # model instances costs more than inserting them.
    fast = connection.vendor == "postgresql"
    template = Customer(created_by=user)
    defaults = {f.attname: getattr(template, f.attname) for f in Customer._meta.concrete_fields}
    for row in valid:
        consent = row.consent and email_hash(row.values.get("email", "")) not in suppressed
        if row.number not in matches:
            customer = (
                SimpleNamespace(**{**defaults, **row.values}) if fast else Customer(created_by=user, **row.values)
            )
            if consent:
                customer.email_consent, customer.consent_at = True, now
                customer.consent_method = Customer.ConsentMethod.IMPORTED
            new_customers.append((customer, row))
            continue
        if job.on_match == ImportJob.OnMatch.SKIP:
            skipped += 1
            continue
        existing = existing_by_pk[matches[row.number]]
        fields = {k: v for k, v in row.values.items() if getattr(existing, k) != v}
        if consent and not existing.email_consent:
            fields.update(email_consent=True, consent_at=now, consent_method=Customer.ConsentMethod.IMPORTED)
        for name, value in fields.items():
            setattr(existing, name, value)
        if fields:
            changed[existing.pk] = (existing, row)
            changed_fields.update(fields)
        elif row.tags:
            tag_only[existing.pk] = (existing, row)
        else:
            skipped += 1
    # A matched row that only brings tags counts as an update only if a tag is new to them.
    if tag_only:
        have = _tag_links(list(tag_only))
        for pk, (existing, row) in tag_only.items():
            if {tags[n.lower()].pk for n in row.tags} - have.get(pk, set()):
                changed[pk] = (existing, row)
            else:
                skipped += 1

    done = 0
    for start in range(0, len(new_customers), BATCH):
        batch = [c for c, _ in new_customers[start : start + BATCH]]
        if fast:
            _insert_with_history_pg(batch, user=user, now=now)
        else:
            bulk_create_with_history(batch, Customer, batch_size=BATCH, default_user=user, default_date=now)
        done += len(batch)
        progress(done)
    if changed_fields:
        objs = [c for c, _ in changed.values()]
        for obj in objs:
            obj.updated_at = now  # bulk_update does not touch auto_now fields
        bulk_update_with_history(
            objs,
            Customer,
            sorted(changed_fields | {"updated_at"}),
            batch_size=BATCH,
            default_user=user,
            default_date=now,
        )
    through = Customer.tags.through
    links = [
        through(customer_id=customer.pk, tag_id=tags[name.lower()].pk)
        for customer, row in new_customers + list(changed.values())
        for name in row.tags
    ]
    through.objects.bulk_create(links, batch_size=BATCH, ignore_conflicts=True)
    progress(job.total_rows)
    updated = len(changed)
    return {
        "created_count": len(new_customers),
        "updated_count": updated,
        "skipped_count": skipped,
        "error_rows": sum(1 for r in parsed if r.errors),
        "valid_rows": len(valid),
    }


def _insert_with_history_pg(customers: list, *, user: User | None, now) -> None:
    """Insert new customers and their "created" history rows with two multi-row INSERTs.

    The same rows bulk_create_with_history would write, without Django preparing every
    value of every field (most of an import's time at 50,000 rows). The values are already
    checked by parse_row; the database's constraints still guard them.
    """
    from psycopg2.extras import execute_values

    fields = [f for f in Customer._meta.concrete_fields if not f.primary_key]
    for customer in customers:
        customer.created_at = customer.updated_at = now
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields if f.column)
    rows = [tuple(getattr(c, f.attname) for f in fields) for c in customers]
    # wrap_database_errors: a constraint failure surfaces as Django's IntegrityError, as with the ORM.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        ids = execute_values(
            cursor.cursor,
            f"INSERT INTO {Customer._meta.db_table} ({columns}) VALUES %s RETURNING id",
            rows,
            page_size=len(rows),
            fetch=True,
        )
    for customer, (pk,) in zip(customers, ids):
        customer.pk = customer.id = pk
    history_model = Customer.history.model
    tracked = [
        f
        for f in history_model._meta.concrete_fields
        if not f.name.startswith("history_") and hasattr(Customer, f.attname)
    ]
    extra = {
        "history_date": now,
        "history_change_reason": None,
        "history_type": "+",
        "history_user_id": user.pk if user else None,
    }
    history_columns = [f.column for f in tracked] + list(extra)
    history_rows = [tuple(getattr(c, f.attname) for f in tracked) + tuple(extra.values()) for c in customers]
    with connection.cursor() as cursor, connection.wrap_database_errors:
        execute_values(
            cursor.cursor,
            f"INSERT INTO {history_model._meta.db_table} "
            f"({', '.join(connection.ops.quote_name(c) for c in history_columns)}) VALUES %s",
            history_rows,
            page_size=len(history_rows),
        )


def _tag_links(customer_ids: list[int]) -> dict[int, set[int]]:
    through = Customer.tags.through
    links: dict[int, set[int]] = {}
    for start in range(0, len(customer_ids), BATCH):
        chunk = customer_ids[start : start + BATCH]
        for customer_id, tag_id in through.objects.filter(customer_id__in=chunk).values_list("customer_id", "tag_id"):
            links.setdefault(customer_id, set()).add(tag_id)
    return links


def _suppressed_hashes(emails: list[str]) -> set[str]:
    from automations.models import Suppression

    hashes = [email_hash(e) for e in emails]
    found: set[str] = set()
    for start in range(0, len(hashes), BATCH):
        found.update(
            Suppression.objects.filter(email_hash__in=hashes[start : start + BATCH]).values_list(
                "email_hash", flat=True
            )
        )
    return found


# --- Erasure ------------------------------------------------------------------------


def _historical_models_with_customer() -> list:
    """Every simple-history table that has a `customer` column (touchpoints, follow-ups, gift codes…)."""
    found = []
    for model in apps.get_models():
        if model.__name__.startswith("Historical") and hasattr(model, "history_id"):
            names = {f.name for f in model._meta.get_fields()}
            if "customer" in names:
                found.append(model)
    return found


@transaction.atomic
def customer_erase(*, customer: Customer, erased_by: User, confirm_name: str) -> Customer:
    """Erase a customer's personal data on request; touchpoints stay only as anonymous figures.

    The typed name must match, so a slip of the mouse cannot erase anyone. The email
    is kept only as a hash on the suppression list so it is never emailed again.
    """
    if customer.erased_at:
        raise ValidationError("This customer's data has already been erased.")
    if " ".join(confirm_name.split()).casefold() != " ".join(customer.full_name.split()).casefold():
        raise ValidationError({"confirm_name": "Type the customer's full name exactly as shown to confirm."})
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.email:
        suppression_add(email=customer.email, reason="erasure")
    pk = customer.pk

    # Messages hold names, addresses and personal lines: remove them entirely.
    OutboundMessage.objects.filter(customer_id=pk).delete()
    ImportantDate.objects.filter(customer_id=pk).delete()
    FollowUp.objects.filter(customer_id=pk).delete()
    Touchpoint.objects.filter(customer_id=pk).update(note="", feedback_kind="")
    Customer.objects.filter(pk=pk).update(
        first_name="Erased",
        last_name="customer",
        preferred_name="",
        email="",
        phone="",
        birthday_day=None,
        birthday_month=None,
        birthday_year=None,
        notes="",
        how_we_met="",
        referred_by=None,
        email_consent=False,
        consent_at=None,
        consent_method="",
        is_archived=True,
        archived_at=timezone.now(),
        erased_at=timezone.now(),
    )
    customer.favourite_products.clear()
    customer.tags.clear()
    # History records would keep every earlier version of the personal fields.
    Customer.history.filter(id=pk).delete()
    for model in _historical_models_with_customer():
        model.objects.filter(customer_id=pk).delete()
    audit_record(actor=erased_by, action=AuditRecord.Action.CUSTOMER_ERASED, target=customer)
    card_changed(pk)  # no cached fragment of the card is read again (older ones expire within a week)
    active_customers_changed()
    customer.refresh_from_db()
    return customer
