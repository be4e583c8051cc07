"""Page reads for customers: each runs a fixed number of queries however much data there is."""

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, overload

import phonenumbers
from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Subquery, Value, When, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone

from crm.expressions import (
    RelatedNames,
    column_sql,
    columns_sql,
    joined_names_sql,
    joined_object,
    related_names_sql,
)
from crm.statements import prepared_raw, prepared_rows
from customers.birthdays import birthday_countdown, days_ahead_expression, yearly_dates_between_q
from customers.card_cache import active_customer_count
from customers.lookups import like_contains
from customers.models import Customer, FollowUp, ImportantDate, Product
from customers.registry import card_has, card_row_names, card_rows_sql, list_filter_extensions

SEARCH_DROPDOWN_LIMIT = 10
# "Usually buys": products bought at least twice in the last year, most bought first.
USUALLY_BUYS_DAYS = 365
USUALLY_BUYS_TIMES = 2
USUALLY_BUYS_SHOWN = 3


def _usually_buys_start(today: date) -> datetime:
    """The start of the shop's day a year ago: purchases from then on count for "usually buys"."""
    return datetime.combine(today - timedelta(days=USUALLY_BUYS_DAYS), time.min, tzinfo=timezone.get_current_timezone())


def _purchased_products(*, today: date):
    """(touchpoint's customer, product) pairs of the last year's purchases. Read through the app
    registry: customers sits below touchpoints and must not import it."""
    touchpoint = apps.get_model("touchpoints", "Touchpoint")
    return touchpoint.products.through.objects.filter(
        touchpoint__kind="purchase", touchpoint__happened_at__gte=_usually_buys_start(today)
    ).order_by()


def customer_usual_products(*, customer: Customer, today: date) -> list[str]:
    """What they usually buy, from their purchases (not the favourites staff set by hand): 1 query.

    Hand-written: built with the ORM it took 1 ms of Python to compile, on every first visit of a card.
    """
    touchpoint = apps.get_model("touchpoints", "Touchpoint")
    through = touchpoint.products.through
    qn = connection.ops.quote_name
    sql = (
        f"SELECT {column_sql(Product, 'name', 'p', connection)}, COUNT(*) AS times"
        f" FROM {qn(through._meta.db_table)} m"
        f" JOIN {qn(touchpoint._meta.db_table)} t ON {column_sql(touchpoint, 'id', 't', connection)}"
        f" = {column_sql(through, 'touchpoint', 'm', connection)}"
        f" JOIN {qn(Product._meta.db_table)} p ON {column_sql(Product, 'id', 'p', connection)}"
        f" = {column_sql(through, 'product', 'm', connection)}"
        f" WHERE {column_sql(touchpoint, 'customer', 't', connection)} = %s"
        f" AND {column_sql(touchpoint, 'kind', 't', connection)} = %s"
        f" AND {column_sql(touchpoint, 'happened_at', 't', connection)} >= %s"
        " GROUP BY 1 HAVING COUNT(*) >= %s ORDER BY 2 DESC, 1 LIMIT %s"
    )
    at = touchpoint._meta.get_field("happened_at").get_db_prep_value(_usually_buys_start(today), connection)
    rows = prepared_rows(sql, [customer.pk, "purchase", at, USUALLY_BUYS_TIMES, USUALLY_BUYS_SHOWN])
    return [name for name, _times in rows]


def usually_buying(*, product_id: int, today: date) -> QuerySet:
    """Ids of customers who bought `product_id` at least twice in the last year (the list's filter)."""
    return (
        _purchased_products(today=today)
        .filter(product_id=product_id)
        .values("touchpoint__customer_id")
        .annotate(times=Count("*"))
        .filter(times__gte=USUALLY_BUYS_TIMES)
        .values("touchpoint__customer_id")
    )


def customer_get(*, customer_id: int) -> Customer:
    """One customer, every column (1 query), for the hot paths that change one: logging a
    touchpoint. Raises Customer.DoesNotExist."""
    return Customer.objects.get(pk=customer_id)


# The card's own kinds of rows that most customers have none of (registered in CustomersConfig.ready).
OPEN_FOLLOWUP_ROWS, IMPORTANT_DATE_ROWS = "open_followups", "important_dates"
# Of the owner and the referrer, only the names the card shows: their other 50 columns were a third
# of the query's cost to build and read.
_CARD_OWNER_NAMES = ("username", "first_name", "last_name")
_CARD_REFERRER_NAMES = ("first_name", "last_name")


@functools.lru_cache(maxsize=4)
def _card_customer_sql(vendor: str, card_rows: tuple[str, ...]) -> tuple[str, tuple]:
    """The card's one query of a customer, written out from the models' metadata: every column, the
    favourite products and tags as names, the owner's and referrer's names, and a `card_has_…` flag
    for each registered kind of card row (customers.registry).

    Hand-written for raw(): built with the ORM (select_related, only, nine annotations) it took 1.9 ms
    of Python to compile, more than PostgreSQL took to run it. Written once per process and set of card
    rows (`vendor` and `card_rows` are the cache's key): writing it took 0.2 ms.
    """
    qn = connection.ops.quote_name
    row_id = column_sql(Customer, "id", "c", connection)
    columns = [
        *columns_sql(Customer, "c", connection),
        *joined_names_sql("o", _CARD_OWNER_NAMES, "card_owner_", connection),
        *joined_names_sql("r", _CARD_REFERRER_NAMES, "card_referrer_", connection),
        f"{related_names_sql(Customer, 'favourite_products', row_id, connection)} AS card_favourites",
        f"{related_names_sql(Customer, 'tags', row_id, connection, with_ids=True)} AS card_tags",
    ]
    params: list = []
    for name, (sql, row_params) in card_rows_sql(row_id, connection).items():
        columns.append(f"{sql} AS {qn(name)}")
        params += row_params
    customers, users = qn(Customer._meta.db_table), qn(User._meta.db_table)
    sql = (
        f"SELECT {', '.join(columns)} FROM {customers} c"
        f" LEFT JOIN {users} o ON {column_sql(User, 'id', 'o', connection)} = {column_sql(Customer, 'owner', 'c', connection)}"
        f" LEFT JOIN {customers} r ON {column_sql(Customer, 'id', 'r', connection)} = {column_sql(Customer, 'referred_by', 'c', connection)}"
        f" WHERE {row_id} = %s"
    )
    return sql, tuple(params)


def customer_card_get(*, customer_id: int) -> Customer:
    """One customer with everything the friend card shows about them (1 query, `_card_customer_sql`).

    `owner` and `referred_by` hold only their names; `card_favourites` is a list of names, `card_tags`
    of [id, name] pairs. Raises Customer.DoesNotExist.
    """
    sql, params = _card_customer_sql(connection.vendor, card_row_names())
    card: Any = next(iter(prepared_raw(Customer, sql, [*params, customer_id])), None)
    if card is None:
        raise Customer.DoesNotExist(f"No customer {customer_id}.")
    card.card_favourites = json.loads(card.card_favourites)
    card.card_tags = json.loads(card.card_tags)
    # Set even when None, so that reading them runs no query.
    card.owner = joined_object(User, card.owner_id, card, "card_owner_", _CARD_OWNER_NAMES)
    card.referred_by = joined_object(Customer, card.referred_by_id, card, "card_referrer_", _CARD_REFERRER_NAMES)
    return card


def active_product_names() -> list[str]:
    """Names for the log form's product suggestions (names only: no Product objects to build)."""
    return list(Product.objects.filter(is_active=True).order_by("name").values_list("name", flat=True))


def customer_open_followups(*, customer: Customer) -> list[FollowUp]:
    if not card_has(customer, OPEN_FOLLOWUP_ROWS):
        return []
    followups = list(
        FollowUp.objects.filter(customer_id=customer.pk, status__in=FollowUp.OPEN_STATUSES)
        .select_related("assignee")
        .order_by("due_date", "pk")
    )
    for followup in followups:
        followup.customer = customer
    return followups


def customer_important_dates(*, customer: Customer) -> list[ImportantDate]:
    """The customer's anniversaries and the like, in calendar order."""
    if not card_has(customer, IMPORTANT_DATE_ROWS):
        return []
    return list(ImportantDate.objects.filter(customer_id=customer.pk).order_by("date_month", "date_day", "pk"))


def _like_prefix(text: str) -> str:
    return like_contains(text)[:-1].lstrip("%") if text else "%"


def _phone_patterns(q: str, region: str) -> list[str]:
    """What a typed phone number looks like stored in E.164: the full number, or its digits."""
    digits = re.sub(r"\D", "", q)
    if len(digits) < 4 or len(digits) * 2 < len(re.sub(r"\s", "", q)):
        return []  # mostly letters: not a phone number
    patterns = []
    try:
        parsed = phonenumbers.parse(q, region.upper())
        if phonenumbers.is_possible_number(parsed):
            patterns.append(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    except phonenumbers.NumberParseException:
        pass
    # A national number typed in part ("07700 900") matches inside "+447700900…" without its 0.
    patterns.append(digits.lstrip("0") or digits)
    return patterns


def customer_search(*, q: str, region: str = "GB", include_archived: bool = False) -> QuerySet[Customer]:
    """Customers matching part of a name, an email or a phone number; prefix matches first.

    Every word must match one of first, last or preferred name (so "ann smi" finds Ann Smith).
    The `ilike` lookup is served by the trigram GIN indexes on PostgreSQL. Sorting reads every
    match: the search page reads its rows with `customer_search_rows` instead.
    """
    q = " ".join((q or "").split())[:100]
    if not q:
        return Customer.objects.none()
    condition = Q()
    for word in q.split(" "):
        pattern = like_contains(word)
        condition &= Q(first_name__ilike=pattern) | Q(last_name__ilike=pattern) | Q(preferred_name__ilike=pattern)
    condition |= Q(email__ilike=like_contains(q.lower()))
    for phone in _phone_patterns(q, region):
        condition |= Q(phone__ilike=like_contains(phone))
    customers = Customer.objects.filter(condition)
    if not include_archived:
        customers = customers.filter(is_archived=False)
    first_word = q.split(" ")[0]
    prefix = _like_prefix(first_word) + "%"
    rank = Case(
        When(Q(first_name__ilike=prefix) | Q(preferred_name__ilike=prefix) | Q(last_name__ilike=prefix), then=Value(0)),
        When(email__ilike=_like_prefix(q.lower()) + "%", then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return (
        customers.annotate(rank=rank)
        .select_related("owner")
        .order_by("rank", Lower("first_name"), Lower("last_name"), "pk")
    )


class _SearchSQL:
    """The conditions of `customer_search` as SQL, for `customer_search_rows`: (sql, params) pairs.

    Written out rather than built from querysets: compiling its seven SELECTs with the ORM took
    longer than PostgreSQL takes to run the query.
    """

    NAMES = ("first_name", "last_name", "preferred_name")

    def __init__(self, *, q: str, region: str):
        self.q, self.words = q, q.split(" ")
        self.phones = _phone_patterns(q, region)
        self.postgres = connection.vendor == "postgresql"
        qn = connection.ops.quote_name
        self.table = qn(Customer._meta.db_table)
        self.column = {name: f"{self.table}.{qn(name)}" for name in (*self.NAMES, "email", "phone", "is_archived")}

    @staticmethod
    def join(operator: str, parts) -> tuple[str, list]:
        parts = list(parts)
        return "(" + f" {operator} ".join(sql for sql, _ in parts) + ")", [p for _, params in parts for p in params]

    def contains(self, name: str, text: str) -> tuple[str, list]:
        # As customers.lookups.ILike: ILIKE, served by the trigram indexes, or SQLite's LIKE.
        operator = "ILIKE %s" if self.postgres else "LIKE %s ESCAPE '\\'"
        return f"{self.column[name]} {operator}", [like_contains(text)]

    def starts(self, name: str, text: str) -> tuple[str, list]:
        # ILIKE in a form a text_pattern_ops index on LOWER(column) serves (customer_*_prefix_idx):
        # PostgreSQL's ILIKE lowercases both sides with the same lower().
        return f"LOWER({self.column[name]}) LIKE LOWER(%s) ESCAPE '\\'", [_like_prefix(text) + "%"]

    def name_prefix(self, name: str) -> tuple[str, list]:
        if name == "preferred_name":  # `<> ''` (implied) lets its partial index serve it
            return self.join("AND", [self.starts(name, self.words[0]), (f"{self.column[name]} <> ''", [])])
        return self.starts(name, self.words[0])

    def prefix(self) -> tuple[str, list]:
        """The matches listed first: a name starting with the first word, or an email starting with the query."""
        return self.join("OR", [*(self.name_prefix(name) for name in self.NAMES), self.starts("email", self.q.lower())])

    def names_match(self, words: list[str]) -> list[tuple[str, list]]:
        """Each word is part of the first, last or preferred name."""
        return [self.join("OR", (self.contains(name, word) for name in self.NAMES)) for word in words]

    def email_or_phone(self) -> tuple[str, list]:
        phones = [self.contains("phone", phone) for phone in self.phones]
        return self.join("OR", [self.contains("email", self.q.lower()), *phones])

    def first_rows(self, conditions, stop: int) -> tuple[str, list]:
        """(id, f, l) of the first `stop` active customers meeting all `conditions`, in name order."""
        where, params = self.join("AND", [(f"NOT {self.column['is_archived']}", []), *conditions])
        sql = (
            f"SELECT {self.table}.id AS id, LOWER({self.column['first_name']}) AS f, "
            f"LOWER({self.column['last_name']}) AS l FROM {self.table} WHERE {where} ORDER BY f, l, id LIMIT %s"
        )
        return sql, [*params, stop]

    def prefix_parts(self, stop: int) -> list[tuple[str, list]]:
        """The first `stop` prefix matches of each way of being one; together they hold the first `stop`."""
        other_words = self.names_match(self.words[1:])
        parts = [self.first_rows([self.name_prefix(name), *other_words], stop) for name in self.NAMES]
        parts.append(self.first_rows([self.starts("email", self.q.lower())], stop))  # contains the query: a match
        if len(self.words) > 1:
            # Starting a name with the first word, and matching by email or phone instead of the other words.
            names = self.join("OR", (self.name_prefix(name) for name in self.NAMES))
            parts.append(self.first_rows([names, self.email_or_phone()], stop))
        else:
            # A common surname ("Smith", 3% of customers): its first rows come in order from
            # customer_name_idx, and the prefix index reads only the longer names ("Smithson").
            word, last_name = self.words[0], f"LOWER({self.column['last_name']})"
            longer = f"{last_name} ~>~ LOWER(%s)" if self.postgres else f"{last_name} <> LOWER(%s)"
            parts[1] = self.first_rows([(f"{last_name} = LOWER(%s)", [word])], stop)
            parts.append(self.first_rows([self.name_prefix("last_name"), (longer, [word])], stop))
        return parts

    def ids(self, *, start: int, stop: int) -> tuple[str, list]:
        """The ids of rows start..stop of the search, in an order the caller sorts again."""
        prefix_parts = self.prefix_parts(stop)
        union = " UNION ".join(f"SELECT * FROM ({sql}) AS part{i}" for i, (sql, _) in enumerate(prefix_parts))
        matches = self.join("OR", [self.join("AND", self.names_match(self.words)), self.email_or_phone()])
        prefix_sql, prefix_params = self.prefix()
        others_sql, others_params = self.first_rows([matches, (f"NOT {prefix_sql}", prefix_params)], stop)
        # The other matches' WHERE is a one-time filter: PostgreSQL doesn't start reading them when
        # the prefix matches fill the page.
        sql = (
            f"WITH prefix AS (SELECT id, f, l FROM ({union}) AS parts ORDER BY f, l, id LIMIT %s) "
            "SELECT id FROM (SELECT 0 AS r, f, l, id FROM prefix UNION ALL "
            f"SELECT 1 AS r, f, l, id FROM ({others_sql}) AS others WHERE (SELECT COUNT(*) FROM prefix) < %s"
            ") AS found ORDER BY r, f, l, id LIMIT %s OFFSET %s"
        )
        params = [p for _, part_params in prefix_parts for p in part_params]
        return sql, [*params, stop, *others_params, stop, stop - start, start]


def customer_search_rows(*, q: str, region: str = "GB", start: int, stop: int) -> QuerySet[Customer]:
    """Rows start..stop of `customer_search(q=q, region=region)` with what a list row shows, in one query.

    Sorting every match reads them all: 3,300 rows from 2,200 heap blocks (~10 ms) for "Smith" among
    100,000 customers. The prefix matches, which come first, are read instead by index range scans
    (customer_*_prefix_idx, customer_name_idx), at most `stop` from each; the other matches (trigram
    indexes) are read only when there are fewer than `stop` prefix matches.
    """
    q = " ".join((q or "").split())[:100]
    if not q or stop <= start:
        return Customer.objects.none()
    search = _SearchSQL(q=q, region=region)
    prefix_sql, prefix_params = search.prefix()
    # The row columns without tag names (`customers_as_rows`): search results don't show tags.
    return (
        Customer.objects.filter(pk__in=RawSQL(*search.ids(start=start, stop=stop)))
        .select_related("owner")
        .only(*CUSTOMER_ROW_FIELDS)
        .annotate(search_rank=RawSQL(f"CASE WHEN {prefix_sql} THEN 0 ELSE 1 END", prefix_params))
        .order_by("search_rank", Lower("first_name"), Lower("last_name"), "pk")
    )


@dataclass
class ListFilters:
    q: str = ""
    tag: int | None = None
    owner: int | None = None
    product: int | None = None
    bought: int | None = None  # usually buys (from purchases), beside `product` (favourites set by hand)
    birthday_month: int | None = None
    health: str = ""
    stage: str = ""
    archived: str = ""  # "" active only, "only" archived only, "all"
    sort: str = "name"  # "name" or "recent"
    extra: dict[str, str] = field(default_factory=dict)  # filters other apps registered, e.g. {"segment": "3"}


SORTS = {
    # Served by the (lower(last_name), lower(first_name)) index: no sort of every customer.
    "name": (Lower("last_name"), Lower("first_name"), "pk"),
    # Never-seen customers last, whichever way the database sorts NULLs.
    "recent": (F("last_touchpoint_at").desc(nulls_last=True), "pk"),
}


class CountedRows:
    """What Paginator asks of a list, `count()` and a slice of rows, with the count from elsewhere."""

    def __init__(self, rows: QuerySet[Customer], count: Callable[[], int]):
        self.rows, self._count = rows, count

    def count(self) -> int:
        return self._count()

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[Customer]:
        return iter(self.rows)

    @overload
    def __getitem__(self, index: int) -> Customer: ...
    @overload
    def __getitem__(self, index: slice) -> QuerySet[Customer]: ...
    def __getitem__(self, index: int | slice) -> Customer | QuerySet[Customer]:
        return self.rows[index]


def customer_list_rows(*, filters: ListFilters, region: str = "GB") -> "QuerySet[Customer] | CountedRows":
    """The customer list for Paginator; the plain list (no filter, any sort) takes its total from the cache."""
    customers = customer_list(filters=filters, region=region)
    if replace(filters, sort="name") != ListFilters():
        return customers
    return CountedRows(customers, lambda: active_customer_count(customers.count))


def customer_list(*, filters: ListFilters, region: str = "GB") -> QuerySet[Customer]:
    """The customer list: filtered, sorted, with what each row shows (tags by prefetch)."""
    if filters.q:
        customers = customer_search(q=filters.q, region=region, include_archived=True)
    else:
        customers = Customer.objects.all()
    if filters.archived == "only":
        customers = customers.filter(is_archived=True)
    elif filters.archived != "all":
        customers = customers.filter(is_archived=False)
    if filters.tag:
        customers = customers.filter(tags__id=filters.tag)
    if filters.owner:
        customers = customers.filter(owner_id=filters.owner)
    if filters.product:
        customers = customers.filter(favourite_products__id=filters.product)
    if filters.bought:
        customers = customers.filter(pk__in=usually_buying(product_id=filters.bought, today=timezone.localdate()))
    if filters.birthday_month:
        customers = customers.filter(birthday_month=filters.birthday_month)
    if filters.health:
        customers = customers.filter(health=filters.health)
    if filters.stage:
        customers = customers.filter(stage=filters.stage)
    for extension in list_filter_extensions():
        if filters.extra.get(extension.name):
            customers = extension.apply(customers, filters.extra[extension.name])
    order = SORTS.get(filters.sort, SORTS["name"])
    return customers_as_rows(customers).order_by(*order)


# What a customer row (list, search) shows; the other 20-odd columns cost reading and compiling.
CUSTOMER_ROW_FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "email",
    "phone",
    "health",
    "stage",
    "is_archived",
    "last_touchpoint_at",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
)


def customers_as_rows(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """Rows with the columns they show and their tags' names (`tag_names`) in the same query."""
    return customers.select_related("owner").only(*CUSTOMER_ROW_FIELDS).annotate(tag_names=RelatedNames("tags"))


# My day shows the first ten of each list and how many more there are; the rest are on their own
# paginated pages, so a person with hundreds of overdue follow-ups still gets a page of the same size.
MY_DAY_FOLLOWUPS = 10
MY_DAY_BIRTHDAYS = 10
MY_DAY_DATES = 20
MY_DAY_DAYS = 7


@dataclass
class MyDay:
    today: date
    overdue: list[FollowUp] = field(default_factory=list)
    due_today: list[FollowUp] = field(default_factory=list)
    followups_total: int = 0
    birthdays_today: list[Customer] = field(default_factory=list)
    birthdays_week: list[Customer] = field(default_factory=list)
    birthdays_total: int = 0
    dates_week: list[ImportantDate] = field(default_factory=list)

    @property
    def followup_count(self) -> int:
        return len(self.overdue) + len(self.due_today)

    @property
    def more_followups(self) -> int:
        return self.followups_total - self.followup_count

    @property
    def more_birthdays(self) -> int:
        return self.birthdays_total - len(self.birthdays_today) - len(self.birthdays_week)


# What the My day and follow-up rows show: reading and compiling a customer's 30-odd columns for a
# name was most of those queries' cost.
CUSTOMER_NAME_FIELDS = ("first_name", "last_name", "preferred_name")
FOLLOWUP_ROW_FIELDS = (
    "customer_id",
    "assignee_id",
    "reason",
    "due_date",
    "status",
    *(f"customer__{f}" for f in CUSTOMER_NAME_FIELDS),
)


def _followups_due(user: User | int, today: date) -> QuerySet[FollowUp]:
    """The user's open or snoozed follow-ups due by today, but those of archived customers.

    The archived are a few rows of a partial index: leaving them out reads no customer row, where a
    join on `is_archived` read one per follow-up (1,000 for a busy staff member, 5 ms).
    """
    return FollowUp.objects.filter(
        assignee=user,
        status__in=FollowUp.OPEN_STATUSES,
        due_date__lte=today,
    ).exclude(customer__in=_archived_customers())


def _archived_customers() -> QuerySet:
    """Ids of the archived customers, a few of the shop's, read from their partial index."""
    return Customer.objects.filter(is_archived=True).values("pk")


def my_followups(*, user: User, today: date) -> QuerySet[FollowUp]:
    """The user's open or snoozed follow-ups due by today, oldest first."""
    return _followups_due(user, today).select_related("customer").only(*FOLLOWUP_ROW_FIELDS).order_by("due_date", "pk")


def my_birthdays(*, user: User, today: date, days: int = MY_DAY_DAYS) -> QuerySet[Customer]:
    """The user's customers with a birthday in the next `days` days, nearest first, with a countdown."""
    return (
        Customer.objects.filter(yearly_dates_between_q(start=today, days=days), owner=user, is_archived=False)
        .only(*CUSTOMER_NAME_FIELDS, "birthday_day", "birthday_month", "birthday_year")
        .annotate(days_to_birthday=days_ahead_expression(start=today, days=days))
        .order_by("days_to_birthday", Lower("first_name"), "pk")
    )


def with_birthday_countdowns(customers, *, today: date) -> list[Customer]:
    for customer in customers:
        customer.countdown = birthday_countdown(
            day=customer.birthday_day, month=customer.birthday_month, year=customer.birthday_year, today=today
        )
    return list(customers)


def _my_day_followups(user_id, today):
    """The first few, with the customer's name, and how many in all: the names are read for those few only."""
    due = _followups_due(user_id, today)
    first = due.order_by("due_date", "pk").values("pk")[:MY_DAY_FOLLOWUPS]
    total = due.order_by().values("assignee").annotate(n=Count("pk")).values("n")
    return (
        FollowUp.objects.filter(pk__in=Subquery(first))
        .select_related("customer")
        .only(*FOLLOWUP_ROW_FIELDS)
        .annotate(total=Subquery(total))
        .order_by("due_date", "pk")
    )


def _my_day_birthdays(user_id, today, days):
    return my_birthdays(user=user_id, today=today, days=days).annotate(total=Window(Count("pk")))[:MY_DAY_BIRTHDAYS]


def _my_day_dates(user_id, today, days):
    """The week's dates (a few hundred in the shop) checked one by one for their customer's owner.

    Archived customers are left out by their own index, as for follow-ups: with `is_archived` in the
    join, PostgreSQL read all 33,000 of the owner's customers from the birthdays index instead (7 ms).
    """
    return (
        ImportantDate.objects.filter(
            yearly_dates_between_q(start=today, days=days, prefix="date"), customer__owner=user_id
        )
        .exclude(customer__in=_archived_customers())
        .annotate(days_to=days_ahead_expression(start=today, days=days, prefix="date"))
        .select_related("customer")
        .only("label", "date_day", "date_month", "date_year", "customer__first_name", "customer__preferred_name")
        .order_by("days_to", "pk")[:MY_DAY_DATES]
    )


def my_day_get(*, user: User, today: date, days: int = MY_DAY_DAYS) -> MyDay:
    """The first of the user's follow-ups due by today and birthdays this week, with totals (3 queries).

    Each list is limited in SQL with its total in the same query: a COUNT subquery for the follow-ups
    (their names are read for the few shown), COUNT(*) OVER () for the birthdays.
    """
    day = MyDay(today=today)
    followups = list(_my_day_followups(user.pk, today))
    day.followups_total = followups[0].total if followups else 0
    for followup in followups:
        (day.due_today if followup.due_date == today else day.overdue).append(followup)
    customers = list(_my_day_birthdays(user.pk, today, days))
    day.birthdays_total = customers[0].total if customers else 0
    with_birthday_countdowns(customers, today=today)  # sets each one's countdown in place
    for customer in customers:
        (day.birthdays_today if customer.days_to_birthday == 0 else day.birthdays_week).append(customer)
    day.dates_week = list(_my_day_dates(user.pk, today, days))
    return day


def staff_users() -> QuerySet[User]:
    """People a customer or follow-up can be given to."""
    return User.objects.filter(is_active=True).order_by("first_name", "username")


@dataclass
class CheapPage:
    """A page without COUNT(*): fetch one row more than shown to know whether there is a next page."""

    object_list: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def __iter__(self):
        return iter(self.object_list)


def cheap_page(rows_between: Callable[[int, int], list], *, number: int, size: int) -> CheapPage:
    """`rows_between(start, stop)`: rows start..stop of a sorted result."""
    start = (number - 1) * size
    rows = list(rows_between(start, start + size + 1))
    return CheapPage(object_list=rows[:size], number=number, has_next=len(rows) > size)
