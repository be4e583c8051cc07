"""Password reset by email for staff, through the outbox, the owner told (issue 15)."""

import pytest
from django.core import mail
from django.urls import reverse

from automations.models import OutboundMessage

pytestmark = pytest.mark.django_db


def _reset_link(body: str) -> str:
    url = next(word for word in body.split() if "/password-reset/" in word)
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_the_link_sets_a_new_password_once(client, staff, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"email": staff.email})
    reset = next(m for m in mail.outbox if m.to == [staff.email])
    notice = next(m for m in mail.outbox if m.to == [owner.email])
    assert staff.username in notice.body and "/password-reset/" not in notice.body  # the owner never gets the link
    assert set(OutboundMessage.objects.values_list("kind", "status")) == {
        ("password_reset", "sent"),
        ("password_reset_notice", "sent"),
    }

    link = _reset_link(reset.body)
    form_page = client.get(link, follow=True)
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "a fresh Passw0rd!", "new_password2": "a fresh Passw0rd!"})
    assert done.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password("a fresh Passw0rd!")
    again = client.get(link, follow=True)
    assert "This link does not work any more" in again.content.decode()


def test_an_unknown_address_gets_the_same_page_and_no_email(client, owner):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert not OutboundMessage.objects.exists() and not mail.outbox
