"""When the environment fails, not the input: `gis-service import` as a real process, against a
database that cannot be reached, and against one whose connection is terminated during the COPY.
Exit 1, one clear line, nothing written, and the same command succeeds once the database is back."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import text

from gis_service.db.cluster import free_port
from tests.conftest import snapshot

GIS = str(Path(sys.executable).parent / "gis-service")


def _run(args: list[str], url: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "GIS_SERVICE_DATABASE_URL": url, "HOME": "/tmp", "COLUMNS": "200"}
    return subprocess.run([GIS, "import", *args], capture_output=True, text=True, env=env, timeout=300)


def _households_csv(path: Path, n: int) -> Path:
    """n households inside village 62.07.01.2005 of the corpus base (Kuala Pembuang area)."""
    rng = np.random.default_rng(1)
    pd.DataFrame({"household_id": [f"H{i:07d}" for i in range(n)],
                  "lon": np.round(rng.uniform(112.40, 112.45, n), 6), "lat": np.round(rng.uniform(-3.30, -3.25, n), 6),
                  "persons": rng.integers(1, 9, n), "kode_desa": "62.07.01.2005"}).to_csv(path, index=False)
    return path


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_database_unreachable_is_one_line_and_exit_1(tmp_path):
    path = _households_csv(tmp_path / "h.csv", 10)
    url = f"postgresql://nobody:secret@127.0.0.1:{free_port()}/nowhere"
    line = _one_error_line(_run(["households", str(path)], url))
    assert line.startswith("error: the database failed during the import (connection failed")
    assert "nothing was written" in line and "secret" not in line


def test_connection_terminated_during_copy_writes_nothing_and_a_rerun_succeeds(corpus_db, tmp_path):
    n = 400_000
    path = _households_csv(tmp_path / "h.csv", n)
    url = corpus_db.url.render_as_string(hide_password=False).replace("+psycopg", "")
    before = snapshot(corpus_db)
    killed: list[str] = []

    def kill_the_copy():
        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and not killed:
                rows = conn.execute("SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND pid <> pg_backend_pid() AND state = 'active' AND query ILIKE 'COPY %'"
                                    ).fetchall()
                for pid, query in rows:
                    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    killed.append(query)
                time.sleep(0.005)

    watcher = threading.Thread(target=kill_the_copy)
    watcher.start()
    result = _run(["households", str(path)], url)
    watcher.join()
    assert killed, "the import's COPY was never seen"
    line = _one_error_line(result)
    assert line.startswith("error: the database failed during the import (") and "nothing was written" in line
    assert "run the same command again" in line
    assert snapshot(corpus_db) == before
    again = _run(["households", str(path)], url)
    assert again.returncode == 0, again.stderr
    assert f"inserted {n}" in again.stdout
    with corpus_db.connect() as conn:
        assert conn.execute(text("SELECT count(*), sum(members) FROM household")).one() == \
            (n, int(pd.read_csv(path)["persons"].sum()))
