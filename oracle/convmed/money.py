"""Exact money: decimal strings in, decimal.Decimal inside, decimal strings out."""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

_DECIMAL = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")

ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "up": ROUND_CEILING, "down": ROUND_DOWN}


def parse_decimal(text: str) -> Decimal:
    """Parse a decimal string; refuse floats, commas, exponents, NaN and infinities."""
    if not isinstance(text, str):
        raise ValueError(f"expected a decimal string such as \"30.00\", got {type(text).__name__} {text!r}")
    if not _DECIMAL.match(text):
        hint = " (use a dot: \"30.00\", not \"30,00\")" if "," in text else ""
        raise ValueError(f"not a decimal string: {text!r}{hint}")
    return Decimal(text)


def round_to(amount: Decimal, quantum: Decimal, mode: str) -> Decimal:
    return amount.quantize(quantum, rounding=ROUNDING_MODES[mode]) if quantum != 1 else \
        amount.to_integral_value(rounding=ROUNDING_MODES[mode])


def fmt(amount: Decimal) -> str:
    """Money as a string with two decimals at least (30 -> "30.00", 0.805 -> "0.805")."""
    if amount == amount.to_integral_value() or -amount.as_tuple().exponent < 2:
        amount = amount.quantize(Decimal("0.01"))
    text = format(amount, "f")
    return "0.00" if text in ("-0.00", "-0") else text
