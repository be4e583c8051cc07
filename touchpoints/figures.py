"""The relationship figures kept on the customer (health, stage, closeness), from the touchpoints.

The rules live once, in `customers.health`; this module feeds them. Two paths apply them and must
agree: `customer_figures_compute` / `customer_figures_refresh` (one customer, Python, run by the
touchpoint service in its transaction) and `customer_figures_recompute_all` (every customer, a few
set-based SQL statements, run nightly so time passing cools people down). Tests check both.

A fully refunded purchase does not count; lifetime spend adds amounts in the shop's currency, less
what was refunded (touchpoints.services.touchpoint_refund keeps the same rule one customer at a time).
"""

import logging
from datetime import datetime, timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Max, Min, OuterRef, Subquery, Sum

from crm.models import ShopSettings
from customers.health import (
    FREQUENCY_WINDOW_DAYS,
    SENTIMENT_WINDOW_DAYS,
    closeness_for,
    figures_sql,
    health_for,
    stage_for,
)
from customers.models import Customer
from touchpoints.models import Touchpoint

log = logging.getLogger(__name__)


# What the rules read besides the customer's own counters: (praises ever, net sentiment of the last
# SENTIMENT_WINDOW_DAYS days, referred friends who bought).
FigureInputs = tuple[int, int, int]
FIGURE_INPUT_NAMES = ("figure_praises", "figure_sentiment", "figure_referral_buyers")


def figure_inputs(now: datetime) -> dict[str, Subquery]:
    """FIGURE_INPUT_NAMES as subqueries of a customer row: annotated on a read the caller makes anyway
    (the touchpoint service's locked read), they cost no statement of their own (two before)."""
    since = now - timedelta(days=SENTIMENT_WINDOW_DAYS)
    feedback = Touchpoint.objects.filter(customer_id=OuterRef("pk"), kind="feedback").order_by().values("customer_id")
    referred = Customer.objects.filter(referred_by_id=OuterRef("pk"), purchase_count__gt=0).order_by()
    praises, sentiment, buyers = FIGURE_INPUT_NAMES
    return {
        praises: Subquery(feedback.filter(feedback_kind="praise").annotate(n=Count("pk")).values("n")),
        sentiment: Subquery(
            feedback.filter(happened_at__gte=since, happened_at__lte=now).annotate(n=Sum("sentiment")).values("n")
        ),
        buyers: Subquery(referred.values("referred_by_id").annotate(n=Count("pk")).values("n")),
    }


def figure_inputs_of(praises: int | None, sentiment: int | None, buyers: int | None) -> FigureInputs:
    """The values `figure_inputs` read, in FIGURE_INPUT_NAMES order; a subquery with no rows gives None (0)."""
    return praises or 0, sentiment or 0, buyers or 0


def _figure_inputs_read(customer_id: int, now: datetime) -> FigureInputs:
    row = Customer.objects.filter(pk=customer_id).annotate(**figure_inputs(now)).values_list(*FIGURE_INPUT_NAMES)
    return figure_inputs_of(*row.get())


def _figures_for(customer: Customer, now: datetime, default_cadence: int, inputs: FigureInputs | None = None) -> dict:
    praises, sentiment, referral_buyers = inputs if inputs is not None else _figure_inputs_read(customer.pk, now)
    return {
        "health": health_for(
            last_touchpoint_at=customer.last_touchpoint_at,
            cadence_days=customer.cadence_days or default_cadence,
            now=now,
            touchpoints_90d=customer.touchpoints_90d,
            recent_sentiment=sentiment,
        ),
        "stage": stage_for(
            purchase_count=customer.purchase_count, referral_buyers=referral_buyers, praise_count=praises
        ),
        "closeness": closeness_for(
            last_touchpoint_at=customer.last_touchpoint_at,
            now=now,
            touchpoints_90d=customer.touchpoints_90d,
            lifetime_spend=customer.lifetime_spend,
            referral_buyers=referral_buyers,
            praise_count=praises,
            recent_sentiment=sentiment,
        ),
        "figures_updated_at": now,
    }


def customer_figures_compute(
    *, customer: Customer, now: datetime, default_cadence: int | None = None, inputs: FigureInputs | None = None
) -> dict:
    """One customer's health, stage and closeness from its counters, without writing (one indexed query, none
    when `inputs` were read with the customer: `figure_inputs`).

    The caller writes them, e.g. in the same UPDATE as the counters (touchpoint service).
    """
    if default_cadence is None:
        default_cadence = ShopSettings.load().default_cadence_days
    return _figures_for(customer, now, default_cadence, inputs)


def customer_referrer_refresh(*, customer: Customer, now: datetime, default_cadence: int | None = None) -> None:
    """Recompute the figures of whoever referred `customer` (their friend's first purchase counts for them)."""
    if not customer.referred_by_id:
        return
    referrer = Customer.objects.filter(pk=customer.referred_by_id).first()
    if referrer is None:
        return
    if default_cadence is None:
        default_cadence = ShopSettings.load().default_cadence_days
    Customer.objects.filter(pk=referrer.pk).update(**_figures_for(referrer, now, default_cadence))


def customer_figures_refresh(*, customer: Customer, now: datetime) -> None:
    """Recompute one customer's health, stage and closeness from its counters (a few indexed queries).

    A referred friend's purchase makes the referrer an advocate, so the referrer is refreshed too.
    """
    default_cadence = ShopSettings.load().default_cadence_days
    figures = _figures_for(customer, now, default_cadence)
    for name, value in figures.items():
        setattr(customer, name, value)
    Customer.objects.filter(pk=customer.pk).update(**figures)
    if customer.referred_by_id and customer.purchase_count > 0:
        customer_referrer_refresh(customer=customer, now=now, default_cadence=default_cadence)


# What one customer's bad data can raise in the recompute: a date out of range, a numeric overflow.
_RECOMPUTE_ERRORS = (DatabaseError, ArithmeticError, OverflowError, ValueError)


@transaction.atomic
def customer_figures_recompute_all(*, now: datetime) -> int:
    """Recompute every customer's figures from the touchpoints, set-based; returns customers changed.

    A handful of statements whatever the number of customers: build a temporary table with one
    row per customer (one grouped pass over the touchpoints, the rules applied as CASE
    expressions), index it, UPDATE … FROM it, drop it. Same rules as customer_figures_refresh.

    If one customer's data breaks the pass (a value from before a limit existed), the pass is
    rolled back and run again on halves of the id range, down to that customer, who is logged and
    skipped: everyone else is still recomputed.
    """
    try:
        with transaction.atomic():
            return _recompute(now=now, bounds=None)
    except _RECOMPUTE_ERRORS:
        log.warning("The nightly recompute failed as a whole; looking for the customer it fails on", exc_info=True)
    ids = Customer.objects.order_by().aggregate(lo=Min("pk"), hi=Max("pk"))
    if ids["lo"] is None:
        return 0
    return _recompute_isolating(now=now, lo=ids["lo"], hi=ids["hi"])


def _recompute_isolating(*, now: datetime, lo: int, hi: int) -> int:
    try:
        with transaction.atomic():
            return _recompute(now=now, bounds=(lo, hi))
    except _RECOMPUTE_ERRORS as exc:
        if lo == hi:
            log.error(
                "Figures of customer %s could not be recomputed and were left as they were: %s: %s",
                lo,
                type(exc).__name__,
                exc,
            )
            return 0
    middle = (lo + hi) // 2
    return _recompute_isolating(now=now, lo=lo, hi=middle) + _recompute_isolating(now=now, lo=middle + 1, hi=hi)


def _recompute(*, now: datetime, bounds: tuple[int, int] | None) -> int:
    """The set-based pass, over every customer or (bounds) over the customers whose id is in a range."""
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    touchpoints = quote(Touchpoint._meta.db_table)
    customers = quote(Customer._meta.db_table)
    agg = quote("rapport_figures_agg")
    shop = ShopSettings.load()
    default_cadence = shop.default_cadence_days
    in_range = Customer.objects.filter(pk__range=bounds) if bounds else Customer.objects.all()
    cadences = sorted(
        {default_cadence}
        # order_by(): the model's default ordering would otherwise join the DISTINCT (a 100,000-row sort).
        | {
            cadence
            for cadence in in_range.filter(cadence_days__isnull=False)
            .order_by()
            .values_list("cadence_days", flat=True)
            .distinct()
            if cadence is not None
        }
    )
    # Within a range, the touchpoints read and the customers written are only those of the range; a
    # referrer's friends may be outside it, so their purchases are read from the touchpoints directly.
    range_params = list(bounds) if bounds else []
    t_where = "AND customer_id BETWEEN %s AND %s" if bounds else ""
    c_where = "WHERE c.id BETWEEN %s AND %s" if bounds else ""
    r_sql = (
        f"""
            SELECT c2.referred_by_id AS customer_id, COUNT(*) AS buyers
            FROM {customers} c2
            WHERE c2.referred_by_id BETWEEN %s AND %s AND EXISTS (
                SELECT 1 FROM {touchpoints} p WHERE p.customer_id = c2.id AND p.kind = 'purchase')
            GROUP BY c2.referred_by_id
    """
        if bounds
        else f"""
            SELECT c2.referred_by_id AS customer_id, COUNT(*) AS buyers
            FROM {customers} c2 JOIN t ON t.customer_id = c2.id
            WHERE c2.referred_by_id IS NOT NULL AND t.purchases > 0
            GROUP BY c2.referred_by_id
    """
    )
    # The inputs per customer, one row each. LEFT JOINs keep customers with no touchpoints.
    inputs_sql = f"""
        WITH t AS (
            SELECT customer_id,
                   MAX(happened_at) AS last_at,
                   SUM(CASE WHEN happened_at >= %s AND happened_at <= %s THEN 1 ELSE 0 END) AS n90,
                   SUM(CASE WHEN kind = 'purchase' AND refunded_at IS NULL THEN 1 ELSE 0 END) AS purchases,
                   SUM(CASE WHEN kind = 'purchase' AND (currency = '' OR currency = %s)
                            THEN COALESCE(amount, 0) - COALESCE(refunded_amount, 0) ELSE 0 END) AS spend,
                   MIN(CASE WHEN kind = 'purchase' AND refunded_at IS NULL THEN happened_at END) AS first_purchase,
                   SUM(CASE WHEN kind = 'feedback' AND feedback_kind = 'praise' THEN 1 ELSE 0 END) AS praises,
                   SUM(CASE WHEN kind = 'feedback' AND happened_at >= %s AND happened_at <= %s
                            THEN COALESCE(sentiment, 0) ELSE 0 END) AS sentiment
            FROM {touchpoints}
            WHERE happened_at <= %s {t_where}
            GROUP BY customer_id
        ),
        r AS ({r_sql})
        SELECT c.id AS customer_id, COALESCE(c.cadence_days, %s) AS cadence,
               t.last_at AS last_at, COALESCE(t.n90, 0) AS n90, COALESCE(t.purchases, 0) AS purchases,
               COALESCE(t.spend, 0) AS spend, t.first_purchase AS first_purchase,
               COALESCE(t.praises, 0) AS praises, COALESCE(t.sentiment, 0) AS sentiment,
               COALESCE(r.buyers, 0) AS buyers
        FROM {customers} c
        LEFT JOIN t ON t.customer_id = c.id
        LEFT JOIN r ON r.customer_id = c.id
        {c_where}
    """
    inputs_params = [
        adapt(now - timedelta(days=FREQUENCY_WINDOW_DAYS)),
        adapt(now),
        shop.currency,
        adapt(now - timedelta(days=SENTIMENT_WINDOW_DAYS)),
        adapt(now),
        adapt(now),  # touchpoints after `now` do not count yet: the figures as of a past day (the demo's trend)
        *range_params,  # t's WHERE
        *range_params,  # r's WHERE
        default_cadence,
        *range_params,  # the customers' WHERE
    ]
    select_sql, select_params = figures_sql(inputs_sql, now=now, cadences=cadences)
    sql = f"CREATE TEMPORARY TABLE {agg} AS {select_sql}"
    params = [*select_params, *inputs_params]
    # Only rows whose figures change are written: every write updates all of the customer
    # table's indexes (trigram ones included), and on a given night few customers change.
    differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    changed = " OR ".join(
        f"{customers}.{column} {differs} a.{source}"
        for column, source in (
            ("last_touchpoint_at", "last_at"),
            ("touchpoints_90d", "n90"),
            ("purchase_count", "purchases"),
            ("lifetime_spend", "spend"),
            ("first_purchase_at", "first_purchase"),
            ("health", "health"),
            ("stage", "stage"),
            ("closeness", "closeness"),
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {agg}")
        cursor.execute(sql, params)
        # Without an index and statistics PostgreSQL joins the fresh table by nested loops
        # (minutes at 100,000 customers instead of seconds).
        cursor.execute(f"CREATE INDEX {quote('rapport_figures_agg_customer')} ON {agg} (customer_id)")
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {agg}")
        cursor.execute(
            f"""
            UPDATE {customers} SET
                last_touchpoint_at = a.last_at,
                touchpoints_90d = a.n90,
                purchase_count = a.purchases,
                lifetime_spend = a.spend,
                first_purchase_at = a.first_purchase,
                health = a.health,
                stage = a.stage,
                closeness = a.closeness,
                figures_updated_at = %s
            FROM {agg} a
            WHERE a.customer_id = {customers}.id AND ({changed})
            """,
            [adapt(now)],
        )
        updated = cursor.rowcount
        cursor.execute(f"DROP TABLE {agg}")
    return updated
