"""What a coverage run changed against another run, and which of its facilities serve nobody and
why. Read from the stored run tables (and, for facilities left out of the run, the facility edit
log), so the web map, the planning API and the CLI's ``coverage run`` say the same thing.

Reasons a facility serves nobody, checked in this order (the first that holds is given):

- ``outside_region``: the point lies in none of the region's villages;
- ``capacity_zero``: its capacity is 0 households;
- ``no_drawn_area``: a polygon run, and no service area was drawn for it;
- ``off_network``: a road-network run, and no end of a road, path or river edge of its modes lies
  within the joining distance (``max_snap_m`` of config/network.yml: where the network's nodes
  are, so a facility farther from all of them never joins the network);
- ``nobody_in_reach``: no household lies within the run's travel time or radius for its service
  (desludging: the run's longest band or radius; IPAL: ``ipal_komunal_radius_m``; MCK:
  ``mck_walk_minutes`` of walking);
- ``nobody_in_drawn_area``: a polygon run, and no household lies inside its drawn area;
- ``served_by_others``: households are in reach but other facilities (or its plant's capacity)
  served them first;
- ``not_in_scenario``: saved or changed since the run before it, but not a facility of the run's
  scenario, so the run did not use it.
"""

from __future__ import annotations

from pyproj import CRS
from sqlalchemy import Connection, text

from gis_service.analysis.parameters import value

REASONS = ("outside_region", "capacity_zero", "no_drawn_area", "off_network", "nobody_in_reach",
           "nobody_in_drawn_area", "served_by_others", "not_in_scenario")

_FACILITIES_OF_RUN = """
    SELECT cf.facility_id AS id, f.name, f.type, f.service_modes, cf.service, cf.capacity_households,
           cf.households_in_reach, cf.served_households,
           f.id IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM admin_area a
               WHERE a.level = 'village' AND a.geom IS NOT NULL AND ST_Covers(a.geom, f.geom)) AS outside
    FROM coverage_facility cf LEFT JOIN facility f ON f.id = cf.facility_id
    WHERE cf.run_id = :r ORDER BY cf.facility_id"""

_OFF_NETWORK = """
    SELECT NOT EXISTS (
        SELECT 1 FROM network_edge e, (SELECT ST_Transform(f.geom, :srid) AS p) m
        WHERE e.mode = ANY(:modes) AND e.geom && ST_Transform(ST_Expand(m.p, :snap), 4326)
          AND (ST_DWithin(ST_Transform(ST_StartPoint(e.geom), :srid), m.p, :snap)
               OR ST_DWithin(ST_Transform(ST_EndPoint(e.geom), :srid), m.p, :snap)))
    FROM facility f WHERE f.id = :id"""
DEFAULT_MODES = {"lltt": ["road"], "mck": ["path", "road"]}  # as the coverage run's (analysis.coverage)

_LEFT_OUT = """
    SELECT DISTINCT ON (e.facility_id) e.facility_id AS id, f.name, f.type
    FROM facility_edit e JOIN facility f ON f.id = e.facility_id
    WHERE e.action IN ('create', 'update') AND e.undone_by IS NULL
      AND e.at > :since AND e.at <= :until
      AND NOT EXISTS (SELECT 1 FROM coverage_facility cf WHERE cf.run_id = :r AND cf.facility_id = e.facility_id)
    ORDER BY e.facility_id"""


def _run(conn: Connection, run_id: int) -> dict | None:
    row = conn.execute(text(
        "SELECT id, scenario_name, method, started_at, distance_m, thresholds_min, parameters, summary "
        "FROM coverage_run WHERE id = :r"), {"r": run_id}).mappings().first()
    return dict(row) if row else None


def previous_run(conn: Connection, run_id: int) -> int | None:
    """The run a run is compared with by default: the last earlier run of the same scenario, or
    else the run just before it."""
    return conn.execute(text(
        "SELECT p.id FROM coverage_run p, coverage_run r WHERE r.id = :r AND p.id < r.id "
        "ORDER BY (p.scenario_name IS NOT DISTINCT FROM r.scenario_name) DESC, p.id DESC LIMIT 1"),
        {"r": run_id}).scalar()


def _reach_text(run: dict, service: str | None) -> str:
    """How far the run looked for households of a facility of ``service``, as "3000 m" or "60 min"
    (the words around it are the reader's language's); "" for a polygon run (its drawn area)."""
    params = run["parameters"] or {}
    if run["method"] == "polygon":
        return ""
    if service == "offsite":
        return f"{value(params, 'ipal_komunal_radius_m'):g} m"
    if service == "mck":
        return f"{value(params, 'mck_walk_minutes'):g} min"
    if run["method"] == "network" and run["thresholds_min"]:
        return f"{max(run['thresholds_min']):g} min"
    return f"{run['distance_m']:g} m" if run["distance_m"] else ""


def _off_network(conn: Connection, row: dict, modes: list[str] | None, metric_crs: str, max_snap_m: float) -> bool:
    return bool(conn.execute(text(_OFF_NETWORK), {
        "id": row["id"], "modes": modes or DEFAULT_MODES[row["service"]],
        "srid": CRS.from_user_input(metric_crs).to_epsg(), "snap": max_snap_m}).scalar())


def _reason(conn: Connection, row: dict, run: dict, metric_crs: str, max_snap_m: float) -> str:
    summary = run["summary"] or {}
    if row["outside"]:
        return "outside_region"
    if row["capacity_households"] == 0:
        return "capacity_zero"
    if row["id"] in summary.get("facilities_without_drawn_area", []):
        return "no_drawn_area"
    if not row["households_in_reach"] and run["method"] == "network" and row["service"] in DEFAULT_MODES \
            and _off_network(conn, row, row["service_modes"], metric_crs, max_snap_m):
        return "off_network"
    if not row["households_in_reach"]:
        return "nobody_in_drawn_area" if run["method"] == "polygon" else "nobody_in_reach"
    return "served_by_others"


def idle_facilities(conn: Connection, run_id: int, *, metric_crs: str, max_snap_m: float) -> list[dict]:
    """The facilities of a run that serve no household, each with its reason (see the module),
    then the facilities saved or changed since the start of ``previous_run`` that the run left out
    because they are not in its scenario."""
    run = _run(conn, run_id)
    if run is None:
        return []
    out = []
    for row in conn.execute(text(_FACILITIES_OF_RUN), {"r": run_id}).mappings():
        if row["served_households"]:
            continue
        row = dict(row)
        out.append({"id": row["id"], "name": row["name"], "type": row["type"], "service": row["service"],
                    "reason": _reason(conn, row, run, metric_crs, max_snap_m),
                    "households_in_reach": row["households_in_reach"], "max_snap_m": max_snap_m,
                    "reach": _reach_text(run, row["service"])})
    before = previous_run(conn, run_id)
    since = conn.execute(text("SELECT started_at FROM coverage_run WHERE id = :r"), {"r": before}).scalar() \
        if before else None
    if since is not None:
        for row in conn.execute(text(_LEFT_OUT), {"r": run_id, "since": since, "until": run["started_at"]}).mappings():
            out.append({**dict(row), "service": None, "reason": "not_in_scenario", "households_in_reach": None,
                        "max_snap_m": None, "reach": "", "scenario": run["scenario_name"]})
    return out


def _village_served(conn: Connection, run_id: int) -> dict[str, tuple[str, int, int]]:
    rows = conn.execute(text(
        "SELECT c.area_code, a.name, c.households, c.served_households FROM coverage_area c "
        "LEFT JOIN admin_area a ON a.code = c.area_code "
        "WHERE c.run_id = :r AND c.level = 'village' AND c.service = 'all'"), {"r": run_id})
    return {code: (name, hh, served) for code, name, hh, served in rows}


def run_changes(conn: Connection, run_id: int, against: int | None = None, *, metric_crs: str,
                max_snap_m: float) -> dict | None:
    """Households served per village in ``run_id`` against ``against`` (default: ``previous_run``):
    totals, the villages that gained or lost (largest change first), the facilities only one of
    the two runs had, and the facilities of ``run_id`` that serve nobody. None for an unknown run."""
    run = _run(conn, run_id)
    if run is None:
        return None
    against = previous_run(conn, run_id) if against is None else against
    other = _run(conn, against) if against is not None else None
    after = _village_served(conn, run_id)
    before = _village_served(conn, against) if other else {}
    villages = []
    for code in sorted(set(after) | set(before)):
        name, hh, served = after.get(code) or before[code]
        was = before.get(code, (name, hh, 0))[2]
        now = after.get(code, (name, hh, 0))[2]
        if now != was:
            villages.append({"code": code, "name": name, "households": hh, "served_before": was,
                             "served_after": now, "difference": now - was})
    villages.sort(key=lambda v: (-abs(v["difference"]), v["code"]))
    facilities = {r: set(conn.execute(text("SELECT facility_id FROM coverage_facility WHERE run_id = :r"),
                                      {"r": r}).scalars()) for r in (run_id, against) if r is not None}
    return {
        "run_id": run_id, "against": other["id"] if other else None,
        "served_households_before": sum(v[2] for v in before.values()) if other else None,
        "served_households_after": sum(v[2] for v in after.values()),
        "villages_gained": sum(v["difference"] > 0 for v in villages),
        "villages_lost": sum(v["difference"] < 0 for v in villages),
        "households_gained": sum(max(v["difference"], 0) for v in villages),
        "households_lost": sum(max(-v["difference"], 0) for v in villages),
        "villages": villages,
        "facilities_added": sorted(facilities[run_id] - facilities[against]) if other else [],
        "facilities_removed": sorted(facilities[against] - facilities[run_id]) if other else [],
        "idle_facilities": idle_facilities(conn, run_id, metric_crs=metric_crs, max_snap_m=max_snap_m),
    }
