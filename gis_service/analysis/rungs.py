"""A household's rung on the sanitation ladder from what a survey records about its toilet
(docs/domain.md §2, NAWASIS definitions after SUSENAS/BPS), for households whose survey
gives the facts rather than the rung.

The rules, in order:
- no toilet (``none``)                                              -> babs
- public facilities only, or a non-gooseneck toilet                 -> belum_layak
- gooseneck toilet discharging to an off-site system (SPALD-T)      -> aman
- gooseneck + septic tank emptied within ``aman_max_years_since_desludging`` -> aman
  (the definition also asks that the sludge went to an IPLT: a survey date of emptying is taken as
  that evidence, since no other record exists per household)
- gooseneck + septic tank                                           -> layak_sendiri, shared: layak_bersama
- gooseneck + simple pit: **rural** villages                        -> layak_sendiri / layak_bersama,
                          **urban** villages                        -> belum_layak  (the urban/rural pit rule)
- gooseneck discharging to the open (river, pond, field)            -> belum_layak
- anything not recorded                                             -> unknown

A rung given by the survey itself always wins; these rules only fill the missing ones.
Urban or rural comes from the village's BPS classification (``urban_rural``), else its kind
(kelurahan = urban, desa = rural).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd


def village_is_urban(urban_rural: pd.Series, village_kind: pd.Series) -> np.ndarray:
    """True (urban), False (rural) or None (unknown) per row; BPS classification first."""
    classified, kind = urban_rural.to_numpy(dtype=object), village_kind.to_numpy(dtype=object)
    out = np.full(len(kind), None, dtype=object)
    out[kind == "kelurahan"], out[kind == "desa"] = True, False
    out[classified == "urban"], out[classified == "rural"] = True, False
    return out


def has_tank(disposal: np.ndarray, has_septic_tank: np.ndarray) -> np.ndarray:
    """Septic tank present: from ``disposal`` when recorded, else the survey's yes/no (None = unknown)."""
    out = has_septic_tank.astype(object).copy()
    known = ~pd.isna(disposal.astype(object))
    out[known] = disposal[known] == "septic_tank"
    return out


def classify(frame: pd.DataFrame, *, as_of: date, aman_years: float) -> np.ndarray:
    """Rung per household. ``frame`` has rung (surveyed or 'unknown'), toilet_type, disposal,
    has_septic_tank, shared_toilet, last_desludged and urban (True/False/None)."""
    rung = frame["rung"].to_numpy(dtype=object).copy()
    todo = (rung == "unknown") & frame["toilet_type"].notna().to_numpy()
    if not todo.any():
        return rung
    toilet = frame["toilet_type"].to_numpy(dtype=object)
    disposal = frame["disposal"].to_numpy(dtype=object)
    tank = has_tank(disposal, frame["has_septic_tank"].to_numpy(dtype=object))
    shared = frame["shared_toilet"].to_numpy(dtype=object) == True  # noqa: E712  (None = not shared)
    urban = frame["urban"].to_numpy(dtype=object)
    emptied = pd.to_datetime(frame["last_desludged"], errors="coerce")
    recent = (emptied >= pd.Timestamp(as_of) - pd.DateOffset(days=round(aman_years * 365.25))).to_numpy()
    layak = np.where(shared, "layak_bersama", "layak_sendiri")
    gooseneck = toilet == "gooseneck"
    rules = [
        (toilet == "none", "babs"),
        ((toilet == "public") | (toilet == "non_gooseneck"), "belum_layak"),
        (gooseneck & (disposal == "offsite"), "aman"),
        (gooseneck & (tank == True) & recent & ~shared, "aman"),  # noqa: E712
        (gooseneck & (tank == True), layak),  # noqa: E712
        (gooseneck & (disposal == "pit") & (urban == False), layak),  # noqa: E712
        (gooseneck & (disposal == "pit") & (urban == True), "belum_layak"),  # noqa: E712
        (gooseneck & (disposal == "open"), "belum_layak"),
    ]
    derived = np.select([cond for cond, _ in rules], [np.broadcast_to(np.asarray(out, dtype=object),
                                                                      len(rung)) for _, out in rules],
                        default="unknown")
    rung[todo] = derived[todo]
    return rung
