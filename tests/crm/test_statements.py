"""crm.statements: the hot reads as PostgreSQL prepared statements; as plain SQL elsewhere."""

from uuid import uuid4

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from crm.statements import prepared_raw, prepared_rows
from customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# A literal % (written %% for the driver) and two parameters.
NAMES = 'SELECT "first_name", 100 / %s FROM "customers_customer" WHERE "last_name" LIKE %s || \'%%\' ORDER BY 1'
# Fails as it runs when the second parameter is not one character, on both databases.
ESCAPED = 'SELECT "first_name" FROM "customers_customer" WHERE "last_name" LIKE %s ESCAPE %s ORDER BY 1'


def _new(sql: str) -> str:
    """The same query in a text no test ran before: prepared statements outlive a test's transaction."""
    return f"{sql} /* {uuid4().hex} */"


def _statements(run) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        run()
    return [q["sql"] for q in queries.captured_queries]


@pytest.fixture
def lovelaces():
    CustomerFactory(first_name="Ada", last_name="Lovelace")
    CustomerFactory(first_name="Byron", last_name="Lovelace-King")
    CustomerFactory(first_name="Charles", last_name="Babbage")


def test_a_prepared_read_returns_what_the_plain_sql_returns(lovelaces):
    with connection.cursor() as cursor:
        cursor.execute(NAMES, [4, "Lovelace"])
        plain = cursor.fetchall()

    assert prepared_rows(NAMES, [4, "Lovelace"]) == plain == [("Ada", 25), ("Byron", 25)]
    assert prepared_rows(NAMES, [5, "Babbage"]) == [("Charles", 20)]  # the second run, by name


def test_a_text_is_prepared_in_its_first_run_then_run_by_name_one_statement_each(lovelaces):
    text = _new(NAMES)
    first = _statements(lambda: prepared_rows(text, [1, "Lovelace"]))
    again = _statements(lambda: prepared_rows(text, [2, "Babbage"]))
    other = _statements(lambda: prepared_rows(_new(NAMES), [1, "Lovelace"]))

    assert len(first) == len(again) == len(other) == 1
    if connection.vendor == "postgresql":
        name = again[0].split("(")[0].removeprefix("EXECUTE ")
        assert first[0].startswith(f"PREPARE {name} AS SELECT") and f"; EXECUTE {name}(1, 'Lovelace')" in first[0]
        assert again[0] == f"EXECUTE {name}(2, 'Babbage')"
        assert other[0].startswith("PREPARE ") and name not in other[0]  # another text, another name
    else:  # other databases run the SQL as written
        assert first[0].startswith('SELECT "first_name"')


def test_models_come_back_with_their_fields_converted(lovelaces):
    ada = Customer.objects.get(first_name="Ada")
    sql = 'SELECT * FROM "customers_customer" WHERE "id" = %s'

    for _ in range(2):  # prepared, then by name
        (read,) = prepared_raw(Customer, sql, [ada.pk])
        assert (read.pk, read.first_name, read.created_at, read.lifetime_spend) == (
            ada.pk,
            "Ada",
            ada.created_at,
            ada.lifetime_spend,
        )


def test_a_read_after_a_failed_one_still_works_and_starts_afresh(lovelaces):
    assert prepared_rows(ESCAPED, ["Love%", "!"]) == [("Ada",), ("Byron",)]
    with pytest.raises(DatabaseError), transaction.atomic():
        prepared_rows(ESCAPED, ["Love%", "!!"])  # two characters: an error as it runs

    after = _statements(lambda: prepared_rows(ESCAPED, ["Lovelace!%", "!"]))

    assert prepared_rows(ESCAPED, ["Bab%", "!"]) == [("Charles",)]
    if connection.vendor == "postgresql":
        assert after[0].startswith("DEALLOCATE ALL; PREPARE ")


def test_a_statement_prepared_in_a_rolled_back_transaction_is_still_there(lovelaces):
    text = _new(NAMES)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        prepared_rows(text, [1, "Lovelace"])
        raise ZeroDivisionError  # the block rolls back

    ran = _statements(lambda: prepared_rows(text, [3, "Babbage"]))

    assert prepared_rows(text, [3, "Babbage"]) == [("Charles", 33)]
    if connection.vendor == "postgresql":
        assert ran[0].startswith("EXECUTE ")


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_its_statements_again():
    CustomerFactory(first_name="Ada", last_name="Lovelace")
    text = _new(NAMES)
    prepared_rows(text, [1, "Lovelace"])
    connection.close()

    reconnected = _statements(lambda: prepared_rows(text, [1, "Lovelace"]))

    assert prepared_rows(text, [1, "Lovelace"]) == [("Ada", 100)]
    if connection.vendor == "postgresql":
        assert reconnected[0].startswith("PREPARE ")


def test_the_setting_turns_them_off(lovelaces, settings):
    settings.PREPARED_STATEMENTS = False

    ran = _statements(lambda: prepared_rows(_new(NAMES), [4, "Lovelace"]))

    assert ran[0].startswith('SELECT "first_name"')
