"""`gis-service db up | status | url | down` on a managed cluster of its own (not the suite's)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gis_service.cli import app
from gis_service.db.migrate import head_revision
from gis_service.db.cluster import ClusterError, find_pg_bin, free_port
from gis_service.db.engine import managed_cluster

runner = CliRunner()


@pytest.fixture
def managed_env(monkeypatch):
    home = Path(tempfile.mkdtemp(prefix="gis-managed-"))
    monkeypatch.delenv("GIS_SERVICE_DATABASE_URL", raising=False)
    monkeypatch.setenv("GIS_SERVICE_DATA_DIR", str(home))
    monkeypatch.setenv("GIS_SERVICE_DB_PORT", str(free_port()))
    yield home
    managed_cluster().destroy()
    shutil.rmtree(home, ignore_errors=True)


def test_db_lifecycle(managed_env):
    up = runner.invoke(app, ["db", "up"])
    assert up.exit_code == 0, up.output
    assert "started" in up.stdout and "database created" in up.stdout
    again = runner.invoke(app, ["db", "up"])
    assert "already running (reused)" in again.stdout
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    status = runner.invoke(app, ["db", "status"])
    assert status.exit_code == 0 and "running" in status.stdout
    assert f"revision {head_revision()}" in status.stdout
    url = runner.invoke(app, ["db", "url"]).stdout.strip()
    assert url.startswith("postgresql+psycopg://postgres:") and "@127.0.0.1:" in url
    assert (managed_env / "password").stat().st_mode & 0o077 == 0  # the password is private
    psql = runner.invoke(app, ["db", "psql", "-At", "-c", "SELECT postgis_lib_version()"])
    assert psql.exit_code == 0
    down = runner.invoke(app, ["db", "down"])
    assert down.exit_code == 0 and "stopped" in down.stdout
    assert runner.invoke(app, ["db", "status"]).exit_code == 1


def test_missing_binaries_name_the_install_command(tmp_path):
    with pytest.raises(ClusterError) as info:
        find_pg_bin(tmp_path)
    assert "apt-get install" in str(info.value) and "postgresql-15-postgis-3" in str(info.value)
