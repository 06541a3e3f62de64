"""Actions by agency (OPD): the matrix the working group leaves the meeting with. Rows are the
actions of Bappeda, Dinas PUPR, DLH, Dinkes, the operator (UPTD or BLUD) and PDAM from
``config/actions.yml``; columns are the roll-out years; each cell carries the action's budget
(one line of the year table, ``years``) and its indicator filled from the same year. An action
runs in the years its rule picks (``when``): every year, the first year, the years its budget
line is above zero (``build``), or the years households enrol (``enrolment``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from gis_service.analysis.rounding import number_text

WHEN = ("every_year", "first_year", "build", "enrolment")


class ActionsConfigError(ValueError):
    """config/actions.yml names an unknown rule, agency or year-table column."""


def read_actions(config_dir: Path) -> dict:
    path = config_dir / "actions.yml"
    with open(path, encoding="utf-8") as fh:
        spec = yaml.safe_load(fh) or {}
    agencies, actions = spec.get("agencies") or {}, spec.get("actions") or []
    for n, a in enumerate(actions, 1):
        where = f"{path.name}, action {n} ({a.get('id', '?')})"
        if a.get("agency") not in agencies:
            raise ActionsConfigError(f"{where}: agency {a.get('agency')!r} is not one of {', '.join(agencies)}")
        if a.get("when") not in WHEN:
            raise ActionsConfigError(f"{where}: when {a.get('when')!r} is not one of {', '.join(WHEN)}")
        for key in ("id", "en", "indicator_id", "indicator_en", "budget"):
            if not a.get(key):
                raise ActionsConfigError(f"{where}: give {key}")
    return {"agencies": agencies, "actions": actions}


def action_matrix(years: pd.DataFrame, spec: dict, *, lang: str = "id") -> pd.DataFrame:
    """Long table: one row per action and year it runs, with agency, action, budget line and
    amount, and the indicator (``lang``: id or en)."""
    rows = []
    for order, a in enumerate(spec["actions"]):
        budget = a["budget"]
        if budget != "none" and budget not in years.columns:
            raise ActionsConfigError(f"actions.yml, action {a['id']!r}: budget {budget!r} is not a column of the "
                                     f"year table ({', '.join(c for c in years.columns if c.endswith('_idr'))})")
        for y in years.to_dict(orient="records"):
            amount = 0 if budget == "none" else int(y[budget] or 0)
            runs = {"every_year": True, "first_year": y["year"] == 1, "build": amount > 0,
                    "enrolment": y["households_new"] > 0}[a["when"]]
            if not runs:
                continue
            try:
                indicator = a[f"indicator_{lang}"].format(**{k: _shown(v, lang) for k, v in y.items()})
            except (KeyError, ValueError) as exc:
                raise ActionsConfigError(f"actions.yml, action {a['id']!r}: indicator placeholder {exc} is not a "
                                         "column of the year table") from exc
            rows.append({"order": order, "agency": a["agency"], "agency_name": spec["agencies"][a["agency"]][lang],
                         "action": a[lang], "year": int(y["year"]), "calendar_year": int(y["calendar_year"]),
                         "budget_line": None if budget == "none" else budget,
                         "budget_idr": None if budget == "none" else amount, "indicator": indicator})
    return pd.DataFrame(rows, columns=["order", "agency", "agency_name", "action", "year", "calendar_year",
                                       "budget_line", "budget_idr", "indicator"])


def _shown(v, lang: str):
    """Year-table values as the indicator sentences write them: numbers as the language writes
    them (1.234.567 in id, 1,234,567 in en; shares with one decimal), none as '-'."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "-"
    if isinstance(v, bool) or isinstance(v, str):
        return v
    if isinstance(v, int | np.integer) or (isinstance(v, float) and v.is_integer()):
        return number_text(float(v), 0, lang=lang)
    if isinstance(v, float | np.floating):
        return number_text(float(v), 1, lang=lang)
    return v
