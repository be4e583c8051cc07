"""Load realistic demo data: a shop with a year behind it.

Staff logins, products, tags, customers, a year of touchpoints (steady week by week, busier
before Christmas and in early summer, right up to today), then what that year left behind
(demo/history.py): automated emails in every state, follow-ups done and missed, unsubscribes,
events, a sent newsletter, segments, gift codes, a "created" history entry per customer and the
dashboard's health and stage trend. Bulk inserts only (COPY on PostgreSQL, executemany elsewhere);
the customers' figures come from touchpoints.figures (the rules live in customers.health), so
100,000 customers and 2,000,000 touchpoints load in a few minutes.
"""

import calendar
import io
import math
import random
import re
import time
import unicodedata
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.utils import timezone
from faker import Faker

from automations.eligibility import customers_eligible
from automations.models import Automation, OutboundMessage
from automations.schedule import local_today
from automations.services import automation_get
from crm.models import ShopSettings
from crm.roles import OWNER, STAFF
from customers.card_cache import LIST_CHOICES, PRODUCT_NAMES, shop_part_changed, shop_value_changed
from customers.models import Customer, FollowUp, ImportantDate, Product, Tag
from demo.history import year_history_seed
from touchpoints.figures import customer_figures_recompute_all
from touchpoints.models import Touchpoint

DEMO_PASSWORD = "rapport-demo"
DEMO_USERS = [
    # username, first name, last name, group
    ("owner", "Olivia", "Hart", OWNER),
    ("staff", "Sam", "Patel", STAFF),
    ("jamie", "Jamie", "Okafor", STAFF),
]
PRODUCTS = [
    "Flat white",
    "Oat latte",
    "Cappuccino",
    "Chai latte",
    "Hot chocolate",
    "Espresso beans 250 g",
    "House blend 1 kg",
    "Decaf beans 250 g",
    "Sourdough loaf",
    "Cinnamon bun",
    "Almond croissant",
    "Carrot cake",
    "Lemon drizzle",
    "Banana bread",
    "Afternoon tea for two",
    "Loose-leaf Earl Grey",
    "Matcha",
    "Gift hamper",
    "Ceramic mug",
    "Reusable cup",
    "Birthday cake (order)",
    "Gluten-free brownie",
    "Seasonal pie",
    "Olive focaccia",
]
TAGS = [
    "regular",
    "vip",
    "local",
    "office worker",
    "student",
    "dog owner",
    "vegan",
    "gluten-free",
    "wholesale",
    "newsletter fan",
    "event host",
    "parent",
]
HOW_WE_MET = [
    "Walked in on opening day",
    "Friend of a regular",
    "Found us on Instagram",
    "Came to the Christmas market",
    "Works in the office next door",
    "Booked a birthday cake",
    "Stopped by after yoga",
    "Local newspaper piece",
    "Came to a tasting evening",
    "Google Maps review",
    "",
]
NOTE_BITS = [
    "Has a {pet} called {name}.",
    "Loves {hobby}.",
    "Training for a {race}.",
    "Two kids: {name} and {name2}.",
    "Just moved to the area.",
    "Works as a {job}.",
    "Allergic to nuts.",
    "Prefers oat milk.",
    "Always asks about new seasonal specials.",
    "Planning a wedding next summer.",
    "Big football fan.",
    "Grandmother's recipe for lemon cake; brought us a slice once.",
    "Volunteers at the food bank.",
]
PETS = ["dog", "cat", "rabbit", "parrot", "tortoise"]
HOBBIES = ["gardening", "climbing", "crossword puzzles", "jazz", "watercolours", "cycling", "baking", "chess"]
RACES = ["10k", "half marathon", "marathon", "triathlon"]
IMPORTANT_LABELS = ["Wedding anniversary", "{name}'s birthday", "Opened their own business", "Retirement day"]
TOUCHPOINT_KINDS = [
    # kind, weight
    (Touchpoint.Kind.VISIT, 30),
    (Touchpoint.Kind.PURCHASE, 38),
    (Touchpoint.Kind.CALL, 6),
    (Touchpoint.Kind.EMAIL, 5),
    (Touchpoint.Kind.MESSAGE, 7),
    (Touchpoint.Kind.EVENT, 3),
    (Touchpoint.Kind.FEEDBACK, 5),
    (Touchpoint.Kind.GIFT, 2),
    (Touchpoint.Kind.NOTE, 4),
]
TOUCHPOINT_NOTES = {
    Touchpoint.Kind.VISIT: ["Popped in for a chat", "Came with a friend", "Sat in the window seat", "Brought the dog"],
    Touchpoint.Kind.PURCHASE: ["For the office", "Gift for a friend", "Usual order", "Tried something new"],
    Touchpoint.Kind.CALL: ["Asked about opening hours", "Ordered a cake by phone", "Called to say thanks"],
    Touchpoint.Kind.EMAIL: ["Asked about catering", "Sent photos from the party"],
    Touchpoint.Kind.MESSAGE: ["Tagged us on Instagram", "Sent a message about the new menu"],
    Touchpoint.Kind.EVENT: ["Came to the tasting evening", "Helped at the charity bake sale"],
    Touchpoint.Kind.GIFT: ["Free slice of cake for their birthday", "Gave a mug as thanks"],
    Touchpoint.Kind.NOTE: ["Mentioned they are moving in spring", "Daughter starts school in September"],
}
FEEDBACK = [
    # feedback kind, sentiment, weight, notes
    (Touchpoint.FeedbackKind.PRAISE, 1, 60, ["Loved the new sourdough", "Said the service was lovely"]),
    (Touchpoint.FeedbackKind.COMPLAINT, -1, 15, ["Coffee was lukewarm", "Waited too long at lunch"]),
    (Touchpoint.FeedbackKind.IDEA, 0, 25, ["Suggested a loyalty card", "Would like more vegan options"]),
]
# The everyday short forms of Faker's en_GB first names: a demo customer's preferred name is one of
# these or none, so the name the list shows ("Nick Brooks") matches their address (nicholas.brooks@...).
SHORT_FORMS = {
    "Abigail": "Abbie",
    "Alexander": "Alex",
    "Alexandra": "Alex",
    "Andrew": "Andy",
    "Anthony": "Tony",
    "Benjamin": "Ben",
    "Bethany": "Beth",
    "Catherine": "Cathy",
    "Charles": "Charlie",
    "Christopher": "Chris",
    "Christine": "Chris",
    "Daniel": "Dan",
    "David": "Dave",
    "Deborah": "Debbie",
    "Dominic": "Dom",
    "Edward": "Ed",
    "Elizabeth": "Liz",
    "Frederick": "Fred",
    "Gregory": "Greg",
    "James": "Jim",
    "Jennifer": "Jen",
    "Jessica": "Jess",
    "Jonathan": "Jon",
    "Joseph": "Joe",
    "Joshua": "Josh",
    "Katherine": "Kate",
    "Kathryn": "Kath",
    "Kenneth": "Ken",
    "Margaret": "Maggie",
    "Matthew": "Matt",
    "Michael": "Mike",
    "Nicholas": "Nick",
    "Nicola": "Nikki",
    "Patricia": "Pat",
    "Patrick": "Paddy",
    "Rebecca": "Becky",
    "Richard": "Rich",
    "Robert": "Rob",
    "Samantha": "Sam",
    "Samuel": "Sam",
    "Stephanie": "Steph",
    "Stephen": "Steve",
    "Steven": "Steve",
    "Susan": "Sue",
    "Thomas": "Tom",
    "Timothy": "Tim",
    "Victoria": "Vicky",
    "William": "Will",
}
EMAIL_DOMAIN = "example.com"  # reserved for examples (RFC 2606): nothing is ever delivered there
CADENCES = [None] * 7 + [14, 30, 45, 90]
HISTORY_DAYS = 365 + 120  # touchpoints reach this far back
BATCH = 20_000


_PG_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _pg_text(value) -> str:
    """One value in PostgreSQL's COPY text format (the hot loop of a 2,000,000-row load)."""
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_PG_ESCAPES)
        return value
    if kind is bool:
        return "t" if value else "f"
    if kind is datetime:
        return value.isoformat()
    return str(value)


def bulk_insert(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert raw rows (values in `columns` order, by attname): COPY on PostgreSQL, executemany elsewhere."""
    table = model._meta.db_table
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            write = buffer.write
            for row in rows:
                write("\t".join(map(_pg_text, row)))
                write("\n")
            buffer.seek(0)
            cursor.copy_expert(f"COPY {table} ({quoted}) FROM STDIN", buffer)
        else:
            fields = {f.attname: f for f in model._meta.concrete_fields}
            preps = [fields[c].get_db_prep_save for c in columns]
            prepared = [[prep(v, connection) for prep, v in zip(preps, row)] for row in rows]
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})", prepared)


@contextmanager
def bulk_load_mode(models_to_load: Sequence[type[models.Model]]):
    """On PostgreSQL, drop the tables' secondary indexes and foreign keys for the load and rebuild them after.

    What pg_restore does: one index build and one set-based FK check per table are far
    cheaper than maintaining trigram GIN indexes and firing an FK trigger per row.
    The exact definitions are read from the catalog and recreated under the same names,
    inside the caller's transaction (PostgreSQL DDL is transactional).
    """
    if connection.vendor != "postgresql":
        yield
        return
    restore: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for model in models_to_load:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = %s::regclass AND contype IN ('f', 'u')",
                [model._meta.db_table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
                restore.append(f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
                " WHERE x.indrelid = %s::regclass AND NOT x.indisprimary"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
                [model._meta.db_table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                restore.append(definition)
    yield
    with connection.cursor() as cursor:
        # Unique constraints first (an FK may need one), then indexes, then the FKs.
        for statement in sorted(restore, key=lambda s: (" FOREIGN KEY " in s, s.startswith("ALTER"))):
            cursor.execute(statement)


def _email_part(name: str) -> str:
    """A name as it goes into an address: "O'Brien" -> "obrien", "Zoë" -> "zoe"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9-]", "", ascii_name.lower())


def demo_email(first: str, last: str, taken: set[str]) -> str:
    """first.last@example.com from the customer's own name, numbered (first.last2@...) if taken; adds it to `taken`."""
    local = f"{_email_part(first)}.{_email_part(last)}"
    email, n = f"{local}@{EMAIL_DOMAIN}", 1
    while email in taken:
        n += 1
        email = f"{local}{n}@{EMAIL_DOMAIN}"
    taken.add(email)
    return email


def reserve_ids(model: type[models.Model], count: int) -> int:
    """Return the first of `count` consecutive primary keys nobody else will get."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            # Move the sequence past the block so concurrent inserts get ids after it.
            cursor.execute("SELECT nextval(%s)", [sequence])
            first = cursor.fetchone()[0]
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + max(count, 1) - 1])
            return first
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608  table from _meta
        return cursor.fetchone()[0]


class Command(BaseCommand):
    help = "Load demo data: logins owner/staff (password rapport-demo), products, customers, touchpoints."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=300)
        parser.add_argument("--touchpoints", type=int, default=None, help="Default: 20 per customer.")
        parser.add_argument("--seed", type=int, default=None, help="Same seed, same data.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if there are customers already.")
        parser.add_argument("--force", action="store_true", help="Run even in production settings.")
        parser.add_argument(
            "--no-history",
            action="store_true",
            help="Only customers and touchpoints: no emails, events, trends (quicker).",
        )

    def handle(self, *args, **options):
        # Demo logins with a known password are fine on the shop's own machine (DEBUG or local
        # HTTP, as `make run`), never on a deployment reachable by others unless forced.
        if not (settings.DEBUG or settings.LOCAL_HTTP) and not options["force"]:
            raise CommandError("seed_demo makes demo logins with a known password; in production add --force.")
        if options["if_empty"] and Customer.objects.exists():
            self.stdout.write("Customers exist already: no demo data loaded.")
            return
        n_customers = max(options["customers"], 0)
        n_touchpoints = options["touchpoints"]
        if n_touchpoints is None:
            n_touchpoints = 20 * n_customers
        seed = options["seed"] if options["seed"] is not None else random.randrange(1_000_000)
        started = time.monotonic()
        seeder = Seeder(seed=seed, now=timezone.now(), log=self.stdout.write, history=not options["no_history"])
        with transaction.atomic():
            seeder.run(n_customers=n_customers, n_touchpoints=max(n_touchpoints, 0))
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {n_customers} customers and {n_touchpoints} touchpoints (seed {seed}) "
                f"in {time.monotonic() - started:.1f} s. Logins: owner / staff / jamie, password {DEMO_PASSWORD}."
            )
        )


class Seeder:
    """Generates the demo rows; one instance per run, deterministic for a seed."""

    def __init__(self, *, seed: int, now: datetime, log=print, history: bool = True):
        self.rng = random.Random(seed)
        self.history = history
        self.faker = Faker("en_GB")
        self.faker.seed_instance(seed)
        self.now = now
        self.log = log
        # Pools keep Faker out of the per-row loop (it is the slow part at 100,000 rows).
        self.first_names = [self.faker.first_name() for _ in range(600)]
        self.last_names = [self.faker.last_name() for _ in range(900)]
        self.jobs = [self.faker.job() for _ in range(60)]

    def run(self, *, n_customers: int, n_touchpoints: int) -> None:
        users = self.users()
        self.staff_ids = [u.pk for u in users]
        self.product_ids = self.products()
        tag_ids = self.tags()
        if not n_customers:
            return
        t0 = time.monotonic()
        first_id = reserve_ids(Customer, n_customers)
        ids = list(range(first_id, first_id + n_customers))
        loaded: list[type[models.Model]] = [
            Customer,
            Customer.favourite_products.through,
            Customer.tags.through,
            ImportantDate,
            Touchpoint,
            Touchpoint.products.through,
        ]
        with bulk_load_mode(loaded):
            self.customers(ids, tag_ids)
            self.log(f"  customers: {time.monotonic() - t0:.1f} s")
            t0 = time.monotonic()
            self.touchpoints(ids, n_touchpoints)
            self.log(f"  touchpoints: {time.monotonic() - t0:.1f} s")
            t0 = time.monotonic()
        self.log(f"  indexes and foreign keys: {time.monotonic() - t0:.1f} s")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in loaded:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        t0 = time.monotonic()
        customer_figures_recompute_all(now=self.now)
        self.log(f"  figures: {time.monotonic() - t0:.1f} s")
        self.followups(ids)
        if self.history:
            year_history_seed(rng=self.rng, customer_ids=ids, staff_ids=self.staff_ids, now=self.now, log=self.log)
        self.birthday_to_greet(ids)

    def birthday_to_greet(self, ids: list[int]) -> None:
        """One customer who may be emailed has their birthday on the day the birthday automation greets
        for today, so the worker's first planning run (as `make run` starts) puts an email in the outbox
        whatever the date and hour (otherwise that depended on the random birthdays)."""
        automation = automation_get(Automation.Kind.BIRTHDAY)
        target = local_today(self.now, ShopSettings.load().tz) + timedelta(days=automation.days)
        greeted = OutboundMessage.objects.filter(kind=automation.kind, occasion_key=f"birthday:{target.year}")
        customer = (
            customers_eligible(Customer.objects.filter(pk__in=ids))
            .exclude(pk__in=greeted.values("customer_id"))
            .order_by("pk")
            .first()
        )
        if customer is not None:
            Customer.objects.filter(pk=customer.pk).update(birthday_day=target.day, birthday_month=target.month)

    # --- reference data ----------------------------------------------------

    def users(self) -> list[User]:
        users = []
        for username, first, last, group_name in DEMO_USERS:
            user, _ = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "email": f"{username}@rapport.invalid"},
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.groups.add(Group.objects.get_or_create(name=group_name)[0])
            users.append(user)
        return users

    def products(self) -> list[int]:
        existing = {name.lower() for name in Product.objects.values_list("name", flat=True)}
        Product.objects.bulk_create([Product(name=n) for n in PRODUCTS if n.lower() not in existing])
        shop_part_changed(PRODUCT_NAMES)  # bulk_create sends no post_save
        shop_value_changed(LIST_CHOICES)
        return list(Product.objects.values_list("pk", flat=True))

    def tags(self) -> list[int]:
        existing = {name.lower() for name in Tag.objects.values_list("name", flat=True)}
        Tag.objects.bulk_create([Tag(name=n) for n in TAGS if n.lower() not in existing])
        shop_value_changed(LIST_CHOICES)  # the list's filters (bulk_create sends no post_save)
        return list(Tag.objects.values_list("pk", flat=True))

    # --- customers ---------------------------------------------------------

    def _birthday(self) -> tuple[int | None, int | None, int | None]:
        rng = self.rng
        if rng.random() < 0.15:
            return None, None, None
        if rng.random() < 0.01:  # a few leap-day birthdays
            year = rng.choice([1964, 1972, 1980, 1988, 1996, 2004]) if rng.random() < 0.5 else None
            return 29, 2, year
        month = rng.randint(1, 12)
        day = rng.randint(1, 28 if month == 2 else calendar.monthrange(2001, month)[1])
        year = rng.randint(1948, 2008) if rng.random() < 0.45 else None
        return day, month, year

    def _notes(self) -> str:
        rng = self.rng
        bits = rng.sample(NOTE_BITS, rng.choice([0, 1, 1, 2, 3]))
        return " ".join(
            bit.format(
                pet=rng.choice(PETS),
                name=rng.choice(self.first_names),
                name2=rng.choice(self.first_names),
                hobby=rng.choice(HOBBIES),
                race=rng.choice(RACES),
                job=rng.choice(self.jobs).lower(),
            )
            for bit in bits
        )

    def customers(self, ids: list[int], tag_ids: list[int]) -> None:
        rng = self.rng
        columns = [
            "id",
            "first_name",
            "last_name",
            "preferred_name",
            "email",
            "phone",
            "birthday_day",
            "birthday_month",
            "birthday_year",
            "notes",
            "how_we_met",
            "referred_by_id",
            "owner_id",
            "cadence_days",
            "email_consent",
            "consent_at",
            "consent_method",
            "is_archived",
            "archived_at",
            "erased_at",
            "created_by_id",
            "created_at",
            "updated_at",
            "last_touchpoint_at",
            "first_purchase_at",
            "purchase_count",
            "lifetime_spend",
            "touchpoints_90d",
            "health",
            "stage",
            "closeness",
            "figures_updated_at",
        ]
        methods = [
            Customer.ConsentMethod.IN_PERSON,
            Customer.ConsentMethod.SIGNED_FORM,
            Customer.ConsentMethod.IMPORTED,
        ]
        rows, favourites, tags, dates = [], [], [], []
        # Addresses are unique (case-insensitively) across all customers, a second run's included.
        taken = {
            e.lower()
            for e in Customer.objects.filter(email__iendswith=f"@{EMAIL_DOMAIN}").values_list("email", flat=True)
        }
        self.joined: dict[int, datetime] = {}
        for n, pk in enumerate(ids):
            first, last = rng.choice(self.first_names), rng.choice(self.last_names)
            # Some go by the short form of their name (Nicholas as "Nick"), never by another name.
            preferred = SHORT_FORMS.get(first, "") if rng.random() < 0.5 else ""
            email = demo_email(first, last, taken) if rng.random() < 0.85 else ""
            phone = f"+447700{rng.randint(900000, 999999)}" if rng.random() < 0.7 else ""
            day, month, year = self._birthday()
            consent = bool(email) and rng.random() < 0.75
            # Most were customers before the year began; the rest joined week by week since, about as
            # many as drifted away, so the shop's weeks stay steady.
            joined_days_ago = rng.randint(366, 900) if rng.random() < 0.7 else rng.randint(1, 365)
            created_at = self.now - timedelta(days=joined_days_ago, minutes=rng.randint(0, 1440))
            self.joined[pk] = created_at
            archived = rng.random() < 0.02
            referred_by = rng.choice(ids[:n]) if n > 20 and rng.random() < 0.1 else None
            rows.append(
                (
                    pk,
                    first,
                    last,
                    preferred,
                    email,
                    phone,
                    day,
                    month,
                    year,
                    self._notes(),
                    rng.choice(HOW_WE_MET),
                    referred_by,
                    rng.choice(self.staff_ids),
                    rng.choice(CADENCES),
                    consent,
                    created_at if consent else None,
                    rng.choice(methods) if consent else "",
                    archived,
                    self.now if archived else None,
                    None,
                    rng.choice(self.staff_ids),
                    created_at,
                    created_at,
                    None,
                    None,
                    0,
                    Decimal("0.00"),
                    0,
                    Customer.Health.COLD,
                    Customer.Stage.PROSPECT,
                    0.0,
                    None,
                )
            )
            for product_id in rng.sample(self.product_ids, min(len(self.product_ids), rng.choice([0, 1, 1, 2, 3]))):
                favourites.append((pk, product_id))
            for tag_id in rng.sample(tag_ids, min(len(tag_ids), rng.choice([0, 0, 1, 1, 2]))):
                tags.append((pk, tag_id))
            if rng.random() < 0.2:
                d_day, d_month, d_year = self._birthday()
                if d_day:
                    label = rng.choice(IMPORTANT_LABELS).format(name=rng.choice(self.first_names))
                    dates.append((pk, label, d_day, d_month, d_year))
            if len(rows) >= BATCH:
                bulk_insert(Customer, columns, rows)
                rows = []
        bulk_insert(Customer, columns, rows)
        bulk_insert(Customer.favourite_products.through, ["customer_id", "product_id"], favourites)
        bulk_insert(Customer.tags.through, ["customer_id", "tag_id"], tags)
        bulk_insert(ImportantDate, ["customer_id", "label", "date_day", "date_month", "date_year"], dates)

    # --- touchpoints -------------------------------------------------------

    def _counts(self, n_customers: int, n_touchpoints: int, spans: Sequence[float]) -> list[int]:
        """How many touchpoints each customer gets: a few regulars, many occasional, some none.

        In proportion to how long they have been coming (`spans`, a share of the year), so a
        newcomer is no busier a week than a regular and the weeks add up to a steady shop.
        """
        rng = self.rng
        weights = [0.0 if rng.random() < 0.08 else rng.paretovariate(1.6) * spans[i] for i in range(n_customers)]
        total = sum(weights) or 1.0
        counts = [int(w / total * n_touchpoints) for w in weights]
        short = n_touchpoints - sum(counts)
        active = [i for i, w in enumerate(weights) if w] or list(range(n_customers))
        for i in rng.choices(active, k=short):
            counts[i] += 1
        return counts

    def _season(self, days_ago: float) -> float:
        """How busy the shop is that day, 0.78-1.22: a peak before Christmas, a smaller one in June."""
        day_of_year = (self.now - timedelta(days=days_ago)).timetuple().tm_yday
        return (
            1
            + 0.15 * math.cos(2 * math.pi * (day_of_year - 350) / 365)
            + 0.07 * math.cos(2 * math.pi * (day_of_year - 170) / 182)
        )

    def touchpoints(self, ids: list[int], n_touchpoints: int) -> None:
        rng = self.rng
        day = 86_400
        joined = self.joined
        # Most customers still come (their touchpoints run up to today, so the weeks stay steady
        # to the end); a quarter drifted away some time ago: warm, cooling and cold all occur.
        # Nobody is seen before they joined.
        windows = []
        for pk in ids:
            # Up to 15 months back, so a year ago the dashboard's trend already had regulars to show.
            started = max(min((self.now - joined[pk]).total_seconds(), HISTORY_DAYS * day), day)
            ended = 0.0 if rng.random() < 0.7 else rng.uniform(0, started * 0.8)
            windows.append((ended, started))
        counts = self._counts(len(ids), n_touchpoints, [(b - a) / (HISTORY_DAYS * day) for a, b in windows])
        first_tp = reserve_ids(Touchpoint, n_touchpoints)
        columns = [
            "id",
            "customer_id",
            "kind",
            "happened_at",
            "note",
            "amount",
            "feedback_kind",
            "sentiment",
            "logged_by_id",
            "created_at",
        ]
        kinds = [k for k, _ in TOUCHPOINT_KINDS]
        kind_weights = [w for _, w in TOUCHPOINT_KINDS]
        feedback_weights = [f[2] for f in FEEDBACK]
        season = [self._season(days_ago) for days_ago in range(HISTORY_DAYS + 2)]
        next_id = first_tp
        rows: list[tuple] = []
        products: list[tuple] = []
        for pk, count, (ended, started) in zip(ids, counts, windows):
            if not count:
                continue
            for kind in rng.choices(kinds, weights=kind_weights, k=count):
                while True:  # the seasons, by rejection: busier weeks get more touchpoints
                    ago = rng.uniform(ended, started)
                    if rng.random() * 1.25 <= season[int(ago / day)]:
                        break
                happened = self.now - timedelta(seconds=ago)
                # Shop hours: move the time of day to between 08:00 and 18:00 UTC.
                happened = happened.replace(hour=8 + int(rng.random() * 10), tzinfo=UTC)
                if happened > self.now:
                    happened -= timedelta(days=1)
                note, amount, feedback_kind, sentiment = "", None, "", None
                if kind == Touchpoint.Kind.FEEDBACK:
                    feedback_kind, sentiment, _, notes = rng.choices(FEEDBACK, weights=feedback_weights)[0]
                    note = rng.choice(notes)
                elif kind == Touchpoint.Kind.NOTE or rng.random() < 0.3:
                    note = rng.choice(TOUCHPOINT_NOTES[kind])  # a note is never empty
                if kind == Touchpoint.Kind.PURCHASE:
                    amount = Decimal(rng.randint(250, 6000)) / 100
                    for product_id in rng.sample(self.product_ids, rng.choice([1, 1, 2])):
                        products.append((next_id, product_id))
                at = happened.isoformat()  # once for both columns
                rows.append(
                    (next_id, pk, kind, at, note, amount, feedback_kind, sentiment, rng.choice(self.staff_ids), at)
                )
                next_id += 1
            if len(rows) >= BATCH:
                bulk_insert(Touchpoint, columns, rows)
                bulk_insert(Touchpoint.products.through, ["touchpoint_id", "product_id"], products)
                rows, products = [], []
        bulk_insert(Touchpoint, columns, rows)
        bulk_insert(Touchpoint.products.through, ["touchpoint_id", "product_id"], products)

    # --- follow-ups --------------------------------------------------------

    def followups(self, ids: list[int]) -> None:
        """Open follow-ups for the demo staff: some overdue, some today, some later; a few closed."""
        rng = self.rng
        today = timezone.localdate(self.now, ShopSettings.load().tz)
        reasons = [
            "Ask how the party went",
            "Let them know the oat milk is back",
            "Thank them for the referral",
            "Check the cake order for Saturday",
            "Make it right: lukewarm coffee",
            "Invite to the tasting evening",
            "Send photos from the event",
            "Ask about catering for the office",
        ]
        # A person's list stays human-sized however many customers there are.
        chosen = rng.sample(ids, min(len(ids), max(12, min(len(ids) // 20, 120))))
        owners = dict(Customer.objects.filter(pk__in=chosen).values_list("pk", "owner_id"))
        followups = []
        for pk in chosen:
            status = rng.choices(
                [FollowUp.Status.OPEN, FollowUp.Status.DONE, FollowUp.Status.CANCELLED], weights=[8, 3, 1]
            )[0]
            closed = status != FollowUp.Status.OPEN
            followups.append(
                FollowUp(
                    customer_id=pk,
                    assignee_id=owners.get(pk) or rng.choice(self.staff_ids),
                    reason=rng.choice(reasons),
                    due_date=today + timedelta(days=rng.randint(-6, 10)),
                    status=status,
                    created_by_id=rng.choice(self.staff_ids),
                    closed_at=self.now if closed else None,
                    closed_by_id=rng.choice(self.staff_ids) if closed else None,
                )
            )
        FollowUp.objects.bulk_create(followups, batch_size=2000)
