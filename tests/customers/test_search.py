"""The search page and dropdown read a page of matches (customer_search_rows), prefix matches first.

Prefix matches come from per-column index scans and the other matches only when those run out,
so these tests put the boundary between the two groups on and across page boundaries.
"""

import pytest
from django.urls import reverse

from customers.selectors import customer_search, customer_search_rows
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PAGE_SIZE = 25


def _page(client, q, number=1):
    return client.get(reverse("customers:search"), {"q": q, "page": number}).context["page"]


def _every_page(client, q) -> list:
    """Every match, page after page, as the search page lists them."""
    found, number = [], 1
    while True:
        page = _page(client, q, number)
        found += list(page)
        if not page.has_next:
            return found
        number += 1


def _names(customers) -> list[str]:
    return [f"{c.first_name} {c.last_name}" for c in customers]


def _customer(first_name, last_name="Zed", **fields):
    return CustomerFactory(first_name=first_name, last_name=last_name, **fields)


def test_pages_follow_on_from_prefix_matches_to_the_others_without_gaps_or_repeats(staff_client):
    prefix = [_customer(f"Pat{i:02d}") for i in range(30)]
    inner = [_customer(f"Spat{i:02d}") for i in range(30)]

    pages = [_page(staff_client, "pat", n) for n in (1, 2, 3)]

    # Page 2 holds the last 5 prefix matches and the first 20 others.
    assert [list(p) for p in pages] == [prefix[:25], prefix[25:] + inner[:20], inner[20:]]
    assert [p.has_next for p in pages] == [True, True, False]


@pytest.mark.parametrize("prefix_count", [24, 25, 26, 27])
def test_a_page_ending_on_the_last_prefix_match_still_goes_on_to_the_others(staff_client, prefix_count):
    prefix = [_customer(f"Pat{i:02d}") for i in range(prefix_count)]
    inner = [_customer(f"Spat{i:02d}") for i in range(3)]

    # Every match once, prefix matches first, and "Next" only while there are more.
    assert _every_page(staff_client, "pat") == prefix + inner


def test_the_dropdown_says_there_are_more_when_only_other_matches_are_left(staff_client):
    prefix = [_customer(f"Pat{i:02d}") for i in range(10)]
    _customer("Spat")

    response = staff_client.get(reverse("customers:search"), {"q": "pat", "dropdown": "1"}, HTTP_HX_REQUEST="true")

    assert response.context["results"] == prefix and response.context["more"]


def test_a_common_surname_and_longer_surnames_are_listed_together_by_first_name(staff_client):
    for i in range(30):
        _customer(f"Ann{i:02d}", "Smith")
    for i in range(0, 30, 3):
        _customer(f"Ann{i:02d}", "Smithson")
    _customer("Aaron", "Blacksmith")

    names = _names(_every_page(staff_client, "smith"))

    # "Ann00 Smith", "Ann00 Smithson", "Ann01 Smith", ...: by first name, then last name.
    expected = sorted(
        [f"Ann{i:02d} Smith" for i in range(30)] + [f"Ann{i:02d} Smithson" for i in range(0, 30, 3)],
        key=lambda name: (name.split()[0].lower(), name.split()[1].lower()),
    )
    assert names == expected + ["Aaron Blacksmith"]


def test_a_customer_matching_in_several_names_is_listed_once(staff_client):
    both = _customer("Sam", "Samson", preferred_name="Sammy", email="sam@mail.example")
    other = _customer("Sama", "Zed")

    assert _every_page(staff_client, "sam") == [both, other]


def test_a_rare_name_finds_the_one_customer(staff_client):
    CustomerFactory.create_batch(5, first_name="Ada", last_name="Byron")
    rare = _customer("Grace", "Hopper")

    assert _every_page(staff_client, "hopper") == [rare]
    assert _every_page(staff_client, "lovelace") == []


def test_every_word_must_match_a_name_and_the_first_word_decides_the_order(staff_client):
    ann_smith = _customer("Ann", "Smith")
    joann_smith = _customer("Joann", "Smithers")
    bob_annsmith = _customer("Bob", "Annsmith")
    _customer("Ann", "Jones")  # no "smi"
    _customer("Sam", "Smith")  # no "ann"

    # Prefix matches of "ann" (by first name), then the others.
    assert _every_page(staff_client, "ann smi") == [ann_smith, bob_annsmith, joann_smith]


def test_a_name_starting_with_the_first_word_and_a_phone_matching_the_query_counts_as_a_prefix_match(staff_client):
    # "ann 7700900" is mostly digits: it is also looked for in phone numbers.
    zed = _customer("Zed", "Phone", phone="+447700900456")
    annie = _customer("Annie", "Phone", phone="+447700900123")
    _customer("Ann", "Nophone", phone="")

    assert _every_page(staff_client, "ann 7700900") == [annie, zed]


def test_an_email_starting_with_the_query_comes_before_one_containing_it(staff_client):
    inner = _customer("Aaron", "Bee", email="bob.ada@mail.example")
    prefix = _customer("Zoe", "Zed", email="ada@mail.example")
    _customer("Adam", "Cee", email="adam@mail.example")  # "ada" but not "ada@"

    assert _every_page(staff_client, "ADA@") == [prefix, inner]


def test_a_phone_number_typed_in_part_finds_the_customer(staff_client):
    customer = _customer("Ada", "Lovelace", phone="+447700900123")
    _customer("Grace", "Hopper", phone="+447700800999")

    assert _every_page(staff_client, "900123") == [customer]
    assert _every_page(staff_client, "07700 900123") == [customer]


def test_archived_customers_are_left_out_of_both_groups(staff_client):
    prefix = _customer("Pat")
    inner = _customer("Spat")
    _customer("Patricia", is_archived=True)
    _customer("Aspat", is_archived=True)

    assert _every_page(staff_client, "pat") == [prefix, inner]


def test_wildcards_in_a_name_prefix_are_taken_literally(staff_client):
    underscore = _customer("A_b")
    _customer("Axb")
    percent = _customer("Fifty%")
    _customer("Fiftyfifty")

    assert _every_page(staff_client, "a_") == [underscore]
    assert _every_page(staff_client, "fifty%") == [percent]


def test_the_search_rows_are_slices_of_the_customer_search_order(db):
    """customer_list still sorts customer_search's queryset: the two must agree on what matches and in what order."""
    for i in range(12):
        _customer(f"Sam{i:02d}", "Smith" if i % 3 else "Smithson", preferred_name="Ann" if i % 4 == 0 else "")
        _customer(f"Bo{i:02d}", "Ausmith", email=f"smith.{i}@mail.example")
        _customer(f"Ann{i:02d}", "Bosam", phone=f"+4477009001{i:02d}", is_archived=i % 5 == 0)
    _customer("Zed", "Nil", email="özil@mail.example")
    _customer("Aaron", "Nil", email="x.özil@mail.example")
    _customer("Émile", "Özdemir", email="emile@mail.example")
    queries = [
        "smith",
        "SAM",
        "sm",
        "ann",
        "ann smi",
        "sam smith",
        "smith.1",
        "7700900",
        "0770 090 0105",
        "zzz",
        "o",
        "Özil",
        "özil",
        "Öz",
        "émile",
        "Émi",
    ]

    for q in queries:
        everything = list(customer_search(q=q))
        for start, stop in [(0, 26), (0, 11), (5, 9), (10, 40)]:
            rows = list(customer_search_rows(q=q, start=start, stop=stop))
            assert rows == everything[start:stop], (q, start, stop)
