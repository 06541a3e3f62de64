"""The bulk path of the writer (large loads): secondary indexes, unique and foreign keys are
dropped and rebuilt inside the import's transaction, and a failure restores everything."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gis_service.ingest import writer
from gis_service.ingest.importer import import_file
from tests.conftest import snapshot
from tests.helpers import households, write_csv


def _schema(engine) -> tuple:
    with engine.connect() as conn:
        idx = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE tablename = 'household' ORDER BY 1"))
        con = conn.execute(text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                "WHERE conrelid = 'household'::regclass ORDER BY 1"))
        return tuple(idx.scalars()), tuple(map(tuple, con))


@pytest.fixture
def small_bulk(monkeypatch):
    monkeypatch.setattr(writer, "BULK_ROWS", 10)


def test_bulk_load_rebuilds_indexes_and_keys(admin_loaded, tmp_path, small_bulk):
    before = _schema(admin_loaded)
    path = write_csv(tmp_path / "h.csv", households(200))
    first = import_file(admin_loaded, "households", path)
    assert (first.inserted, first.updated) == (200, 0)
    assert _schema(admin_loaded) == before
    again = import_file(admin_loaded, "households", path)  # same source: the conflict path
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 200)
    assert _schema(admin_loaded) == before
    with admin_loaded.connect() as conn:
        assert conn.execute(text("SELECT count(DISTINCT source_id) FROM household")).scalar() == 200


def test_failure_in_bulk_load_restores_everything(admin_loaded, tmp_path, small_bulk, monkeypatch):
    before_schema, before_rows = _schema(admin_loaded), snapshot(admin_loaded)

    def broken_copy(*args, **kwargs):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(writer, "copy_staged", broken_copy)
    with pytest.raises(RuntimeError):
        import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", households(50)))
    assert _schema(admin_loaded) == before_schema
    assert snapshot(admin_loaded) == before_rows
