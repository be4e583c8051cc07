from django import template

from gifts.services import gift_code_value_display

register = template.Library()


@register.filter
def gift_value(gift, currency: str = "") -> str:
    """{{ gift|gift_value:shop.currency }} → "10% off", "£5 off", "a free Flat white"."""
    return gift_code_value_display(gift, currency=currency or None)
