"""Working days of the desludging operator: Monday to Friday, Saturday as a share of a day when
``working_days_per_week`` is above 5 (5.5: a half day), never Sunday, never a national public
holiday of Indonesia (the dates the SKB of the Ministers of Religious Affairs, Manpower and
Administrative Reform sets each year; the ``holidays`` library computes them, Islamic holidays by
their expected dates) or a date of ``extra_non_working_days`` (the SKB's cuti bersama, local
holidays)."""

from __future__ import annotations

from datetime import date

import holidays
import numpy as np
import pandas as pd

from gis_service.analysis.parameters import value


def working_days(start: date, end: date, params: dict) -> pd.DataFrame:
    """One row per calendar day in [start, end): ``date``, ``share`` of a full working day (0 on
    days off) and ``holiday`` (its name, or empty)."""
    days = pd.date_range(start, end, inclusive="left")
    per_week = value(params, "working_days_per_week")
    if not 1 <= per_week <= 6:
        raise ValueError(f"working_days_per_week must be between 1 and 6 (got {per_week}): the calendar "
                         "works Monday to Friday and part or all of Saturday")
    weekday = days.day_of_week.to_numpy()
    share = np.where(weekday < 5, min(per_week, 5.0) / 5.0, 0.0)
    share = np.where(weekday == 5, max(0.0, per_week - 5.0), share)
    country = str(params.get("holiday_country", {}).get("value", "ID"))
    official = holidays.country_holidays(country, years=sorted(set(days.year)), language="id")
    extra = {pd.Timestamp(d).date() for d in params.get("extra_non_working_days", {}).get("value", []) or []}
    names = [official.get(d.date(), "") or ("cuti bersama / libur daerah" if d.date() in extra else "")
             for d in days]
    off = np.array([bool(n) for n in names])
    return pd.DataFrame({"date": days.date, "share": np.where(off, 0.0, share), "holiday": names})
