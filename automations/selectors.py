"""Page reads for the automations pages: a fixed number of queries however many rows."""

import logging

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Case, CharField, Count, Max, Q, Value, When
from django.utils import timezone

from automations.models import OutboundMessage, OutboxControl
from customers.models import Customer

PAGE_SIZE = 50
# The delivery rates count every email ever sent: 160 ms for a year's 250,000. A rate moves slowly, so
# the outbox page and the dashboard share one count for a few minutes (the table says so).
DELIVERY_RATES_SECONDS = 300
_DELIVERY_RATES_KEY = "automations:delivery-rates"

logger = logging.getLogger(__name__)


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
    return {
        "since": control.mail_down_since,
        "retry_at": control.mail_retry_at,
        "waiting": waiting,
        "error": control.mail_last_error,
    }


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
        .select_related("customer")
        .order_by("planned_at", "pk")[:100]
    )


def preview_customers():
    """Customers to preview a template for: the most recently added, with an email."""
    return Customer.objects.filter(is_archived=False).exclude(email="").order_by("-created_at", "-pk")[:50]


def now_for_templates():
    return timezone.now()


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def delivery_rates() -> list[dict]:
    """The delivery rates as counted in the last DELIVERY_RATES_SECONDS: no query, or one to count them."""
    try:
        rates = cache.get(_DELIVERY_RATES_KEY)
    except Exception:  # the cache is down: count them now, the page still shows
        logger.exception("Cache unreachable: counting the delivery rates")
        return delivery_rates_counted()
    if rates is None:
        rates = delivery_rates_counted()
        try:
            cache.set(_DELIVERY_RATES_KEY, rates, timeout=DELIVERY_RATES_SECONDS)
        except Exception:
            logger.exception("Cache unreachable: keeping the delivery rates")
    return rates


def delivery_rates_counted() -> list[dict]:
    """Delivered, bounced and complained shares of sent emails per automation and per newsletter: one query.

    A complaint or a provider unsubscribe means the email arrived, so both count as delivered too;
    bounced counts hard bounces (a soft bounce may still arrive). Where the mail service reported
    nothing at all on a group (SMTP or files, no webhook) its rates are unknown (None), not 0%.
    """
    D = OutboundMessage.Delivery
    newsletter = Case(When(kind="newsletter", then="occasion_key"), default=Value(""), output_field=CharField())
    rows = (
        OutboundMessage.objects.filter(status=OutboundMessage.Status.SENT)
        .order_by()
        .values("kind", group=newsletter)
        .annotate(
            sent=Count("pk"),
            delivered=Count("pk", filter=Q(delivery_status__in=(D.DELIVERED, D.UNSUBSCRIBED, D.COMPLAINED))),
            bounced=Count("pk", filter=Q(delivery_status=D.BOUNCED)),
            complained=Count("pk", filter=Q(delivery_status=D.COMPLAINED)),
            reported=Count("pk", filter=~Q(delivery_status="")),
            subject=Max("subject"),
        )
    )
    out = []
    for row in rows:
        is_newsletter = bool(row["group"])
        label = f"Newsletter “{row['subject']}”" if is_newsletter else OutboundMessage(kind=row["kind"]).kind_label
        sent = row["sent"] if row["reported"] else 0  # no report at all: no rate
        out.append(
            {
                "label": label,
                "kind": row["kind"],
                "group": row["group"],
                "sent": row["sent"],
                "delivered": row["delivered"],
                "bounced": row["bounced"],
                "complained": row["complained"],
                "delivered_rate": _rate(row["delivered"], sent),
                "bounced_rate": _rate(row["bounced"], sent),
                "complained_rate": _rate(row["complained"], sent),
            }
        )
    out.sort(key=lambda r: (bool(r["group"]), r["label"].lower()))
    return out
