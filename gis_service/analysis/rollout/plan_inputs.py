"""A stored scale-up run as the calendar's input: its desludging facilities (truck bases and
IPLTs), the households of each village they serve in each period, network minutes, zones.

Which households: a village's households on scheduled desludging are taken in this order until
the plan's count for the village is reached: emptied most recently first (the plan counts
today's aman households first), then those with a septic tank, then by id; households connected
off-site are never taken. Counts per facility are the plan's flows rounded by largest remainder.

Zones (docs/rollout.md): on the base's network, a village lies on the route of the shortest-path
tree from the base; villages whose routes leave the base's surroundings (``calendar_zone_minutes``)
through the same node form one zone, nearer villages form the base's own zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra
from sqlalchemy import Connection, text

from gis_service.analysis import network as net
from gis_service.analysis.parameters import load_parameter_values, value
from gis_service.analysis.scaleup.calibration import TripModel
from gis_service.analysis.scaleup.finance import iplt_m3_per_day
from gis_service.analysis.scaleup.services import ENLARGEMENT

LLTT_TYPES = ("iplt", "desludging_depot", "transfer_station")


@dataclass
class RunInputs:
    run_id: int
    scenario: str
    params: dict
    trip_model: TripModel
    start_year: int
    facilities: pd.DataFrame  # the run's desludging facilities (key, facility_id, name, type, phase, ...)
    flows: pd.DataFrame  # facility_key, village_code, phase, households
    households: pd.DataFrame  # id, village_code, x, y, last_desludged, has_septic_tank
    rank: pd.Series  # village rank in the plan (1 first)
    edges: object  # network edges (metric CRS)


def read_run(conn: Connection, run_id: int, metric: str, config_dir) -> RunInputs:
    """The run and what it planned; parameters are the run's own, and the current parameter set
    fills in what the run did not use (the calendar's own: holidays, zones)."""
    run = conn.execute(text("SELECT scenario_name, parameters, calibration, plan, started_at FROM scaleup_run "
                            "WHERE id = :r"), {"r": run_id}).mappings().first()
    if run is None:
        raise ValueError(f"no scale-up run {run_id}: gis-service scaleup run --scenario NAME makes one")
    fac = pd.read_sql(text(
        "SELECT key, facility_id, name, type, role, origin, phase, capacity, capacity_unit, trucks, service_modes, "
        "ST_X(geom) AS lon, ST_Y(geom) AS lat FROM scaleup_facility WHERE run_id = :r AND type = ANY(:t) "
        "ORDER BY key"), conn, params={"r": run_id, "t": list(LLTT_TYPES)})
    flows = pd.read_sql(text("SELECT facility_key, village_code, phase, households FROM scaleup_desludging_flow "
                             "WHERE run_id = :r"), conn, params={"r": run_id})
    if flows.empty:
        raise ValueError(f"scale-up run {run_id} puts nobody on scheduled desludging (or was made before the "
                         "calendar existed: run the scenario again with gis-service scaleup run)")
    villages = sorted(flows["village_code"].unique())
    hh = pd.read_sql(text(
        "SELECT id::text AS id, village_code, ST_X(geom) AS lon, ST_Y(geom) AS lat, last_desludged, "
        "CASE WHEN disposal IS NOT NULL THEN disposal = 'septic_tank' ELSE has_septic_tank END AS has_septic_tank "
        "FROM household WHERE village_code = ANY(:v) AND geom IS NOT NULL "
        "AND disposal IS DISTINCT FROM 'offsite' ORDER BY village_code, last_desludged DESC NULLS LAST, "
        "(CASE WHEN disposal IS NOT NULL THEN disposal = 'septic_tank' ELSE has_septic_tank END) DESC NULLS LAST, "
        "id"), conn, params={"v": villages})
    rank = pd.read_sql(text("SELECT village_code, rank FROM scaleup_village WHERE run_id = :r"), conn,
                       params={"r": run_id}).set_index("village_code")["rank"]
    to_metric = Transformer.from_crs("EPSG:4326", metric, always_xy=True)
    for frame in (fac, hh):
        frame["x"], frame["y"] = to_metric.transform(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
    calibration = run["calibration"] or {}
    model = {k: v for k, v in (calibration.get("trip_model") or {}).items() if k != "fitted"}
    start = (run["plan"] or {}).get("start_year") or run["started_at"].year
    params = {**load_parameter_values(conn, parameter_set_id=None, config_dir=config_dir), **run["parameters"]}
    return RunInputs(run_id, run["scenario_name"], params, TripModel(**model), int(start), fac, flows, hh,
                     rank, net.load_edges(conn, metric_crs=metric))


def bases_and_plants(fac: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row of the base each facility row belongs to (an enlargement: its plant), the base rows,
    and the plant rows (IPLTs that are not enlargements)."""
    is_plant = fac["type"].eq("iplt").to_numpy()
    enlarged = fac["origin"].eq(ENLARGEMENT).to_numpy()
    base_of = np.arange(len(fac))
    ids = fac["facility_id"].to_numpy()
    for i in np.flatnonzero(enlarged):
        same = np.flatnonzero(is_plant & ~enlarged & (ids == ids[i]))
        base_of[i] = same[0] if len(same) else i
    bases = np.unique(base_of)
    return base_of, bases, np.array([b for b in bases if is_plant[b]], dtype=np.int64)


def plant_capacity(fac: pd.DataFrame, plants: np.ndarray, base_of: np.ndarray, params: dict) -> np.ndarray:
    """(P, 2) m3/day of each plant before and from the medium term (enlargements by their phase;
    no capacity recorded: no limit)."""
    out = np.zeros((len(plants), 2))
    m3 = np.array([iplt_m3_per_day(c, u, params) if t == "iplt" else 0.0
                   for t, c, u in zip(fac["type"], fac["capacity"], fac["capacity_unit"])])
    unknown = fac["capacity"].isna().to_numpy()
    phase = fac["phase"].to_numpy()
    for k, p in enumerate(plants):
        rows = np.flatnonzero(base_of == p)
        for period, last_phase in ((0, 1), (1, 2)):
            built = rows[phase[rows] <= last_phase]
            out[k, period] = np.inf if unknown[built].any() else m3[built].sum()
    return out


def household_counts(flows: pd.DataFrame, base_of_key: dict[int, int]) -> dict[tuple[str, int], dict[int, int]]:
    """Whole households per (village, period) and base: the plan's flows of the short term
    (period 0) and the medium term (period 1), rounded by largest remainder per village."""
    out = {}
    f = flows.assign(base=flows["facility_key"].map(base_of_key))
    for (village, phase), part in f[f["phase"] >= 1].groupby(["village_code", "phase"]):
        per_base = part.groupby("base")["households"].sum()
        whole = np.floor(per_base.to_numpy() + 1e-6)
        extra = int(round(per_base.sum() - whole.sum()))
        order = np.argsort(-(per_base.to_numpy() - whole), kind="stable")[:max(extra, 0)]
        whole[order] += 1
        out[(village, int(phase) - 1)] = {int(b): int(n) for b, n in zip(per_base.index, whole) if n > 0}
    return out


def minutes_from(graph: net.Graph, node: int) -> tuple[np.ndarray, np.ndarray]:
    """Minutes from a node to every node of the graph, and the shortest-path predecessors."""
    dist, pred = dijkstra(graph.csr, directed=True, indices=int(node), return_predecessors=True)
    return dist, pred


def zone_root(village_node: int, dist: np.ndarray, pred: np.ndarray, base_node: int, radius: float) -> int:
    """Where the route from the base to a village leaves the base's surroundings: the first node
    at or beyond ``radius`` minutes on it (the base itself for a village nearer than that)."""
    if not np.isfinite(dist[village_node]) or dist[village_node] < radius:
        return int(base_node)
    node = int(village_node)
    while pred[node] >= 0 and dist[pred[node]] >= radius:
        node = int(pred[node])
    return node


def start_of(month: str | None, start_year: int) -> date:
    """``YYYY-MM`` as the first day of that month (default: January of the plan's first year)."""
    if not month:
        return date(start_year, 1, 1)
    try:
        year, mon = (int(x) for x in month.split("-"))
        return date(year, mon, 1)
    except ValueError as exc:
        raise ValueError(f"--start takes a month as YYYY-MM (got '{month}')") from exc


def short_term_years(params: dict) -> int:
    return int(value(params, "short_term_years"))
