"""Exact amounts for the budget prover: a Fraction, or one of two marks that are not numbers.

``UNBOUNDED``: no limit stops the spending (no token budget, no cost limit, no context
window). ``UNKNOWN``: a price is missing, so the cost cannot be computed. The operations
below say how the marks combine, so a figure is never a guess: a sum or a maximum with an
unbounded part is unbounded; otherwise one unknown part makes it unknown; a minimum is the
least number among its parts (any number bounds it), else unbounded or unknown.

>>> exact(0.15) * 8000 / 10**6
Fraction(3, 2500)
>>> text(Fraction(3, 2500)), text(Fraction(1, 3)), text(UNBOUNDED)
('0.0012', '1/3', 'unbounded')
>>> least(UNBOUNDED, Fraction(25)), most(Fraction(1), UNKNOWN), total([Fraction(1), UNBOUNDED])
(Fraction(25, 1), 'unknown', 'unbounded')
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Iterable, Union

UNBOUNDED, UNKNOWN = "unbounded", "unknown"
Amount = Union[Fraction, str]


def exact(value) -> Fraction | None:
    """The number the author wrote, exactly: a float via its shortest repr (``0.1`` is 1/10)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    return Fraction(value)


def is_number(amount: Amount) -> bool:
    return isinstance(amount, Fraction)


def total(parts: Iterable[Amount]) -> Amount:
    parts = list(parts)
    return _mark(parts) or sum(parts, Fraction(0))


def most(*parts: Amount) -> Amount:
    return _mark(parts) or max(parts, default=Fraction(0))


def _mark(parts) -> str | None:
    """UNBOUNDED if a part is, else UNKNOWN if a part is, else None. (``UNBOUNDED in parts`` would
    compare each Fraction with a string, which costs an abstract-base-class check per part.)"""
    marks = {p for p in parts if isinstance(p, str)}
    return UNBOUNDED if UNBOUNDED in marks else UNKNOWN if UNKNOWN in marks else None


def least(*parts: Amount) -> Amount:
    numbers = [p for p in parts if is_number(p)]
    if numbers:
        return min(numbers)
    return UNKNOWN if UNKNOWN in parts else UNBOUNDED


def times(share: Fraction, amount: Amount) -> Amount:
    """``share × amount``; a zero share contributes nothing, whatever the amount."""
    if share == 0:
        return Fraction(0)
    return share * amount if is_number(amount) else amount


def text(amount: Amount | None) -> str:
    """An exact decimal when the expansion ends, else the fraction ``p/q``; marks as words."""
    if amount is None:
        return "null"
    if not is_number(amount):
        return amount
    twos = fives = 0
    d = amount.denominator
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    if d != 1:
        return f"{amount.numerator}/{amount.denominator}"
    places = max(twos, fives)  # scaling by 10**places makes the value an integer, exactly
    scaled = amount.numerator * 10 ** places // amount.denominator
    with localcontext(prec=len(str(abs(scaled))) + 2):  # enough digits: nothing is rounded
        return format(Decimal(scaled).scaleb(-places).normalize(), "f")


def short(amount: Amount | None, places: int = 6) -> str:
    """For a table: exact when it fits in ``places`` decimals, else rounded with ``≈``."""
    if amount is None or not is_number(amount):
        return text(amount)
    exact_text = text(amount)
    if "/" not in exact_text and len(exact_text.partition(".")[2]) <= places:
        return exact_text
    rounded = round(amount, places)
    return "≈" + text(Fraction(rounded))


def as_float(amount: Amount | None) -> float | None:
    """For drift rules and charts: the nearest double, or None for a mark."""
    return float(amount) if amount is not None and is_number(amount) else None
