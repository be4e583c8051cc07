"""Page reads for the automations pages: a fixed number of queries however many rows."""

from django.core.paginator import Paginator
from django.db.models import Count
from django.utils import timezone

from automations.models import OutboundMessage, OutboxControl
from customers.models import Customer

PAGE_SIZE = 50


def outbox_status_counts() -> dict[str, int]:
    """{status: count} for every status (zeros included), one GROUP BY."""
    counts = dict.fromkeys(OutboundMessage.Status.values, 0)
    for row in OutboundMessage.objects.order_by().values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    return counts


def outbox_mail_outage(*, control: OutboxControl, now=None) -> dict | None:
    """While the mail breaker is open: since when the server has not answered and how many due rows wait."""
    if control.mail_down_since is None:
        return None
    now = now or timezone.now()
    waiting = OutboundMessage.objects.filter(status=OutboundMessage.Status.PLANNED, planned_at__lte=now).count()
    return {"since": control.mail_down_since, "retry_at": control.mail_retry_at, "waiting": waiting,
            "error": control.mail_last_error}


def outbox_kinds() -> list[str]:
    return list(OutboundMessage.objects.order_by("kind").values_list("kind", flat=True).distinct())


def outbox_page(*, status: str = "", kind: str = "", page: int | str = 1):
    """One page of the outbox, newest planned first, with recipients fetched in the same query."""
    rows = OutboundMessage.objects.select_related("customer", "staff_user").order_by("-planned_at", "-pk")
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    return Paginator(rows, PAGE_SIZE).get_page(page)


def review_queue():
    """Drafts waiting for a person, oldest planned first."""
    return (
        OutboundMessage.objects.filter(status=OutboundMessage.Status.DRAFT)
        .select_related("customer").order_by("planned_at", "pk")[:100]
    )


def preview_customers():
    """Customers to preview a template for: the most recently added, with an email."""
    return Customer.objects.filter(is_archived=False).exclude(email="").order_by("-created_at", "-pk")[:50]


def now_for_templates():
    return timezone.now()
