"""Shit flow diagrams (SFD) per kecamatan and for the regency, now and if the run's scenario
runs (docs/rollout.md, "SFD"). The method follows the SFD Promotion Initiative's graphic (the
share of people whose excreta are safely or unsafely managed along containment, emptying,
transport and treatment) with Indonesia's definition of safely managed (akses aman: off-site, or
a septic tank emptied within ``aman_max_years_since_desludging`` and its sludge treated at an IPLT).

Per household of a coverage run (the same households, rungs and service flags as its ladder):
- **containment**: off-site (an IPAL); septic tank emptied within the 5-year rule; septic tank not
  emptied; pit (rural layak); unimproved (belum layak); open defecation (BABS); unknown. With the
  plan, the ladder's projection applies (off-site and desludging served become aman, BABS in
  reach of an MCK belum layak).
- **emptying**: the emptied tanks (F3 of the SFD).
- **transport**: the share of emptied sludge delivered to an IPLT, from the trial's operation log
  (delivered / pumped m3) when one is imported, else all of it (said in the notes).
- **treatment**: the share an IPLT treats, its capacity against the delivered inflow (the emptied
  households' sludge per working day on the desludging interval), at most 1.

safely managed = off-site + emptied x delivered x treated. The ladder counts every emptied
household aman (the survey's emptying date is its evidence), so the two differ by exactly the
emptied sludge lost in transport or left untreated, and the table shows that difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from pyproj import Transformer
from sqlalchemy import Connection, text

from gis_service.analysis.demand import load_demand
from gis_service.analysis.ladder import project_rungs
from gis_service.analysis.parameters import load_parameter_values, value
from gis_service.analysis.scaleup.finance import iplt_m3_per_day

CLASSES = ("offsite", "emptied", "contained", "pit", "unimproved", "open_defecation", "unknown")
STATES = ("now", "plan")
LABELS = {
    "id": {"offsite": "Terhubung IPAL (off-site)", "emptied": "Tangki septik disedot dalam 5 tahun",
           "contained": "Tangki septik belum disedot 5 tahun", "pit": "Cubluk (perdesaan)",
           "unimproved": "Belum layak (dibuang ke lingkungan)", "open_defecation": "BABS",
           "unknown": "Tidak diketahui", "now": "sekarang", "plan": "dengan skenario",
           "lost_transport": "Tidak sampai IPLT", "untreated": "Tidak terolah di IPLT",
           "safe": "Dikelola aman", "unsafe": "Tidak dikelola aman",
           "stages": ("Penampungan", "Pengurasan", "Pengangkutan", "Pengolahan")},
    "en": {"offsite": "Connected to an IPAL (off-site)", "emptied": "Septic tank emptied within 5 years",
           "contained": "Septic tank not emptied in 5 years", "pit": "Pit latrine (rural)",
           "unimproved": "Unimproved (discharged to the environment)", "open_defecation": "Open defecation",
           "unknown": "Unknown", "now": "now", "plan": "with the scenario",
           "lost_transport": "Not delivered to an IPLT", "untreated": "Not treated at the IPLT",
           "safe": "Safely managed", "unsafe": "Not safely managed",
           "stages": ("Containment", "Emptying", "Transport", "Treatment")},
}


@dataclass
class SfdResult:
    run_id: int
    scenario: str
    table: pd.DataFrame  # one row per area and state
    delivered_share: float
    treated_share: dict[str, float]  # by state
    notes: list[str] = field(default_factory=list)


def containment(rung: np.ndarray, disposal: np.ndarray, tank: np.ndarray) -> np.ndarray:
    """The SFD class of each household from its rung, disposal and septic tank."""
    offsite = disposal == "offsite"
    layak = np.isin(rung, ("layak_sendiri", "layak_bersama"))
    return np.select(
        [(rung == "aman") & offsite, rung == "aman", layak & (tank != False), layak,  # noqa: E712
         rung == "belum_layak", rung == "babs"],
        ["offsite", "emptied", "contained", "pit", "unimproved", "open_defecation"], default="unknown")


def build_sfd(conn: Connection, run_id: int, *, metric: str, config_dir) -> SfdResult:
    run = conn.execute(text("SELECT scenario_name, parameters, started_at, demand FROM coverage_run WHERE id = :r"),
                       {"r": run_id}).mappings().first()
    if run is None:
        raise ValueError(f"no coverage run {run_id}: gis-service coverage run --scenario NAME makes one")
    params = {**load_parameter_values(conn, parameter_set_id=None, config_dir=config_dir), **(run["parameters"] or {})}
    served = pd.read_sql(text("SELECT household_id AS id, lltt_facility_id IS NOT NULL AS lltt, "
                              "offsite_facility_id IS NOT NULL AS offsite, mck_facility_id IS NOT NULL AS mck "
                              "FROM coverage_household WHERE run_id = :r ORDER BY household_id"), conn,
                         params={"r": run_id})
    if served.empty:
        raise ValueError(f"coverage run {run_id} has no household rows (it ran on {run['demand']}): the SFD needs a "
                         "run on household points")
    hh = load_demand(conn, "households", to_metric=Transformer.from_crs("EPSG:4326", metric, always_xy=True),
                     metric_crs=metric, params=params, as_of=run["started_at"].date()).households
    if len(hh) != len(served) or not np.array_equal(hh["id"].to_numpy(), served["id"].to_numpy()):
        raise ValueError(f"the households changed since coverage run {run_id}: run coverage again, then the SFD")
    disposal = pd.read_sql(text("SELECT id, disposal FROM household ORDER BY id"), conn).set_index("id")["disposal"]
    disp = disposal.reindex(hh["id"]).to_numpy(dtype=object)
    flags = {s: served[s].to_numpy(bool) for s in ("lltt", "offsite", "mck")}
    rung_now = hh["rung"].to_numpy(dtype=object)
    tank = hh["has_septic_tank"].to_numpy(dtype=object)
    rung_plan = project_rungs(rung_now, tank, flags)
    disp_plan = np.where(flags["offsite"], "offsite", disp)
    classes = {"now": containment(rung_now, disp, tank), "plan": containment(rung_plan, disp_plan, tank)}
    notes = []
    delivered = _delivered_share(conn)
    if delivered is None:
        notes.append("no operation log imported: all emptied sludge is taken as delivered to an IPLT")
        delivered = 1.0
    capacity = _iplt_capacity(conn, run_id, params)
    treated = {}
    for state in STATES:
        inflow = (classes[state] == "emptied").sum() / value(params, "desludging_interval") / \
            value(params, "working_days_per_year") * value(params, "sludge_per_emptying") * delivered
        if capacity is None:
            treated[state] = 1.0
        else:
            treated[state] = 1.0 if inflow <= capacity else capacity / inflow
    if capacity is None:
        notes.append("an IPLT of the run has no capacity recorded: its treatment is taken as complete")
    elif capacity == 0:
        notes.append("the run has no IPLT: emptied sludge is not treated")
    districts = pd.read_sql(text("SELECT code, parent_code, name FROM admin_area"), conn).set_index("code")
    table = _table(hh, classes, districts, delivered, treated, run["started_at"].date())
    return SfdResult(run_id, run["scenario_name"], table, delivered, treated, notes)


def _table(hh, classes, areas, delivered, treated, as_of: date) -> pd.DataFrame:
    village = hh["village_code"].fillna("").to_numpy(dtype=object)
    district = pd.Series(village).map(areas["parent_code"]).fillna("").to_numpy(dtype=object)
    regency = pd.Series(district).map(areas["parent_code"]).dropna()
    region = regency.mode().iat[0] if len(regency) else ""
    groups = [(region, "regency", np.ones(len(hh), bool))] + \
        [(code, "district", district == code) for code in sorted(set(district) - {""})]
    rows = []
    for code, level, mask in groups:
        n = int(mask.sum())
        for state in STATES:
            counts = {c: int((classes[state][mask] == c).sum()) for c in CLASSES}
            share = {c: (100.0 * counts[c] / n if n else 0.0) for c in CLASSES}
            t = treated[state]
            safe = share["offsite"] + share["emptied"] * delivered * t
            rows.append({"area_code": code, "area_name": str(areas["name"].get(code, code)), "level": level,
                         "state": state, "households": n, **{f"{c}_pct": round(share[c], 3) for c in CLASSES},
                         "delivered_share": round(delivered, 4), "treated_share": round(t, 4),
                         "lost_in_transport_pct": round(share["emptied"] * (1 - delivered), 3),
                         "untreated_pct": round(share["emptied"] * delivered * (1 - t), 3),
                         "safely_managed_pct": round(safe, 3),
                         "not_safely_managed_pct": round(100.0 - safe - share["unknown"], 3) if n else 0.0,
                         "ladder_aman_pct": round(share["offsite"] + share["emptied"], 3),
                         "as_of": as_of.isoformat()})
    return pd.DataFrame(rows)


def _delivered_share(conn: Connection) -> float | None:
    """Delivered / pumped m3 over every done emptying of the operation logs (a delivered volume
    not recorded counts as not delivered); None without a log."""
    pumped, delivered = conn.execute(text(
        "SELECT sum(pumped_m3), sum(coalesce(delivered_m3, 0)) FROM pilot_event WHERE status = 'done'")).one()
    if not pumped:
        return None
    return min(1.0, float(delivered) / float(pumped))  # the log's own rule keeps delivered <= pumped


def _iplt_capacity(conn: Connection, run_id: int, params: dict) -> float | None:
    """m3/day of the run's IPLTs (None: one of them has no capacity recorded)."""
    rows = conn.execute(text(
        "SELECT f.capacity, f.capacity_unit FROM coverage_facility c JOIN facility f ON f.id = c.facility_id "
        "WHERE c.run_id = :r AND f.type = 'iplt'"), {"r": run_id}).all()
    if any(c is None or u is None for c, u in rows):
        return None
    return float(sum(iplt_m3_per_day(float(c), u, params) for c, u in rows))
