"""`{{ form.field|options }}`: a choice field's <option>s, its current value selected, built in one go.

The card and the list write their own <select> markup; looping over the choices in template code
cost about 10 us an option, comparing each with the field's value.
"""

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_SELECTED = mark_safe(" selected")


def options_html(choices, current, prefix: str = "") -> SafeString:
    """<option>s for (value, label) pairs; `current` is the selected value (any type; compared as text)."""
    current = "" if current is None else str(current)
    return format_html_join("", '<option value="{}"{}>{}</option>', (
        (value, _SELECTED if str(value) == current else "", f"{prefix}{label}") for value, label in choices
    ))


@register.filter
def options(bound_field) -> SafeString:
    """A bound choice field's <option>s (a model choice field runs its one query here)."""
    return options_html(bound_field.field.choices, bound_field.value())
