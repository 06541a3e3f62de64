"""Demand of a scale-up plan: households grouped into cells, and what each cell needs to reach
the plan's target (docs/domain.md §2 and §5).

Households of a village are grouped into square cells of ``cell_m`` metres (metric CRS): siting
works on ~1,000 cells instead of every household, and a cell keeps its village so results add
up per village. What a household not yet ``aman`` needs, by explicit rules:
- ``offsite``: in a kelurahan (urban), the share ``offsite_share_urban`` of those households is to
  be connected to an IPAL komunal (rounded per village, spread over its cells);
- ``lltt``: every other household is to be on scheduled desludging (an emptiable septic tank);
- ``tank``: of those, households without a septic tank (babs, belum layak, shared toilets, pits)
  need one first. A household whose tank is unknown counts as having one when its rung is
  layak sendiri.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gis_service.analysis.parameters import value

RUNG_COLUMNS = ("aman", "layak_sendiri", "layak_bersama", "belum_layak", "babs", "unknown")


@dataclass
class Cells:
    """One row per (village, cell): village_code, x, y (metric), households, people, counts per
    rung, with_tank, and the needs offsite, lltt, tank (households)."""

    frame: pd.DataFrame
    cell_m: float

    @property
    def xy(self) -> np.ndarray:
        return self.frame[["x", "y"]].to_numpy()


def cells(households: pd.DataFrame, urban: set[str], params: dict, *, cell_m: float) -> Cells:
    """Group household units (id, village_code, rung, has_septic_tank, people, x, y) into cells."""
    hh = households.loc[households["village_code"].notna()]
    ix = np.floor(hh["x"].to_numpy() / cell_m).astype(np.int64)
    iy = np.floor(hh["y"].to_numpy() / cell_m).astype(np.int64)
    rung = hh["rung"].to_numpy(dtype=object)
    tank = hh["has_septic_tank"].to_numpy(dtype=object)
    with_tank = np.where(pd.isna(tank), rung == "layak_sendiri", tank == True) | (rung == "aman")
    frame = pd.DataFrame({"village_code": hh["village_code"].to_numpy(), "ix": ix, "iy": iy,
                          "x": hh["x"].to_numpy(), "y": hh["y"].to_numpy(), "households": 1,
                          "people": hh["people"].to_numpy(), "with_tank": with_tank.astype(int)})
    for r in RUNG_COLUMNS:
        frame[r] = (rung == r).astype(int)
    agg = {"x": "mean", "y": "mean", "households": "sum", "people": "sum", "with_tank": "sum",
           **{r: "sum" for r in RUNG_COLUMNS}}
    out = frame.groupby(["village_code", "ix", "iy"], sort=True).agg(agg).reset_index()
    out = out.drop(columns=["ix", "iy"])
    not_aman = (out["households"] - out["aman"]).to_numpy(float)
    share = np.where(out["village_code"].isin(urban), value(params, "offsite_share_urban"), 0.0)
    out["offsite"] = _rounded_within(not_aman * share, out["village_code"].to_numpy())
    out["lltt"] = (not_aman - out["offsite"]).astype(int)
    without = out["households"] - out["with_tank"]
    out["tank"] = np.minimum(without, out["lltt"]).astype(int)
    return Cells(out, cell_m)


def _rounded_within(amount: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Whole numbers whose running sums per group are the rounded running sums of ``amount``:
    each village keeps its rounded total, and sparse cells still get their turn (rows sorted by
    group)."""
    if not len(amount):
        return np.zeros(0, int)
    total = np.cumsum(amount)
    start = np.r_[True, group[1:] != group[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(len(amount)), 0))
    rounded = np.floor(total - (total - amount)[first] + 0.5)
    previous = np.r_[0.0, rounded[:-1]]
    previous[start] = 0.0
    return (rounded - previous).astype(int)


def village_needs(c: Cells) -> pd.DataFrame:
    """Per village: households, people, rung counts, and the needs."""
    cols = ["households", "people", "with_tank", *RUNG_COLUMNS, "offsite", "lltt", "tank"]
    return c.frame.groupby("village_code")[cols].sum().reset_index()
