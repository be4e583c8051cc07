"""Staff accounts (add, deactivate, reset a password, hand over) and the audit trail."""

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from simple_history.utils import bulk_update_with_history

from accounts.models import AuditRecord
from crm.roles import OWNER, STAFF
from customers.card_cache import cards_all_changed


def audit_record(
    *, actor: User | None, action: str, target: models.Model | None = None, detail: dict | None = None
) -> AuditRecord:
    """Note who did what to which record (ids and counts only, never personal data)."""
    return AuditRecord.objects.create(
        actor=actor if actor and actor.pk else None,
        actor_username=actor.get_username() if actor else "",
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=target.pk if target is not None else None,
        detail=detail or {},
    )


def _set_role(user: User, role: str) -> None:
    if role not in (OWNER, STAFF):
        raise ValidationError({"role": "Choose Owner or Staff."})
    owner_group, _ = Group.objects.get_or_create(name=OWNER)
    staff_group, _ = Group.objects.get_or_create(name=STAFF)
    user.groups.remove(owner_group, staff_group)
    user.groups.add(owner_group if role == OWNER else staff_group)


@transaction.atomic
def staff_create(
    *, created_by: User, username: str, first_name: str, last_name: str, email: str, role: str, password: str
) -> User:
    """Add a person who can log in; the password must pass Django's validators."""
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "Someone already has this username."})
    user = User(username=username, first_name=first_name, last_name=last_name, email=email.strip().lower())
    user.full_clean(exclude=["password"])
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password1": exc.messages})
    user.set_password(password)
    user.save()
    _set_role(user, role)
    audit_record(actor=created_by, action=AuditRecord.Action.STAFF_ADDED, target=user, detail={"role": role})
    return user


@transaction.atomic
def staff_set_active(*, user: User, changed_by: User, active: bool) -> User:
    """Deactivate (they can no longer log in; their history stays) or reactivate someone."""
    if user.pk == changed_by.pk and not active:
        raise ValidationError("You cannot deactivate your own account.")
    if not active and user.groups.filter(name=OWNER).exists():
        other_owners = User.objects.filter(groups__name=OWNER, is_active=True).exclude(pk=user.pk)
        if not other_owners.exists():
            raise ValidationError("The shop needs at least one active owner.")
    user.is_active = active
    user.save(update_fields=["is_active"])
    action = AuditRecord.Action.STAFF_REACTIVATED if active else AuditRecord.Action.STAFF_DEACTIVATED
    audit_record(actor=changed_by, action=action, target=user)
    return user


@transaction.atomic
def staff_set_password(*, user: User, changed_by: User, password: str) -> User:
    """The owner sets a new password for someone who forgot theirs."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password1": exc.messages})
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=changed_by, action=AuditRecord.Action.PASSWORD_RESET, target=user)
    return user


@transaction.atomic
def staff_handover(*, from_user: User, to_user: User, handed_over_by: User, deactivate: bool = False) -> dict:
    """Give one person's customers and open follow-ups to another, all at once or not at all."""
    from customers.models import Customer, FollowUp

    if from_user.pk == to_user.pk:
        raise ValidationError({"to_user": "Choose someone else to hand over to."})
    if not to_user.is_active:
        raise ValidationError({"to_user": "Hand over to an active account."})
    customers = list(Customer.objects.select_for_update().filter(owner=from_user))
    for customer in customers:
        customer.owner = to_user
    bulk_update_with_history(customers, Customer, ["owner"], batch_size=500, default_user=handed_over_by)
    followups = list(FollowUp.objects.select_for_update().filter(assignee=from_user, status__in=FollowUp.OPEN_STATUSES))
    for followup in followups:
        followup.assignee = to_user
    bulk_update_with_history(followups, FollowUp, ["assignee"], batch_size=500, default_user=handed_over_by)
    counts = {"customers": len(customers), "followups": len(followups), "to_user_id": to_user.pk}
    audit_record(actor=handed_over_by, action=AuditRecord.Action.STAFF_HANDOVER, target=from_user, detail=counts)
    if deactivate:
        staff_set_active(user=from_user, changed_by=handed_over_by, active=False)
    cards_all_changed()  # owners and assignees on many cards
    return counts
