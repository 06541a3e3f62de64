"""Kemendagri administrative codes: 62 (province), 62.07 (regency), 62.07.01 (district),
62.07.01.2005 (village). The level follows from the pattern; BPS codes (6208010005) look similar
when written without dots, so undotted codes are only accepted when the user says they are
Kemendagri codes (``--plain-codes``); BPS codes are joined through a crosswalk, never by pattern."""

from __future__ import annotations

import re

from gis_service.vocabulary import AdminLevel

DOTTED = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
SEPARATED = re.compile(r"^\d{2}([-/_ ]\d{2}([-/_ ]\d{2}([-/_ ]\d{4})?)?)?$")  # 62-07-01-2005
PLAIN = re.compile(r"^(\d{2}|\d{4}|\d{6}|\d{10})$")
LEVELS = {1: AdminLevel.province, 2: AdminLevel.regency, 3: AdminLevel.district, 4: AdminLevel.village}


class CodeError(ValueError):
    pass


def normalise_code(value: object, *, plain_codes: bool = False) -> str:
    """Return the dotted Kemendagri code or raise CodeError with the fix. Dashes, slashes or
    underscores in place of the dots (62-07-01-2005) are read as dots: the segment lengths make
    the code unambiguous."""
    raw = str(value).strip()
    if SEPARATED.match(raw):
        return re.sub(r"[-/_ ]", ".", raw)
    s = re.sub(r"\s+", "", raw)
    if s.endswith(".0") and s[:-2].isdigit():  # a code read as a number by a spreadsheet
        s = s[:-2]
    if DOTTED.match(s):
        return s
    if PLAIN.match(s):
        if plain_codes:
            parts = [s[:2], s[2:4], s[4:6], s[6:10]]
            return ".".join(p for p in parts if p)
        raise CodeError(f"code '{s}' has no dots; Kemendagri codes are written like 62.07.01.2005",
                        "if these are Kemendagri codes pass --plain-codes; if they are BPS codes, map them "
                        "with --field bps_code=COLUMN and use a crosswalk")
    raise CodeError(f"'{s}' is not a Kemendagri code (expected 62, 62.07, 62.07.01 or 62.07.01.2005)",
                    "correct the code")


def level_of(code: str) -> AdminLevel:
    return LEVELS[code.count(".") + 1]


def parent_of(code: str) -> str | None:
    return code.rsplit(".", 1)[0] if "." in code else None


BPS_CODE = re.compile(r"^(\d{2}|\d{4}|\d{7}|\d{10})$")


def bps_code(value: object) -> str | None:
    """A BPS area code as digits (2 province, 4 regency, 7 district, 10 village), or None. A code a
    spreadsheet stored as a number (6208010005.0) is read; scientific notation, dots inside the code
    or other lengths are not BPS codes."""
    text = re.sub(r"\s+", "", str(value))
    if re.fullmatch(r"\d+\.0", text):
        text = text[:-2]
    return text if BPS_CODE.match(text) else None
