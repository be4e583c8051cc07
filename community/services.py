"""Writes for segments, newsletters, events, invitations and the customer's own profile link."""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Sum, Value
from django.db.models.functions import JSONObject
from django.utils import timezone

from automations.models import OutboundMessage, ProfileLinkEvent
from automations.services import outbox_plan_from, outbox_plan_rows
from community.models import Event, Invitation, Newsletter, Segment
from community.rendering import placeholder_errors
from community.selectors import segment_customers
from crm.clock import shop_today
from crm.models import ShopSettings
from crm.tasks import enqueue_on_commit
from customers.card_cache import card_changed, cards_all_changed
from customers.models import Customer
from customers.services import customer_update
from touchpoints.models import Touchpoint
from touchpoints.services import touchpoint_log

NEWSLETTER = "newsletter"
EVENT_INVITATION = "event_invitation"
EVENT_REMINDER = "event_reminder"
PROFILE_CONFIRM = "profile_confirm"  # confirm an email or consent change made through the profile link
PROFILE_LINK = "profile_link"  # a fresh profile link the customer asked for
EVENT_PLACE = "event_place"  # "a place is free for you": sent when someone moves up from the waiting list
# Newsletters and invitations give way to personal notes (thank-yous, birthdays) when the cap bites;
# automations.services.PRIORITY lists them so the sender counts them in the 7-day cap.
BULK_PRIORITY = 80
PLAN_BATCH = 2000
# Reminders go out at this time in the shop's zone, the day before the event.
REMINDER_TIME = time(10, 0)
# Read as "by …" in the history: the change was made by no staff member but by the customer.
PROFILE_CHANGE_REASON = "the customer (profile link)"
COMMUNITY_PANEL = "community"  # the card panel's name (CommunityConfig.ready)


# --- Segments -------------------------------------------------------------------


@transaction.atomic
def segment_create(*, name: str, filters: dict, created_by: User | None) -> Segment:
    """Save a filter under a name."""
    segment = Segment(name=name.strip(), filters=filters, created_by=created_by)
    segment._history_user = created_by
    segment.full_clean()
    segment.save()
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, name: str, filters: dict, updated_by: User | None) -> Segment:
    """Rename a segment or change its filter; newsletters already planned keep their recipients."""
    segment.name = name.strip()
    segment.filters = filters
    segment._history_user = updated_by
    segment.full_clean()
    segment.save()
    return segment


@transaction.atomic
def segment_delete(*, segment: Segment, deleted_by: User | None) -> None:
    """Delete a segment no newsletter uses."""
    if segment.newsletters.exists():
        raise ValidationError("A newsletter uses this segment, so it stays.")
    segment._history_user = deleted_by
    segment.delete()


# --- Newsletters -----------------------------------------------------------------


def _newsletter_check_editable(newsletter: Newsletter) -> None:
    if (
        newsletter.pk
        and not Newsletter.objects.filter(pk=newsletter.pk).exclude(status=Newsletter.Status.PLANNED).exists()
    ):
        raise ValidationError("This newsletter has already gone to the outbox; it can no longer change.")


@transaction.atomic
def newsletter_save(
    *, newsletter: Newsletter | None = None, subject: str, body: str, segment: Segment | None, saved_by: User
) -> Newsletter:
    """Create or change a draft (a scheduled one goes back to draft: it must be sent again)."""
    newsletter = newsletter or Newsletter(created_by=saved_by)
    _newsletter_check_editable(newsletter)
    errors = {
        field: msgs
        for field, msgs in (("subject", placeholder_errors(subject)), ("body", placeholder_errors(body)))
        if msgs
    }
    if errors:
        raise ValidationError(errors)
    newsletter.subject, newsletter.body, newsletter.segment = subject.strip(), body, segment
    newsletter.status, newsletter.send_at = Newsletter.Status.DRAFT, None
    newsletter._history_user = saved_by
    newsletter.full_clean()
    newsletter.save()
    return newsletter


@transaction.atomic
def newsletter_schedule(*, newsletter: Newsletter, send_at: datetime | None, scheduled_by: User) -> Newsletter:
    """Send now (send_at None) or at a time; its messages are planned when that time comes."""
    _newsletter_check_editable(newsletter)
    if newsletter.segment_id is None:
        raise ValidationError({"segment": "Pick who it goes to first."})
    now = timezone.now()
    if send_at is not None and send_at < now - timedelta(minutes=1):
        raise ValidationError({"send_at": "That time has passed: pick a later one, or send now."})
    newsletter.status = Newsletter.Status.SCHEDULED
    newsletter.send_at = send_at or now
    newsletter._history_user = scheduled_by
    newsletter.full_clean()
    newsletter.save()
    if newsletter.send_at <= now + timedelta(minutes=1):
        _newsletter_plan_enqueue(newsletter.pk)
    return newsletter


def _newsletter_plan_enqueue(newsletter_id: int) -> None:
    """After commit, ask a worker to plan it now. Never fails the page: the beat task plans it within a minute."""
    from community.tasks import newsletter_plan_task

    enqueue_on_commit(newsletter_plan_task, backstop="newsletters-plan-due (every minute)", newsletter_id=newsletter_id)


@transaction.atomic
def newsletter_unschedule(*, newsletter: Newsletter, by: User) -> Newsletter:
    """Take a scheduled newsletter back to draft before it is planned."""
    _newsletter_check_editable(newsletter)
    newsletter.status, newsletter.send_at = Newsletter.Status.DRAFT, None
    newsletter._history_user = by
    newsletter.save()
    return newsletter


@transaction.atomic
def newsletter_plan(*, newsletter_id: int, now: datetime | None = None) -> int:
    """Put one outbox row per consenting segment member in one set-based step; returns rows added.

    Safe to run any number of times: the newsletter row is locked, only a scheduled and due
    newsletter is planned, and UNIQUE (recipient, kind, occasion) drops any repeat.
    """
    now = now or timezone.now()
    newsletter = Newsletter.objects.select_for_update().filter(pk=newsletter_id).first()
    if newsletter is None or newsletter.status != Newsletter.Status.SCHEDULED:
        return 0
    # newsletter_schedule sets both and newsletter_save takes it back to draft, so a scheduled one has them;
    # were either missing it is not planned: no segment must never mean every customer.
    if newsletter.send_at is None or newsletter.send_at > now or newsletter.segment is None:
        return 0
    members = segment_customers(newsletter.segment)
    mine = OutboundMessage.objects.filter(kind=NEWSLETTER, occasion_key=newsletter.occasion_key)
    before = mine.count()
    outbox_plan_from(
        members,
        kind=NEWSLETTER,
        customer="pk",
        occasion_key=newsletter.occasion_key,
        planned_at=newsletter.send_at,
        priority=BULK_PRIORITY,
        context={"newsletter_id": newsletter.pk},
    )
    newsletter.planned_count = mine.count()
    newsletter.skipped_count = max(members.count() - newsletter.planned_count, 0)
    newsletter.status = Newsletter.Status.PLANNED
    newsletter.planned_at = now
    newsletter.save(update_fields=["planned_count", "skipped_count", "status", "planned_at", "updated_at"])
    return newsletter.planned_count - before


def newsletters_plan_due(*, now: datetime | None = None) -> int:
    """Plan every scheduled newsletter whose time has come (the beat's safety net)."""
    now = now or timezone.now()
    ids = list(
        Newsletter.objects.filter(status=Newsletter.Status.SCHEDULED, send_at__lte=now).values_list("pk", flat=True)
    )
    return sum(newsletter_plan(newsletter_id=pk, now=now) for pk in ids)


def newsletter_send_test(*, newsletter: Newsletter, customer: Customer | None, to_user: User) -> None:
    """Email the newsletter, as `customer` would get it, to the owner straight away.

    Not through the outbox: it goes to the owner's own address, is not a message to a
    customer, and must arrive now rather than after quiet hours or caps.
    """
    from automations.emails import email_build

    if not to_user.email:
        raise ValidationError("Your account has no email address: add one to receive tests.")
    # An unsaved row, as the planner would make it, so the same code builds footer and links.
    message = OutboundMessage(
        customer=customer,
        staff_user=None if customer else to_user,
        recipient_key=f"c:{customer.pk}" if customer else f"u:{to_user.pk}",
        kind=NEWSLETTER,
        occasion_key=newsletter.occasion_key,
        to_email=to_user.email,
        context={"newsletter_id": newsletter.pk},
    )
    email_build(message, test=True).send()


# --- Events ------------------------------------------------------------------------


@transaction.atomic
def event_save(*, event: Event | None = None, saved_by: User, **fields) -> Event:
    """Create or change an event; planned reminders follow a new start time."""
    cards_all_changed()  # the title and times on every invitee's card
    event = event or Event(created_by=saved_by)
    if event.pk:
        # Fewer seats than people already coming: they keep their seats, say so plainly.
        taken = _seats_taken(event)
        if "capacity" in fields and fields["capacity"] is not None and fields["capacity"] < taken:
            raise ValidationError({"capacity": f"{taken} seats are already taken; give at least {taken}."})
    for name, value in fields.items():
        setattr(event, name, value)
    event._history_user = saved_by
    event.full_clean()
    event.save()
    OutboundMessage.objects.filter(
        kind=EVENT_REMINDER, occasion_key=f"event:{event.pk}", status=OutboundMessage.Status.PLANNED
    ).update(planned_at=max(event_reminder_at(event), timezone.now()))
    if "capacity" in fields:
        _waiting_list_move_up(event)
    return event


def event_reminder_at(event: Event) -> datetime:
    """10:00 in the shop's zone on the day before the event starts."""
    tz = ShopSettings.load().tz
    day_before = shop_today(event.starts_at, tz) - timedelta(days=1)
    return datetime.combine(day_before, REMINDER_TIME, tzinfo=tz)


@transaction.atomic
def event_invite(*, event: Event, segment: Segment, invited_by: User) -> int:
    """Invite a segment: invitation rows, then one outbox row each, set-based; returns new invitations.

    Inviting the same people again adds nobody twice.
    """
    cards_all_changed()  # a segment's worth of invitations and messages
    if event.starts_at <= timezone.now():
        raise ValidationError("This event has already started.")
    before = Invitation.objects.filter(event=event).count()
    customer_ids = segment_customers(segment).values_list("pk", flat=True)
    Invitation.objects.bulk_create(
        [Invitation(event=event, customer_id=pk) for pk in customer_ids.iterator(chunk_size=PLAN_BATCH)],
        ignore_conflicts=True,
        batch_size=PLAN_BATCH,
    )
    outbox_plan_from(
        Invitation.objects.filter(event=event),
        kind=EVENT_INVITATION,
        customer="customer_id",
        occasion_key=f"event:{event.pk}",
        planned_at=timezone.now(),
        priority=BULK_PRIORITY,
        context=JSONObject(event_id=Value(event.pk), invitation_id=F("pk")),
    )
    return Invitation.objects.filter(event=event).count() - before


def _seats_taken(event: Event, exclude: Invitation | None = None) -> int:
    going = Invitation.objects.filter(event=event, answer=Invitation.Answer.GOING)
    if exclude is not None:
        going = going.exclude(pk=exclude.pk)
    figures = going.aggregate(people=Count("pk"), guests=Sum("guests"))
    return figures["people"] + (figures["guests"] or 0)


def _reminder_set(invitation: Invitation, *, planned: bool) -> None:
    """Keep the day-before reminder in step with the answer (the planner adds missing ones)."""
    rows = OutboundMessage.objects.filter(
        recipient_key=f"c:{invitation.customer_id}", kind=EVENT_REMINDER, occasion_key=f"event:{invitation.event_id}"
    )
    if planned:
        rows.filter(status=OutboundMessage.Status.CANCELLED).update(
            status=OutboundMessage.Status.PLANNED, status_reason=""
        )
    else:
        rows.filter(status=OutboundMessage.Status.PLANNED).update(
            status=OutboundMessage.Status.CANCELLED, status_reason="No longer coming"
        )


def _waiting_list_move_up(event: Event) -> list[Invitation]:
    """Give free seats to the waiting list in the order people asked; a party too big waits on.

    The caller holds the lock on the event row.
    """
    free = event.capacity - _seats_taken(event)
    moved = []
    waiting = Invitation.objects.filter(event=event, answer=Invitation.Answer.WAITING).order_by("waiting_since", "pk")
    for invitation in waiting:
        if free <= 0:
            break
        if invitation.seats <= free:
            invitation.answer, invitation.waiting_since = Invitation.Answer.GOING, None
            invitation._history_user = None
            invitation._change_reason = "Moved up from the waiting list"
            invitation.save(update_fields=["answer", "waiting_since"])
            _reminder_set(invitation, planned=True)
            free -= invitation.seats
            moved.append(invitation)
    card_changed((invitation.customer_id for invitation in moved), [COMMUNITY_PANEL])
    _event_place_tell(event, moved)
    return moved


def _event_place_tell(event: Event, moved: list[Invitation]) -> None:
    """Tell those who moved up that they have a place (once per event)."""
    outbox_plan_rows(
        [
            OutboundMessage(
                customer_id=i.customer_id,
                kind=EVENT_PLACE,
                occasion_key=f"event:{event.pk}",
                planned_at=timezone.now(),
                context={"event_id": event.pk, "invitation_id": i.pk},
            )
            for i in moved
        ],
        priority=25,
    )


@transaction.atomic
def invitation_answer(
    *, invitation: Invitation, coming: bool, guests: int = 0, answered_by: User | None = None
) -> Invitation:
    """Record yes/no and guests. When full, yes goes to the waiting list; a cancel moves others up.

    The event row is locked first, so two people taking the last seat at once are served
    one after the other: one gets the seat, the other the waiting list.
    """
    event = Event.objects.select_for_update().get(pk=invitation.event_id)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    card_changed(invitation.customer_id, [COMMUNITY_PANEL])
    now = timezone.now()
    if event.starts_at <= now:
        raise ValidationError("This event has already started, so answers are closed.")
    guests = guests if coming else 0
    if not 0 <= guests <= event.max_guests:
        raise ValidationError({"guests": f"You can bring up to {event.max_guests} guests."})
    was_going = invitation.answer == Invitation.Answer.GOING
    invitation._history_user = answered_by
    invitation._change_reason = "" if answered_by else "By the customer via the invitation link"
    invitation.answered_at = now
    if not coming:
        invitation.answer, invitation.guests, invitation.waiting_since = Invitation.Answer.DECLINED, 0, None
        invitation.save()
        if was_going:
            _reminder_set(invitation, planned=False)
            _waiting_list_move_up(event)
        return invitation

    free = event.capacity - _seats_taken(event, exclude=invitation)
    if was_going:
        if 1 + guests > free:
            raise ValidationError(
                {"guests": f"Only {max(free - 1, 0)} guests fit now; your {invitation.seats} seats are kept."}
            )
        fewer = guests < invitation.guests
        invitation.guests = guests
        invitation.save()
        if fewer:
            _waiting_list_move_up(event)
        return invitation

    invitation.guests = guests
    if 1 + guests <= free:
        invitation.answer, invitation.waiting_since = Invitation.Answer.GOING, None
        invitation.save()
        _reminder_set(invitation, planned=True)
    else:
        if invitation.answer != Invitation.Answer.WAITING:
            invitation.waiting_since = now  # already waiting: keep their place in the line
        invitation.answer = Invitation.Answer.WAITING
        invitation.save()
    return invitation


@transaction.atomic
def invitation_check_in(*, invitation: Invitation, checked_in_by: User) -> Invitation:
    """Tick someone off at the door; logs an "event" touchpoint once."""
    invitation = Invitation.objects.select_for_update().select_related("event", "customer").get(pk=invitation.pk)
    if invitation.checked_in_at:
        return invitation
    card_changed(invitation.customer_id, [COMMUNITY_PANEL])
    now = timezone.now()
    invitation.checked_in_at, invitation.checked_in_by = now, checked_in_by
    if invitation.answer != Invitation.Answer.GOING:
        # Someone from the waiting list (or who said no) turned up anyway: they are here.
        invitation.answer, invitation.waiting_since = Invitation.Answer.GOING, None
    invitation._history_user = checked_in_by
    invitation.save()
    touchpoint_log(
        customer=invitation.customer,
        logged_by=checked_in_by,
        kind=Touchpoint.Kind.EVENT,
        happened_at=now,
        note=f"Came to “{invitation.event.title}”"
        + (f" with {invitation.guests} guest{'s' if invitation.guests != 1 else ''}" if invitation.guests else ""),
    )
    return invitation


def event_reminders_plan(*, now: datetime | None = None) -> int:
    """Plan the day-before reminder for everyone coming to an event in the next two days.

    Runs from beat; UNIQUE (recipient, kind, occasion) makes repeats harmless.
    """
    cards_all_changed()
    now = now or timezone.now()
    added = 0
    for event in Event.objects.filter(starts_at__gt=now, starts_at__lte=now + timedelta(days=2)):
        added += outbox_plan_from(
            Invitation.objects.filter(event=event, answer=Invitation.Answer.GOING),
            kind=EVENT_REMINDER,
            customer="customer_id",
            occasion_key=f"event:{event.pk}",
            planned_at=max(event_reminder_at(event), now),
            priority=30,
            context=JSONObject(event_id=Value(event.pk), invitation_id=F("pk")),
        )
    return added


# --- The customer's own profile link -----------------------------------------------------


# What the profile link changes at once, and what waits for a confirmation sent to the address.
PROFILE_DIRECT_FIELDS = ("preferred_name", "birthday_day", "birthday_month", "birthday_year", "favourite_products")
PROFILE_CONFIRMED_FIELDS = ("email", "email_consent")
PROFILE_FIELD_WORDS = {
    "preferred_name": "name",
    "birthday_day": "birthday",
    "birthday_month": "birthday",
    "birthday_year": "birthday",
    "favourite_products": "favourites",
    "email": "email address",
    "email_consent": "email consent",
}


@dataclass
class ProfileSave:
    """What a profile-link save did: the fields changed now, and where a confirmation went (if one did)."""

    changed: list[str] = field(default_factory=list)
    confirm_sent_to: str = ""

    @property
    def anything(self) -> bool:
        return bool(self.changed or self.confirm_sent_to)


def _words(names) -> str:
    return ", ".join(dict.fromkeys(PROFILE_FIELD_WORDS[n] for n in names))


@transaction.atomic
def customer_profile_update(*, customer: Customer, changes: dict) -> ProfileSave:
    """The customer corrects their own details through their link; only the fields in `changes` are looked at.

    Fields sent with their current value change nothing, so an empty form changes nothing. A new email
    address or a change of consent is not applied: a confirmation link goes to the address (through the
    outbox). A save uses the link up (a ProfileLinkEvent moves the link generation on). History shows
    no staff user and says the customer did it.
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    result = ProfileSave()
    direct: dict = {}
    for name in PROFILE_DIRECT_FIELDS:
        if name not in changes:
            continue
        value = changes[name]
        if name == "preferred_name":
            value = (value or "").strip()
        if name == "favourite_products":
            value = list(value)
            if {p.pk for p in value} != set(customer.favourite_products.values_list("pk", flat=True)):
                direct[name] = value
        elif value != getattr(customer, name):
            direct[name] = value
    pending: dict = {}
    if "email" in changes:
        email = (changes["email"] or "").strip().lower()
        if email and email != customer.email.lower():
            if Customer.objects.filter(email__iexact=email).exclude(pk=customer.pk).exists():
                raise ValidationError({"email": "We can't use this address for you: please ask us in the shop."})
            pending["email"] = email
    if "email_consent" in changes and bool(changes["email_consent"]) != customer.email_consent:
        pending["email_consent"] = bool(changes["email_consent"])
    if pending and not (pending.get("email") or customer.email):
        raise ValidationError({"email": "Give your email address, so we can send you the link to confirm."})
    if direct:
        products = direct.pop("favourite_products", None)
        customer._change_reason = PROFILE_CHANGE_REASON
        customer_update(customer=customer, updated_by=None, favourite_products=products, **direct)
        result.changed = [
            n for n in PROFILE_DIRECT_FIELDS if n in direct or (n == "favourite_products" and products is not None)
        ]
        _profile_link_event_record(customer=customer, kind=ProfileLinkEvent.Kind.SAVED, detail=_words(result.changed))
    if pending:
        result.confirm_sent_to = _profile_confirm_send(customer=customer, pending=pending)
    return result


def _profile_link_event_record(*, customer: Customer, kind: str, detail: str = "") -> ProfileLinkEvent:
    """One use of the profile link, for the card's community panel; the card (its panel, and the timeline
    that lists the email it queues) is drawn afresh after commit."""
    event = ProfileLinkEvent.objects.create(customer=customer, kind=kind, detail=detail[:200])
    card_changed(customer.pk)
    return event


def _profile_confirm_send(*, customer: Customer, pending: dict) -> str:
    """Queue the confirmation email (to the new address if there is one); returns where it goes."""
    from automations.links import profile_confirm_token
    from automations.services import message_enqueue

    to_email = pending.get("email") or customer.email
    what = "a change of " + _words(pending)
    event = _profile_link_event_record(customer=customer, kind=ProfileLinkEvent.Kind.CONFIRM_SENT, detail=what)
    message = OutboundMessage(
        customer=customer,
        recipient_key=f"c:{customer.pk}",
        kind=PROFILE_CONFIRM,
        occasion_key=f"profile_confirm:{event.pk}",
        planned_at=timezone.now(),
        priority=10,
        to_email=to_email,
        context={"token": profile_confirm_token(customer_id=customer.pk, changes=pending), "what": what},
    )
    message.full_clean()
    message.save()
    message_enqueue(message.pk)
    return to_email


@transaction.atomic
def customer_profile_confirm(*, customer: Customer, changes: dict) -> Customer:
    """Apply an email or consent change the customer confirmed from their inbox; the link is then used up."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    fields: dict = {}
    if isinstance(changes.get("email"), str):
        email = changes["email"].strip().lower()
        if Customer.objects.filter(email__iexact=email).exclude(pk=customer.pk).exists():
            raise ValidationError("We can't use this address for you: please ask us in the shop.")
        fields["email"] = email
    if isinstance(changes.get("email_consent"), bool):
        fields["email_consent"] = changes["email_consent"]
        if changes["email_consent"]:
            fields["consent_method"] = Customer.ConsentMethod.ONLINE
    customer._change_reason = PROFILE_CHANGE_REASON
    customer_update(customer=customer, updated_by=None, **fields)
    _profile_link_event_record(
        customer=customer, kind=ProfileLinkEvent.Kind.CONFIRMED, detail=_words(fields.keys() - {"consent_method"})
    )
    return customer


@transaction.atomic
def profile_link_request(*, email: str) -> bool:
    """Send a fresh profile link to `email` if it is a customer's; False (and nothing sent) otherwise.

    The page says the same either way, so it tells nobody whether an address is on the list.
    """
    from automations.services import message_enqueue

    email = (email or "").strip().lower()
    customer = Customer.objects.filter(email__iexact=email, is_archived=False, erased_at__isnull=True).first()
    if not email or customer is None:
        return False
    event = _profile_link_event_record(customer=customer, kind=ProfileLinkEvent.Kind.LINK_SENT)
    message = OutboundMessage(
        customer=customer,
        recipient_key=f"c:{customer.pk}",
        kind=PROFILE_LINK,
        occasion_key=f"profile_link:{event.pk}",
        planned_at=timezone.now(),
        priority=10,
        to_email=customer.email,
    )
    message.full_clean()
    message.save()
    message_enqueue(message.pk)
    return True
