"""Format checks that need no authority: they decide the not-billed codes before any lookup."""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_NAME = re.compile(r"^[\u4e00-\u9fa5A-Za-z][\u4e00-\u9fa5A-Za-z·•.\s]{0,30}[\u4e00-\u9fa5A-Za-z]$")


def id_card_valid(number: str) -> bool:
    """18-character resident ID: digits, birth date, and the GB 11643 (ISO 7064 MOD 11-2) check digit."""
    if not re.fullmatch(r"\d{17}[\dX]", number or ""):
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if born > date.today() or born.year < 1880:
        return False
    return _CHECK[sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True)) % 11] == number[17]


def name_valid(name: str) -> bool:
    """Chinese names (with the middle dot of minority names) or Latin letters, 2-32 characters."""
    return bool(name) and len(name) <= 32 and bool(_NAME.match(name))
