"""Scenarios from the planning API: which facilities take part, which parameters differ from the
defaults (each override kept with who set it, as its source), and the scale-up plan (its target,
siting steps, calibration; validated as ``config/scenarios/*.yml`` is). Like facility edits, every
change is versioned (a stale version is refused), logged with who, when and the scenario before and
after, and undoable. Each function runs in the caller's transaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, text

from gis_service.analysis.parameters import load_parameter_values
from gis_service.analysis.scaleup.spec import Plan, read_scenarios
from gis_service.planning.edit_log import SCENARIOS, EditError

OVERRIDE = "planning API"  # how an override's source starts, telling it from the defaults
ROW = """SELECT s.id, s.name, s.description, s.region_code, s.plan, s.version, s.created_at,
                p.values AS parameter_values,
                COALESCE((SELECT array_agg(f.facility_id ORDER BY f.facility_id) FROM scenario_facility f
                          WHERE f.scenario_id = s.id), '{}') AS facility_ids
         FROM scenario s LEFT JOIN parameter_set p ON p.id = s.parameter_set_id"""


class ScenarioFields(BaseModel):
    """What a scenario holds; on a change, only the fields given change."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    region_code: str | None = Field(None, description="Kemendagri code; default: the configured region")
    facility_ids: list[int] | None = Field(None, max_length=100_000, description="The facilities that take part")
    parameters: dict[str, Any] | None = Field(None, description="Overrides of config/parameters/default.yml, "
                                              "e.g. {\"lltt_trips_per_truck_day\": 3}")
    plan: Plan | None = None


class NewScenario(ScenarioFields):
    """A new scenario: a name; without ``facility_ids``, the facilities of ``facility_statuses``."""

    name: str = Field(min_length=1, max_length=200)
    facility_statuses: list[Literal["existing", "pilot", "planned", "candidate"]] = ["existing", "pilot"]


def _public(row) -> dict:
    out = dict(row)
    values = out.pop("parameter_values") or {}
    out["parameters"] = {k: v.get("value") for k, v in values.items()
                         if str(v.get("source", "")).startswith(OVERRIDE)}
    out["plan"] = out["plan"] or json.loads(Plan().model_dump_json())
    return out


def list_scenarios(conn: Connection) -> list[dict]:
    return [_public(r) for r in conn.execute(text(f"{ROW} ORDER BY s.id")).mappings()]


def get_scenario(conn: Connection, scenario_id: int) -> dict:
    row = conn.execute(text(f"{ROW} WHERE s.id = :i"), {"i": scenario_id}).mappings().first()
    if row is None:
        raise EditError(f"no scenario {scenario_id}; GET /api/scenarios lists them", status=404)
    return _public(row)


def create_scenario(conn: Connection, new: NewScenario, *, user: str, region_code: str, config_dir) -> dict:
    if conn.execute(text("SELECT 1 FROM scenario WHERE name = :n"), {"n": new.name}).first():
        raise EditError(f"a scenario named '{new.name}' exists; choose another name or change that one",
                        status=409, field="name")
    region = new.region_code or region_code
    _known_region(conn, region)
    sid = conn.execute(text("INSERT INTO scenario (name, description, region_code, plan) VALUES "
                            "(:n, :d, :r, CAST(:p AS jsonb)) RETURNING id"),
                       {"n": new.name, "d": new.description, "r": region,
                        "p": (new.plan or Plan()).model_dump_json()}).scalar_one()
    if new.facility_ids is not None:
        _set_facilities(conn, sid, new.facility_ids)
    else:
        conn.execute(text(
            "INSERT INTO scenario_facility (scenario_id, facility_id) SELECT :s, f.id FROM facility f "
            "JOIN admin_area a ON a.code = :r AND ST_Intersects(a.geom, f.geom) WHERE f.status = ANY(:st)"),
            {"s": sid, "r": region, "st": list(new.facility_statuses)})
    if new.parameters:
        _set_parameters(conn, sid, new.name, new.parameters, user=user, config_dir=config_dir)
    after = get_scenario(conn, sid)
    SCENARIOS.write(conn, sid, user, "create", None, after)
    return after


def update_scenario(conn: Connection, scenario_id: int, change: ScenarioFields, *, version: int, user: str,
                    config_dir) -> dict:
    current = _locked(conn, scenario_id, version)
    given = change.model_dump(exclude_unset=True)
    if not given:
        raise EditError("nothing to change: give at least one field", field="body")
    if change.name and change.name != current["name"] and conn.execute(
            text("SELECT 1 FROM scenario WHERE name = :n"), {"n": change.name}).first():
        raise EditError(f"a scenario named '{change.name}' exists", status=409, field="name")
    if change.region_code:
        _known_region(conn, change.region_code)
    conn.execute(text(
        "UPDATE scenario SET name = COALESCE(:n, name), description = COALESCE(:d, description), "
        "region_code = COALESCE(:r, region_code), plan = COALESCE(CAST(:p AS jsonb), plan) WHERE id = :i"),
        {"n": change.name, "d": change.description, "r": change.region_code,
         "p": change.plan.model_dump_json() if change.plan else None, "i": scenario_id})
    if change.facility_ids is not None:
        conn.execute(text("DELETE FROM scenario_facility WHERE scenario_id = :s"), {"s": scenario_id})
        _set_facilities(conn, scenario_id, change.facility_ids)
    if change.parameters is not None:
        _set_parameters(conn, scenario_id, change.name or current["name"], change.parameters, user=user,
                        config_dir=config_dir)
    return _logged(conn, scenario_id, user, "update", current)


def delete_scenario(conn: Connection, scenario_id: int, *, version: int, user: str) -> None:
    """Remove a scenario and its parameter overrides; its stored runs stay (named, unlinked)."""
    before = _locked(conn, scenario_id, version)
    _drop(conn, scenario_id)
    SCENARIOS.write(conn, scenario_id, user, "delete", before, None)


def include_facility(conn: Connection, scenario_id: int, facility_id: int, *, included: bool, user: str) -> dict:
    """Add a facility to a scenario (or take it out); no version needed, the change is one member."""
    before = _locked(conn, scenario_id, None)
    if (facility_id in before["facility_ids"]) == included:
        return before
    if included:
        _set_facilities(conn, scenario_id, [facility_id], status=404)
    else:
        conn.execute(text("DELETE FROM scenario_facility WHERE scenario_id = :s AND facility_id = :f"),
                     {"s": scenario_id, "f": facility_id})
    return _logged(conn, scenario_id, user, "include" if included else "exclude", before)


def list_edits(conn: Connection, *, scenario_id: int | None = None, limit: int = 100) -> list[dict]:
    return SCENARIOS.latest(conn, subject_id=scenario_id, limit=limit)


def undo(conn: Connection, edit_id: int, *, user: str, config_dir) -> dict:
    """Revert one scenario edit if the scenario is still as that edit left it; returns the undo
    entry. An undone delete brings the scenario back with its id, facilities (those that still
    exist), parameter overrides and plan."""
    edit = SCENARIOS.undoable(conn, edit_id)
    sid = edit["scenario_id"]
    locked = conn.execute(text("SELECT 1 FROM scenario WHERE id = :i FOR UPDATE"), {"i": sid}).first()
    now = _locked(conn, sid, None) if locked else None
    if (now or {}).get("version") != (edit["after"] or {}).get("version"):
        raise EditError(f"scenario {sid} changed after edit {edit_id}: undo the later edits first", status=409)
    before = edit["before"]
    if before is None:  # undo a create
        _drop(conn, sid)
    else:
        if now is None:  # undo a delete: the row comes back with its id
            _name_free(conn, before["name"], sid)
            conn.execute(text("INSERT INTO scenario (id, name, version) OVERRIDING SYSTEM VALUE VALUES (:i, :n, :v)"),
                         {"i": sid, "n": before["name"], "v": before["version"]})
        _restore(conn, sid, before, user=user, config_dir=config_dir)
    after = None if before is None else get_scenario(conn, sid)
    undo_id = SCENARIOS.undone(conn, edit, user, now, after)
    return {"id": undo_id, "undoes": edit_id, "scenario": after}


def _name_free(conn: Connection, name: str, sid: int) -> None:
    if conn.execute(text("SELECT 1 FROM scenario WHERE name = :n AND id <> :i"), {"n": name, "i": sid}).first():
        raise EditError(f"another scenario is named '{name}' now: rename it first", status=409, field="name")


def _restore(conn: Connection, sid: int, state: dict, *, user: str, config_dir) -> None:
    _name_free(conn, state["name"], sid)
    conn.execute(text("UPDATE scenario SET name = :n, description = :d, region_code = :r, plan = CAST(:p AS jsonb), "
                      "version = version + 1 WHERE id = :i"),
                 {"n": state["name"], "d": state["description"], "r": state["region_code"],
                  "p": json.dumps(state["plan"]), "i": sid})
    conn.execute(text("DELETE FROM scenario_facility WHERE scenario_id = :s"), {"s": sid})
    conn.execute(text("INSERT INTO scenario_facility (scenario_id, facility_id) SELECT :s, id FROM facility "
                      "WHERE id = ANY(:f)"), {"s": sid, "f": state["facility_ids"]})
    _set_parameters(conn, sid, state["name"], state["parameters"], user=user, config_dir=config_dir)


def _drop(conn: Connection, scenario_id: int) -> None:
    pset = conn.execute(text("DELETE FROM scenario WHERE id = :i RETURNING parameter_set_id"),
                        {"i": scenario_id}).scalar()
    if pset is not None:
        conn.execute(text("DELETE FROM parameter_set p WHERE p.id = :p AND p.name LIKE 'scenario:%' AND NOT EXISTS "
                          "(SELECT 1 FROM scenario s WHERE s.parameter_set_id = p.id)"), {"p": pset})


def _locked(conn: Connection, scenario_id: int, version: int | None) -> dict:
    """The scenario, locked for this transaction, if it is still at ``version`` (None: any)."""
    if conn.execute(text("SELECT 1 FROM scenario WHERE id = :i FOR UPDATE"), {"i": scenario_id}).first() is None:
        raise EditError(f"no scenario {scenario_id}; GET /api/scenarios lists them", status=404)
    # read after the lock, in a statement of its own, so that its facilities are those committed
    # by an edit this one waited for
    row = conn.execute(text(f"{ROW} WHERE s.id = :i"), {"i": scenario_id}).mappings().one()
    if version is not None and row["version"] != version:
        raise EditError(f"scenario {scenario_id} is at version {row['version']}, not {version}: someone else "
                        "changed it; reload it and apply your change again", status=409, field="version")
    return _public(row)


def _logged(conn: Connection, scenario_id: int, user: str, action: str, before: dict) -> dict:
    """Raise the version, log the edit, return the scenario after it."""
    conn.execute(text("UPDATE scenario SET version = version + 1 WHERE id = :i"), {"i": scenario_id})
    after = get_scenario(conn, scenario_id)
    SCENARIOS.write(conn, scenario_id, user, action, before, after)
    return after


def _set_facilities(conn: Connection, scenario_id: int, ids: list[int], *, status: int = 422) -> None:
    known = set(conn.execute(text("SELECT id FROM facility WHERE id = ANY(:i)"), {"i": ids}).scalars())
    missing = sorted(set(ids) - known)
    if missing:
        raise EditError(f"no facility {', '.join(map(str, missing[:10]))}; GET /api/facilities lists them",
                        status=status, field="facility_ids")
    conn.execute(text("INSERT INTO scenario_facility (scenario_id, facility_id) SELECT :s, unnest(CAST(:i AS bigint[])) "
                      "ON CONFLICT DO NOTHING"), {"s": scenario_id, "i": sorted(known)})


def _set_parameters(conn: Connection, scenario_id: int, name: str, overrides: dict[str, Any], *, user: str,
                    config_dir) -> None:
    """The scenario's own parameter set: the defaults (as stored) with ``overrides``, each checked
    against the default's kind of value and marked with who set it; no overrides: no set of its own."""
    if not overrides:
        conn.execute(text("UPDATE scenario SET parameter_set_id = NULL WHERE id = :i"), {"i": scenario_id})
        conn.execute(text("DELETE FROM parameter_set WHERE name = :n"), {"n": f"scenario:{scenario_id}"})
        return
    defaults = load_parameter_values(conn, parameter_set_id=None, config_dir=config_dir)
    values = dict(defaults)
    for key, value in overrides.items():
        if key not in defaults:
            raise EditError(f"unknown parameter '{key}'; see config/parameters/default.yml", field=f"parameters.{key}")
        default = defaults[key].get("value")
        numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
        if numeric and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
            raise EditError(f"parameter '{key}' takes a number >= 0 (default {default})", field=f"parameters.{key}")
        if not numeric and type(value) is not type(default):
            raise EditError(f"parameter '{key}' takes a {type(default).__name__} like its default",
                            field=f"parameters.{key}")
        values[key] = {**defaults[key], "value": value, "source": f"{OVERRIDE}: scenario '{name}', set by {user}"}
    pset = conn.execute(text(
        "INSERT INTO parameter_set (name, description, values) VALUES (:n, :d, CAST(:v AS jsonb)) "
        "ON CONFLICT (name) DO UPDATE SET values = EXCLUDED.values RETURNING id"),
        {"n": f"scenario:{scenario_id}", "d": f"Parameters of scenario '{name}'",
         "v": json.dumps(values, default=str)}).scalar_one()
    conn.execute(text("UPDATE scenario SET parameter_set_id = :p WHERE id = :i"), {"p": pset, "i": scenario_id})


def _known_region(conn: Connection, code: str) -> None:
    if conn.execute(text("SELECT 1 FROM admin_area WHERE code = :c"), {"c": code}).first() is None:
        raise EditError(f"unknown region code {code}; use a loaded Kemendagri code", field="region_code")


def load_scenarios(conn: Connection, path: Path, *, region_code: str,
                   parameter_set_id: int | None = None) -> list[int]:
    """Write every scenario of ``path``; returns their ids in file order."""
    ids = []
    for spec in read_scenarios(path):
        region = spec.region or region_code
        known = conn.execute(text("SELECT 1 FROM admin_area WHERE code = :c"), {"c": region}).first()
        if known is None:
            raise ValueError(f"{path}: scenario '{spec.name}': unknown region code {region} "
                             "(import the administrative areas first)")
        sid = conn.execute(text(
            "INSERT INTO scenario (name, description, region_code, parameter_set_id, plan) "
            "VALUES (:n, :d, :r, :p, CAST(:plan AS jsonb)) ON CONFLICT (name) DO UPDATE SET "
            "description = EXCLUDED.description, region_code = EXCLUDED.region_code, "
            "parameter_set_id = COALESCE(EXCLUDED.parameter_set_id, scenario.parameter_set_id), "
            "plan = EXCLUDED.plan RETURNING id"),
            {"n": spec.name, "d": spec.description, "r": region, "p": parameter_set_id,
             "plan": spec.plan.model_dump_json()}).scalar_one()
        conn.execute(text("DELETE FROM scenario_facility WHERE scenario_id = :s"), {"s": sid})
        conn.execute(text(
            "INSERT INTO scenario_facility (scenario_id, facility_id) SELECT :s, f.id FROM facility f "
            "WHERE f.status = ANY(:st) AND EXISTS (SELECT 1 FROM admin_area a WHERE a.code = :r "
            "AND ST_Intersects(a.geom, f.geom))"), {"s": sid, "st": list(spec.facilities), "r": region})
        ids.append(sid)
    return ids
