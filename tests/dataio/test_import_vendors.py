"""Vendor exports recognised by their documented headers, with and without their optional columns.

Square: https://squareup.com/help/us/en/article/6632-import-customers-online (and the export described in
https://squareup.com/help/ca/en/article/6149-manage-unsubscribed-customers). Shopify:
https://help.shopify.com/en/manual/customers/import-export-customers (the customer CSV description).
"""

import pytest

from customers.models import Customer
from dataio.services import (
    import_job_check,
    import_job_configure,
    import_job_create,
    import_job_run,
    import_job_start,
)

pytestmark = pytest.mark.django_db

SQUARE_FULL = (
    "Reference ID,First Name,Surname,Nickname,Company Name,Email Address,Phone Number,Street Address 1,"
    "Street Address 2,City,State,Postal Code,Birthday,Memo,Square Customer ID,Creation Source,First Visit,"
    "Last Visit,Transaction Count,Total Spend,Email Subscription Status,Instant Profile,Groups\n"
    "R1,Ada,Lovelace,Addie,,ada@example.com,07700 900123,1 High St,,London,,N1 1AA,12-10-1985,Tea,SQ1,"
    "Directory,2024-01-02,2024-05-06,3,45.00,Subscribed,No,Regulars\n"
)
SQUARE_MINIMAL_LAST_NAME = (
    "First Name,Last Name,Email Address,Email Subscription Status\nBea,Kay,bea@example.com,Unsubscribed\n"
)
SHOPIFY_FULL = (
    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,"
    "Default Address Address1,Default Address Address2,Default Address City,Default Address Province Code,"
    "Default Address Country Code,Default Address Zip,Default Address Phone,Phone,Accepts SMS Marketing,"
    "Total Spent,Total Orders,Note,Tax Exempt,Tags\n"
    "1001,Chloé,Dubois,chloe@example.com,yes,,1 Rue,,Paris,,FR,75001,,+33 6 12 34 56 78,no,120.00,3,"
    '"Likes\nrosé",no,"vip, newsletter"\n'
)
SHOPIFY_TEMPLATE_OLD = (
    "First Name,Last Name,Email,Company,Address1,Address2,City,Province,Province Code,Country,Country Code,Zip,"
    "Phone,Accepts Marketing,Total Spent,Total Orders,Tags,Note,Tax Exempt\n"
    "Dan,Smith,dan@example.com,,,,,,,,,,,no,0,0,,,no\n"
)


def _import(owner, text: str, encoding: str = "utf-8"):
    job = import_job_create(uploaded_by=owner, file_name="export.csv", raw=text.encode(encoding))
    detected = job.detected_format
    import_job_configure(job=job, configured_by=owner, mapping=job.mapping, date_order=job.date_order or "dmy")
    checked = import_job_check(job_id=job.pk)
    assert checked is not None  # configured, so it is waiting for its check
    job = checked
    assert job.error_rows == 0, job.errors
    import_job_start(job=job, started_by=owner, mode="all", on_match="skip")
    import_job_run(job_id=job.pk)
    return detected


def test_a_full_square_export_is_read_as_square(owner):
    assert _import(owner, SQUARE_FULL) == "square"
    ada = Customer.objects.get(email="ada@example.com")
    assert (ada.last_name, ada.preferred_name, ada.notes) == ("Lovelace", "Addie", "Tea")
    assert (ada.birthday_month, ada.birthday_day) == (12, 10)  # Square: month first
    assert ada.email_consent and [t.name for t in ada.tags.all()] == ["Regulars"]


def test_a_minimal_square_export_with_last_name_is_read_as_square_and_its_unsubscribe_kept(owner):
    assert _import(owner, SQUARE_MINIMAL_LAST_NAME) == "square"
    bea = Customer.objects.get(email="bea@example.com")
    assert (bea.last_name, bea.email_consent) == ("Kay", False)


def test_a_full_shopify_export_is_read_as_shopify_even_in_utf16(owner):
    assert _import(owner, SHOPIFY_FULL, encoding="utf-16") == "shopify"
    chloe = Customer.objects.get(email="chloe@example.com")
    assert (chloe.first_name, chloe.notes, chloe.email_consent) == ("Chloé", "Likes\nrosé", True)
    assert sorted(t.name for t in chloe.tags.all()) == ["newsletter", "vip"]


def test_shopifys_older_template_with_accepts_marketing_is_read_as_shopify(owner):
    assert _import(owner, SHOPIFY_TEMPLATE_OLD) == "shopify"
    assert Customer.objects.get(email="dan@example.com").email_consent is False


def test_a_plain_sheet_with_first_last_and_email_stays_a_spreadsheet(owner):
    assert _import(owner, "First Name,Last Name,Email\nEve,Adams,eve@example.com\n") == "generic"
