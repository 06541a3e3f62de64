"""Backup and restore as an administrator runs them: back up, change, restore, and every table is as
it was (counts and checksums); a restore needs --yes and refuses a dump of a newer schema; a
downgrade takes a backup first and needs --yes when the database holds data."""

from __future__ import annotations

import json

from sqlalchemy import text
from typer.testing import CliRunner

from gis_service.cli import app
from gis_service.db.migrate import head_revision
from tests.conftest import snapshot
from tests.helpers import households, write_csv

runner = CliRunner()


def test_backup_change_restore_gives_back_every_table(admin_loaded, tmp_path):
    import_ok = runner.invoke(app, ["import", "households", str(write_csv(tmp_path / "h.csv", households(40)))])
    assert import_ok.exit_code == 0, import_ok.output
    before = snapshot(admin_loaded)
    dump = tmp_path / "backups" / "plan.dump"
    made = runner.invoke(app, ["db", "backup", str(dump)])
    assert made.exit_code == 0, made.output
    manifest = json.loads((tmp_path / "backups" / "plan.dump.manifest.json").read_text(encoding="utf-8"))
    assert manifest["schema_revision"] == head_revision()
    assert manifest["row_counts"]["household"] == 40 and manifest["row_counts"]["admin_area"] == 5
    with admin_loaded.begin() as conn:  # the changes a restore must undo
        conn.execute(text("DELETE FROM household WHERE source_id < 'H00010'"))
        conn.execute(text("UPDATE admin_area SET name = 'Diganti' WHERE code = '62.07.01.2001'"))
    runner.invoke(app, ["import", "facilities", str(write_csv(tmp_path / "f.csv", [
        {"id": "X", "nama": "Baru", "jenis": "mck", "lon": "112.1", "lat": "-2.9"}]))])
    assert snapshot(admin_loaded) != before
    refused = runner.invoke(app, ["db", "restore", str(dump)])
    assert refused.exit_code == 2 and "pass --yes" in refused.output
    restored = runner.invoke(app, ["db", "restore", str(dump), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "row counts equal the manifest's" in restored.output.replace("\n", " ")
    admin_loaded.dispose()
    assert snapshot(admin_loaded) == before
    with admin_loaded.connect() as conn:  # the roles own and may again what they did before the restore
        owner = conn.execute(text("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'household'")).scalar()
        readable = conn.execute(text("SELECT has_table_privilege('gis_service_read', 'layer_village', 'SELECT')")).scalar()
        writable = conn.execute(text("SELECT has_table_privilege('gis_service_web', 'facility', 'INSERT')")).scalar()
    assert (owner, readable, writable) == ("gis_service_owner", True, True)


def test_restore_refuses_a_dump_of_a_newer_schema(admin_loaded, tmp_path):
    with admin_loaded.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    dump = tmp_path / "future.dump"
    assert runner.invoke(app, ["db", "backup", str(dump)]).exit_code == 0
    with admin_loaded.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head_revision()})
    before = snapshot(admin_loaded)
    refused = runner.invoke(app, ["db", "restore", str(dump), "--yes"])
    assert refused.exit_code == 2
    assert "schema revision 9999, which this version of gis-service does not know" in refused.output.replace("\n", " ")
    assert snapshot(admin_loaded) == before
    not_a_dump = tmp_path / "x.dump"
    not_a_dump.write_text("hello", encoding="utf-8")
    assert runner.invoke(app, ["db", "restore", str(not_a_dump), "--yes"]).exit_code == 2


def test_downgrade_asks_first_and_takes_a_backup(admin_loaded, tmp_path):
    before = snapshot(admin_loaded)
    refused = runner.invoke(app, ["db", "downgrade", "base"])
    assert refused.exit_code == 2 and "pass --yes" in refused.output.replace("\n", " ")
    assert snapshot(admin_loaded) == before
    dump = tmp_path / "pre.dump"
    done = runner.invoke(app, ["db", "downgrade", "base", "--yes", "--backup", str(dump)])
    assert done.exit_code == 0, done.output
    assert dump.is_file() and "schema at revision base" in done.output
    with admin_loaded.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('admin_area')")).scalar() is None
    restored = runner.invoke(app, ["db", "restore", str(dump), "--yes"])
    assert restored.exit_code == 0, restored.output
    admin_loaded.dispose()
    assert snapshot(admin_loaded) == before
