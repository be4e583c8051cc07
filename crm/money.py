"""Money as people read it, in one place: "£94,818.20", "€5 off", "CHF 12.50"."""

from decimal import Decimal

from django.utils import numberformat

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "AUD": "A$", "CAD": "C$", "NZD": "NZ$", "JPY": "¥", "INR": "₹"}


def money_format(amount: Decimal | float | int | str | None, currency: str, *, whole: bool = False) -> str:
    """The symbol, thousands separated, two decimals ("£94,818.20"); a currency without a symbol leads
    with its code ("CHF 12.50"). `whole=True` drops ".00" from a round amount ("£5", for a gift's value).
    None or "" gives "".
    """
    if amount is None or amount == "":
        return ""
    value = Decimal(amount)
    decimals = 0 if whole and value == value.to_integral_value() else 2
    text = numberformat.format(value, ".", decimal_pos=decimals, grouping=3, thousand_sep=",", force_grouping=True)
    code = (currency or "").upper()
    symbol = SYMBOLS.get(code)
    return f"{symbol}{text}" if symbol else f"{code} {text}".strip()
