"""Who runs what: each facility of a plan carries its operator type (its own for existing and
pilot facilities, ``institution_of_type`` for new ones), and the plan lists per institution type
the facilities, staff, fleet and running cost it takes on (docs/domain.md §1: UPTD,
BUMD/Perumda, KPP community groups, private operators)."""

from __future__ import annotations

import pandas as pd

from gis_service.analysis.parameters import mapping

LABELS = {"uptd": "UPTD (Unit Pelaksana Teknis Daerah)", "dinas": "Dinas (district office)",
          "bumd": "BUMD / Perumda", "kpp": "KPP (community group)", "private": "Private operator",
          "other": "Other", "unassigned": "Not assigned"}


def assign(fac: pd.DataFrame, params: dict) -> pd.Series:
    """Operator type per facility: stored for fixed ones, by type for new ones."""
    by_type = mapping(params, "institution_of_type")
    new = fac["role"].eq("new")
    out = fac["institution_type"].astype(object).where(fac["institution_type"].notna(), None)
    out[new] = fac.loc[new, "type"].map(lambda t: by_type.get(t, "unassigned"))
    return out.fillna("unassigned")


def table(fac: pd.DataFrame, fleet: dict | None = None) -> list[dict]:
    """Per institution type: facilities by type (fixed/new), staff, trucks, running cost. ``fleet``
    (institution_type, trucks, staff, opex_idr_per_year) is the trucks the plan needs beyond those
    of its depots and landings."""
    rows = []
    for inst, part in fac.groupby("institution_type", sort=True):
        rows.append({
            "institution_type": inst, "label": LABELS.get(inst, inst),
            "facilities": {t: {"fixed": int((g["role"] == "fixed").sum()), "new": int((g["role"] == "new").sum())}
                           for t, g in part.groupby("type", sort=True)},
            "staff": float(part["staff"].sum()), "trucks": float(part["trucks"].sum()),
            "opex_idr_per_year": float(part["opex_idr_per_year"].sum())})
    if fleet and fleet["trucks"] > 0:
        inst = fleet["institution_type"]
        row = next((r for r in rows if r["institution_type"] == inst), None)
        if row is None:
            row = {"institution_type": inst, "label": LABELS.get(inst, inst), "facilities": {},
                   "staff": 0.0, "trucks": 0.0, "opex_idr_per_year": 0.0}
            rows.append(row)
        for key in ("trucks", "staff", "opex_idr_per_year"):
            row[key] += fleet[key]
    return rows
