"""The owner's message templates: the placeholders, checking them, filling them in.

Only the placeholders in PLACEHOLDERS exist. A misspelt one is an error in the
preview and is refused on save; the sender refuses to send a message whose
template has one, so an email never goes out with a blank where a name should be.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

import nh3
from django.utils.html import escape, linebreaks

PLACEHOLDERS = {
    "preferred_name": "What they like to be called",
    "favourite_product": "Their favourite product (in a thank-you note: what they bought)",
    "gift_code": "Their personal gift code",
    "gift_expiry": "The last day the gift code can be used",
    "shop_name": "Your shop's name",
}
GIFT_PLACEHOLDERS = {"gift_code", "gift_expiry"}
# The only kinds of link an email may carry: a customer's name in an href must never run script.
URL_SCHEMES = {"http", "https", "mailto"}
# {anything without braces or line breaks}: a candidate placeholder to check.
TOKEN = re.compile(r"\{([^{}\n]*)\}")


class TemplateError(Exception):
    """A template (or the data it needs) cannot make a complete email."""


@dataclass(frozen=True)
class DefaultTemplate:
    subject: str
    body_text: str


DEFAULT_TEMPLATES: dict[str, DefaultTemplate] = {
    "thankyou": DefaultTemplate(
        "Thank you, {preferred_name}!",
        "Hi {preferred_name},\n\nThank you for coming in to {shop_name}. We hope you enjoy your "
        "{favourite_product}, and we'd love to hear how you get on with it.\n\nSee you again soon!",
    ),
    "birthday": DefaultTemplate(
        "Happy birthday soon, {preferred_name}!",
        "Hi {preferred_name},\n\nYour birthday is coming up and everyone at {shop_name} wanted to say "
        "happy birthday!\n\nHere is a small gift from us: use code {gift_code} on your next visit "
        "(it's yours until {gift_expiry}).\n\nHave a lovely day.",
    ),
    "gift_expiry": DefaultTemplate(
        "Your gift from {shop_name} is waiting",
        "Hi {preferred_name},\n\nJust a friendly reminder: your gift code {gift_code} can be used until "
        "{gift_expiry}. We'd love to see you before then.",
    ),
    "wemissyou": DefaultTemplate(
        "We miss you, {preferred_name}",
        "Hi {preferred_name},\n\nIt's been a while since we've seen you at {shop_name}, and we've missed "
        "you! Pop in any time: your {favourite_product} is waiting.",
    ),
    "loyalty": DefaultTemplate(
        "A thank-you gift for you, {preferred_name}",
        "Hi {preferred_name},\n\nThank you for being such a loyal friend of {shop_name}. Here is a small "
        "gift from us: use code {gift_code} on your next visit (valid until {gift_expiry}).",
    ),
    "referral": DefaultTemplate(
        "Thank you for sending a friend our way",
        "Hi {preferred_name},\n\nA friend you told about {shop_name} just came in for the first time. "
        "Thank you for spreading the word: it means a lot to a small shop like ours.\n\n"
        "As a thank-you, here is code {gift_code}, valid until {gift_expiry}.",
    ),
}
# Kinds whose emails carry a gift code (referral only if the owner wants one).
CODE_KINDS = {"birthday", "gift_expiry", "loyalty", "referral"}


def placeholder_errors(text: str, *, allow_gift: bool = True) -> list[str]:
    """Messages for every unknown placeholder in `text` (empty when it is fine)."""
    errors = []
    for name in dict.fromkeys(TOKEN.findall(text)):
        key = name.strip()
        if key not in PLACEHOLDERS:
            suggestion = _closest(key)
            hint = f" Did you mean {{{suggestion}}}?" if suggestion else ""
            errors.append(f"{{{name}}} is not a placeholder.{hint}")
        elif key in GIFT_PLACEHOLDERS and not allow_gift:
            errors.append(f"{{{name}}} can only be used in emails that carry a gift code.")
    return errors


def _closest(name: str) -> str:
    import difflib

    match = difflib.get_close_matches(name.lower(), list(PLACEHOLDERS), n=1, cutoff=0.6)
    return match[0] if match else ""


def fill(text: str, values: Mapping[str, str]) -> str:
    """Replace each {placeholder}; raise TemplateError for an unknown one or a missing value."""

    def replace(match: re.Match) -> str:
        key = match.group(1).strip()
        if key not in PLACEHOLDERS:
            raise TemplateError(f"{{{match.group(1)}}} is not a placeholder.")
        value = values.get(key, "")
        if not value:
            raise TemplateError(f"There is nothing to put in {{{key}}} for this message.")
        return value

    return TOKEN.sub(replace, text)


def text_to_html(text: str, *, link: str = "") -> str:
    """Paragraphs and line breaks from plain text, with everything escaped; `link` (ours) made clickable once."""
    html = linebreaks(escape(text))
    if link:
        html = html.replace(escape(link), f'<a href="{escape(link)}">{escape(link)}</a>', 1)
    return html


def html_clean(html: str, *, tags: set[str] | None = None) -> str:
    """The owner's own HTML, with scripts, styles, event handlers and non-web links removed."""
    if tags is None:
        return nh3.clean(html, url_schemes=URL_SCHEMES)
    return nh3.clean(html, tags=tags, url_schemes=URL_SCHEMES)


def fill_html(html: str, values: dict[str, str], *, tags: set[str] | None = None, strict: bool = True) -> str:
    """Placeholders into cleaned HTML as escaped text, then cleaned again.

    Escaping keeps a value from closing an attribute or opening a tag; the second clean drops a
    value that makes an href with another scheme (`javascript:`, `data:`). `strict` raises
    TemplateError for an unknown placeholder; otherwise unknown {words} stay as typed.
    """
    escaped = {key: escape(value) for key, value in values.items()}
    if strict:
        filled = fill(html, escaped)
    else:
        filled = TOKEN.sub(lambda m: escaped.get(m.group(1).strip(), m.group(0)), html)
    return html_clean(filled, tags=tags)


def header_line(text: str) -> str:
    """One header line: CR, LF and the other line breaks become spaces (they would start a new header)."""
    return " ".join(text.splitlines()).replace("\r", " ").replace("\n", " ")
