"""A versioned cache of the friend card's costly parts: the timeline's first page and the data-only panels.

The card was a dozen queries and ten timeline entries rendered on every visit, though most visits
change nothing. Its parts (the timeline, the follow-ups, the important dates, the panels marked
`cached`) are kept in Django's cache (Redis when REDIS_URL is set, the database cache otherwise)
under keys that hold three version tokens: a shop-wide one, the customer's, and the part's.

Every service that changes what a card shows calls `card_changed(customer_ids, parts)` (parts
left out: the whole card), or `cards_all_changed()` for bulk work such as planning a newsletter;
when its transaction commits the tokens are replaced by new random ones, and the next visit draws
those parts afresh (logging a touchpoint redraws the timeline, not the panels). Nothing is deleted:
fragments of old versions are never read again and expire after FRAGMENT_TIMEOUT.
A product renamed in the admin shows under its new name once the fragments expire.

Why replace the token after commit: a visit that read the old token and then rows of the new data
stores new HTML under the old key, which nobody reads once the token has changed; a visit that reads
the new token runs after the commit and so reads the new rows. A random token (not a counter) cannot
come back after the cache evicts or loses it.

If the cache cannot be reached the card is rendered as if nothing were cached: never a failed page.
"""

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

# Long enough that a card opened once a week is still cached; an old version is never read again.
FRAGMENT_TIMEOUT = 7 * 24 * 3600
# More customers than this in one change: renew the shop-wide token (one key) instead of each one.
BULK_CHANGE = 200
_SHOP_KEY = "card:v:shop"
# The card's own parts; other apps' cached panels are parts under their panel's name ("gifts").
TIMELINE, FOLLOWUPS, IMPORTANT_DATES = "timeline", "followups", "important-dates"
# "Usually buys" (products bought twice in the last year): a purchase logged or refunded changes it.
# For the busiest customer (2,400 purchases in a year) it was an 8 ms query on every visit.
USUALLY_BUYS = "usually-buys"
# Parts whose HTML does not change with the date (the timeline shows fixed local times): kept across days.
DATELESS_PARTS = {TIMELINE}
# My day lists a person's follow-ups due, their customers' birthdays and other dates this week.
# Whatever changes those changes one of these card parts ("": the whole card, a customer's details),
# so renewing them renews My day's shop-wide token too.
_MY_DAY_KEY = "myday:v"
MY_DAY_PARTS = frozenset({"", FOLLOWUPS, IMPORTANT_DATES})
# Parts that are the same on every card, each under a token of its own, read with the tokens: the log
# form's product suggestions (a query and a hundred options on every visit), renewed when a product is
# saved or deleted; the follow-up form's people (a query), renewed when a user is; the empty log form
# and the months' <option>s, which change with the code alone (renewed after `migrate`, as everything
# is). Forms shown again with their errors are drawn without the cache.
PRODUCT_NAMES, ASSIGNEE_OPTIONS = "product-names", "assignee-options"
LOG_FORM, MONTH_OPTIONS = "log-form", "month-options"
SHOP_PARTS = (PRODUCT_NAMES, ASSIGNEE_OPTIONS, LOG_FORM, MONTH_OPTIONS)


# A fragment's cache key; a shop part's is its key and the token it is drawn under (see card_fragments).
FragmentKey = str | tuple[str, str]


def _customer_key(customer_id: int, part: str = "") -> str:
    return f"card:v:{customer_id}:{part}"


def _shop_part_key(part: str) -> str:
    return f"card:v:shop:{part}"


def _shop_fragment_key(part: str) -> str:
    return f"card:shop:{part}"


def _renew(keys: list[str], *, after_migrate: bool = False) -> None:
    try:
        cache.set_many({key: uuid.uuid4().hex for key in keys}, timeout=None)
    except Exception as error:  # the cache is down: it will not serve old fragments either while it is
        if after_migrate:  # a new install: the database cache's table is made after migrate
            logger.warning("Nothing cached to draw afresh after migrate (%s)", error)
        else:
            logger.exception("Could not renew friend-card cache versions %s", keys[:5])


def card_changed(customer_ids: int | Iterable[int | None], parts: Iterable[str] = ("",)) -> None:
    """These parts of these customers' cards (by default all of them) show something new once the
    current transaction commits."""
    ids = {customer_ids} if isinstance(customer_ids, int) else {pk for pk in customer_ids if pk is not None}
    if not ids:
        return
    parts = tuple(parts)
    if len(ids) > BULK_CHANGE:
        keys = [_SHOP_KEY]
    else:
        keys = [_customer_key(pk, part) for pk in sorted(ids) for part in parts]
        if MY_DAY_PARTS.intersection(parts):
            keys.append(_MY_DAY_KEY)
    transaction.on_commit(lambda: _renew(keys), robust=True)


def cards_all_changed() -> None:
    """Every card may show something new once the current transaction commits (bulk plans, imports)."""
    transaction.on_commit(lambda: _renew([_SHOP_KEY]), robust=True)


def shop_part_changed(part: str) -> None:
    """A part shown the same on every card (SHOP_PARTS) is new once the current transaction commits."""
    transaction.on_commit(lambda: _renew([_shop_part_key(part)]), robust=True)


def everything_changed() -> None:
    """Every card part, shop part and My day list is drawn afresh: new templates after an upgrade.

    Run by `migrate`, which on a new install runs before the database cache's table exists: then
    nothing is cached yet, and a line says so (no traceback in the first start's output)."""
    keys = [_SHOP_KEY, _MY_DAY_KEY, *map(_shop_part_key, SHOP_PARTS), _shop_value_key(LIST_CHOICES)]
    transaction.on_commit(lambda: _renew(keys, after_migrate=True), robust=True)


def card_fragments(
    *, customer_id: int, parts: Iterable[str], today: date, shop
) -> dict[str, tuple[FragmentKey, str | None]] | None:
    """{part: (cache key of its fragment now, its HTML or None)} for this customer's card and the
    SHOP_PARTS, in two cache round trips (the tokens and the shop parts, then the card's fragments;
    the tokens written instead of the second for a card nobody opened yet), or None when the cache
    cannot be reached.

    The shop's zone and currency are in the keys (entries show local times and money), and so is
    today's date except for DATELESS_PARTS: follow-ups fall due and gift codes expire by the day.
    A shop part is kept under one key with the token it was drawn under (its key here is that pair,
    for `fragments_store`), so that it is read with the tokens.
    """
    card_keys = [_SHOP_KEY, _customer_key(customer_id)]
    part_keys = {part: _customer_key(customer_id, part) for part in parts}
    shop_keys = {part: _shop_part_key(part) for part in SHOP_PARTS}
    try:
        found, new = _tokens(
            [*card_keys, *part_keys.values(), *shop_keys.values()], also=[_shop_fragment_key(p) for p in SHOP_PARTS]
        )
        fragments = _shop_parts_found(found, SHOP_PARTS, shop)
        common = f"{found[card_keys[0]]}.{found[card_keys[1]]}:{shop.time_zone}:{shop.currency}"
        fragment_keys, unread = {}, set()
        for part, token_key in part_keys.items():
            day = "" if part in DATELESS_PARTS else f":{today}"
            fragment_keys[part] = f"card:{customer_id}:{part}:{found[token_key]}.{common}{day}"
            if new & {token_key, *card_keys}:
                unread.add(part)  # nothing can be stored under a token written just now
        to_read = [key for part, key in fragment_keys.items() if part not in unread]
        html = cache.get_many(to_read) if to_read else {}
    except Exception:
        logger.exception("Friend-card cache unreachable; rendering card %s afresh", customer_id)
        return None
    return fragments | {part: (key, html.get(key)) for part, key in fragment_keys.items()}


def shop_fragments(*, parts: Iterable[str], shop) -> dict[str, tuple[FragmentKey, str | None]] | None:
    """As card_fragments for some SHOP_PARTS alone, in one round trip: for a page that shows one
    outside a card (the fresh log form after logging); None when the cache cannot be reached."""
    parts = tuple(parts)
    try:
        found, _ = _tokens([_shop_part_key(p) for p in parts], also=[_shop_fragment_key(p) for p in parts])
    except Exception:
        logger.exception("Cache unreachable; drawing %s afresh", parts)
        return None
    return _shop_parts_found(found, parts, shop)


def _shop_parts_found(found: dict[str, Any], parts: Iterable[str], shop) -> dict[str, tuple[FragmentKey, str | None]]:
    """{part: ((fragment key, stamp), HTML or None)} from what _tokens found of these shop parts."""
    fragments: dict[str, tuple[FragmentKey, str | None]] = {}
    for part in parts:
        # Drawn under this token for this zone and currency (the log form shows both), or drawn again.
        stamp = f"{found[_shop_part_key(part)]}:{shop.time_zone}:{shop.currency}"
        drawn_under, html = found.get(_shop_fragment_key(part)) or (None, None)
        fragments[part] = ((_shop_fragment_key(part), stamp), html if drawn_under == stamp else None)
    return fragments


def my_day_fragment(*, user_id: int, today: date, shop) -> dict[str, tuple[str, str | None]] | None:
    """{"my-day": (cache key, HTML or None)}: this person's My day lists today, as card_fragments gives
    a card's parts, in two cache round trips; None when the cache cannot be reached."""
    try:
        found, _ = _tokens([_SHOP_KEY, _MY_DAY_KEY])
        key = f"myday:{user_id}:{found[_SHOP_KEY]}.{found[_MY_DAY_KEY]}:{shop.time_zone}:{today}"
        return {"my-day": (key, cache.get(key))}
    except Exception:
        logger.exception("Cache unreachable; rendering My day afresh")
        return None


def _tokens(keys: list[str], also: Iterable[str] = ()) -> tuple[dict[str, Any], set[str]]:
    """The version tokens under `keys`, new ones written for those missing, in one or two round trips,
    with the values under the keys `also` read in the first; and the keys whose tokens are new (no
    fragment can be stored under them yet).

    Two first visits at once may each write theirs: the later wins and the other's fragments are never
    read again, a cache miss (an add per key cost a card's first visit seven round trips). Never stale:
    each request reads the rows after this.
    """
    found = cache.get_many([*keys, *also])
    new = {key: uuid.uuid4().hex for key in keys if key not in found}
    if new:
        cache.set_many(new, timeout=None)
        found.update(new)
    return found, set(new)


def _stored(key: FragmentKey, html: Any) -> tuple[str, Any]:
    """(cache key, value) of a drawn fragment: a shop part's (keyed by its key and token) is kept with
    the token it was drawn under."""
    return (key, html) if isinstance(key, str) else (key[0], (key[1], html))


def fragments_store(drawn: dict[FragmentKey, str]) -> None:
    """Keep the fragments a card view drew (its cache misses), in one round trip after rendering."""
    if not drawn:
        return
    try:
        cache.set_many(dict(_stored(key, html) for key, html in drawn.items()), timeout=FRAGMENT_TIMEOUT)
    except Exception:
        logger.exception("Friend-card cache unreachable writing %s fragments", len(drawn))


def fragment_set(key: FragmentKey, value: Any) -> None:
    """Keep one drawn fragment (as text) or a value (a count, a tuple) for FRAGMENT_TIMEOUT."""
    try:
        cache.set(*_stored(key, value), timeout=FRAGMENT_TIMEOUT)
    except Exception:
        logger.exception("Friend-card cache unreachable writing %s", key)


# --- The customer list's total ---------------------------------------------------------------
# COUNT(*) of 100,000 active customers is an index-only scan of them all, on every opening of the
# plain list (its most common view). The total changes only when a customer is added, archived,
# brought back, erased or deleted: Customer's post_save/post_delete (customers/apps.py) and the bulk
# writers (import, erasure) renew it on commit. Kept as a shop value (below).
ACTIVE_CUSTOMERS = "active-customers"


def active_customers_changed() -> None:
    """The number of active customers may have changed, once the current transaction commits."""
    shop_value_changed(ACTIVE_CUSTOMERS)


def active_customer_count(compute: Callable[[], int]) -> int:
    """The number of active customers: `compute()` (a COUNT query) once per version, then from the cache."""
    return shop_value(ACTIVE_CUSTOMERS, compute)


# --- Values the whole shop shares ---------------------------------------------------------------
# Read with a query or a few, kept with the token they were read under; what changes them renews the
# token (the signals in customers/apps.py and community/apps.py, and the bulk writers).
# The customer list's filters offer every tag, person, product and segment: four queries on every
# opening of the list, though they change a few times a week.
LIST_CHOICES = "list-choices"


def _shop_value_key(name: str) -> str:
    return f"shop:v:{name}"


def shop_value_changed(name: str) -> None:
    """The value kept as `name` (shop_value) is read again once the current transaction commits."""
    transaction.on_commit(lambda: _renew([_shop_value_key(name)]), robust=True)


def shop_value(name: str, compute: Callable[[], Any]) -> Any:
    """compute() once per version of `name`, then from the cache in one round trip (its token and the
    value kept with the token it was read under); compute() when the cache cannot be reached.

    Never stale: a token found missing is added before the value is kept, and a value read while a
    change renewed the token is kept under the old one, which is never asked for again.
    """
    token_key, value_key = _shop_value_key(name), f"shop:{name}"
    try:
        found = cache.get_many([token_key, value_key])
        token = found.get(token_key)
        if token is None:
            token = uuid.uuid4().hex
            if not cache.add(token_key, token, timeout=None):
                token = None  # renewed meanwhile: read afresh and not kept
        kept_under, value = found.get(value_key) or (None, None)
        if token is not None and kept_under == token:
            return value
    except Exception:
        logger.exception("Cache unreachable: reading %s afresh", name)
        return compute()
    value = compute()
    if token is not None:
        fragment_set(value_key, (token, value))
    return value
