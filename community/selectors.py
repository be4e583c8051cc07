"""Page reads for segments, newsletters and events; query counts stay flat as data grows."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from automations.models import EmailOptOut, OutboundMessage
from community.models import Event, Invitation, Newsletter, Segment
from crm.models import ShopSettings
from customers.models import Customer


def _ids(value: Any) -> list[int]:
    if value in (None, "", []):
        return []
    if not isinstance(value, (list, tuple)):
        value = [value]
    out = []
    for item in value:
        try:
            out.append(int(item))
        except (TypeError, ValueError):
            continue
    return out


def _strings(value: Any) -> list[str]:
    if value in (None, "", []):
        return []
    if not isinstance(value, (list, tuple)):
        value = [value]
    return [str(v) for v in value if v not in (None, "")]


def _day_start(day: str, tz) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(day), time.min, tzinfo=tz)
    except (TypeError, ValueError):
        return None


def segment_filter_q(filters: dict) -> Q:
    """Turn a segment's stored filters into one Q over Customer (archived customers never match).

    Several values in one filter mean "any of them"; different filters must all hold.
    Dates are days in the shop's time zone, both ends included.
    """
    q = Q(is_archived=False, erased_at__isnull=True)
    if tags := _ids(filters.get("tags")):
        q &= Q(pk__in=Customer.tags.through.objects.filter(tag_id__in=tags).values("customer_id"))
    if products := _ids(filters.get("favourite_products")):
        q &= Q(pk__in=Customer.favourite_products.through.objects.filter(product_id__in=products).values("customer_id"))
    if health := _strings(filters.get("health")):
        q &= Q(health__in=health)
    if stage := _strings(filters.get("stage")):
        q &= Q(stage__in=stage)
    if months := [m for m in _ids(filters.get("birthday_months")) if 1 <= m <= 12]:
        q &= Q(birthday_month__in=months)
    if owners := _ids(filters.get("owners")):
        q &= Q(owner_id__in=owners)
    tz = ShopSettings.load().tz
    if start := _day_start(filters.get("last_touchpoint_from") or "", tz):
        q &= Q(last_touchpoint_at__gte=start)
    if end := _day_start(filters.get("last_touchpoint_to") or "", tz):
        q &= Q(last_touchpoint_at__lt=end + timedelta(days=1))
    if (min_purchases := filters.get("min_purchases")) not in (None, ""):
        try:
            q &= Q(purchase_count__gte=int(min_purchases))
        except (TypeError, ValueError):
            pass
    if (min_spend := filters.get("min_spend")) not in (None, ""):
        try:
            q &= Q(lifetime_spend__gte=Decimal(str(min_spend)))
        except InvalidOperation:
            pass
    consent = filters.get("consent") or ""
    if consent == "yes":
        q &= Q(email_consent=True) & ~Q(email="")
    elif consent == "no":
        q &= Q(email_consent=False) | Q(email="")
    return q


def segment_customers(segment: Segment | dict) -> QuerySet[Customer]:
    """The customers a segment (or a dict of filters) selects, as one queryset."""
    filters = segment.filters if isinstance(segment, Segment) else segment
    return Customer.objects.filter(segment_filter_q(filters or {}))


def segment_count(filters: dict) -> dict[str, int]:
    """Live figures while a filter is built: all matches, and those who can get email."""
    return segment_customers(filters).aggregate(
        total=Count("pk"), reachable=Count("pk", filter=Q(email_consent=True) & ~Q(email=""))
    )


def segment_list() -> QuerySet[Segment]:
    return Segment.objects.select_related("created_by")


def newsletter_list() -> QuerySet[Newsletter]:
    return Newsletter.objects.select_related("segment", "created_by")


def newsletter_report(newsletter: Newsletter) -> dict[str, int]:
    """Messages of one newsletter by status, plus those who unsubscribed since it went out."""
    rows = (
        OutboundMessage.objects.filter(kind="newsletter", occasion_key=newsletter.occasion_key)
        .values("status")
        .annotate(n=Count("pk"))
    )
    counts = dict.fromkeys(OutboundMessage.Status.values, 0)
    for row in rows:
        counts[row["status"]] = row["n"]
    counts["total"] = sum(counts[s] for s in OutboundMessage.Status.values)
    counts["unsubscribed"] = newsletter_unsubscribed_count(newsletter)
    return counts


def newsletter_unsubscribed_count(newsletter: Newsletter) -> int:
    """Customers it was sent to who used an unsubscribe link after it arrived."""
    return (
        OutboundMessage.objects.filter(
            kind="newsletter",
            occasion_key=newsletter.occasion_key,
            status=OutboundMessage.Status.SENT,
        )
        .filter(
            Exists(EmailOptOut.objects.filter(customer_id=OuterRef("customer_id"), created_at__gte=OuterRef("sent_at")))
        )
        .count()
    )


def event_list(*, upcoming: bool = True) -> QuerySet[Event]:
    now = timezone.now()
    events = Event.objects.annotate(
        seats_taken=Coalesce(Sum("invitations__guests", filter=Q(invitations__answer=Invitation.Answer.GOING)), 0)
        + Count("invitations", filter=Q(invitations__answer=Invitation.Answer.GOING)),
        waiting=Count("invitations", filter=Q(invitations__answer=Invitation.Answer.WAITING)),
    )
    if upcoming:
        return events.filter(ends_at__gte=now).order_by("starts_at")
    return events.filter(ends_at__lt=now).order_by("-starts_at")


def event_figures(event: Event) -> dict[str, int]:
    """Invited, answers and seats of one event in one query."""
    going = Q(answer=Invitation.Answer.GOING)
    figures = Invitation.objects.filter(event=event).aggregate(
        invited=Count("pk"),
        going=Count("pk", filter=going),
        guests=Sum("guests", filter=going),
        waiting=Count("pk", filter=Q(answer=Invitation.Answer.WAITING)),
        declined=Count("pk", filter=Q(answer=Invitation.Answer.DECLINED)),
        pending=Count("pk", filter=Q(answer=Invitation.Answer.PENDING)),
        checked_in=Count("pk", filter=Q(checked_in_at__isnull=False)),
    )
    figures["guests"] = figures["guests"] or 0
    figures["seats_taken"] = figures["going"] + figures["guests"]
    figures["seats_free"] = max(event.capacity - figures["seats_taken"], 0)
    return figures


def event_checkin_list(event: Event) -> QuerySet[Invitation]:
    """Who is coming (and who waits), for the door list."""
    return (
        Invitation.objects.filter(event=event, answer__in=[Invitation.Answer.GOING, Invitation.Answer.WAITING])
        .select_related("customer")
        .order_by("answer", "customer__first_name", "customer__last_name", "pk")
    )


def waiting_position(invitation: Invitation) -> int:
    """1 for the first on the waiting list."""
    return (
        Invitation.objects.filter(event_id=invitation.event_id, answer=Invitation.Answer.WAITING)
        .filter(
            Q(waiting_since__lt=invitation.waiting_since)
            | Q(waiting_since=invitation.waiting_since, pk__lt=invitation.pk)
        )
        .count()
        + 1
    )


def segment_choices() -> list[tuple[str, str]]:
    """Saved segments for the customer list's filter (one query)."""
    return [(str(pk), name) for pk, name in Segment.objects.order_by("name").values_list("pk", "name")]


def customers_in_segment(customers: QuerySet[Customer], segment_id: str) -> QuerySet[Customer]:
    """Narrow the customer list to one saved segment's members (an unknown id matches nobody)."""
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        return customers.none()
    return customers.filter(pk__in=segment_customers(segment).values("pk"))
