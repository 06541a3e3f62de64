"""The named corpus of bad and edge-case files (tests/data/bad_inputs, built from the real Seruyan
village boundaries by scripts/make_bad_inputs.py): every file goes through `gis-service import` as a
user runs it. A refused file exits 2, names what is wrong and leaves the database as it was; an
accepted or repaired file exits 0 and says so; nothing ever ends in a traceback."""

from __future__ import annotations

import csv
import shlex
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gis_service.cli import app
from tests.conftest import CORPUS, snapshot

runner = CliRunner()


def _manifest() -> list[dict]:
    with open(CORPUS / "manifest.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


CASES = _manifest()


def test_corpus_is_large_and_covers_every_kind_and_outcome():
    assert len(CASES) >= 60
    assert {c["expect"] for c in CASES} == {"refuse", "accept", "repair"}
    assert {c["kind"] for c in CASES} == {"admin", "population", "settlements", "households", "facilities",
                                          "service_areas", "network", "pilots", "risk"}
    assert len({c["file"] for c in CASES}) == len(CASES)
    assert all((CORPUS / c["file"]).exists() for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_corpus_file(case, corpus_db):
    before = snapshot(corpus_db)
    result = runner.invoke(app, ["import", case["kind"], str(CORPUS / case["file"]), *shlex.split(case["args"])])
    output = result.output
    assert "Traceback" not in output and not isinstance(result.exception, Exception) or \
        isinstance(result.exception, SystemExit), output
    assert case["report"] in output.replace("\n", " ") or case["report"] in output, output
    if case["expect"] == "refuse":
        assert result.exit_code == 2, output
        assert "NOTHING WRITTEN" in output and "rejected: " in output
        assert snapshot(corpus_db) == before
    else:
        assert result.exit_code == 0, output
        assert "NOTHING WRITTEN" not in output
        assert snapshot(corpus_db) != before
    if case["expect"] == "repair":
        assert "repaired: " in output or "note: " in output


def test_accepted_corpus_files_keep_their_values(corpus_db):
    """What the corpus says is kept is kept: household sizes from `persons`, an id-ID table's
    grouped thousands, a Windows-1252 name, a facility named by its id."""
    def run(file, *args):
        result = runner.invoke(app, ["import", *file.split(":"), *args])
        assert result.exit_code == 0, result.output

    with corpus_db.connect() as conn:
        scalar = lambda sql: conn.execute(text(sql)).scalar()  # noqa: E731
        run("households:" + str(CORPUS / "kobo_export.csv"))
        assert scalar("SELECT sum(members) FROM household WHERE source = 'kobo_export'") == \
            sum(3 + i % 4 for i in range(12))
        assert scalar("SELECT count(*) FROM household WHERE source_id LIKE 'KB%'") == 12
        run("population:" + str(CORPUS / "population_id_locale.csv"))
        assert scalar("SELECT population FROM admin_population ORDER BY admin_code LIMIT 1") == 1000
        assert scalar("SELECT max(population) FROM admin_population") == 1000 + 37 * 9
        run("households:" + str(CORPUS / "windows_1252.csv"))
        run("facilities:" + str(CORPUS / "ids_without_names.csv"))
        assert scalar("SELECT string_agg(name, ',' ORDER BY name) FROM facility WHERE type = 'mck'") == \
            "MCK-0,MCK-1,MCK-2,MCK-3"
        run("admin:" + str(CORPUS / "desa_latin1_shp.zip"))
        assert scalar("SELECT count(*) FROM admin_area WHERE name LIKE '% Tanggé'") == 6
        run("facilities:" + str(CORPUS / "capacity_id_locale.csv"))
        assert conn.execute(text("SELECT capacity, capacity_unit, capex_idr FROM facility WHERE source_id = 'IPLT-9'")
                            ).one() == (1200, "m3_per_day", 1.5e9)
        run("households:" + str(CORPUS / "excel_id_locale.csv"))
        assert scalar("SELECT sum(members) FROM household WHERE source = 'excel_id_locale'") == \
            sum(2 + i % 6 for i in range(12))


def test_corpus_is_what_the_generator_makes(seruyan_dir, tmp_path):
    """The committed corpus is the generator's output for the real boundaries (manifest and the
    text files byte for byte), so a change of the generator is a change of the corpus."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_bad_inputs", Path(__file__).parents[1] / "scripts"
                                                  / "make_bad_inputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.build(seruyan_dir, tmp_path / "corpus")
    assert rows == CASES
    for name in ("manifest.csv", "base/3_desa.geojson", "kobo_export.csv", "desa_bowtie.geojson"):
        assert (tmp_path / "corpus" / name).read_bytes() == (CORPUS / name).read_bytes(), name
