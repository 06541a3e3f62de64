"""COPY in binary (db/binary_copy.py) stores exactly what the CSV path stores: NULLs from NaN
and masks, arrays ended early by NaN, arrays without a first value as NULL, every numeric type."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from gis_service.db import binary_copy
from gis_service.db.binary_copy import copy_binary
from gis_service.db.bulk import array_literals, copy_frame

DDL = ("CREATE TEMP TABLE {name} (k integer, big bigint, small smallint, x double precision, r real, "
       "ids bigint[], costs real[])")


def _tables(conn):
    for name in ("via_csv", "via_binary"):
        conn.execute(text(DDL.format(name=name)))


def _columns(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 2**40, (n, 3)).astype(float)
    costs = rng.uniform(0, 90, (n, 3)).astype(np.float32)
    ends = rng.integers(0, 4, n)  # 0: no value (NULL), else that many items
    for j in range(3):
        ids[ends <= j, j] = np.nan
        costs[ends <= j, j] = np.nan
    big = rng.integers(-2**52, 2**52, n)  # exact through the CSV path too (its nullable ints pass a float)
    return {"k": np.arange(n), "big": np.ma.masked_array(big, mask=rng.random(n) < 0.3),
            "small": rng.integers(-2**15, 2**15, n),
            "x": np.where(rng.random(n) < 0.2, np.nan, rng.normal(0, 1e6, n)),
            "r": rng.uniform(-1, 1, n).astype(np.float32), "ids": ids, "costs": costs}


def _rows(conn, name):
    return conn.execute(text(f"SELECT * FROM {name} ORDER BY k")).all()


def _via_csv(conn, columns):
    big = pd.arrays.IntegerArray(columns["big"].filled(0), np.ma.getmaskarray(columns["big"]))
    frame = pd.DataFrame({"k": columns["k"], "big": big, "small": columns["small"], "x": columns["x"],
                          "r": columns["r"]})
    frame["ids"] = array_literals(list(columns["ids"].T))
    frame["costs"] = array_literals(list(columns["costs"].T))
    copy_frame(conn, "via_csv", frame)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 300), seed=st.integers(0, 1000), chunk=st.sampled_from([7, 64, 65_536]))
def test_binary_rows_equal_the_csv_rows(engine, n, seed, chunk):
    columns = _columns(n, seed)
    with engine.begin() as conn:
        _tables(conn)
        _via_csv(conn, columns)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(binary_copy, "CHUNK_ROWS", chunk)
            assert copy_binary(conn, "via_binary", columns) == n
        csv_rows, binary_rows = _rows(conn, "via_csv"), _rows(conn, "via_binary")
        stored = conn.execute(text("SELECT k FROM via_binary ORDER BY ctid")).scalars().all()
        assert stored == list(range(n))  # in the caller's order, whatever the rows' layouts
        conn.execute(text("DROP TABLE via_csv; DROP TABLE via_binary"))
    assert binary_rows == csv_rows and len(binary_rows) == n
    first = binary_rows[0]
    ends = np.cumprod(np.isfinite(columns["ids"][0])).sum()
    assert first.ids == (None if ends == 0 else [int(v) for v in columns["ids"][0][:ends]])


def test_only_numbers(engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE named (k integer, name text)"))
        with pytest.raises(ValueError, match="numeric columns only.*name"):
            copy_binary(conn, "named", {"k": np.arange(3), "name": np.array(["a", "b", "c"])})


def test_what_would_wrap_or_truncate_is_refused(engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE narrow (k smallint, ids bigint[])"))
        with pytest.raises(ValueError, match="narrow.k .smallint. holds -32768..32767"):
            copy_binary(conn, "narrow", {"k": np.array([1, 40_000]), "ids": np.ones((2, 1))})
        with pytest.raises(ValueError, match="whole numbers"):
            copy_binary(conn, "narrow", {"k": np.array([1, 2]), "ids": np.array([[1.0], [2.5]])})
        with pytest.raises(ValueError, match="different lengths"):
            copy_binary(conn, "narrow", {"k": np.array([1, 2]), "ids": np.ones((3, 1))})
        masked = np.ma.masked_array([7, 99_999], mask=[False, True])  # a masked value is not written
        assert copy_binary(conn, "narrow", {"k": masked, "ids": np.array([[np.nan], [3.0]])}) == 2
        rows = conn.execute(text("SELECT k, ids FROM narrow ORDER BY k NULLS LAST")).all()
    assert [tuple(r) for r in rows] == [(7, None), (None, [3])]
