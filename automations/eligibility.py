"""Who may get an automated email: the one rule for every planner and for the sender.

A customer may be emailed when they gave consent, are neither archived nor erased, have an
address, and that address is not on the suppression list (hard bounce, erasure request).
Planners filter their recipients with `customers_eligible`; the sender checks the same rule
again at send time with `customer_ineligible_reason`, because any of it can change in between.
"""

from django.db.models import CharField, Exists, Func, OuterRef, QuerySet
from django.db.models.functions import Lower, Trim

from automations.models import Suppression
from automations.suppression import is_suppressed
from customers.models import Customer


class EmailHash(Func):
    """SQL for automations.suppression.email_hash: hex SHA-256 of the trimmed, lower-cased address.

    Django's SHA256() needs pgcrypto on PostgreSQL; sha256() is built in since PostgreSQL 11.
    (TRIM drops spaces only, str.strip() all whitespace: addresses are saved without either.)
    """

    output_field = CharField()

    def __init__(self, expression, **extra) -> None:
        super().__init__(Lower(Trim(expression)), **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="ENCODE(SHA256(CONVERT_TO(%(expressions)s, 'UTF8')), 'hex')", **extra_context
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django registers SHA256 as a function on every SQLite connection.
        return self.as_sql(compiler, connection, function="SHA256", **extra_context)


def customers_eligible(customers: QuerySet | None = None) -> QuerySet:
    """`customers` (default: everyone) narrowed to those an automated email may go to; no ORDER BY."""
    customers = Customer.objects.all() if customers is None else customers
    suppressed = Suppression.objects.filter(email_hash=EmailHash(OuterRef("email")))
    return (
        customers.filter(email_consent=True, is_archived=False, erased_at__isnull=True)
        .exclude(email="")
        .filter(~Exists(suppressed))
        .order_by()  # planning needs no sort of a million rows
    )


def customer_ineligible_reason(customer: Customer) -> str:
    """Why `customer` may not be emailed now, in the owner's words; "" if they may."""
    if customer.erased_at or customer.is_archived:
        return "Customer archived or erased"
    if not customer.email:
        return "No email address"
    if not customer.email_consent:
        return "No email consent"
    if is_suppressed(customer.email):
        return "Address suppressed (bounced or asked to stop)"
    return ""
