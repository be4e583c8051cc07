from datetime import date

import pytest
from django.core.exceptions import ValidationError

from customers import services
from customers.models import Customer, FollowUp, ImportantDate, Product, Tag
from tests.factories import CustomerFactory, FollowUpFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_only_a_first_name_is_needed_and_the_owner_is_whoever_added_them(staff):
    customer = services.customer_create(created_by=staff, first_name="Ada")

    assert customer.pk and customer.owner == staff and customer.created_by == staff
    assert customer.history.first().history_user == staff


def test_30_february_is_refused_and_nothing_is_saved(staff):
    with pytest.raises(ValidationError) as error:
        services.customer_create(created_by=staff, first_name="Ada", birthday_day=30, birthday_month=2)

    assert "birthday_day" in error.value.message_dict
    assert not Customer.objects.exists()


def test_29_february_is_accepted_with_or_without_a_leap_year(staff):
    services.customer_create(created_by=staff, first_name="Leap", birthday_day=29, birthday_month=2)
    services.customer_create(
        created_by=staff, first_name="Leap2", birthday_day=29, birthday_month=2, birthday_year=2000
    )

    assert Customer.objects.filter(birthday_day=29, birthday_month=2).count() == 2


def test_29_february_in_a_year_that_had_none_is_refused(staff):
    with pytest.raises(ValidationError):
        services.customer_create(
            created_by=staff, first_name="Ada", birthday_day=29, birthday_month=2, birthday_year=2001
        )


def test_a_bad_email_is_refused(staff):
    with pytest.raises(ValidationError) as error:
        services.customer_create(created_by=staff, first_name="Ada", email="not-an-email")
    assert "email" in error.value.message_dict


def test_the_same_email_in_other_letters_is_a_duplicate(staff):
    CustomerFactory(email="ada@example.com")

    with pytest.raises(ValidationError) as error:
        services.customer_create(created_by=staff, first_name="Ada", email="ADA@Example.com")

    assert "already" in error.value.message_dict["email"][0]
    assert Customer.objects.count() == 1


def test_phone_numbers_are_stored_in_e164(staff):
    customer = services.customer_create(created_by=staff, first_name="Ada", phone="07700 900123")
    assert customer.phone == "+447700900123"
    assert services.phone_normalise(raw="+1 (415) 555-2671", region="GB") == "+14155552671"
    assert services.phone_normalise(raw="(415) 555-2671", region="US") == "+14155552671"


def test_a_phone_number_with_too_few_digits_is_refused(staff):
    with pytest.raises(ValidationError) as error:
        services.customer_create(created_by=staff, first_name="Ada", phone="123")
    assert "phone" in error.value.message_dict


def test_products_and_tags_typed_by_name_are_found_or_added(staff):
    ProductFactory(name="Flat white")

    customer = services.customer_create(
        created_by=staff, first_name="Ada", favourite_products=["flat WHITE", "Oat latte"], tags=["Local"]
    )

    assert sorted(p.name for p in customer.favourite_products.all()) == ["Flat white", "Oat latte"]
    assert Product.objects.count() == 2
    assert list(Tag.objects.values_list("name", flat=True)) == ["Local"]


def test_named_products_are_found_in_one_query_each_once_and_new_ones_added(django_assert_num_queries):
    flat_white, croissant = ProductFactory(name="Flat white"), ProductFactory(name="Croissant")

    with django_assert_num_queries(1):
        found = services.products_resolve(["flat  WHITE", croissant, "Croissant", "", "Flat white"])
    assert found == [flat_white, croissant]

    added = services.products_resolve(["Oat latte", "oat latte"])
    assert [p.name for p in added] == ["Oat latte"] and Product.objects.count() == 3


def test_consent_records_when_it_was_given_and_clears_when_withdrawn(staff):
    customer = services.customer_create(
        created_by=staff,
        first_name="Ada",
        email="ada@example.com",
        email_consent=True,
        consent_method=Customer.ConsentMethod.SIGNED_FORM,
    )
    assert customer.consent_at is not None

    services.customer_update(customer=customer, updated_by=staff, email_consent=False)
    customer.refresh_from_db()
    assert customer.consent_at is None and customer.consent_method == ""


def test_archiving_keeps_the_customer(staff):
    customer = CustomerFactory()

    services.customer_archive(customer=customer, archived_by=staff)
    customer.refresh_from_db()
    assert customer.is_archived and customer.archived_at

    services.customer_archive(customer=customer, archived_by=staff, archived=False)
    customer.refresh_from_db()
    assert not customer.is_archived and customer.archived_at is None


def test_a_follow_up_can_be_done_snoozed_or_cancelled_once(staff):
    done, snoozed, cancelled = FollowUpFactory.create_batch(3, due_date=date(2026, 3, 1))

    services.followup_done(followup=done, done_by=staff)
    services.followup_snooze(followup=snoozed, snoozed_by=staff, days=7, today=date(2026, 3, 5))
    services.followup_cancel(followup=cancelled, cancelled_by=staff)

    assert FollowUp.objects.get(pk=done.pk).status == FollowUp.Status.DONE
    assert FollowUp.objects.get(pk=done.pk).closed_by == staff
    assert FollowUp.objects.get(pk=snoozed.pk).due_date == date(2026, 3, 12)
    assert FollowUp.objects.get(pk=snoozed.pk).status == FollowUp.Status.SNOOZED
    assert FollowUp.objects.get(pk=cancelled.pk).status == FollowUp.Status.CANCELLED
    with pytest.raises(ValidationError):
        services.followup_done(followup=FollowUp.objects.get(pk=cancelled.pk), done_by=staff)


def test_important_dates_refuse_30_february_and_accept_29_february(staff):
    customer = CustomerFactory()

    with pytest.raises(ValidationError):
        services.important_date_add(customer=customer, added_by=staff, label="Anniversary", day=30, month=2)
    important = services.important_date_add(customer=customer, added_by=staff, label="Leap day", day=29, month=2)

    assert list(ImportantDate.objects.all()) == [important]
    services.important_date_remove(important_date=important, removed_by=staff)
    assert not ImportantDate.objects.exists()
