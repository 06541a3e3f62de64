"""The fields of a facility, specified once: what each holds (text, a number, a term of a
vocabulary), its bounds and its length. The importer (``kinds.py``, which adds the column names
Indonesian sources use) and the planning API's facility edits (``planning/facilities.py``, which
makes its request model from it) both check a facility by this table, so a facility an editor may
place is one a file may hold, and the other way round."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gis_service.vocabulary import CapacityUnit, FacilityStatus, FacilityType, InstitutionType, NetworkMode

NAME_LENGTH = 200  # characters of a name or an operator: a label on a map and in a report


@dataclass(frozen=True)
class FacilityField:
    name: str
    kind: str  # text | int | float | vocab | list (of vocabulary terms)
    vocab: type[StrEnum] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    description: str = ""


FACILITY_FIELDS: tuple[FacilityField, ...] = (
    FacilityField("name", "text", max_length=NAME_LENGTH, description="Name, e.g. IPLT Kuala Pembuang"),
    FacilityField("type", "vocab", FacilityType, description="What it is"),
    FacilityField("status", "vocab", FacilityStatus, description="existing, pilot, planned or candidate"),
    FacilityField("capacity", "float", minimum=0, description="Design capacity, in capacity_unit"),
    FacilityField("capacity_unit", "vocab", CapacityUnit, description="Unit of the capacity"),
    FacilityField("operator", "text", max_length=NAME_LENGTH, description="Who runs it"),
    FacilityField("institution_type", "vocab", InstitutionType, description="Kind of operator"),
    FacilityField("year", "int", minimum=1900, maximum=2100, description="Year built"),
    FacilityField("capex_idr", "float", minimum=0, description="Investment, rupiah"),
    FacilityField("opex_idr_per_year", "float", minimum=0, description="Running cost, rupiah a year"),
    FacilityField("service_modes", "list", NetworkMode, description="How it reaches households: road, river, path"),
)
BY_NAME = {f.name: f for f in FACILITY_FIELDS}
