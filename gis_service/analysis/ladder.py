"""The sanitation access ladder per admin area, now and projected under a scenario, and the gap
to every target row (shared/DOMAIN.md sections 2 and 3).

Projection rules (explicit, so a planner can check them):
- connected to an off-site system (served by an IPAL)                         -> aman
- own toilet with septic tank (layak_sendiri) served by scheduled desludging  -> aman
  (desludged within the 5-year rule and treated at an IPLT)
- open defecation (babs) within reach of a public toilet block (MCK)          -> belum_layak
  (public facilities only are 'belum layak', but no longer open defecation)
Everything else keeps its surveyed rung. Households without a surveyed rung count as 'unknown'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RUNGS = ("aman", "layak_sendiri", "layak_bersama", "belum_layak", "babs", "unknown")
LAYAK = ("aman", "layak_sendiri", "layak_bersama")
LEVEL_BY_DOTS = {1: "regency", 2: "district", 3: "village"}


def project_rungs(rung: np.ndarray, has_tank: np.ndarray, served: dict[str, np.ndarray]) -> np.ndarray:
    """The rung each household reaches if the scenario runs (rules in the module docstring)."""
    out = rung.copy()
    if "offsite" in served:
        out[served["offsite"]] = "aman"
    if "lltt" in served:
        out[served["lltt"] & (rung == "layak_sendiri") & (has_tank != False)] = "aman"  # noqa: E712
    if "mck" in served:
        out[served["mck"] & (out == "babs")] = "belum_layak"
    return out


def area_table(households: pd.DataFrame, served: dict[str, np.ndarray], projected: np.ndarray,
               *, region_code: str) -> pd.DataFrame:
    """Rows per area (villages, their districts, the regency) and service: households, people,
    served households and people. The 'all' row counts households served by any service and
    carries the ladder counts now and projected."""
    hh = households.assign(projected=projected)
    flags = {"all": np.logical_or.reduce(list(served.values())) if served else np.zeros(len(hh), bool),
             **served}
    villages = hh["village_code"].fillna(UNASSIGNED)
    frames = []
    for level, codes in _levels(villages, region_code):
        g = hh.assign(code=codes.to_numpy())
        base = g.groupby("code").agg(households=("id", "size"), people=("people", "sum"))
        for service, flag in flags.items():
            s = g[flag].groupby("code").agg(served_households=("id", "size"), served_people=("people", "sum"))
            rows = base.join(s).fillna(0).astype("int64").reset_index(names="area_code")
            rows["level"], rows["service"] = level, service
            rows["ladder"] = rows["ladder_projected"] = None
            if service == "all":
                rows["ladder"] = _ladder_dicts(g["code"], g["rung"], rows["area_code"])
                rows["ladder_projected"] = _ladder_dicts(g["code"], g["projected"], rows["area_code"])
            frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def _ladder_dicts(codes: pd.Series, rungs: pd.Series, order: pd.Series) -> list[dict]:
    table = pd.crosstab(codes, rungs).reindex(index=order, columns=list(RUNGS), fill_value=0)
    return [{k: int(v) for k, v in row.items()} for row in table.to_dict("records")]


UNASSIGNED = "unassigned"  # households outside every stored village polygon


def _levels(village_codes: pd.Series, region_code: str):
    yield "village", village_codes
    districts = village_codes.str.rsplit(".", n=1).str[0]
    yield "district", districts.where(village_codes != UNASSIGNED, UNASSIGNED)
    yield "regency", pd.Series(region_code, index=village_codes.index)


def gaps(areas: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Gap to every applicable target row (national targets apply everywhere; a scoped target to
    its area and the areas inside it). Layak and aman targets are floors; babs targets ceilings."""
    base = areas[areas["service"] == "all"]
    rows = []
    for _, area in base.iterrows():
        hh, people = area.households, area.people
        per_hh = people / hh if hh else 0.0
        for _, t in targets.iterrows():
            scope = t.scope_code
            if scope is not None and not pd.isna(scope) and not (
                    area.area_code == scope or area.area_code.startswith(scope + ".")):
                continue
            now, later = _count(area.ladder, t.indicator), _count(area.ladder_projected, t.indicator)
            needed = t.value / 100 * hh
            if t.indicator == "babs_pct":
                gap = max(0.0, later - needed)
            else:
                gap = max(0.0, needed - later)
            rows.append({"area_code": area.area_code, "target_id": int(t.id), "indicator": t.indicator,
                         "year": int(t.year),
                         "target_pct": float(t.value), "current_pct": _pct(now, hh),
                         "projected_pct": _pct(later, hh), "gap_households": int(np.ceil(gap - 1e-9)),
                         "gap_people": int(np.ceil(gap * per_hh - 1e-9))})
    return pd.DataFrame(rows)


def _count(ladder: dict, indicator: str) -> int:
    if indicator == "layak_pct":
        return sum(ladder[r] for r in LAYAK)
    if indicator == "aman_pct":
        return ladder["aman"]
    if indicator == "babs_pct":
        return ladder["babs"]
    raise ValueError(f"unknown indicator {indicator} (layak_pct, aman_pct, babs_pct)")


def _pct(n: float, total: float) -> float:
    return round(100.0 * n / total, 3) if total else 0.0
