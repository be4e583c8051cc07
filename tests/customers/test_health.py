"""The health, stage and closeness rules: Python and SQL are built from one table and agree at every boundary."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from customers import health
from customers.health import closeness_for, figures_sql, health_for, stage_for

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
CADENCES = [7, 30]
SECOND = timedelta(seconds=1)


def _ages(cadence: int) -> list[timedelta | None]:
    """Never seen, and both sides of every threshold: the cadence multiples and the recency-point days."""
    days = [multiple * cadence for multiple in health.HEALTH_RECENCY_MULTIPLES]
    days += [d for d, _ in health.RECENCY_POINTS]
    return [None, timedelta(0)] + [a for d in days for a in (timedelta(days=d), timedelta(days=d) + SECOND)]


def _cases() -> list[dict]:
    cases = []
    # Health and recency: every age against each cadence, with and without both nudges.
    frequent = health.FREQUENT_TOUCHPOINTS_90D
    for cadence in CADENCES:
        for age, n90, sentiment in itertools.product(_ages(cadence), (0, frequent - 1, frequent), (-1, 0, 1)):
            cases.append(
                dict(
                    cadence=cadence,
                    age=age,
                    n90=n90,
                    sentiment=sentiment,
                    purchases=0,
                    spend=Decimal(0),
                    praises=0,
                    buyers=0,
                )
            )
    # Stage: each minimum of STAGE_RULES met and missed by one.
    for purchases, buyers, praises in itertools.product(range(5), (0, 1, 2), (0, 1, 2)):
        cases.append(
            dict(
                cadence=30,
                age=timedelta(days=3),
                n90=1,
                sentiment=0,
                purchases=purchases,
                spend=Decimal(10),
                praises=praises,
                buyers=buyers,
            )
        )
    # Closeness: each cap met, missed and passed, and a penalty that would go below zero.
    caps = itertools.product(
        (health.FREQUENCY_CAP - 1, health.FREQUENCY_CAP, health.FREQUENCY_CAP + 1),
        (Decimal(0), Decimal("49.99"), Decimal(health.SPEND_CAP) - 1, Decimal(health.SPEND_CAP), Decimal(5000)),
        (health.REFERRAL_CAP, health.REFERRAL_CAP + 1),
        (health.PRAISE_CAP, health.PRAISE_CAP + 1),
    )
    for n90, spend, buyers, praises in caps:
        cases.append(
            dict(
                cadence=30,
                age=timedelta(days=200),
                n90=n90,
                sentiment=-1,
                purchases=3,
                spend=spend,
                praises=praises,
                buyers=buyers,
            )
        )
    cases.append(dict(cadence=30, age=None, n90=0, sentiment=-3, purchases=0, spend=Decimal(0), praises=0, buyers=0))
    return cases


def _python(case: dict) -> tuple[str, str, float]:
    last_at = None if case["age"] is None else NOW - case["age"]
    return (
        health_for(
            last_touchpoint_at=last_at,
            cadence_days=case["cadence"],
            now=NOW,
            touchpoints_90d=case["n90"],
            recent_sentiment=case["sentiment"],
        ),
        stage_for(purchase_count=case["purchases"], referral_buyers=case["buyers"], praise_count=case["praises"]),
        closeness_for(
            last_touchpoint_at=last_at,
            now=NOW,
            touchpoints_90d=case["n90"],
            lifetime_spend=case["spend"],
            referral_buyers=case["buyers"],
            praise_count=case["praises"],
            recent_sentiment=case["sentiment"],
        ),
    )


def _sql(cases: list[dict]) -> list[tuple[str, str, float]]:
    """Every case as one input row of figures_sql, in one query."""
    adapt = connection.ops.adapt_datetimefield_value
    # Typed as the real columns are: PostgreSQL would guess from the first row, SQLite binds a Decimal as text.
    at = "CAST(%s AS TIMESTAMP WITH TIME ZONE)" if connection.vendor == "postgresql" else "%s"
    rows, params = [], []
    for n, case in enumerate(cases):
        rows.append(f"(%s, %s, {at}, %s, %s, CAST(%s AS NUMERIC), %s, %s, %s)")
        last_at = None if case["age"] is None else adapt(NOW - case["age"])
        params += [
            n,
            case["cadence"],
            last_at,
            case["n90"],
            case["purchases"],
            case["spend"],
            case["praises"],
            case["sentiment"],
            case["buyers"],
        ]
    inputs = (
        "SELECT column1 AS n, column2 AS cadence, column3 AS last_at, column4 AS n90, column5 AS purchases,"
        " column6 AS spend, column7 AS praises, column8 AS sentiment, column9 AS buyers"
        f" FROM (VALUES {', '.join(rows)}) v"
    )
    sql, before = figures_sql(inputs, now=NOW, cadences=CADENCES)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT f.n, f.health, f.stage, f.closeness FROM ({sql}) f ORDER BY f.n", [*before, *params])
        return [(h, s, float(c)) for _, h, s, c in cursor.fetchall()]


@pytest.mark.django_db
def test_the_sql_rules_agree_with_the_python_rules_at_every_boundary():
    cases = _cases()
    assert len(cases) > 150
    expected = [_python(case) for case in cases]
    assert _sql(cases) == expected
    # The boundaries are really crossed: every health and stage occurs, and closeness is clamped at both ends.
    assert {h for h, _, _ in expected} == set(health.HEALTH_BY_STEP)
    assert {s for _, s, _ in expected} == {stage for stage, *_ in health.STAGE_RULES}
    assert min(c for _, _, c in expected) == 0.0


def test_health_is_warm_on_the_cadence_day_and_cooling_a_second_later():
    assert health_for(last_touchpoint_at=NOW - timedelta(days=30), cadence_days=30, now=NOW) == "warm"
    assert health_for(last_touchpoint_at=NOW - timedelta(days=30) - SECOND, cadence_days=30, now=NOW) == "cooling"


def test_every_stage_rule_row_can_be_reached():
    reached = [stage_for(purchase_count=p, referral_buyers=b, praise_count=r) for _, p, b, r in health.STAGE_RULES]
    assert reached == [stage for stage, *_ in health.STAGE_RULES]
