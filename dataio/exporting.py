"""CSV exports, streamed row by row, and one customer's data as a zip of JSON and CSV."""

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Model
from django.utils import timezone

from customers.models import Customer
from touchpoints.models import Touchpoint

CHUNK = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """A cell a spreadsheet will not run as a formula: a leading = + - @ tab or CR gets a quote."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = (
            timezone.localtime(value).isoformat(timespec="seconds") if timezone.is_aware(value) else value.isoformat()
        )
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """Yield CSV lines one at a time (a BOM first, so Excel reads the accents right)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_safe(v) for v in row])


CUSTOMER_COLUMNS = [
    "id",
    "first_name",
    "last_name",
    "preferred_name",
    "email",
    "phone",
    "birthday_day",
    "birthday_month",
    "birthday_year",
    "tags",
    "notes",
    "how_we_met",
    "email_consent",
    "consent_at",
    "consent_method",
    "relationship_owner",
    "is_archived",
    "created_at",
    "last_touchpoint_at",
    "purchase_count",
    "lifetime_spend",
    "health",
    "stage",
]


def customer_rows() -> Iterator[list]:
    """Every customer (erased ones too, as they now are), with tags; fetched in chunks, never all at once."""
    queryset = (
        Customer.objects.order_by("pk").select_related("owner").prefetch_related("tags").iterator(chunk_size=CHUNK)
    )
    for c in queryset:
        yield [
            c.pk,
            c.first_name,
            c.last_name,
            c.preferred_name,
            c.email,
            c.phone,
            c.birthday_day,
            c.birthday_month,
            c.birthday_year,
            ", ".join(t.name for t in c.tags.all()),
            c.notes,
            c.how_we_met,
            "yes" if c.email_consent else "no",
            c.consent_at,
            c.consent_method,
            c.owner.get_username() if c.owner else "",
            "yes" if c.is_archived else "no",
            c.created_at,
            c.last_touchpoint_at,
            c.purchase_count,
            c.lifetime_spend,
            c.health,
            c.stage,
        ]


TOUCHPOINT_COLUMNS = [
    "id",
    "customer_id",
    "customer",
    "kind",
    "happened_at",
    "amount",
    "products",
    "feedback_kind",
    "sentiment",
    "note",
    "logged_by",
    "created_at",
]


def touchpoint_rows() -> Iterator[list]:
    queryset = (
        Touchpoint.objects.order_by("pk")
        .select_related("customer", "logged_by")
        .prefetch_related("products")
        .iterator(chunk_size=CHUNK)
    )
    for t in queryset:
        yield [
            t.pk,
            t.customer_id,
            t.customer.full_name,
            t.kind,
            t.happened_at,
            t.amount,
            ", ".join(p.name for p in t.products.all()),
            t.feedback_kind,
            t.sentiment,
            t.note,
            t.logged_by.get_username() if t.logged_by else "",
            t.created_at,
        ]


# --- One customer's data -------------------------------------------------------------


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _record(obj: Model) -> dict:
    """A model row as plain values (foreign keys as ids), without Django's serializer wrapping."""
    return {f.attname: _plain(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def customer_data(customer: Customer) -> dict[str, list[dict]]:
    """Everything held about one customer, section by section.

    Sections come from every table that points at the customer, so data added by
    other apps later (gift codes, invitations, messages…) is included without change here.
    """
    profile = _record(customer)
    profile["tags"] = [t.name for t in customer.tags.all()]
    profile["favourite_products"] = [p.name for p in customer.favourite_products.all()]
    data: dict[str, list[dict]] = {"customer": [profile]}
    for relation in customer._meta.related_objects:
        if relation.many_to_many or relation.one_to_one or relation.related_model is Customer:
            continue
        model = relation.related_model
        rows = model._default_manager.filter(**{relation.field.name: customer}).order_by("pk")
        data[relation.get_accessor_name() or relation.name] = [_record(row) for row in rows]
    data["referrals"] = [
        {"id": c.pk, "name": c.full_name} for c in Customer.objects.filter(referred_by=customer).order_by("pk")
    ]
    history = customer.history.order_by("history_date", "history_id")
    data["history"] = [
        {**_record(h), "changed_by": h.history_user.get_username() if h.history_user_id else ""}
        for h in history.select_related("history_user")
    ]
    return data


def _csv_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_safe(_cell(row.get(c))) for c in columns])
    return "\ufeff" + buffer.getvalue()


def _cell(value):
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def customer_zip(customer: Customer) -> bytes:
    """customer.json (everything) plus one CSV per section, zipped (small: one person's data)."""
    data = customer_data(customer)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("customer.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        for section, rows in data.items():
            archive.writestr(f"{section}.csv", _csv_text(rows))
    return buffer.getvalue()
