"""Scenarios from YAML into the database: the scenario row, its fixed facilities (by status, within
its region) and its scale-up plan. Loading again updates the scenario in place."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Connection, text

from gis_service.analysis.scaleup.spec import Plan, read_scenarios


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


def scenario_plan(raw: dict | None) -> Plan:
    """The stored plan of a scenario (a scenario without one plans with the defaults: calibrate
    from the pilot, no new facilities)."""
    return Plan.model_validate(raw or {})


def dump(plan: Plan) -> dict:
    return json.loads(plan.model_dump_json())
