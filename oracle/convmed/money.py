"""Exact money: decimal strings in, decimal.Decimal inside, decimal strings out."""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")  # used with fullmatch: no trailing "\n" slips through

# The decimal patterns of the schemas (spec/common.schema.json `decimal`; claim money and factors):
# (largest number of integer digits, largest number of decimals, negative allowed). Schema errors on
# these patterns are explained by `decimal_problem` instead of quoting the regular expression.
DECIMAL_PATTERNS = {
    "^(0|[1-9][0-9]{0,11})(\\.[0-9]{1,8})?$": (12, 8, False),
    "^-?(0|[1-9][0-9]{0,14})(\\.[0-9]{1,28})?$": (15, 28, True),
    "^(0|[1-9][0-9]{0,8})(\\.[0-9]{1,2})?$": (9, 2, False),
    "^(0|[1-9][0-9]{0,8})(\\.[0-9]{1,4})?$": (9, 4, False),
}

ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "up": ROUND_CEILING, "down": ROUND_DOWN}


def parse_decimal(text: str, *, max_int_digits: int | None = None, max_decimals: int | None = None) -> Decimal:
    """Parse a decimal string; refuse floats, commas, exponents, NaN and infinities, and (when given) more
    digits before or after the point than the bounds."""
    if not isinstance(text, str):
        raise ValueError(decimal_problem(text))
    if not _DECIMAL.fullmatch(text):
        raise ValueError(decimal_problem(text))
    if max_int_digits is not None or max_decimals is not None:
        digits, _, decimals = text.lstrip("-").partition(".")
        if (max_int_digits is not None and len(digits) > max_int_digits) or \
                (max_decimals is not None and len(decimals) > max_decimals):
            raise ValueError(decimal_problem(text, max_int_digits=max_int_digits, max_decimals=max_decimals))
    return Decimal(text)


def decimal_problem(value, *, max_int_digits: int | None = None, max_decimals: int | None = None,
                    negative: bool = True) -> str:
    """Why `value` is not an acceptable decimal string, in French, quoting what was written."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return (f"{_shown(value)} : un montant ou une quantité s'écrit en chaîne décimale entre guillemets, "
                f"par exemple \"30.00\"")
    if isinstance(value, (int, float)):
        written = getattr(value, "text", None) or repr(value)
        return (f"{written} : nombre JSON refusé, un montant ou une quantité s'écrit en chaîne décimale entre "
                f"guillemets (\"{_suggest(written)}\"), jamais en nombre (aucun flottant dans l'argent)")
    text = str(value)
    shown = _shown(text[:60]) + ("…" if len(text) > 60 else "")
    stripped = text.strip()
    if stripped != text:
        why = "espace ou fin de ligne autour du nombre"
    elif text == "":
        why = "chaîne vide"
    elif text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        why = "NaN et l'infini ne sont pas des montants"
    elif re.fullmatch(r"-?[0-9]+,[0-9]+", text):
        why = f"utilisez un point comme séparateur décimal : \"{text.replace(',', '.')}\""
    elif "," in text or " " in text or "\u00a0" in text or "_" in text:
        why = "pas de séparateur de milliers ni de virgule : chiffres et un point, par exemple \"1000.00\""
    elif re.fullmatch(r"[-+]?[0-9.]*[eE][-+]?[0-9]+", text):
        why = "pas de notation exponentielle : écrivez le nombre en entier, par exemple \"1000.00\""
    elif text.startswith("+"):
        why = "pas de signe + : \"" + text[1:] + "\""
    elif text.startswith("-") and not negative and _DECIMAL.fullmatch(text):
        why = "montant négatif refusé : un montant ou une quantité est positif ou nul"
    elif not _DECIMAL.fullmatch(text):
        why = ("pas un nombre décimal : chiffres ASCII, au plus un point, pas de zéro en tête ni de point "
               "final (\"30.00\", \"0.5\")")
    else:
        digits, _, decimals = text.lstrip("-").partition(".")
        reasons = []
        if max_int_digits is not None and len(digits) > max_int_digits:
            reasons.append(f"nombre trop grand : au plus {max_int_digits} chiffres avant le point")
        if max_decimals is not None and len(decimals) > max_decimals:
            reasons.append(f"trop de décimales ({len(decimals)}) : au plus {max_decimals} (précision excessive)")
        why = " ; ".join(reasons) or "valeur refusée"
    return f"{shown} : {why}"


def _shown(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)[:60]


def _suggest(written: str) -> str:
    try:
        d = Decimal(written)
    except ArithmeticError:
        return "30.00"
    if not d.is_finite() or abs(d) >= Decimal(10) ** 12:
        return "30.00"
    return fmt(d) if d == d.quantize(Decimal("0.01")) else format(d, "f")


def round_to(amount: Decimal, quantum: Decimal, mode: str) -> Decimal:
    return amount.quantize(quantum, rounding=ROUNDING_MODES[mode]) if quantum != 1 else \
        amount.to_integral_value(rounding=ROUNDING_MODES[mode])


def fraction(value) -> "Fraction":
    """An exact rational from a Decimal, an int or a Fraction (no rounding)."""
    from fractions import Fraction

    return value if isinstance(value, Fraction) else Fraction(value)


def finite_decimal(q) -> Decimal | None:
    """`q` (a Fraction) as an exact Decimal when its decimal expansion is finite (denominator 2^a 5^b), else None;
    never rounds (the digits are built without a decimal context)."""
    den, k2, k5 = q.denominator, 0, 0
    while den % 2 == 0:
        den //= 2
        k2 += 1
    while den % 5 == 0:
        den //= 5
        k5 += 1
    if den != 1:
        return None
    k = max(k2, k5)
    n = q.numerator * 10 ** k // q.denominator
    return Decimal((int(n < 0), tuple(int(c) for c in str(abs(n))), -k))


def exact_text(q) -> str:
    """An exact rational as text: its finite decimal expansion, else "p/q" (a share such as 100/3 %)."""
    d = finite_decimal(q)
    return format(d, "f") if d is not None else f"{q.numerator}/{q.denominator}"


def fmt(amount: Decimal) -> str:
    """Money as a string with two decimals at least (30 -> "30.00", 0.805 -> "0.805")."""
    if amount == amount.to_integral_value() or -amount.as_tuple().exponent < 2:
        amount = amount.quantize(Decimal("0.01"))
    text = format(amount, "f")
    return "0.00" if text in ("-0.00", "-0") else text
