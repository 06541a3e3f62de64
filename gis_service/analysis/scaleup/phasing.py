"""Which villages and facilities come first: a transparent priority score per village and the
short-term / medium-term phases (shared/DOMAIN.md section 1: 1-2 years, up to 5 years).

score = w_gap x gap / largest gap + w_risk x EHRA class / 4 + w_cost x (1 - cost per person /
highest cost per person) + w_reach x share of the village's households the plan reaches.
Weights are the parameter ``priority_weights``; a part with no data anywhere in the region (no
EHRA classes loaded, no cost) drops out and the remaining weights are rescaled, and the run says so.

New facilities are built in order of the priority they serve per rupiah (the households they
serve weighted by their village's score, over their investment): the short term takes them until
they serve ``short_term_share`` of what all new facilities serve, the rest are medium term. A
village's phase is the earliest phase in which a facility reaches it (existing and pilot
facilities: short term); villages no facility of the plan reaches are phase 3 ("later": they need
another facility type or a longer horizon). Villages are ranked by score within the plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gis_service.analysis.parameters import mapping, value

PARTS = ("gap", "risk", "cost", "reach")
NOTES = {
    "id": {"no_risk": "kelas risiko EHRA belum dimuat untuk desa-desa ini: bobot risiko tidak dipakai",
           "no_cost": "tidak ada desa dengan biaya per jiwa (tidak ada cakupan baru): bobot biaya tidak dipakai"},
    "en": {"no_risk": "no EHRA risk classes loaded for these villages: the risk weight is left out",
           "no_cost": "no village has a cost per person (nothing newly covered): the cost weight is left out"},
}


def scores(villages: pd.DataFrame, params: dict) -> tuple[np.ndarray, dict[str, float], list[str]]:
    """Score per village (columns gap, risk_class, cost_per_person_idr, reachable_share), the
    weights used and the parts dropped for lack of data (``NOTES`` has their texts)."""
    weights = {k: float(v) for k, v in mapping(params, "priority_weights").items()}
    unknown = set(weights) - set(PARTS)
    if unknown:
        raise KeyError(f"priority_weights has unknown parts {sorted(unknown)} (use {', '.join(PARTS)})")
    gap = villages["gap"].astype(float).to_numpy()
    risk = villages["risk_class"].astype(float).to_numpy()
    cost = villages["cost_per_person_idr"].astype(float).to_numpy()
    reach = villages["reachable_share"].astype(float).to_numpy()
    part = {"gap": _share(gap), "risk": np.nan_to_num(risk / 4.0),
            "cost": np.where(np.isfinite(cost), 1.0 - _share(np.nan_to_num(cost, posinf=0.0)), 0.0),
            "reach": np.nan_to_num(reach)}
    notes = []
    if not np.isfinite(risk).any():
        notes.append("no_risk")
        weights.pop("risk", None)
    if not np.isfinite(cost).any():
        notes.append("no_cost")
        weights.pop("cost", None)
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("priority_weights must have a positive sum over the parts with data")
    used = {k: w / total for k, w in weights.items()}
    return sum(used[k] * part[k] for k in used), used, notes


def ranks(score: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Rank 1 is the highest score (ties: the larger need first, then input order)."""
    order = np.lexsort((-need, -score))
    rank = np.empty(len(score), np.int64)
    rank[order] = np.arange(1, len(score) + 1)
    return rank


def facility_phases(gain: np.ndarray, worth: np.ndarray, cost: np.ndarray, params: dict) -> np.ndarray:
    """Phase (1 or 2) of each new facility. ``gain``: households it serves; ``worth``: those
    households weighted by their village's score. Facilities go in order of worth per rupiah
    (worth when free) into the short term until the households they serve reach
    ``short_term_share`` of what all new facilities serve; the first always goes."""
    if not len(gain):
        return np.zeros(0, np.int64)
    per_rupiah = np.where(cost > 0, worth / np.maximum(cost, 1e-9), np.inf)
    order = np.lexsort((-worth, -per_rupiah))
    before = np.cumsum(gain[order]) - gain[order]
    phase = np.full(len(gain), 2, np.int64)
    short = before < value(params, "short_term_share") * gain.sum()
    short[0] = True
    phase[order[short]] = 1
    return phase


def village_phases(facility_phase_of_village: np.ndarray) -> np.ndarray:
    """A village's phase is the earliest phase in which a facility reaches its households (fixed
    facilities count as phase 1: enrolment in existing reach is short-term work); 3 when none
    of the plan's facilities reaches it."""
    return np.where(np.isfinite(facility_phase_of_village),
                    np.maximum(1, facility_phase_of_village), 3).astype(np.int64)


def _share(x: np.ndarray) -> np.ndarray:
    top = np.nanmax(x) if len(x) and np.isfinite(x).any() else 0.0
    return np.nan_to_num(x / top) if top > 0 else np.zeros(len(x))
