"""Reads for the history (audit) pages: who changed what, when, from django-simple-history."""

from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.contrib.auth.models import User
from django.db.models import Model, QuerySet
from django.utils import timezone

from accounts.models import AuditRecord
from customers.models import Customer

HISTORY_LIMIT = 100
# Fields that say nothing a person changed on purpose.
SKIP_FIELDS = {
    "id",
    "history_id",
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user",
    "history_user_id",
    "updated_at",
    "created_at",
    "figures_updated_at",
    "history_relation",
}


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    at: datetime
    who: str
    what: str  # "Customer", "Touchpoint", "Gift code"…
    kind: str  # "created", "changed", "deleted"
    object_label: str
    changes: list[Change] = field(default_factory=list)


def _display(model, name: str, value, usernames: dict[int, str]) -> str:
    if value is None or value == "":
        return "—"
    try:
        f = model._meta.get_field(name)
    except Exception:  # noqa: BLE001
        return str(value)
    if f.is_relation:
        if f.related_model is User:
            return usernames.get(value, f"#{value}")
        return f"#{value}"
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%-d %b %Y %H:%M")
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _entries(
    records: list, source_model: type[Model], label, usernames: dict[int, str], skip: frozenset = frozenset()
) -> list[HistoryEntry]:
    """Turn one object's records (oldest first) into entries with a field-by-field diff."""
    fields = [f for f in source_model._meta.concrete_fields if f.attname not in SKIP_FIELDS and f.name not in skip]
    entries: list[HistoryEntry] = []
    previous: dict[int, object] = {}
    for record in records:
        before = previous.get(record.id)
        changes: list[Change] = []
        for f in fields:
            attname = f.attname
            if not hasattr(record, attname):
                continue  # excluded from history (figures)
            new = getattr(record, attname)
            old = getattr(before, attname) if before is not None else None
            if before is None and new in (None, "", False):
                continue
            if before is None or old != new:
                changes.append(
                    Change(
                        field=str(f.verbose_name),
                        old=_display(source_model, f.name, old, usernames) if before else "",
                        new=_display(source_model, f.name, new, usernames),
                    )
                )
        kind = {"+": "created", "~": "changed", "-": "deleted"}[record.history_type]
        if kind == "changed" and not changes:
            previous[record.id] = record
            continue
        entries.append(
            HistoryEntry(
                at=record.history_date,
                # No user: the system, or whoever the change reason names (e.g. the customer via their profile link).
                who=record.history_user.get_username()
                if record.history_user_id
                else (record.history_change_reason or "system"),
                what=str(source_model._meta.verbose_name).capitalize(),
                kind=kind,
                object_label=label(record),
                changes=changes,
            )
        )
        previous[record.id] = record
    return entries


def _usernames() -> dict[int, str]:
    """All accounts by id in one query (a shop has a handful), to show people by name."""
    return dict(User.objects.values_list("pk", "username"))


def _history_for(model: type[Model], queryset: QuerySet, label) -> list[HistoryEntry]:
    records = list(queryset.select_related("history_user").order_by("history_date", "history_id"))
    return _entries(records, model, label, _usernames())


def customer_history(*, customer: Customer) -> list[HistoryEntry]:
    """The customer's own changes and those of everything attached to it, newest first.

    One query per attached kind (touchpoints, follow-ups, dates, gift codes…), however
    long the history; the newest HISTORY_LIMIT entries of each kind are shown.
    """
    records = customer.history.select_related("history_user").order_by("-history_date", "-history_id")
    usernames = _usernames()
    entries = _entries(list(records[:HISTORY_LIMIT])[::-1], Customer, lambda r: customer.full_name, usernames)
    for model in apps.get_models():
        attribute = getattr(model._meta, "simple_history_manager_attribute", None)
        if model is Customer or not attribute:
            continue
        hist_model = getattr(model, attribute).model
        if "customer" not in {f.name for f in hist_model._meta.get_fields()}:
            continue
        records = hist_model.objects.filter(customer_id=customer.pk).select_related("history_user")
        records = records.order_by("-history_date", "-history_id")[:HISTORY_LIMIT]
        entries.extend(_entries(list(records)[::-1], model, lambda r: f"#{r.id}", usernames, frozenset({"customer"})))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def settings_history() -> list[HistoryEntry]:
    from crm.models import ShopSettings

    entries = _history_for(ShopSettings, ShopSettings.history.all(), lambda r: r.name)
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:HISTORY_LIMIT]


def audit_records_for(*, customer: Customer | None = None, limit: int = 200) -> QuerySet:
    queryset = AuditRecord.objects.all()
    if customer is not None:
        queryset = queryset.filter(target_type=Customer._meta.label_lower, target_id=customer.pk)
    return queryset[:limit]
