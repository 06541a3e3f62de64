"""Facility edits from the planning API: create, change and delete one facility at a time, each
checked as an import would be (vocabularies, capacity with its unit, a location inside the
region), versioned for optimistic locking, logged with who and when and the row before and after,
and undoable. Each function runs in the caller's transaction, so an edit and its log entry are
written together or not at all."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator
from sqlalchemy import Connection, text

from gis_service.ingest.facility_fields import FACILITY_FIELDS, NAME_LENGTH, FacilityField
from gis_service.planning.edit_log import FACILITIES, EditError
from gis_service.vocabulary import FacilityStatus, FacilityType

SOURCE = "planning-edits"
COLUMNS = [f.name for f in FACILITY_FIELDS]
ROW = ("id, source, source_id, name, type, status, capacity::float AS capacity, capacity_unit, operator, "
       "institution_type, year, capex_idr::float AS capex_idr, opex_idr_per_year::float AS opex_idr_per_year, "
       "service_modes, village_code, version, ST_X(geom) AS lon, ST_Y(geom) AS lat")
PYTHON_TYPES = {"text": str, "int": int, "float": float}


def _annotation(spec: FacilityField):
    """The pydantic type of a facility field, with the bounds of the shared specification."""
    if spec.kind == "vocab":
        return spec.vocab | None
    if spec.kind == "list":
        return list[spec.vocab] | None
    bounds = {"ge": spec.minimum, "le": spec.maximum, "max_length": spec.max_length}
    if spec.kind == "text":
        bounds["min_length"] = 1
    return Annotated[PYTHON_TYPES[spec.kind] | None, Field(**{k: v for k, v in bounds.items() if v is not None})]


class _Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


# What an editor may set; every field optional (a change names only what changes). Made from the
# facility fields the importer checks too (``ingest/facility_fields.py``), so the two agree.
FacilityFields = create_model(
    "FacilityFields", __base__=_Location, __doc__="What an editor may set; every field optional.",
    **{f.name: (_annotation(f), Field(None, description=f.description)) for f in FACILITY_FIELDS})


class NewFacility(FacilityFields):
    """A facility to create: a name, a type and a location are needed; status defaults to candidate."""

    name: str = Field(min_length=1, max_length=NAME_LENGTH)
    type: FacilityType
    status: FacilityStatus = FacilityStatus.candidate
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)

    @model_validator(mode="after")
    def _capacity_with_unit(self) -> NewFacility:
        if (self.capacity is None) != (self.capacity_unit is None):
            raise ValueError("give capacity and capacity_unit together (e.g. 10 and m3_per_day)")
        return self


def get_facility(conn: Connection, facility_id: int) -> dict:
    row = conn.execute(text(f"SELECT {ROW} FROM facility WHERE id = :i"), {"i": facility_id}).mappings().first()
    if row is None:
        raise EditError(f"no facility {facility_id}", status=404)
    return dict(row)


def list_facilities(conn: Connection, *, type_: str | None = None, status: str | None = None) -> list[dict]:
    rows = conn.execute(text(f"SELECT {ROW} FROM facility WHERE (CAST(:t AS text) IS NULL OR type = :t) "
                             "AND (CAST(:s AS text) IS NULL OR status = :s) ORDER BY id"), {"t": type_, "s": status})
    return [dict(r) for r in rows.mappings()]


def create_facility(conn: Connection, new: NewFacility, *, user: str, region_code: str) -> dict:
    village = _village_at(conn, new.lon, new.lat, region_code)
    conn.execute(text("INSERT INTO data_source (name, title) VALUES (:n, :t) ON CONFLICT (name) DO NOTHING"),
                 {"n": SOURCE, "t": "Facilities placed or edited in the planning API"})
    values = _values(new.model_dump(exclude={"lon", "lat"}))
    facility_id = conn.execute(text(
        f"INSERT INTO facility (source, source_id, {', '.join(COLUMNS)}, village_code, geom) VALUES "
        f"(:source, :source_id, {', '.join(':' + c for c in COLUMNS)}, :village, "
        "ST_SetSRID(ST_Point(:lon, :lat), 4326)) RETURNING id"),
        {**values, "source": SOURCE, "source_id": f"api-{uuid.uuid4().hex[:12]}", "village": village,
         "lon": new.lon, "lat": new.lat}).scalar_one()
    after = get_facility(conn, facility_id)
    FACILITIES.write(conn, facility_id, user, "create", None, after)
    return after


def update_facility(conn: Connection, facility_id: int, changes: FacilityFields, *, version: int, user: str,
                    region_code: str) -> dict:
    before = _locked(conn, facility_id, version)
    given = changes.model_dump(exclude_unset=True)
    if not given:
        raise EditError("nothing to change: give at least one field", field="body")
    merged = {**{k: before[k] for k in (*COLUMNS, "lon", "lat")}, **given}
    try:
        checked = NewFacility.model_validate(merged)
    except ValueError as exc:
        raise EditError(f"the facility would be invalid: {exc}") from exc
    village = _village_at(conn, checked.lon, checked.lat, region_code)
    values = _values(checked.model_dump(exclude={"lon", "lat"}))
    conn.execute(text(
        f"UPDATE facility SET {', '.join(f'{c} = :{c}' for c in COLUMNS)}, village_code = :village, "
        "geom = ST_SetSRID(ST_Point(:lon, :lat), 4326), version = version + 1 WHERE id = :id"),
        {**values, "village": village, "lon": checked.lon, "lat": checked.lat, "id": facility_id})
    after = get_facility(conn, facility_id)
    FACILITIES.write(conn, facility_id, user, "update", before, after)
    return after


def delete_facility(conn: Connection, facility_id: int, *, version: int, user: str) -> None:
    before = _locked(conn, facility_id, version)
    before["scenario_ids"] = conn.execute(text(  # the delete cascades to them; an undo puts them back
        "SELECT scenario_id FROM scenario_facility WHERE facility_id = :i ORDER BY 1"), {"i": facility_id}).scalars().all()
    _touch_scenarios(conn, before["scenario_ids"])
    conn.execute(text("DELETE FROM facility WHERE id = :i"), {"i": facility_id})
    FACILITIES.write(conn, facility_id, user, "delete", before, None)


def undo(conn: Connection, edit_id: int, *, user: str) -> dict:
    """Revert one edit if the facility is still as that edit left it; returns the undo entry.
    Undoing a delete brings the facility back with its id and its scenario memberships (those of
    the scenarios that still exist)."""
    edit = FACILITIES.undoable(conn, edit_id)
    now = conn.execute(text(f"SELECT {ROW} FROM facility WHERE id = :i FOR UPDATE"),
                       {"i": edit["facility_id"]}).mappings().first()
    now = dict(now) if now else None
    if (now or {}).get("version") != (edit["after"] or {}).get("version"):
        raise EditError(f"facility {edit['facility_id']} changed after edit {edit_id}: undo the later edits first",
                        status=409)
    before = edit["before"]
    if before is None:  # undo a create
        conn.execute(text("DELETE FROM facility WHERE id = :i"), {"i": edit["facility_id"]})
    elif now is None:  # undo a delete: the row comes back with its id
        conn.execute(text(
            f"INSERT INTO facility (id, source, source_id, {', '.join(COLUMNS)}, village_code, version, geom) "
            f"OVERRIDING SYSTEM VALUE VALUES (:id, :source, :source_id, {', '.join(':' + c for c in COLUMNS)}, "
            ":village_code, :version, ST_SetSRID(ST_Point(:lon, :lat), 4326))"),
            {**_values(before), "id": before["id"], "source": before["source"], "source_id": before["source_id"],
             "village_code": before["village_code"], "version": before["version"] + 1,
             "lon": before["lon"], "lat": before["lat"]})
        conn.execute(text("INSERT INTO scenario_facility (scenario_id, facility_id) SELECT s.id, :f FROM scenario s "
                          "WHERE s.id = ANY(:s) ON CONFLICT DO NOTHING"),
                     {"f": before["id"], "s": before.get("scenario_ids", [])})
        _touch_scenarios(conn, before.get("scenario_ids", []))
    else:  # undo an update
        conn.execute(text(
            f"UPDATE facility SET {', '.join(f'{c} = :{c}' for c in COLUMNS)}, village_code = :village_code, "
            "geom = ST_SetSRID(ST_Point(:lon, :lat), 4326), version = version + 1 WHERE id = :id"),
            {**_values(before), "village_code": before["village_code"], "lon": before["lon"], "lat": before["lat"],
             "id": edit["facility_id"]})
    after = None if before is None else get_facility(conn, edit["facility_id"])
    undo_id = FACILITIES.undone(conn, edit, user, now, after)
    return {"id": undo_id, "undoes": edit_id, "facility": after}


def list_edits(conn: Connection, *, facility_id: int | None = None, limit: int = 100) -> list[dict]:
    return FACILITIES.latest(conn, subject_id=facility_id, limit=limit)


def _locked(conn: Connection, facility_id: int, version: int) -> dict:
    """The facility, locked for this transaction, if it is still at ``version``."""
    row = conn.execute(text(f"SELECT {ROW} FROM facility WHERE id = :i FOR UPDATE"),
                       {"i": facility_id}).mappings().first()
    if row is None:
        raise EditError(f"no facility {facility_id}", status=404)
    if row["version"] != version:
        raise EditError(f"facility {facility_id} is at version {row['version']}, not {version}: someone else "
                        "changed it; reload it and apply your change again", status=409, field="version")
    return dict(row)


def _touch_scenarios(conn: Connection, scenario_ids: list[int]) -> None:
    """Raise the version of scenarios whose facilities a facility edit changed, so that a
    scenario edit based on an older read is refused (the facility's edit log holds the change)."""
    conn.execute(text("UPDATE scenario SET version = version + 1 WHERE id = ANY(:s)"), {"s": list(scenario_ids)})


def _village_at(conn: Connection, lon: float, lat: float, region_code: str) -> str | None:
    """The village under the point; refuses a point outside the region (a swapped lon/lat too)."""
    row = conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM admin_area WHERE code = :r) AS known, "
        "EXISTS (SELECT 1 FROM admin_area WHERE code = :r AND ST_Intersects(geom, p)) AS inside, "
        "(SELECT code FROM admin_area WHERE level = 'village' AND ST_Intersects(geom, p) ORDER BY code LIMIT 1) "
        "AS village FROM (SELECT ST_SetSRID(ST_Point(:lon, :lat), 4326) AS p) x"),
        {"r": region_code, "lon": lon, "lat": lat}).first()
    if not row.known:
        raise EditError(f"the region {region_code} is not loaded: import its administrative areas first",
                        status=409)
    if not row.inside:
        hint = " (lon and lat swapped?)" if abs(lat) > abs(lon) else ""
        raise EditError(f"lon {lon}, lat {lat} lies outside the region {region_code}{hint}", field="lon/lat")
    return row.village


def _values(data: dict[str, Any]) -> dict[str, Any]:
    """Column values for SQL: enums as their text, lists as arrays."""
    out = {}
    for c in COLUMNS:
        v = data.get(c)
        if isinstance(v, list):
            v = [getattr(m, "value", m) for m in v]
        out[c] = getattr(v, "value", v)
    return out
