"""The sanitation access ladder per admin area, now and projected under a scenario, and the gap
to every target row (docs/domain.md §2 and §3).

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
UNASSIGNED = "unassigned"  # households outside every stored village polygon


def project_rungs(rung: np.ndarray | pd.Categorical, has_tank: np.ndarray, served: dict[str, np.ndarray]
                  ) -> np.ndarray | pd.Categorical:
    """The rung each household reaches if the scenario runs (rules in the module docstring). A
    categorical in, a categorical out: its codes are compared, not a million strings."""
    if isinstance(rung, pd.Categorical):
        return _project_codes(rung, has_tank, served)
    out = rung.copy()
    if "offsite" in served:
        out[served["offsite"]] = "aman"
    if "lltt" in served:
        out[served["lltt"] & (rung == "layak_sendiri") & (has_tank != False)] = "aman"  # noqa: E712
    if "mck" in served:
        out[served["mck"] & (out == "babs")] = "belum_layak"
    return out


def _project_codes(rung: pd.Categorical, has_tank: np.ndarray, served: dict[str, np.ndarray]) -> pd.Categorical:
    names = list(dict.fromkeys([*rung.categories, "aman", "belum_layak"]))
    now = rung.codes  # -1: missing, as a missing rung never matches a rule
    out = now.astype(np.int16)
    number = {name: k for k, name in enumerate(names)}
    if "offsite" in served:
        out[served["offsite"]] = number["aman"]
    if "lltt" in served and "layak_sendiri" in number:
        out[served["lltt"] & (now == number["layak_sendiri"]) & (has_tank != False)] = number["aman"]  # noqa: E712
    if "mck" in served and "babs" in number:
        out[served["mck"] & (out == number["babs"])] = number["belum_layak"]
    return pd.Categorical.from_codes(out, categories=names)


def area_table(households: pd.DataFrame, served: dict[str, np.ndarray], projected: np.ndarray,
               *, region_code: str) -> pd.DataFrame:
    """Rows per area (villages, their districts, the regency) and service: households, people,
    served households and people. The 'all' row counts households served by any service and
    carries the ladder counts now and projected.

    Households are grouped once, by village; districts and the regency are sums of villages, so
    the totals agree by construction. Households outside every village are one 'unassigned' row
    at the village level (no district holds them) and count in the regency."""
    return area_rows(village_counts(households, served, projected), list(served), region_code=region_code)


def village_counts(households: pd.DataFrame, served: dict[str, np.ndarray], projected: np.ndarray
                   ) -> pd.DataFrame:
    """Wide integer counts per village (index: village code): households, people, served households
    and people per service and for 'all', rungs now and projected. Counts of disjoint sets of
    households add up, which lets a run on a cluster count each partition on its own."""
    anyone = next(iter(served.values())) if len(served) == 1 else \
        np.logical_or.reduce(list(served.values())) if served else np.zeros(len(households), bool)
    flags = {"all": anyone, **served}
    people = households["people"].to_numpy()
    codes, villages = _by_village(households["village_code"])
    n = len(villages)
    wide = {"households": np.bincount(codes, minlength=n), "people": np.bincount(codes, people, n)}
    counted = {}  # one service alone is also 'all': counted once
    for service, flag in flags.items():
        if id(flag) not in counted:
            key = codes * 2 + flag  # (village, served): no copies of the served households
            counted[id(flag)] = (np.bincount(key, minlength=2 * n)[1::2], np.bincount(key, people, 2 * n)[1::2])
        wide[f"{service}|served_households"], wide[f"{service}|served_people"] = counted[id(flag)]
    for label, rungs in (("now", households["rung"]), ("projected", projected)):
        if isinstance(rungs, pd.Series) and isinstance(rungs.dtype, pd.CategoricalDtype):
            rungs = rungs.array
        if isinstance(rungs, pd.Categorical):  # codes already
            found, names = rungs.codes, rungs.categories
        else:
            found, names = pd.factorize(np.asarray(rungs, dtype=object))  # one hashing pass, not a compare per rung
        rung = np.array([RUNGS.index(r) if r in RUNGS else -1 for r in names] + [-1], np.int64)[found]  # -1: none
        key = codes * len(RUNGS) + rung
        if (rung < 0).any():  # a rung outside the ladder, or none: not counted
            key = key[rung >= 0]
        table = np.bincount(key, minlength=n * len(RUNGS)).reshape(n, len(RUNGS))
        for k, name in enumerate(RUNGS):
            wide[f"{label}|{name}"] = table[:, k]
    return pd.DataFrame(wide, index=pd.Index(villages, name="area_code")).astype("int64")


def _by_village(village: pd.Series) -> tuple[np.ndarray, np.ndarray | pd.Index]:
    """Each household's village number and the villages (codes, sorted; ``UNASSIGNED`` for none),
    as ``pd.factorize(sort=True)`` gives them; a categorical's codes are taken as they are."""
    if not isinstance(village.dtype, pd.CategoricalDtype):
        return pd.factorize(village.fillna(UNASSIGNED), sort=True)
    names = np.append(village.cat.categories.to_numpy(dtype=object), UNASSIGNED)
    raw = village.cat.codes.to_numpy().astype(np.int64)
    raw[raw < 0] = len(names) - 1
    used = np.flatnonzero(np.bincount(raw, minlength=len(names)))
    used = used[np.argsort(names[used].astype(str), kind="stable")]
    number = np.full(len(names), -1, np.int64)
    number[used] = np.arange(len(used))
    return number[raw], names[used]


def area_rows(village: pd.DataFrame, services: list[str], *, region_code: str) -> pd.DataFrame:
    """The long rows of ``area_table`` from the village counts (``village_counts``)."""
    placed = village[village.index != UNASSIGNED]  # those outside every village: one row, as a village
    district_of = placed.index.to_series().str.rsplit(".", n=1).str[0].to_numpy()
    levels = [("village", village), ("district", placed.groupby(district_of).sum()),
              ("regency", village.sum().to_frame(region_code).T)]
    return pd.concat([_long(table, level, ["all", *services]) for level, table in levels], ignore_index=True)


def _long(wide: pd.DataFrame, level: str, services: list[str]) -> pd.DataFrame:
    """One row per area and service from the wide counts."""
    frames = []
    for service in services:
        rows = pd.DataFrame({
            "area_code": wide.index.astype(str), "level": level, "service": service,
            "households": wide["households"].to_numpy(), "people": wide["people"].to_numpy(),
            "served_households": wide[f"{service}|served_households"].to_numpy(),
            "served_people": wide[f"{service}|served_people"].to_numpy()})
        rows["ladder"] = rows["ladder_projected"] = None
        if service == "all":
            rows["ladder"] = _dicts(wide, "now")
            rows["ladder_projected"] = _dicts(wide, "projected")
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def _dicts(wide: pd.DataFrame, label: str) -> list[dict]:
    cols = [f"{label}|{r}" for r in RUNGS]
    return [dict(zip(RUNGS, map(int, row))) for row in wide[cols].to_numpy()]


def gaps(areas: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Gap to every applicable target row (national targets apply everywhere; a scoped target to
    its area and the areas inside it). Layak and aman targets are floors; babs targets ceilings."""
    rows = []
    target_rows = targets.to_dict("records")
    for area in areas[areas["service"] == "all"].to_dict("records"):
        hh, code = area["households"], area["area_code"]
        per_hh = area["people"] / hh if hh else 0.0
        for t in target_rows:
            scope = t["scope_code"]
            if isinstance(scope, str) and not (code == scope or code.startswith(scope + ".")):
                continue
            now, later = _count(area["ladder"], t["indicator"]), _count(area["ladder_projected"], t["indicator"])
            needed = t["value"] / 100 * hh
            gap = max(0.0, later - needed) if t["indicator"] == "babs_pct" else max(0.0, needed - later)
            rows.append({"area_code": code, "target_id": int(t["id"]), "indicator": t["indicator"],
                         "year": int(t["year"]), "target_pct": float(t["value"]),
                         "current_pct": _pct(now, hh), "projected_pct": _pct(later, hh),
                         "gap_households": int(np.ceil(gap - 1e-9)),
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
