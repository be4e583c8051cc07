from tests.e2e.conftest import log_in, screenshot


def test_staff_log_in_and_land_on_my_day(page, staff):
    log_in(page, staff)

    assert page.locator("h1").first.inner_text() == "My day"
    screenshot(page, "my_day_after_login")


def test_a_wrong_password_shows_an_error_and_stays_on_the_login_page(page, staff):
    page.goto("/login/")
    page.fill("input[name=username]", staff.username)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")

    assert "/login/" in page.url
    assert "enter a correct username and password" in page.content()
