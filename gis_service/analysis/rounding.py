"""One rounding rule for every number a person reads: half up (away from zero at .5), from the
stored value's decimal text, so 5.25 is 5.3 everywhere (Python's ``round`` and ``f"{x:.1f}"``
round half to even on the binary value and would say 5.2). The web map rounds the same way
(``halfUp`` in web/app/i18n.js, on the same decimal text; a test runs both on the same values).
The API keeps shares to three decimals and leaves the rounding to whoever shows them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def half_up(value: float | int | None, digits: int = 1) -> float | None:
    """``value`` rounded half up to ``digits`` decimals (None stays None)."""
    if value is None:
        return None
    return float(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def number_text(value: float | int | None, digits: int = 1, *, lang: str = "en", thousands: bool = True) -> str:
    """``value`` rounded half up and written as the language writes numbers: 1,234.5 (en) or
    1.234,5 (id); "–" for none."""
    if value is None or value != value:  # None or NaN
        return "–"
    text = f"{half_up(value, digits):{',' if thousands else ''}.{digits}f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "id" else text
