import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse, set_script_prefix

from crm.templatetags.cached_urls import cached_url


@pytest.mark.parametrize("view_name, args", [
    ("customers:my_day", ()),
    ("customers:detail", (7,)),
    ("customers:detail", (123456789012,)),
    ("customers:followup_action", (42, "done")),
    ("customers:followup_action", (43, "snooze")),
    ("gifts:card_redeem", (5, 9)),
])
def test_cached_url_gives_what_reverse_gives(view_name, args):
    assert cached_url(view_name, *args) == reverse(view_name, args=args)
    assert cached_url(view_name, *args) == reverse(view_name, args=args)  # and again, from the cache


def test_cached_url_follows_the_script_prefix():
    try:
        set_script_prefix("/shop/")
        assert cached_url("customers:detail", 3) == "/shop/customers/3/" == reverse("customers:detail", args=[3])
    finally:
        set_script_prefix("/")
    assert cached_url("customers:detail", 3) == "/customers/3/"


def test_cached_url_refuses_what_reverse_refuses():
    with pytest.raises(NoReverseMatch):
        cached_url("customers:detail", None)
    with pytest.raises(NoReverseMatch):
        cached_url("customers:detail", "not-an-id")
    with pytest.raises(NoReverseMatch):
        cached_url("customers:detail", -5)
    with pytest.raises(NoReverseMatch):
        cached_url("customers:detail", True)


def test_the_tag_works_in_a_template_and_with_as():
    html = Template(
        "{% load cached_urls %}{% cached_url 'customers:detail' pk %}|"
        "{% cached_url 'customers:followup_action' pk 'cancel' as cancel %}{{ cancel }}"
    ).render(Context({"pk": 11}))
    assert html == "/customers/11/|/followups/11/cancel/"
