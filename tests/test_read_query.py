"""read_query (COPY ... TO STDOUT as CSV into pandas): types, codes, the caller's
transaction, and psycopg's own errors for a failing statement."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from gis_service.db.bulk import read_query


def test_rows_types_and_the_callers_transaction(engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE t (id int, code text, ok boolean, x float8, note text)"))
        conn.execute(text("INSERT INTO t VALUES (1, '62.07.01', true, 1.5, 'a,\"b\"'), "
                          "(2, '007', false, NULL, NULL), (3, '62.07', NULL, -0.25, E'line\\nbreak')"))
        frame = read_query(conn, "SELECT * FROM t ORDER BY id", text_columns=("code",))  # not committed
        assert frame["id"].tolist() == [1, 2, 3]
        assert frame["code"].tolist() == ["62.07.01", "007", "62.07"]  # codes keep their zeros
        assert frame["ok"].tolist()[:2] == [True, False] and frame["ok"].isna().tolist()[2]
        assert frame["x"].isna().tolist() == [False, True, False] and frame["x"][2] == -0.25
        assert frame["note"][0] == 'a,"b"' and frame["note"][2] == "line\nbreak"
        empty = read_query(conn, "SELECT * FROM t WHERE id < 0")
        assert list(empty.columns) == ["id", "code", "ok", "x", "note"] and empty.empty


def test_a_failing_statement_raises_psycopgs_error_and_the_connection_recovers(engine):
    with pytest.raises(psycopg.errors.UndefinedTable):
        with engine.begin() as conn:
            read_query(conn, "SELECT * FROM no_such_table")
    with pytest.raises(psycopg.errors.DivisionByZero):  # fails while rows are being sent
        with engine.begin() as conn:
            read_query(conn, "SELECT 1 / (g - 5000) FROM generate_series(1, 10000) g")
    for _ in range(3):  # the pool's connections are ready again
        with engine.begin() as conn:
            assert read_query(conn, "SELECT 41 + 1 AS answer")["answer"].tolist() == [42]
            assert conn.execute(text("SELECT 1")).scalar() == 1
