"""Canonical fields of each import kind, the column names Indonesian sources use for them, and
type conversion with an error per bad value.

Aliases are tried in order, so a village file with both ``kode`` and ``kode_kec`` maps ``kode``
to the village code. ``--field name=column`` overrides any alias.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np
import pandas as pd

from gis_service.vocabulary import fold, match_term


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = "text"  # text | int | float | date | bool | list | vocab
    aliases: tuple[str, ...] = ()
    vocab: type[StrEnum] | None = None
    required: bool = False
    minimum: float | None = None  # the smallest value the table accepts (counts: 0)
    above: bool = False  # the value must be strictly above ``minimum`` (speeds, household sizes)
    maximum: float | None = None  # default for whole numbers: the largest PostgreSQL integer
    fallback: str | None = None  # a field whose value stands in when this one is missing
    max_length: int = 2000  # characters of a text value (an id is part of an index: 200)

    def bounds(self) -> tuple[float | None, bool, float | None]:
        top = self.maximum if self.maximum is not None else (INT_MAX if self.kind == "int" else None)
        return self.minimum, self.above, top


INT_MAX = 2_147_483_647  # PostgreSQL integer
PLAIN_TYPES = {"string", "integer", "floating", "mixed-integer-float", "decimal", "boolean", "date", "datetime",
               "datetime64", "empty", "bytes"}  # pandas' infer_dtype: a column that holds no arrays or objects
GROUPED = re.compile(r"^-?\d{1,3}(\.\d{3})+$")  # 12.345 in an id-ID export: twelve thousand ...


def _normal(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def map_columns(columns: list[str], fields: list[Field], overrides: dict[str, str]) -> dict[str, str]:
    """Return canonical field -> source column. Overrides must name existing columns."""
    by_normal = {}
    for col in columns:
        by_normal.setdefault(_normal(col), col)
    known = {f.name for f in fields}
    mapping: dict[str, str] = {}
    for name, col in overrides.items():
        if name not in known:
            raise KeyError(f"--field {name}=...: unknown field '{name}'; fields of this kind: "
                           f"{', '.join(sorted(known))}")
        if col not in columns:
            raise KeyError(f"--field {name}={col}: the file has no column '{col}'; columns: "
                           f"{', '.join(map(str, columns))}")
        mapping[name] = col
    used = set(mapping.values())
    for f in fields:
        if f.name in mapping:
            continue
        for alias in (f.name, *f.aliases):
            col = by_normal.get(_normal(alias))
            if col is not None and col not in used:
                mapping[f.name] = col
                used.add(col)
                break
    return mapping


TRUE = {"1", "true", "t", "yes", "y", "ya", "ada", "punya", "iya"}
FALSE = {"0", "false", "f", "no", "n", "tidak", "tidakada", "tdk", "belum"}


def convert(series: pd.Series, f: Field, *, decimal: str = ".") -> tuple[pd.Series, pd.Series]:
    """Convert one column. Returns (values, bad) where ``bad`` marks values that could not be read
    (missing values are not bad; they become None). Work is done once per distinct value.
    ``decimal`` is the file's decimal mark: with "," (an Excel export in the id-ID locale) a dot
    groups thousands, so 12.345 is twelve thousand three hundred and forty-five."""
    nested = (dict, list, tuple, np.ndarray)
    if series.dtype == object and f.kind != "list" and \
            pd.api.types.infer_dtype(series, skipna=True) not in PLAIN_TYPES and \
            series.map(lambda v: isinstance(v, nested)).any():
        series = series.map(_as_json_text)  # a GeoJSON property holding an array or object: its JSON text
    if f.kind == "list":  # lists are unhashable; list columns are short (facilities, pilots)
        out = np.empty(len(series), dtype=object)
        for i, v in enumerate(series):
            out[i] = _parse_list(None if _missing(v) else v)
        return pd.Series(out, index=series.index, dtype=object), pd.Series(False, index=series.index)
    if f.kind == "text":
        return _text_column(series), pd.Series(False, index=series.index)
    one = _CONVERTERS[f.kind]
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    converted = np.full(len(uniques) + 1, None, dtype=object)  # last slot: missing values
    wrong = np.zeros(len(uniques) + 1, dtype=bool)
    for k, value in enumerate(uniques):
        if decimal == "," and f.kind in ("int", "float") and isinstance(value, str):
            value = _id_number(value)
        converted[k], wrong[k] = one(value, f)
    idx = np.where(codes >= 0, codes, len(uniques))
    return (pd.Series(converted[idx], index=series.index, dtype=object),
            pd.Series(wrong[idx], index=series.index, dtype=bool))


def _as_json_text(value):
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def capacity_number(text: str, decimal: str) -> float | None:
    """A capacity's number as the file writes numbers: in an id-ID export 1.200 is one thousand two
    hundred and 1,5 one and a half; elsewhere a single comma is a decimal comma (20,5 m3/hari)."""
    if decimal == ",":
        text = text.replace(".", "").replace(",", ".")
    elif "," in text and "." in text or text.count(",") > 1:
        return None  # 1,200.5 or 1,200,000: grouping we cannot tell from decimals
    else:
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def _id_number(value: str) -> str:
    """An id-ID number written with grouping dots and a decimal comma, as a plain number."""
    s = value.strip()
    if "," in s or GROUPED.match(s):
        return s.replace(".", "").replace(",", ".")
    return s


def out_of_bounds(value, f: Field) -> str | None:
    """Why a converted number breaks the field's bounds, or None."""
    low, above, top = f.bounds()
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if low is not None and (value <= low if above else value < low):
        if low == 0:
            return "negative" if value < 0 else "zero"
        return f"{'at or below' if above else 'below'} {low:g}"
    if top is not None and value > top:
        return f"above {top:g}"
    return None


def _text_column(series: pd.Series) -> pd.Series:
    """Vectorised: ids and names are mostly distinct, so per-value work would cost a call per row."""
    if pd.api.types.is_float_dtype(series) and bool((series.dropna() % 1 == 0).all()):
        series = series.astype("Int64")  # ids or codes stored as numbers
    if not pd.api.types.is_string_dtype(series) or series.dtype == object:
        series = series.astype("string")
    text = series.str.replace("\x00", "", regex=False).str.strip()
    text = text.mask(text == "")
    return pd.Series(text.to_numpy(dtype=object, na_value=None), index=series.index, dtype=object)


def _text(v) -> str | None:
    if isinstance(v, float) and v.is_integer():
        v = int(v)  # an id or code stored as a number
    s = str(v).replace("\x00", "").strip()
    return s or None


def _as_text(v, f: Field):
    return _text(v), False


def _as_number(v, f: Field):
    if isinstance(v, (bool, np.bool_)):
        return None, True
    if isinstance(v, (int, float, np.integer, np.floating)):
        num = float(v)
    else:
        s = _text(v)
        if s is None:
            return None, False
        try:
            num = float(re.sub(r"[\s_]", "", s).replace(",", "."))
        except ValueError:
            return None, True
    if not np.isfinite(num):
        return None, True
    if f.kind == "int":
        return (int(num), False) if num.is_integer() else (None, True)
    return num, False


def _as_date(v, f: Field):
    if hasattr(v, "date") and callable(v.date):  # datetime, pandas Timestamp
        return v.date(), False
    if isinstance(v, date):
        return v, False
    s = _text(v)
    if s is None:
        return None, False
    parsed = _parse_date(s)
    return parsed, parsed is None


def _as_bool(v, f: Field):
    if isinstance(v, (bool, np.bool_)):
        return bool(v), False
    s = _text(v)
    if s is None:
        return None, False
    key = fold(s)
    return (True, False) if key in TRUE else (False, False) if key in FALSE else (None, True)


def _as_vocab(v, f: Field):
    s = _text(v)
    if s is None:
        return None, False
    term = match_term(f.vocab, s)
    return term, term is None


_CONVERTERS = {"text": _as_text, "int": _as_number, "float": _as_number, "date": _as_date,
               "bool": _as_bool, "vocab": _as_vocab}


def _missing(value) -> bool:
    if isinstance(value, (list, tuple, np.ndarray)):
        return False
    return value is None or bool(pd.isna(value))


def _parse_date(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    s = str(value).strip()
    time = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"  # a time of day may follow
    for pattern, order in ((r"(\d{4})-(\d{1,2})-(\d{1,2})", "ymd"), (r"(\d{1,2})/(\d{1,2})/(\d{4})", "dmy"),
                           (r"(\d{1,2})-(\d{1,2})-(\d{4})", "dmy")):
        m = re.fullmatch(pattern + time, s)
        if m:
            a, b, c = (int(g) for g in m.groups())
            y, mo, d = (a, b, c) if order == "ymd" else (c, b, a)
            if not 1900 <= y <= 2100:
                return None
            try:
                return date(y, mo, d)
            except ValueError:
                return None
    return None


def _parse_list(value) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [str(v).strip() for v in value]
    else:
        items = [p.strip() for p in re.split(r"[;,|]", str(value))]
    items = [i for i in items if i]
    return items or None
