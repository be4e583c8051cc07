"""The owner's data, staff and history pages in a real browser, at laptop and phone size."""

from customers.services import customer_update
from dataio.services import import_job_check, import_job_configure, import_job_create
from tests.e2e.conftest import has_no_sideways_scroll, log_in, screenshot
from tests.factories import CustomerFactory, StaffFactory
from touchpoints.services import touchpoint_log

BAD_ROWS = (
    "First Name,Last Name,Email,Phone,Birthday,Tags,Note\n"
    "Ada,Lovelace,ada@example.com,07700900001,10/12/1990,vip,Likes oolong tea and long walks with her dog\n"
    "Ben,Okafor,not-an-email,,,,\n"
    "Chloé,Dubois,chloe@example.com,,30/02/1990,newsletter,\n"
    "Dan,Smith,dan@example.com,12,,,\n"
    "Eve,Adams,ada@example.com,,,,\n"
)


def watch_csp(page) -> list[str]:
    """Collect Content-Security-Policy violations the browser reports on the console."""
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    return violations


def _the_import_preview_lists_errors_per_row(page, size, owner):
    violations = watch_csp(page)
    job = import_job_create(uploaded_by=owner, file_name="till-export.csv", raw=BAD_ROWS.encode())
    import_job_configure(job=job, configured_by=owner, mapping=job.mapping, date_order="dmy")
    import_job_check(job_id=job.pk)
    log_in(page, owner)
    page.goto(f"/data/import/{job.pk}/")
    assert page.get_by_text("February has no day 30.").is_visible()
    assert page.get_by_text("The same email as row 2.").is_visible()
    screenshot(page, f"h4_import_preview_errors_{size}")
    assert has_no_sideways_scroll(page)
    assert not violations, violations


def _the_staff_page_and_a_persons_page(page, size, owner):
    violations = watch_csp(page)
    mia = StaffFactory(first_name="Mia", last_name="Khan")
    CustomerFactory.create_batch(3, owner=mia)
    StaffFactory(first_name="Tom", last_name="Reed")
    log_in(page, owner)
    page.goto("/accounts/staff/")
    assert page.get_by_text("Mia Khan").is_visible()
    screenshot(page, f"h4_staff_list_{size}")
    assert has_no_sideways_scroll(page)
    page.goto(f"/accounts/staff/{mia.pk}/")
    screenshot(page, f"h4_staff_detail_{size}")
    assert has_no_sideways_scroll(page)
    assert not violations, violations


def _the_history_and_data_pages_of_a_customer(page, size, owner, staff):
    violations = watch_csp(page)
    customer = CustomerFactory(first_name="Ada", last_name="Lovelace", notes="Cat called Babbage")
    customer_update(customer=customer, updated_by=staff, notes="Cat called Babbage; likes oolong", phone="07700900123")
    touchpoint_log(customer=customer, logged_by=staff, kind="purchase", amount=18, note="Oolong, 250 g")
    log_in(page, owner)
    page.goto(f"/customers/{customer.pk}/")
    page.get_by_role("link", name="History").click()
    page.wait_for_url(f"**/data/customers/{customer.pk}/history/")
    assert page.get_by_text("likes oolong").first.is_visible()
    screenshot(page, f"h4_customer_history_{size}")
    assert has_no_sideways_scroll(page)
    page.goto(f"/data/customers/{customer.pk}/")
    screenshot(page, f"h4_customer_data_{size}")
    assert has_no_sideways_scroll(page)
    page.goto("/data/")
    screenshot(page, f"h4_data_home_{size}")
    assert has_no_sideways_scroll(page)
    page.goto("/no/such/page/")
    screenshot(page, f"h4_404_{size}")
    assert not violations, violations


# live_server must be in each test's own fixtures (not fetched later) so the test is transactional.
def test_the_import_preview_lists_errors_per_row_on_a_laptop(page, owner):
    _the_import_preview_lists_errors_per_row(page, "laptop", owner)


def test_the_import_preview_lists_errors_per_row_on_a_phone(phone_page, owner):
    _the_import_preview_lists_errors_per_row(phone_page, "phone", owner)


def test_the_staff_pages_on_a_laptop(page, owner):
    _the_staff_page_and_a_persons_page(page, "laptop", owner)


def test_the_staff_pages_on_a_phone(phone_page, owner):
    _the_staff_page_and_a_persons_page(phone_page, "phone", owner)


def test_the_history_and_data_pages_on_a_laptop(page, owner, staff):
    _the_history_and_data_pages_of_a_customer(page, "laptop", owner, staff)


def test_the_history_and_data_pages_on_a_phone(phone_page, owner, staff):
    _the_history_and_data_pages_of_a_customer(phone_page, "phone", owner, staff)
