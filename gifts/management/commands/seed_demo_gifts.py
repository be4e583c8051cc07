"""Demo gift codes for the demo customers (run after seed_demo; `make run` does).

A share of the customers get a code: most still active (birthday, loyalty, by hand,
referral), some expired, some redeemed at the counter by a demo staff member.
Bulk inserts, so it stays quick with 100,000 customers.
"""

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from crm.models import ShopSettings
from customers.models import Customer, Product
from gifts.models import GiftCode
from gifts.services import gift_code_generate

# source, kind, value, weight
OFFERS = [
    ("birthday", GiftCode.Kind.PERCENT_OFF, Decimal("15"), 30),
    ("loyalty", GiftCode.Kind.FREE_PRODUCT, None, 25),
    ("manual", GiftCode.Kind.AMOUNT_OFF, Decimal("5"), 20),
    ("manual", GiftCode.Kind.PERCENT_OFF, Decimal("10"), 10),
    ("referral", GiftCode.Kind.AMOUNT_OFF, Decimal("10"), 15),
]
FREE_PRODUCTS = ["Flat white", "Cinnamon bun", "Almond croissant", "Cappuccino", "Carrot cake"]
BATCH = 5_000


def demo_gifts_create(*, share: float = 0.15, seed: int = 0, now: datetime | None = None) -> int:
    """Give about `share` of the active customers a demo gift code; returns how many were made."""
    rng = random.Random(seed)
    now = now or timezone.now()
    tz = ShopSettings.load().tz
    today = now.astimezone(tz).date()
    customer_ids = list(
        Customer.objects.filter(is_archived=False, erased_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    )
    chosen = [pk for pk in customer_ids if rng.random() < share]
    products = list(Product.objects.filter(name__in=FREE_PRODUCTS).values_list("pk", flat=True)) or list(
        Product.objects.values_list("pk", flat=True)[:5]
    )
    staff: list[int | None] = [*User.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)] or [
        None
    ]
    taken = set(GiftCode.objects.values_list("code", flat=True))
    weights = [offer[3] for offer in OFFERS]
    rows: list[GiftCode] = []
    for customer_id in chosen:
        source, kind, value, _ = rng.choices(OFFERS, weights)[0]
        product_id = None
        if kind == GiftCode.Kind.FREE_PRODUCT:
            if not products:
                kind, value = GiftCode.Kind.PERCENT_OFF, Decimal("10")
            else:
                product_id = rng.choice(products)
        code = gift_code_generate()
        while code in taken:
            code = gift_code_generate()
        taken.add(code)
        issued_days_ago = rng.randint(0, 120)
        issued_at = now - timedelta(days=issued_days_ago, minutes=rng.randint(0, 600))
        expires_on = issued_at.astimezone(tz).date() + timedelta(days=rng.choice([14, 30, 30, 60]))
        redeemed_at = redeemed_by = None
        if rng.random() < 0.3:
            last = min(expires_on, today)
            first = issued_at.astimezone(tz).date()
            day = first + timedelta(days=rng.randint(0, max((last - first).days, 0)))
            local = datetime.combine(day, time(rng.randint(9, 17), rng.randint(0, 59)), tzinfo=tz)
            redeemed_at = min(max(local, issued_at), now)
            redeemed_by = rng.choice(staff)
        rows.append(
            GiftCode(
                customer_id=customer_id,
                code=code,
                kind=kind,
                value=value,
                product_id=product_id,
                issued_at=issued_at,
                expires_on=expires_on,
                source=source,
                issued_by_id=rng.choice(staff) if source == "manual" else None,
                redeemed_at=redeemed_at,
                redeemed_by_id=redeemed_by,
            )
        )
    issued = [row.issued_at for row in rows]
    with transaction.atomic():
        GiftCode.objects.bulk_create(rows, batch_size=BATCH)
        # auto_now_add stamped every row "now"; put back the spread-out issue dates.
        for row, issued_at in zip(rows, issued):
            row.issued_at = issued_at
        GiftCode.objects.bulk_update(rows, ["issued_at"], batch_size=1_000)
    return len(rows)


class Command(BaseCommand):
    help = "Give some demo customers gift codes (active, expired and redeemed). Run after seed_demo."

    def add_arguments(self, parser):
        parser.add_argument("--share", type=float, default=0.15, help="Share of customers who get a code.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if any gift codes exist.")

    def handle(self, *args, **options):
        if options["if_empty"] and GiftCode.objects.exists():
            self.stdout.write("Gift codes exist already: no demo gift codes added.")
            return
        made = demo_gifts_create(share=options["share"], seed=options["seed"])
        self.stdout.write(self.style.SUCCESS(f"Added {made} demo gift codes."))
