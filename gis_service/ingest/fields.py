"""Canonical fields of each import kind, the column names Indonesian sources use for them, and
type conversion with an error per bad value.

Aliases are tried in order, so a village file with both ``kode`` and ``kode_kec`` maps ``kode``
to the village code. ``--field name=column`` overrides any alias.
"""

from __future__ import annotations

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


def convert(series: pd.Series, f: Field) -> tuple[pd.Series, pd.Series]:
    """Convert one column. Returns (values, bad) where ``bad`` marks values that could not be read
    (missing values are not bad; they become None)."""
    raw = pd.Series([None if _missing(v) else v for v in series], index=series.index, dtype=object)
    text = _apply(raw, lambda v: None if v is None else str(v).strip() or None)
    missing = text.isna()
    if f.kind == "text":
        return text, pd.Series(False, index=series.index)
    if f.kind in ("int", "float"):
        cleaned = text.str.replace(r"[\s_]", "", regex=True).str.replace(",", ".", regex=False)
        if pd.api.types.is_numeric_dtype(series):
            nums = pd.to_numeric(series, errors="coerce")
        else:
            nums = pd.to_numeric(cleaned, errors="coerce")
        bad = nums.isna() & ~missing
        if f.kind == "int":
            frac = nums.notna() & (nums != np.round(nums))
            bad |= frac
            values = _apply(nums.where(~bad), lambda v: None if pd.isna(v) else int(v))
        else:
            values = _apply(nums.where(~bad), lambda v: None if pd.isna(v) else float(v))
        return values, bad
    if f.kind == "date":
        values = _apply(text, _parse_date)
        return values, values.isna() & ~missing
    if f.kind == "bool":
        values = _apply(text, lambda v: None if v is None else
                        True if fold(v) in TRUE else False if fold(v) in FALSE else None)
        return values, values.isna() & ~missing
    if f.kind == "list":
        values = _apply(raw, _parse_list)
        return values, pd.Series(False, index=series.index)
    if f.kind == "vocab":
        values = _apply(text, lambda v: None if v is None else match_term(f.vocab, v))
        return values, values.isna() & ~missing
    raise ValueError(f"unknown field kind {f.kind}")


def _apply(series: pd.Series, fn) -> pd.Series:
    """Map to an object Series: pandas' own ``map`` would turn None into NaN in string columns."""
    return pd.Series([fn(v) for v in series], index=series.index, dtype=object)


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
    for pattern, order in ((r"^(\d{4})-(\d{1,2})-(\d{1,2})", "ymd"), (r"^(\d{1,2})/(\d{1,2})/(\d{4})", "dmy"),
                           (r"^(\d{1,2})-(\d{1,2})-(\d{4})", "dmy")):
        m = re.match(pattern, s)
        if m:
            a, b, c = (int(g) for g in m.groups())
            y, mo, d = (a, b, c) if order == "ymd" else (c, b, a)
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
