"""factory_boy factories shared by every test folder."""

from datetime import timedelta

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone
from factory.django import DjangoModelFactory

from customers.models import Customer, FollowUp, ImportantDate, Product, Tag
from touchpoints.models import Touchpoint

DEMO_PASSWORD = "rapport-test-pw"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@shop.example")
    password = factory.PostGenerationMethodCall("set_password", DEMO_PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        """UserFactory(role="Owner") puts the user in that group."""
        _give_role(self, create, extracted)


def _give_role(user: User, create: bool, role: str | None) -> None:
    if create and role:
        user.groups.add(
            Group.objects.get_or_create(name=role)[0]
        )  # transactional tests flush the migration-made groups
    if create:
        user.save()


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    role = factory.PostGeneration(lambda user, create, extracted, **kw: _give_role(user, create, extracted or "Staff"))


class OwnerFactory(UserFactory):
    username = factory.Sequence(lambda n: f"owner{n}")
    role = factory.PostGeneration(lambda user, create, extracted, **kw: _give_role(user, create, extracted or "Owner"))


class TagFactory(DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag {n}")


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Product {n}")


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"customer{n}@mail.example")
    email_consent = True
    consent_at = factory.LazyFunction(timezone.now)
    consent_method = Customer.ConsentMethod.IN_PERSON


class ImportantDateFactory(DjangoModelFactory):
    class Meta:
        model = ImportantDate

    customer = factory.SubFactory(CustomerFactory)
    label = "Wedding anniversary"
    date_day = 14
    date_month = 6


class FollowUpFactory(DjangoModelFactory):
    class Meta:
        model = FollowUp

    customer = factory.SubFactory(CustomerFactory)
    reason = "Ask how the new shoes fit"
    due_date = factory.LazyFunction(lambda: timezone.localdate())


class TouchpointFactory(DjangoModelFactory):
    """A raw row; use touchpoints.services.touchpoint_log to also update the customer's figures."""

    class Meta:
        model = Touchpoint

    customer = factory.SubFactory(CustomerFactory)
    kind = Touchpoint.Kind.VISIT
    happened_at = factory.LazyFunction(timezone.now)


# --- gifts (h6) ---
class GiftCodeFactory(DjangoModelFactory):
    class Meta:
        model = "gifts.GiftCode"

    customer = factory.SubFactory(CustomerFactory)
    code = factory.Sequence(
        lambda n: "GF" + "".join("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[(n // 32**i) % 32] for i in range(6))
    )
    kind = "percent"
    value = 10
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=30))
    source = "manual"


# --- community (h5) ---
class SegmentFactory(DjangoModelFactory):
    class Meta:
        model = "community.Segment"

    name = factory.Sequence(lambda n: f"Segment {n}")
    filters = factory.LazyFunction(dict)


class NewsletterFactory(DjangoModelFactory):
    class Meta:
        model = "community.Newsletter"

    subject = "News from {shop_name}"
    body = "Hello {preferred_name},\n\nWe have **new coffee** in."
    segment = factory.SubFactory(SegmentFactory)


class EventFactory(DjangoModelFactory):
    class Meta:
        model = "community.Event"

    title = "Coffee tasting"
    description = "Three new beans, and cake."
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    ends_at = factory.LazyAttribute(lambda e: e.starts_at + timedelta(hours=2))
    place = "The shop"
    capacity = 10
    max_guests = 3


class InvitationFactory(DjangoModelFactory):
    class Meta:
        model = "community.Invitation"

    event = factory.SubFactory(EventFactory)
    customer = factory.SubFactory(CustomerFactory)


# --- automations (h2) ---
class OutboundMessageFactory(DjangoModelFactory):
    """A planned outbox row for a customer, due now."""

    class Meta:
        model = "automations.OutboundMessage"

    customer = factory.SubFactory(CustomerFactory)
    recipient_key = factory.LazyAttribute(lambda m: f"c:{m.customer.pk}" if m.customer else f"u:{m.staff_user.pk}")
    kind = "wemissyou"
    occasion_key = factory.Sequence(lambda n: f"test:{n}")
    status = "planned"
    planned_at = factory.LazyFunction(timezone.now)
    priority = 60
