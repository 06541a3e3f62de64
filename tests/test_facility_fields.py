"""One specification of a facility's fields (``ingest/facility_fields.py``): the importer and the
planning API check the same kinds, vocabularies, bounds and lengths, so what an editor may place a
file may hold and the other way round."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gis_service.ingest.facility_fields import FACILITY_FIELDS, NAME_LENGTH
from gis_service.ingest.importer import import_file
from gis_service.ingest.kinds import KINDS
from gis_service.ingest.report import ImportRejected
from gis_service.planning.facilities import FacilityFields, NewFacility
from tests.helpers import write_csv

PARSED_WITH_ITS_UNIT = {"capacity", "capacity_unit"}  # read as text by the importer: '20 m3/hari'


def test_the_importer_and_the_api_share_the_facility_fields():
    imported = {f.name: f for f in KINDS["facilities"].fields}
    schema = FacilityFields.model_json_schema()["properties"]
    for spec in FACILITY_FIELDS:
        field = imported[spec.name]
        if spec.name not in PARSED_WITH_ITS_UNIT:
            assert (field.kind, field.vocab) == (spec.kind, spec.vocab if spec.kind == "vocab" else None), spec.name
            assert (field.minimum, field.maximum) == (spec.minimum, spec.maximum), spec.name
        if spec.max_length:
            assert field.max_length == spec.max_length
        api = schema[spec.name]["anyOf"][0]
        if spec.minimum is not None:
            assert api["minimum"] == spec.minimum, spec.name
        if spec.maximum is not None:
            assert api["maximum"] == spec.maximum, spec.name
        if spec.max_length:
            assert api["maxLength"] == spec.max_length, spec.name
    assert set(schema) == {f.name for f in FACILITY_FIELDS} | {"lon", "lat"}


def test_a_name_too_long_is_refused_by_both(admin_loaded, tmp_path):
    long_name = "IPLT " + "x" * NAME_LENGTH
    with pytest.raises(ValidationError, match="at most 200 characters"):
        NewFacility(name=long_name, type="iplt", lon=112.1, lat=-2.9)
    rows = [{"id": "F1", "nama": long_name, "jenis": "iplt", "tahun": "", "lon": "112.1", "lat": "-2.9"},
            {"id": "F2", "nama": "Depo", "jenis": "depot", "tahun": "1850", "lon": "112.1", "lat": "-2.9"}]
    with pytest.raises(ImportRejected) as refused:
        import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", rows))
    text = "\n".join(refused.value.report.lines())
    assert "F1" in text and "the 200 a name may have" in text
    assert "F2" in text and "1850" in text
    with pytest.raises(ValidationError, match="greater than or equal to 1900"):
        NewFacility(name="Depo", type="desludging_depot", year=1850, lon=112.1, lat=-2.9)
