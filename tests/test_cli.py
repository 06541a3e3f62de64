"""The command line as a planner uses it (Typer's runner, real database)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from gis_service.cli import app
from gis_service.db.migrate import head_revision
from tests.helpers import households, write_csv

runner = CliRunner()


def test_db_status_and_url_use_the_external_database(db_url):
    result = runner.invoke(app, ["db", "url"])
    assert result.exit_code == 0 and result.stdout.strip() == db_url
    status = runner.invoke(app, ["db", "status"])
    assert status.exit_code == 0, status.output
    assert "PostGIS 3" in status.stdout and f"schema revision {head_revision()}" in status.stdout


def test_import_json_report_and_exit_codes(admin_loaded, tmp_path):
    rows = households(20)
    rows[4]["akses_sanitasi"] = "tidak tahu"
    path = write_csv(tmp_path / "h.csv", rows)
    bad = runner.invoke(app, ["import", "households", str(path), "--json"])
    assert bad.exit_code == 2
    report = json.loads(bad.stdout)
    assert report["written"] is False and report["rejected"][0]["row"] == 5
    assert "use one of aman" in report["rejected"][0]["fix"]
    ok = runner.invoke(app, ["import", "households", str(path), "--skip-bad"])
    assert ok.exit_code == 0, ok.output
    assert "inserted 19" in ok.stdout and "rejected 1" in ok.stdout


def test_unknown_kind_is_a_clear_error(db_url, tmp_path):
    path = write_csv(tmp_path / "x.csv", [{"a": "1"}])
    result = runner.invoke(app, ["import", "roads", str(path)])
    assert result.exit_code == 2  # a usage error, as click's own
    assert "unknown import kind 'roads'" in result.output


def test_summary(admin_loaded):
    result = runner.invoke(app, ["summary"])
    assert result.exit_code == 0, result.output
    assert "villages (desa/kelurahan)" in result.stdout
