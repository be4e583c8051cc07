"""The relationship rules, once: health, stage and closeness from a customer's inputs.

Each rule is a table of constants below. `health_for`, `stage_for` and `closeness_for` apply it to
one customer in Python (when a touchpoint is logged); `figures_sql` turns the same tables into SQL
CASE expressions for every customer at once (the nightly recompute in `touchpoints.figures`).
`tests/customers/test_health.py` runs both over the boundary values and checks that they agree.

- **Health** starts from recency against the keep-in-touch cadence (the customer's own, else the
  shop's default): the step is how many of `HEALTH_RECENCY_MULTIPLES` × cadence have passed since
  the last touchpoint. Then two nudges of one step each: `FREQUENT_TOUCHPOINTS_90D` or more
  touchpoints in 90 days is warmer, net negative feedback in the last `SENTIMENT_WINDOW_DAYS` days
  is colder. Never seen is cold whatever else.
- **Stage**: the first row of `STAGE_RULES` whose minimums the customer meets.
- **Closeness** (0-100, orders the Dunbar rings): recency points from `RECENCY_POINTS`, plus capped
  points for frequency, spend, referrals and praise, minus a penalty for net negative feedback.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection

from customers.models import Customer

Health, Stage = Customer.Health, Customer.Stage

# --- Health ---------------------------------------------------------------------------

# Step 0 within 1× the cadence, 1 within 2×, 2 after; never seen is cold whatever the nudges.
HEALTH_RECENCY_MULTIPLES = (1, 2)
HEALTH_BY_STEP = (Health.WARM, Health.COOLING, Health.COLD)
FREQUENCY_WINDOW_DAYS = 90  # the customer's touchpoints_90d counts touchpoints this recent
FREQUENT_TOUCHPOINTS_90D = 6  # this many of them: one step warmer
SENTIMENT_WINDOW_DAYS = 30  # net negative feedback within this many days: one step colder

# --- Stage ------------------------------------------------------------------------------

# First row whose minimums the customer meets: (stage, purchases, referred friends who bought, praises).
STAGE_RULES = (
    (Stage.ADVOCATE, 0, 1, 0),  # referred a friend who bought
    (Stage.ADVOCATE, 3, 0, 1),  # a regular who praised the shop
    (Stage.REGULAR, 3, 0, 0),
    (Stage.CUSTOMER, 1, 0, 0),
    (Stage.PROSPECT, 0, 0, 0),
)

# --- Closeness --------------------------------------------------------------------------

# (days since the last touchpoint at most, points), checked in order; older or never: 0.
RECENCY_POINTS = ((14, 35), (30, 30), (90, 20), (180, 10), (365, 5))
FREQUENCY_POINTS_EACH, FREQUENCY_CAP = 2.5, 10  # per touchpoint in the frequency window, counted up to 10
SPEND_PER_POINT, SPEND_CAP = 50, 1000  # one point per 50 spent, counted up to 1,000
REFERRAL_POINTS_EACH, REFERRAL_CAP = 4, 3  # per referred friend who bought, up to 3
PRAISE_POINTS_EACH, PRAISE_CAP = 2, 4  # per praise, up to 4
NEGATIVE_FEEDBACK_PENALTY = 8


# --- In Python: one customer ---------------------------------------------------------------


def health_step(*, last_touchpoint_at: datetime | None, cadence_days: int, now: datetime) -> int:
    """0, 1 or 2: how many recency multiples of the cadence have passed; 3 for never seen."""
    if last_touchpoint_at is None:
        return len(HEALTH_BY_STEP)
    bounds = (recency_bound(now=now, cadence_days=cadence_days, step=s) for s in range(len(HEALTH_RECENCY_MULTIPLES)))
    return sum(1 for bound in bounds if last_touchpoint_at < bound)


def recency_bound(*, now: datetime, cadence_days: int, step: int = 0) -> datetime:
    """The earliest last touchpoint that still has recency step `step` or warmer at `now` (0: within the cadence)."""
    return now - timedelta(days=HEALTH_RECENCY_MULTIPLES[step] * cadence_days)


def health_for(
    *,
    last_touchpoint_at: datetime | None,
    cadence_days: int,
    now: datetime,
    touchpoints_90d: int = 0,
    recent_sentiment: int = 0,
) -> str:
    """Warm within the cadence, cooling up to twice it, cold after; nudged by frequency and feedback."""
    step = health_step(last_touchpoint_at=last_touchpoint_at, cadence_days=cadence_days, now=now)
    if step == len(HEALTH_BY_STEP):
        return HEALTH_BY_STEP[-1]
    if touchpoints_90d >= FREQUENT_TOUCHPOINTS_90D:
        step -= 1
    if recent_sentiment < 0:
        step += 1
    return HEALTH_BY_STEP[min(max(step, 0), len(HEALTH_BY_STEP) - 1)]


def stage_for(*, purchase_count: int, referral_buyers: int = 0, praise_count: int = 0) -> str:
    """The first stage of STAGE_RULES whose minimums are met."""
    for stage, purchases, buyers, praises in STAGE_RULES:
        if purchase_count >= purchases and referral_buyers >= buyers and praise_count >= praises:
            return stage
    raise AssertionError("STAGE_RULES ends with a row everyone meets")


def recency_points(*, last_touchpoint_at: datetime | None, now: datetime) -> int:
    if last_touchpoint_at is not None:
        for days, points in RECENCY_POINTS:
            if now - last_touchpoint_at <= timedelta(days=days):
                return points
    return 0


def closeness_for(
    *,
    last_touchpoint_at: datetime | None,
    now: datetime,
    touchpoints_90d: int,
    lifetime_spend: Decimal | float,
    referral_buyers: int,
    praise_count: int,
    recent_sentiment: int,
) -> float:
    """The closeness score (0-100) that orders the Dunbar rings."""
    score = float(recency_points(last_touchpoint_at=last_touchpoint_at, now=now))
    score += min(touchpoints_90d, FREQUENCY_CAP) * FREQUENCY_POINTS_EACH
    score += min(float(lifetime_spend), SPEND_CAP) / SPEND_PER_POINT
    score += min(referral_buyers, REFERRAL_CAP) * REFERRAL_POINTS_EACH
    score += min(praise_count, PRAISE_CAP) * PRAISE_POINTS_EACH
    if recent_sentiment < 0:
        score -= NEGATIVE_FEEDBACK_PENALTY
    return round(max(score, 0.0), 2)


# --- In SQL: every customer ----------------------------------------------------------------


def _literal(value: str) -> str:
    """A choice value from the tables above as an SQL string literal (they are identifiers, never user text)."""
    assert value.isidentifier(), value
    return f"'{value}'"


def _capped(column: str, cap: float) -> str:
    return f"(CASE WHEN {column} >= {cap} THEN {cap} ELSE {column} END)"


def figures_sql(inputs_sql: str, *, now: datetime, cadences: list[int]) -> tuple[str, list]:
    """A SELECT of every column of `inputs_sql` plus `health`, `stage` and `closeness`.

    `inputs_sql` gives one row per customer with the columns last_at, cadence, n90, purchases,
    spend, praises, sentiment and buyers. `cadences` are every cadence in use: the thresholds for
    `now` are computed here and passed as parameters, so the comparison is the same exact datetime
    comparison on SQLite and PostgreSQL (no date arithmetic in SQL). Returns the SQL and the
    parameters that come before those of `inputs_sql`.
    """
    adapt = connection.ops.adapt_datetimefield_value
    params: list = []
    # The recency step per cadence, as in health_step.
    step_whens = []
    for cadence in cadences:
        bounds = []
        for step in range(len(HEALTH_RECENCY_MULTIPLES)):
            params.append(adapt(recency_bound(now=now, cadence_days=cadence, step=step)))
            bounds.append(f"WHEN i.last_at >= %s THEN {step}")
        step_whens.append(
            f"WHEN {int(cadence)} THEN (CASE {' '.join(bounds)} ELSE {len(HEALTH_RECENCY_MULTIPLES)} END)"
        )
    step_whens.append(f"ELSE {len(HEALTH_RECENCY_MULTIPLES)}")  # every cadence is listed; never reached
    never = len(HEALTH_BY_STEP)
    step_sql = f"(CASE WHEN i.last_at IS NULL THEN {never} ELSE (CASE i.cadence {' '.join(step_whens)} END) END)"
    recency_whens = []
    for days, points in RECENCY_POINTS:
        params.append(adapt(now - timedelta(days=days)))
        recency_whens.append(f"WHEN i.last_at >= %s THEN {int(points)}")
    recency_sql = f"(CASE WHEN i.last_at IS NULL THEN 0 {' '.join(recency_whens)} ELSE 0 END)"

    # Health from the step and the two nudges, as in health_for.
    nudged = (
        f"(s.step - (CASE WHEN s.n90 >= {FREQUENT_TOUCHPOINTS_90D} THEN 1 ELSE 0 END)"
        " + (CASE WHEN s.sentiment < 0 THEN 1 ELSE 0 END))"
    )
    health_whens = [f"WHEN s.step = {never} THEN {_literal(HEALTH_BY_STEP[-1])}"]
    health_whens += [f"WHEN {nudged} <= {step} THEN {_literal(h)}" for step, h in enumerate(HEALTH_BY_STEP[:-1])]
    health_sql = f"(CASE {' '.join(health_whens)} ELSE {_literal(HEALTH_BY_STEP[-1])} END)"

    # Stage: the first row of STAGE_RULES that is met, as in stage_for.
    stage_whens = [
        f"WHEN s.purchases >= {purchases} AND s.buyers >= {buyers} AND s.praises >= {praises} THEN {_literal(stage)}"
        for stage, purchases, buyers, praises in STAGE_RULES
    ]
    stage_sql = f"(CASE {' '.join(stage_whens)} END)"

    # Closeness, as in closeness_for.
    score = (
        f"(s.recency + {_capped('s.n90', FREQUENCY_CAP)} * {FREQUENCY_POINTS_EACH}"
        f" + {_capped('s.spend', SPEND_CAP)} * 1.0 / {SPEND_PER_POINT}"
        f" + {_capped('s.buyers', REFERRAL_CAP)} * {REFERRAL_POINTS_EACH}"
        f" + {_capped('s.praises', PRAISE_CAP)} * {PRAISE_POINTS_EACH}"
        f" - (CASE WHEN s.sentiment < 0 THEN {NEGATIVE_FEEDBACK_PENALTY} ELSE 0 END))"
    )
    closeness_sql = f"(CASE WHEN {score} < 0 THEN 0 ELSE ROUND(CAST({score} AS NUMERIC), 2) END)"

    sql = f"""
        SELECT s.*, {health_sql} AS health, {stage_sql} AS stage, {closeness_sql} AS closeness
        FROM (SELECT i.*, {step_sql} AS step, {recency_sql} AS recency FROM ({inputs_sql}) i) s
    """
    return sql, params
