"""Reading customer CSVs: decoding, column detection and per-row validation (no writes here).

Known layouts: a generic sheet, Square's customer directory export and Shopify's
customers export. Validation reuses the customer rules (customers.services and
customers.models) so an imported customer is held to the same bar as a typed one.

The vendors' columns, as their documentation describes them:

- Square, "Import Customers Online" (https://squareup.com/help/us/en/article/6632-import-customers-online):
  the directory's fields (First Name, Surname, Email Address, Phone Number, Nickname, Birthday, Memo,
  Groups…), an "Email Subscription Status" column of Subscribed / Unsubscribed / Unknown, and dates
  preferred month first (MM-DD-YYYY). "Manage Unsubscribed Customers"
  (https://squareup.com/help/ca/en/article/6149-manage-unsubscribed-customers) describes the export
  (Customers > Directory > Import / Export > Export Customers) and its "Email Unsubscribed" column.
  Some exports say "Last Name" where others say "Surname".
- Shopify, "Importing and exporting customer lists"
  (https://help.shopify.com/en/manual/customers/import-export-customers) and its description of the
  customer CSV file: First Name, Last Name, Email (required, may be blank), Company, Address1, Address2,
  City, Province, Province Code, Country, Country Code, Zip, Phone, Accepts Email Marketing (yes / no),
  Accepts SMS Marketing, Total Spent, Total Orders, Note, Tax Exempt, Tags; exports name the address
  columns "Default Address …" and older ones say "Accepts Marketing".
"""

import csv
import io
import re
from dataclasses import dataclass, field
from typing import cast

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

from crm.validators import CSV_MAX_COLUMNS
from customers.models import Customer, validate_day_month_year
from customers.services import phone_normalise

# The customer fields a column can feed, with the label shown in the mapping form.
TARGET_FIELDS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "preferred_name": "Preferred name",
    "email": "Email",
    "phone": "Phone",
    "birthday": "Birthday",
    "tags": "Tags (comma-separated)",
    "notes": "Notes",
    "email_consent": "Email consent (yes / no)",
}

# Header (lower-cased, trimmed) -> field, per known export. The first layout whose
# signature headers are all present wins.
SQUARE_HEADERS = {
    "first name": "first_name",
    "surname": "last_name",
    "last name": "last_name",
    "nickname": "preferred_name",
    "email address": "email",
    "phone number": "phone",
    "birthday": "birthday",
    "memo": "notes",
    "email subscription status": "email_consent",
    "groups": "tags",
}
SHOPIFY_HEADERS = {
    "first name": "first_name",
    "last name": "last_name",
    "email": "email",
    "phone": "phone",
    "default address phone": "",
    "tags": "tags",
    "note": "notes",
    "accepts email marketing": "email_consent",
    "accepts marketing": "email_consent",
}
GENERIC_HEADERS = {
    "first name": "first_name",
    "firstname": "first_name",
    "first_name": "first_name",
    "given name": "first_name",
    "forename": "first_name",
    "name": "first_name",
    "last name": "last_name",
    "lastname": "last_name",
    "last_name": "last_name",
    "surname": "last_name",
    "family name": "last_name",
    "preferred name": "preferred_name",
    "nickname": "preferred_name",
    "known as": "preferred_name",
    "email": "email",
    "e-mail": "email",
    "email address": "email",
    "mail": "email",
    "phone": "phone",
    "phone number": "phone",
    "mobile": "phone",
    "telephone": "phone",
    "tel": "phone",
    "birthday": "birthday",
    "date of birth": "birthday",
    "dob": "birthday",
    "birth date": "birthday",
    "tags": "tags",
    "tag": "tags",
    "groups": "tags",
    "notes": "notes",
    "note": "notes",
    "memo": "notes",
    "comments": "notes",
    "email consent": "email_consent",
    "consent": "email_consent",
    "marketing": "email_consent",
    "accepts email marketing": "email_consent",
    "subscribed": "email_consent",
}
# A layout is recognised by the headers it always has plus at least one only that vendor writes
# (so a plain sheet with "First Name, Last Name, Email" stays a spreadsheet).
SQUARE_MARKERS = {
    "surname",
    "email subscription status",
    "email unsubscribed",
    "square customer id",
    "reference id",
    "creation source",
    "instant profile",
    "first visit",
    "last visit",
    "transaction count",
    "total spend",
    "memo",
    "nickname",
}
SHOPIFY_MARKERS = {
    "accepts email marketing",
    "accepts marketing",
    "accepts sms marketing",
    "total spent",
    "total orders",
    "tax exempt",
    "default address phone",
    "default address company",
    "province code",
    "country code",
}
FORMATS: list[tuple[str, set[str], set[str], dict[str, str]]] = [
    ("square", {"first name", "email address"}, SQUARE_MARKERS, SQUARE_HEADERS),
    ("shopify", {"first name", "last name", "email"}, SHOPIFY_MARKERS, SHOPIFY_HEADERS),
    ("generic", set(), set(), GENERIC_HEADERS),
]
FORMAT_LABELS = {"square": "Square customer directory", "shopify": "Shopify customers", "generic": "Spreadsheet"}

CONSENT_YES = {"yes", "y", "true", "1", "subscribed", "opted in", "opted_in", "x"}
CONSENT_NO = {"", "no", "n", "false", "0", "unsubscribed", "unknown", "not subscribed", "opted out"}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (not text, no header row)."""


def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without BOM, UTF-16 with a BOM (Excel's "Unicode text"), else Windows-1252."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise ImportFileError("The file says it is UTF-16 but is not: save it again as CSV (UTF-8).")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise ImportFileError("The file is not a text CSV (it is neither UTF-8 nor Windows-1252).")


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon (Excel in much of Europe) or tab (Excel's "Unicode text", UTF-16)."""
    first_line = text.split("\n", 1)[0]
    counts = {",": first_line.count(","), ";": first_line.count(";"), "\t": first_line.count("\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


@dataclass
class Record:
    """One row of the file: the line it starts on, its cells, or why it could not be read."""

    line: int
    cells: list[str]
    error: str = ""


UNCLOSED_QUOTE = (
    'A quote (") on this line is never closed (or not closed properly), so the row could not '
    "be read. Close or remove the quote; the rows after it were read on their own."
)


def read_records(text: str, delimiter: str) -> tuple[list[str], list[Record]]:
    """(headers, records); quoted newlines stay inside their cell; blank lines are dropped.

    A quote that is never closed would otherwise swallow every row after it into one cell: such
    a row (one that runs to the end of the file, or over several lines into more cells than
    there are columns) becomes an error on its own line and reading starts again on the next.
    """
    if "\x00" in text:
        raise ImportFileError("The file holds null bytes: it is probably not a CSV.")
    # Split as the csv module does (\r, \n, \r\n only), not at every Unicode line boundary.
    lines = io.StringIO(text, newline="").readlines()
    header_reader = csv.reader(io.StringIO(lines[0] if lines else "", newline=""), delimiter=delimiter)
    try:
        headers = [h.strip() for h in next(header_reader)]
    except StopIteration:
        raise ImportFileError("The file is empty.")
    except csv.Error as exc:
        raise ImportFileError(f"The first row could not be read as CSV: {exc}.")
    if len(headers) > CSV_MAX_COLUMNS:
        raise ImportFileError(
            f"The file has {len(headers):,} columns; at most {CSV_MAX_COLUMNS} columns can be "
            "imported. Remove the columns you do not need and upload it again."
        )
    if not any(headers):
        raise ImportFileError("The first row must hold the column names.")
    records: list[Record] = []
    start = 1  # index into lines of the next record's first line
    while start < len(lines):
        reader = csv.reader(iter(lines[start:]), delimiter=delimiter, strict=True)
        line_before = 0
        restart = None
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error:
                restart = start + line_before + 1
                records.append(Record(line=start + line_before + 1, cells=[], error=UNCLOSED_QUOTE))
                break
            first_line = start + line_before + 1  # 1-based line number in the file
            spanned = reader.line_num - line_before
            line_before = reader.line_num
            if spanned > 1 and len(cells) > len(headers):
                records.append(Record(line=first_line, cells=[], error=UNCLOSED_QUOTE))
                restart = first_line  # index of the line after the bad one
                break
            if len(cells) > CSV_MAX_COLUMNS:
                records.append(Record(line=first_line, cells=[], error=f"More than {CSV_MAX_COLUMNS} cells."))
                continue
            if any(cell.strip() for cell in cells):
                records.append(Record(line=first_line, cells=cells))
        if restart is None:
            break
        start = restart
    return headers, records


def read_rows(text: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    """(headers, rows that could be read): for the preview."""
    headers, records = read_records(text, delimiter)
    return headers, [r.cells for r in records if not r.error]


def detect_mapping(headers: list[str]) -> tuple[str, dict[str, str]]:
    """(format name, {column index: field}); each field is fed by at most one column."""
    lowered = [h.strip().lower() for h in headers]
    for name, signature, markers, table in FORMATS:
        if signature <= set(lowered) and (not markers or markers & set(lowered)):
            mapping, used = {}, set()
            for index, header in enumerate(lowered):
                target = table.get(header, "")
                if target and target not in used:
                    mapping[str(index)] = target
                    used.add(target)
                else:
                    mapping[str(index)] = ""
            return name, mapping
    raise AssertionError("the generic layout always matches")


DATE_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
DATE_PARTS = re.compile(r"^(\d{1,2})[-/. ](\d{1,2})(?:[-/. ](\d{2,4}))?$")


def date_order_from(values: list[str]) -> str:
    """ "dmy" or "mdy" when a date in the column settles it (31/12 or 12/31), "" when only the owner can say."""
    for value in values:
        value = value.strip().split("T")[0].split(" 00:00")[0].lstrip("-")
        if (m := DATE_PARTS.match(value)) and not DATE_ISO.match(value):
            first, second = int(m.group(1)), int(m.group(2))
            if first > 12 >= second:
                return "dmy"
            if second > 12 >= first:
                return "mdy"
    return ""


def has_ambiguous_dates(values: list[str]) -> bool:
    """True when some value reads as a date either way round (04/03/1990)."""
    for value in values:
        value = value.strip().split("T")[0].split(" 00:00")[0].lstrip("-")
        if (m := DATE_PARTS.match(value)) and int(m.group(1)) <= 12 and int(m.group(2)) <= 12:
            return True
    return False


def parse_birthday(value: str, date_order: str) -> tuple[int | None, int | None, int | None]:
    """(day, month, year or None) from "1990-12-31", "31/12/1990", "12/31", "--12-31"…; raises ValidationError."""
    value = value.strip()
    if not value:
        return None, None, None
    value = value.split("T")[0].split(" 00:00")[0].lstrip("-")
    year: int | None
    if m := DATE_ISO.match(value):
        year, month, day = (int(g) for g in m.groups())
    elif m := DATE_PARTS.match(value):
        first, second, year_text = m.groups()
        day, month = (int(first), int(second)) if date_order == "dmy" else (int(second), int(first))
        if year_text and len(year_text) != 4:
            raise ValidationError("Write the year with four digits (1990, not 90).")
        year = int(year_text) if year_text else None
    else:
        raise ValidationError(f"“{value[:40]}” is not a date this import can read (try 31/12/1990).")
    if year == 1604 or year == 0:  # some tills store an unknown birth year as 1604 or 0000
        year = None
    try:
        validate_day_month_year(day, month, year, "birthday")
    except ValidationError as exc:
        raise ValidationError(" ".join(m for msgs in exc.message_dict.values() for m in msgs))
    return day, month, year


def parse_consent(value: str) -> bool:
    value = value.strip().lower()
    if value in CONSENT_YES:
        return True
    if value in CONSENT_NO:
        return False
    raise ValidationError(f"“{value[:20]}” is not yes or no.")


@dataclass
class ParsedRow:
    number: int  # as the owner sees it in a spreadsheet: the header is row 1
    values: dict = field(default_factory=dict)  # customer field -> cleaned value (only mapped, non-empty)
    tags: list[str] = field(default_factory=list)
    consent: bool | None = None  # None: the file says nothing
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column header, reason)


_FIELD_MAX: dict[str, int] = {
    name: cast(models.CharField, Customer._meta.get_field(name)).max_length or 0
    for name in ("first_name", "last_name", "preferred_name")
}


def parse_row(
    *, number: int, cells: list[str], headers: list[str], mapping: dict[str, str], date_order: str, region: str
) -> ParsedRow:
    """Clean and check one row; errors are collected per column, not raised."""
    row = ParsedRow(number=number)
    by_field = {target: int(index) for index, target in mapping.items() if target}

    def cell(target: str) -> tuple[str, str]:
        index = by_field.get(target)
        if index is None:
            return "", ""
        header = headers[index] if index < len(headers) else f"Column {index + 1}"
        return (cells[index].strip() if index < len(cells) else ""), header

    def error(header: str, reason: str) -> None:
        row.errors.append((header, reason))

    for name in ("first_name", "last_name", "preferred_name"):
        value, header = cell(name)
        value = " ".join(value.split())
        if len(value) > _FIELD_MAX[name]:
            error(header, f"Longer than {_FIELD_MAX[name]} characters.")
        elif value:
            row.values[name] = value
    if "first_name" not in row.values:
        # A sheet with one "Name" column, or a till export with only a surname or an email.
        header = cell("first_name")[1] or "First name"
        if row.values.get("last_name"):
            row.values["first_name"], row.values["last_name"] = row.values["last_name"], ""
        elif not row.errors:
            error(header, "A customer needs at least a first name.")

    value, header = cell("email")
    if value:
        value = value.lower()
        try:
            validate_email(value)
            row.values["email"] = value
        except ValidationError:
            error(header, f"“{value[:60]}” is not an email address.")

    value, header = cell("phone")
    if value:
        try:
            row.values["phone"] = phone_normalise(raw=value.lstrip("'"), region=region)
        except ValidationError as exc:
            error(header, exc.message_dict["phone"][0])

    value, header = cell("birthday")
    try:
        day, month, year = parse_birthday(value, date_order)
        if day:
            row.values.update(birthday_day=day, birthday_month=month, birthday_year=year)
    except ValidationError as exc:
        error(header, exc.messages[0])

    value, header = cell("tags")
    row.tags = [" ".join(t.split())[:50] for t in re.split(r"[,;|]", value) if t.strip()]

    value, header = cell("notes")
    if value:
        row.values["notes"] = value

    value, header = cell("email_consent")
    if header:
        try:
            row.consent = parse_consent(value)
        except ValidationError as exc:
            error(header, exc.messages[0])
    return row


def find_duplicates(rows: list[ParsedRow], headers_for: dict[str, str]) -> None:
    """Mark a row whose email or phone already appeared earlier in the same file."""
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        for key in ("email", "phone"):
            value = row.values.get(key)
            if not value:
                continue
            first = seen.setdefault((key, value), row.number)
            if first != row.number:
                row.errors.append((headers_for.get(key, key), f"The same {key} as row {first}."))
